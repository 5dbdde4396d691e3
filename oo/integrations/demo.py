"""Demo task source: realistic sample tasks so oO is useful with no credentials (I4).

Deterministic per seed: a mix of urgent and someday tasks, overdue ones, tasks due today or later,
undated ones, of different ages — the variety the recommender needs to show what it does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

# (content, priority 1..4 with 4 = urgent, due offset in days or None, age in days, labels)
CATALOGUE: list[tuple[str, int, int | None, int, str]] = [
    ("Reply to Sam about the Thursday workshop", 3, 0, 2, "work"),
    ("Send the signed lease back to the landlord", 4, -2, 9, "home"),
    ("Book a dentist check-up", 2, None, 40, "health"),
    ("Renew the car insurance before it lapses", 4, 3, 12, "admin"),
    ("Draft the Q4 planning doc outline", 3, 1, 5, "work"),
    ("Water the balcony plants", 1, 0, 1, "home"),
    ("Call grandma", 2, None, 15, "family"),
    ("Pay the electricity bill", 4, -1, 20, "admin"),
    ("Review Priya's pull request", 3, 0, 1, "work"),
    ("Pick up dry cleaning", 1, 2, 6, "errands"),
    ("Read chapter 4 of 'Thinking in Systems'", 1, None, 60, "learning"),
    ("Clean out the fridge", 1, -4, 25, "home"),
    ("Buy a birthday present for Lea", 3, 5, 8, "family"),
    ("Update the team on the release timeline", 3, -1, 3, "work"),
    ("Go for a 30-minute run", 2, 0, 2, "health"),
    ("Back up the laptop", 2, None, 90, "admin"),
    ("Plan the weekend hike route", 1, 4, 4, "fun"),
    ("File the expense report for the Berlin trip", 3, -6, 18, "work"),
    ("Order new running shoes", 1, None, 33, "errands"),
    ("Schedule the 1:1 with Alex", 2, 1, 7, "work"),
    ("Cancel the unused streaming subscription", 2, None, 21, "admin"),
    ("Fix the dripping kitchen tap", 2, 7, 45, "home"),
    ("Write thank-you note to the Hendersons", 1, None, 11, "family"),
    ("Prepare slides for Monday's demo", 4, 2, 6, "work"),
]


@dataclass(frozen=True)
class DemoTask:
    """One sample task, shaped like a normalized provider task."""

    external_id: str
    content: str
    priority: int
    labels: str
    added_at: datetime
    due_date: date | None


def sample_tasks(now: datetime, seed: int, count: int = 18) -> list[DemoTask]:
    """A deterministic, varied sample of ``count`` tasks relative to ``now`` (aware).

    Examples:
        >>> from datetime import UTC
        >>> tasks = sample_tasks(datetime(2026, 11, 26, 9, tzinfo=UTC), seed=1)
        >>> len(tasks), len({t.external_id for t in tasks})
        (18, 18)
        >>> any(t.due_date is None for t in tasks) and any(t.priority == 4 for t in tasks)
        True
    """
    rng = random.Random(seed)
    picks = rng.sample(range(len(CATALOGUE)), k=min(count, len(CATALOGUE)))
    out = []
    for i in picks:
        content, priority, due, age, labels = CATALOGUE[i]
        jitter = timedelta(hours=rng.randint(0, 20))
        out.append(
            DemoTask(
                external_id=f"demo-{i}",
                content=content,
                priority=priority,
                labels=labels,
                added_at=now - timedelta(days=age) - jitter,
                due_date=(now.date() + timedelta(days=due)) if due is not None else None,
            )
        )
    return out
