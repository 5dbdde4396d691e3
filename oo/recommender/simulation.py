"""A seeded simulated population to compare policies offline.

Each simulated user has their own tastes: a daily peak hour (near it they want urgent work,
away from it light tasks), how much priority, overdue and near deadlines matter, whether old
tasks attract or repel them, and how much they rest at weekends. A task's true utility also
has a hidden per-task appeal no encoder can see. The user reacts with one of the product's
reactions (done +1, helpful +0.5, snooze 0, not helpful -0.5, dismiss -1), drawn with
P(r) ∝ exp(temperature · utility · reward(r)), so higher utility means better reactions but
every reaction stays possible (noise).

The utility is written on raw task attributes with its own shapes (age/(age + 7), a smooth
deadline decay), not on either encoder's features, so no policy gets the truth for free.

`replay` runs policies over the same users and candidate sets. Scores use each pick's
*expected* reward (less noise than sampled reactions) and are normalized as
(policy - random) / (oracle - random): 0 is random, 1 is the oracle.

Examples:
    >>> from oo.recommender.registry import build_policy
    >>> result = replay({"linucb@3": lambda s: build_policy("linucb", 3, seed=s)}, n_users=2, n_decisions=20, seed=0)
    >>> result.rewards["linucb@3"].shape
    (2, 20)
    >>> -1.0 < result.normalized("linucb@3", 20) <= 1.0
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

import numpy as np

from oo.recommender.base import REWARDS, Policy
from oo.recommender.features import Context, TaskView, get_encoder

__all__ = ["REACTIONS", "ReplayResult", "Round", "SimUser", "make_population", "make_rounds", "replay"]

REACTIONS = tuple(REWARDS)
_VALUES = np.array([REWARDS[r] for r in REACTIONS])
_PRIORITY_P = (0.5, 0.25, 0.15, 0.1)  # most tasks are "normal" (Todoist priority 1)
_EPOCH = datetime(2025, 1, 6, 8, 0)  # a Monday morning


@dataclass(frozen=True, slots=True)
class SimUser:
    """One simulated person: the parameters of their true utility."""

    user_id: int
    utc_offset_hours: int
    peak_hour: float
    baseline: float
    w_priority: float
    focus: float
    w_overdue: float
    w_due: float
    w_age: float
    weekend_rest: float
    temperature: float

    def utility(self, tasks: tuple[TaskView, ...], now: datetime, appeal: np.ndarray) -> np.ndarray:
        """True utility of each task at `now` (appeal is the hidden per-task part)."""
        pr = np.array([(t.priority - 1) / 3.0 for t in tasks])
        age = np.array([t.age_days(now) for t in tasks])
        overdue = np.array([t.is_overdue(now) for t in tasks], dtype=np.float64)
        due_hours = np.array([_hours_to_due(t, now) for t in tasks])
        near = np.where(
            np.isfinite(due_hours) & (due_hours >= 0), np.exp(-np.nan_to_num(due_hours) / 18.0), 0.0
        )
        phase = math.cos(2.0 * math.pi * (now.hour + now.minute / 60.0 - self.peak_hour) / 24.0)
        weekend = float(now.weekday() >= 5)
        return (
            self.baseline
            + self.w_priority * pr
            + self.focus * phase * (pr - 0.4)
            + self.w_overdue * overdue
            + self.w_due * near
            + self.w_age * age / (age + 7.0)
            - self.weekend_rest * weekend * pr
            + appeal
        )

    def reaction_probs(self, utility: np.ndarray) -> np.ndarray:
        """P(reaction) for each utility, shape (n, len(REACTIONS))."""
        logits = self.temperature * np.multiply.outer(utility, _VALUES)
        logits -= logits.max(axis=-1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=-1, keepdims=True)

    def expected_reward(self, utility: np.ndarray) -> np.ndarray:
        """Expected reward of showing tasks with these utilities."""
        return self.reaction_probs(utility) @ _VALUES

    def react(self, utility: float, rng: np.random.Generator) -> str:
        """Sample a reaction to one task."""
        return REACTIONS[int(rng.choice(len(REACTIONS), p=self.reaction_probs(np.array([utility]))[0]))]


def _hours_to_due(task: TaskView, now: datetime) -> float:
    if task.due_at is not None:
        return (task.due_at - now).total_seconds() / 3600.0
    if task.due_date is not None:  # an all-day deadline "means" the end of the working day
        due = datetime.combine(task.due_date, time(18), tzinfo=now.tzinfo)
        return (due - now).total_seconds() / 3600.0
    return math.inf


def make_population(n_users: int, seed: int) -> list[SimUser]:
    """Draw `n_users` heterogeneous users.

    Examples:
        >>> make_population(3, seed=1) == make_population(3, seed=1)
        True
    """
    rng = np.random.default_rng([seed, 0])
    return [
        SimUser(
            user_id=i,
            utc_offset_hours=int(rng.choice([-8, -5, 0, 1, 5, 9])),
            peak_hour=float(rng.uniform(7.0, 22.0)),
            baseline=float(rng.normal(0.0, 0.15)),
            w_priority=float(rng.normal(0.5, 0.35)),
            focus=float(rng.uniform(0.2, 1.0)),
            w_overdue=float(rng.normal(0.5, 0.35)),
            w_due=float(rng.normal(0.4, 0.3)),
            w_age=float(rng.normal(-0.1, 0.4)),
            weekend_rest=float(rng.uniform(0.0, 0.8)),
            temperature=float(rng.uniform(1.5, 3.0)),
        )
        for i in range(n_users)
    ]


@dataclass(frozen=True, slots=True)
class Round:
    """One decision: when, which open tasks, and their true utilities / expected rewards."""

    context: Context
    tasks: tuple[TaskView, ...]
    utility: np.ndarray
    expected: np.ndarray

    @property
    def oracle_index(self) -> int:
        """The candidate an all-knowing policy would pick (highest expected reward)."""
        return int(np.argmax(self.expected))


def _tasks(rng: np.random.Generator, now: datetime) -> tuple[tuple[TaskView, ...], np.ndarray]:
    k = int(rng.integers(5, 16))
    tasks = []
    for j in range(k):
        age = min(365.0, float(np.exp(rng.normal(math.log(3.0), 1.2))))
        due_at, due_date = None, None
        if rng.random() < 0.45:
            due = now + timedelta(hours=float(rng.normal(6.0, 48.0)))
            if rng.random() < 0.5:
                due_at = due
            else:
                due_date = due.date()
        priority = int(rng.choice(4, p=_PRIORITY_P)) + 1
        tasks.append(TaskView(f"t{j}", priority, now - timedelta(days=age), due_at, due_date))
    return tuple(tasks), rng.normal(0.0, 0.15, k)


def make_rounds(user: SimUser, n: int, seed: int) -> list[Round]:
    """The user's first `n` decisions: waking-hour times and fresh candidate sets."""
    rng = np.random.default_rng([seed, 1, user.user_id])
    tz = timezone(timedelta(hours=user.utc_offset_hours))
    now = _EPOCH.replace(tzinfo=tz) + timedelta(days=int(rng.integers(7)), hours=float(rng.uniform(0, 12)))
    rounds = []
    for _ in range(n):
        now += timedelta(hours=float(rng.exponential(5.0)))
        if now.hour < 7:  # asleep: the next decision happens after waking up
            now = now.replace(hour=7) + timedelta(hours=float(rng.uniform(0, 3)))
        tasks, appeal = _tasks(rng, now)
        u = user.utility(tasks, now, appeal)
        rounds.append(Round(Context(now), tasks, u, user.expected_reward(u)))
    return rounds


@dataclass(frozen=True)
class ReplayResult:
    """Expected reward per (user, decision) for each policy, random and the oracle."""

    rewards: dict[str, np.ndarray]
    random: np.ndarray
    oracle: np.ndarray

    def normalized(self, key: str, stop: int, start: int = 0) -> float:
        """(policy - random) / (oracle - random) over decisions [start, stop), pooled over users."""
        span = slice(start, stop)
        gain = float(self.rewards[key][:, span].sum() - self.random[:, span].sum())
        return gain / float(self.oracle[:, span].sum() - self.random[:, span].sum())

    def normalized_per_user(self, key: str, stop: int, start: int = 0) -> np.ndarray:
        """The same ratio for each user separately (for a spread across users)."""
        span = slice(start, stop)
        rnd = self.random[:, span].sum(axis=1)
        return (self.rewards[key][:, span].sum(axis=1) - rnd) / (self.oracle[:, span].sum(axis=1) - rnd)


def replay(
    policies: Mapping[str, Callable[[int], Policy]], *, n_users: int, n_decisions: int, seed: int
) -> ReplayResult:
    """Run each policy (a fresh one per user, as in production) on the same simulated users.

    Args:
        policies: Label -> factory taking a seed and returning an untrained policy.
        n_users: Number of simulated users.
        n_decisions: Decisions per user.
        seed: Seed for the population, the candidate sets and the reactions.

    Returns:
        The expected reward of every pick, with the random and oracle baselines.
    """
    users = make_population(n_users, seed)
    rewards = {key: np.zeros((n_users, n_decisions)) for key in policies}
    random, oracle = np.zeros((n_users, n_decisions)), np.zeros((n_users, n_decisions))
    for user in users:
        rounds = make_rounds(user, n_decisions, seed)
        random[user.user_id] = [r.expected.mean() for r in rounds]
        oracle[user.user_id] = [r.expected[r.oracle_index] for r in rounds]
        for p, (key, factory) in enumerate(policies.items()):
            policy = factory(seed * 1_000_003 + user.user_id)
            encoder = get_encoder(policy.encoder or "textbook@1")
            rng = np.random.default_rng([seed, 2, user.user_id, p])
            for t, r in enumerate(rounds):
                X = encoder.encode_batch(r.tasks, r.context)
                i = policy.pick(X).index
                policy.learn(X.row(i), REWARDS[user.react(float(r.utility[i]), rng)])
                rewards[key][user.user_id, t] = r.expected[i]
    return ReplayResult(rewards, random, oracle)
