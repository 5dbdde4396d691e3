"""Reward analytics (A10): rewards over time, per policy, and sliced by hour, priority and cohort.

A reward is the reward of a tip's first reaction (``tip_view.reaction`` through
`oo.recommender.REWARDS`): what the learner was taught, counted as every console page counts
reactions (`oo.services.admin.metrics`). The slices use facts frozen in the tip log when the tip
was served (`oo.services.tips.facts`): the task's priority, named as Todoist shows it (API
priority 4 is ``p1``, the most urgent), and the hour in the user's own time zone; tips logged
before those facts were kept show as "unknown". Intervals resample users
(`oo.services.admin.intervals`). One grouped pass over the window's reacted tips feeds every
slice; the slicing is pure Python (`summarize`), unit-tested without a database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from oo.models import TipView, User
from oo.recommender import REWARDS
from oo.services.admin import intervals
from oo.services.admin.inputs import parse_window, sample_bound, since_days
from oo.services.admin.metrics import DAYS_PER_STATEMENT
from oo.services.admin.portable_sql import day_of, utc_days

SLICES = ("day", "policy", "hour", "priority", "cohort")
EXACT_LIMIT = 5_000
_Stmt = TypeVar("_Stmt", bound="sa.Select[*tuple[Any, ...]]")


def reacted_tips(session: Session, stmt: _Stmt, *, since: datetime, reacted: int) -> _Stmt:
    """Restrict ``stmt`` (over ``tip_view`` joined to other tables) to the window's reacted tips.

    Joins cost a lookup per tip, so past `EXACT_LIMIT` reacted tips the statement reads a
    uniform sample (tip ids are random) of about ``SAMPLE_TIPS`` tips instead, and its cost stays
    flat. The sample filters on whole days (the window's first day counts in full), which lets
    SQLite walk the primary key; its bound is relative to every stored tip, since that is what
    the key range covers.
    """
    if reacted <= EXACT_LIMIT:
        return stmt.where(col(TipView.served_at) >= since, col(TipView.reaction).is_not(None))
    everything = session.exec(select(sa.func.count()).select_from(TipView)).one()
    return stmt.where(
        day_of(TipView.served_at) >= since.strftime("%Y-%m-%d"),
        col(TipView.reaction).is_not(None),
        col(TipView.id) < (sample_bound(int(everything)) or "g"),
    )


def signup_months(session: Session, user_ids: set[int]) -> dict[int, str]:
    """User id → signup month (``YYYY-MM``, UTC) for ``user_ids``."""
    ids, out = sorted(user_ids), {}
    for i in range(0, len(ids), 5000):
        chunk = ids[i : i + 5000]
        rows: Any = session.execute(
            sa.select(col(User.id), sa.func.substr(day_of(User.created_at), 1, 7)).where(
                col(User.id).in_(chunk)
            )
        ).all()
        out.update({int(uid): month for uid, month in rows})
    return out


def priority_name(api_priority: int | None) -> str:
    """Todoist's name for an API priority (4 = p1, the most urgent).

    Examples:
        >>> [priority_name(p) for p in (4, 3, 2, 1, None)]
        ['p1', 'p2', 'p3', 'p4', 'unknown']
    """
    return f"p{5 - api_priority}" if api_priority in (1, 2, 3, 4) else "unknown"


def daily_reactions(
    session: Session, since: datetime, now: datetime | None = None
) -> tuple[list[tuple[str, str, int]], int]:
    """(day, reaction, tips) of the window's first reactions, and how many tips have any reaction.

    One range count per UTC day (`utc_days`) with a count per reaction, so the time-ordered
    covering index is read once and nothing is sorted (a ``GROUP BY`` on the day would sort).
    """
    names = sorted(REWARDS)
    parts = [
        sa.select(
            sa.literal(day, sa.String()),
            sa.func.count(),
            *(sa.func.count(sa.case((col(TipView.reaction) == r, 1))) for r in names),
        )
        .select_from(TipView)
        .where(col(TipView.served_at) >= lo, *([] if hi is None else [col(TipView.served_at) < hi]))
        .where(col(TipView.reaction).is_not(None))
        for day, lo, hi in utc_days(since, now=now)
    ]
    rows: list[Any] = []
    for i in range(0, len(parts), DAYS_PER_STATEMENT):
        rows += session.connection().execute(sa.union_all(*parts[i : i + DAYS_PER_STATEMENT])).all()
    daily = [(str(row[0]), r, int(n)) for row in rows for r, n in zip(names, row[2:], strict=True) if n]
    return daily, sum(int(row[1]) for row in rows)


def counts(
    *, session: Session, window: Any = "7d", now: datetime | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    """The window's reacted tips, grouped: exact (day, reaction, tips), and per-user rows for slicing.

    ``per_user`` rows are (day, policy key, user, priority, local hour, cohort, reaction, tips);
    past `EXACT_LIMIT` reacted tips they come from a uniform sample (see `reacted_tips`).

    Raises:
        AdminInputError: Unknown window.
    """
    since = since_days(parse_window(window), now=now)
    daily, reacted = daily_reactions(session, since, now)
    day = day_of(TipView.served_at).label("day")
    keys: list[Any] = [
        day,
        TipView.policy,
        TipView.policy_version,
        TipView.user_id,
        TipView.task_priority,
        TipView.local_hour,
        TipView.reaction,
    ]
    # tip_view alone (its covering index); the signup cohort is looked up per user afterwards.
    stmt = sa.select(*keys, sa.func.count()).select_from(TipView).group_by(*keys)
    stmt = reacted_tips(session, stmt, since=since, reacted=reacted)
    found: Any = session.connection().execute(stmt).all()
    cohorts = signup_months(session, {row[3] for row in found})
    per_user = [
        (d, f"{policy}@{version}", user, prio, hour, cohorts.get(user), reaction, n)
        for d, policy, version, user, prio, hour, reaction, n in found
    ]
    return {"daily": list(daily), "per_user": per_user}


def summarize(counted: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[dict[str, Any]]]:
    """Per-day reaction counts, and mean reward with interval per day, policy, hour, priority, cohort.

    Examples:
        >>> s = summarize({"daily": [("2025-01-01", "done", 3), ("2025-01-01", "dismiss", 1)],
        ...                "per_user": [("2025-01-01", "linucb@3", 1, 4, 9, "2024-12", "done", 3),
        ...                             ("2025-01-01", "random@1", 2, None, None, "2024-12", "dismiss", 1)]})
        >>> s["daily"]
        [{'day': '2025-01-01', 'reaction': 'dismiss', 'count': 1}, {'day': '2025-01-01', 'reaction': 'done', 'count': 3}]
        >>> [(r["day"], r["mean"], r["rewards"], r["too_few"]) for r in s["daily_mean"]]
        [('2025-01-01', 0.5, 4, True)]
        >>> [(r["priority"], r["mean"]) for r in s["priority"]]
        [('p1', 1.0), ('unknown', -1.0)]
    """
    out: dict[str, list[dict[str, Any]]] = {
        "daily": [
            {"day": k, "reaction": r, "count": n}
            for k, r, n in sorted(counted.get("daily", []))
            if r in REWARDS
        ]
    }
    rows = counted.get("per_user", [])
    label = {
        "day": lambda r: r[0],
        "policy": lambda r: r[1],
        "hour": lambda r: "unknown" if r[4] is None else f"{int(r[4]):02d}",
        "priority": lambda r: priority_name(r[3]),
        "cohort": lambda r: r[5] or "unknown",
    }
    for name in SLICES:
        key = label[name]
        grouped = intervals.by_group(((key(r), r[2], r[6], r[7]) for r in rows), name)
        out["daily_mean" if name == "day" else name] = grouped
    return out


def analytics(*, session: Session, window: Any = "7d") -> dict[str, list[dict[str, Any]]]:
    """Everything the reward analytics page shows.

    Raises:
        AdminInputError: Unknown window.
    """
    return summarize(counts(session=session, window=window))
