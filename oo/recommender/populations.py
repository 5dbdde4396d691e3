"""A family of simulated populations, from our own simulator to harder ones, for robust tuning.

`oo.recommender.simulation` is one population whose average user wants what we believe people
want. A policy tuned on it alone overfits that belief. This module generalises it along the
axes where real people (and independent simulators) differ; each `PopulationSpec` turns some on:

- **pools**: candidate sets of 5-15 tasks, or heavy-tailed 5-200 (most people have a dozen
  open tasks, a few have hundreds);
- **persist**: tasks persist across decisions with a fixed hidden appeal; a snoozed task comes
  back after hours, a dismissed one after days, a done one is replaced by a new task;
- **answered**: the share of tips that get any reaction (unanswered tips teach nothing here);
- **noise**: a lower reaction temperature (reactions less tied to utility);
- **appeal_sd**: the spread of the hidden per-task appeal no encoder can see;
- **taste_change**: every user's tastes are redrawn half-way through;
- **against_urgency**: in the evening (from 18:00) and at weekends urgency (priority, overdue,
  near deadlines) counts *against* a task for most users.

`replay_family` runs fresh policies per user; each decision is scored by the expected reward
of the pick, against random (the mean over the same candidates) and the oracle (their max), so
`normalized` = (policy - random) / (oracle - random), pooled over users. With persistent tasks
the candidate sets depend on the policy's own picks, so baselines are per policy run.

Examples:
    >>> from oo.recommender.registry import build_policy
    >>> res = replay_family(POPULATIONS["hard"], {"random@1": lambda s: build_policy("random", 1, seed=s)},
    ...                     n_users=2, n_decisions=30, seed=3)
    >>> abs(res.normalized("random@1", 30)) < 0.5
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

import numpy as np

from oo.recommender.base import REWARDS, Policy
from oo.recommender.features import Context, TaskBatch, get_encoder

__all__ = ["POPULATIONS", "FamilyResult", "PopulationSpec", "Taste", "draw_taste", "replay_family"]

_REACTIONS = tuple(REWARDS)
_VALUES = np.array([REWARDS[r] for r in _REACTIONS])
_PRIORITY_P = (0.5, 0.25, 0.15, 0.1)
_EPOCH = datetime(2025, 1, 6, 8, 0)  # a Monday morning
_UNIX_ORDINAL = float(date(1970, 1, 1).toordinal())
_HIDE_HOURS = {"snooze": (3.0, 24.0), "dismiss": (48.0, 168.0)}


@dataclass(frozen=True, slots=True)
class PopulationSpec:
    """The knobs of one simulated population (see the module docstring)."""

    name: str
    pools: tuple[int, int] = (5, 15)
    heavy_pools: bool = False
    persist: bool = False
    answered: tuple[float, float] = (1.0, 1.0)
    noise: float = 1.0
    appeal_sd: float = 0.15
    taste_change: bool = False
    against_urgency: bool = False


POPULATIONS: dict[str, PopulationSpec] = {
    p.name: p
    for p in (
        PopulationSpec("ours"),
        PopulationSpec("big_pools", pools=(5, 200), heavy_pools=True, persist=True, answered=(0.1, 0.5)),
        PopulationSpec("noisy", noise=0.5, appeal_sd=0.4, answered=(0.1, 0.5)),
        PopulationSpec("taste_change", taste_change=True),
        PopulationSpec(
            "evening_weekend", pools=(5, 200), heavy_pools=True, against_urgency=True, appeal_sd=0.3
        ),
        PopulationSpec(
            "hard",
            pools=(5, 200),
            heavy_pools=True,
            persist=True,
            answered=(0.1, 0.5),
            noise=0.7,
            appeal_sd=0.35,
            taste_change=True,
            against_urgency=True,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Taste:
    """One simulated person's true utility parameters."""

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
    evening_anti: float
    weekend_anti: float

    def utility(self, cols: dict[str, np.ndarray], now: datetime, appeal: np.ndarray) -> np.ndarray:
        """True utility of each task (columns as `_columns` returns) at local time `now`."""
        pr = (cols["priority"] - 1.0) / 3.0
        hours = cols["due_hours"]
        near = np.where(
            np.isfinite(hours) & (hours >= 0), np.exp(-np.nan_to_num(hours, posinf=1e9) / 18.0), 0.0
        )
        phase = math.cos(2.0 * math.pi * (now.hour + now.minute / 60.0 - self.peak_hour) / 24.0)
        weekend = float(now.weekday() >= 5)
        evening = float(now.hour >= 18)
        urgency = self.w_priority * pr + self.w_overdue * cols["overdue"] + self.w_due * near
        flip = 1.0 - self.evening_anti * evening - self.weekend_anti * weekend
        age = cols["age"]
        return (
            self.baseline
            + urgency * flip
            + self.focus * phase * (pr - 0.4)
            + self.w_age * age / (age + 7.0)
            - self.weekend_rest * weekend * pr
            + appeal
        )

    def expected_reward(self, utility: np.ndarray) -> np.ndarray:
        """Expected reward of showing tasks with these utilities."""
        return _probs(self.temperature, utility) @ _VALUES

    def react(self, utility: float, rng: np.random.Generator) -> str:
        """Sample a reaction to one task."""
        p = _probs(self.temperature, np.array([utility]))[0]
        return _REACTIONS[int(rng.choice(len(_REACTIONS), p=p))]


def _probs(temperature: float, utility: np.ndarray) -> np.ndarray:
    logits = temperature * np.multiply.outer(utility, _VALUES)
    logits -= logits.max(axis=-1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=-1, keepdims=True)


def draw_taste(spec: PopulationSpec, rng: np.random.Generator) -> Taste:
    """Draw one person's tastes for a population."""
    anti = spec.against_urgency and rng.random() < 0.8  # most, not all, people
    return Taste(
        utc_offset_hours=int(rng.choice([-8, -5, 0, 1, 5, 9])),
        peak_hour=float(rng.uniform(7.0, 22.0)),
        baseline=float(rng.normal(0.0, 0.15)),
        w_priority=float(rng.normal(0.5, 0.35)),
        focus=float(rng.uniform(0.2, 1.0)),
        w_overdue=float(rng.normal(0.5, 0.35)),
        w_due=float(rng.normal(0.4, 0.3)),
        w_age=float(rng.normal(-0.1, 0.4)),
        weekend_rest=float(rng.uniform(0.0, 0.8)),
        temperature=float(rng.uniform(1.5, 3.0)) * spec.noise,
        evening_anti=float(rng.uniform(1.2, 2.2)) if anti else 0.0,
        weekend_anti=float(rng.uniform(1.2, 2.2)) if anti else 0.0,
    )


class _Pool:
    """The open tasks of one simulated user as columns (with hidden appeal and visibility)."""

    def __init__(self, spec: PopulationSpec, rng: np.random.Generator, now: datetime) -> None:
        self.spec, self.rng = spec, rng
        self.cols: dict[str, np.ndarray] = {
            k: np.empty(0) for k in ("priority", "added", "due_at", "due_date", "due_ts", "appeal", "hidden")
        }
        self.size = self._pool_size()
        self.serial = 0
        self.add(self.size, now)

    def _pool_size(self) -> int:
        lo, hi = self.spec.pools
        if self.spec.heavy_pools:  # Pareto tail: median ~12, 5% above ~90
            return int(min(hi, lo + math.floor(self.rng.pareto(1.1) * 6.0)))
        return int(self.rng.integers(lo, hi + 1))

    def add(self, k: int, now: datetime) -> None:
        """Append `k` fresh tasks created before `now`."""
        rng, ts = self.rng, now.timestamp()
        age = np.minimum(365.0, np.exp(rng.normal(math.log(3.0), 1.2, k)))
        has_due = rng.random(k) < 0.45
        due_ts = ts + rng.normal(6.0, 48.0, k) * 3600.0
        timed = has_due & (rng.random(k) < 0.5)
        offset = now.utcoffset().total_seconds()  # type: ignore[union-attr]  # a fixed-offset zone
        local_day = np.floor((due_ts + offset) / 86_400.0)
        ordinal = local_day + _UNIX_ORDINAL
        eod = local_day * 86_400.0 - offset + 18 * 3600.0  # 18:00 local on the deadline's day
        new = {
            "priority": rng.choice(4, size=k, p=_PRIORITY_P).astype(np.float64) + 1.0,
            "added": ts - age * 86_400.0,
            "due_at": np.where(timed, due_ts, np.nan),
            "due_date": np.where(has_due & ~timed, ordinal, np.nan),
            "due_ts": np.where(timed, due_ts, np.where(has_due, eod, np.inf)),
            "appeal": rng.normal(0.0, self.spec.appeal_sd, k),
            "hidden": np.full(k, -np.inf),
        }
        self.cols = {key: np.concatenate([self.cols[key], new[key]]) for key in self.cols}
        self.serial += k

    def visible(self, now: datetime) -> np.ndarray:
        """Indices of the tasks shown as candidates now (fresh tasks if none is visible)."""
        if not self.spec.persist:
            self.cols = {key: v[:0] for key, v in self.cols.items()}
            self.add(self._pool_size(), now)
        idx = np.flatnonzero(self.cols["hidden"] <= now.timestamp())
        if idx.size == 0:
            self.add(3, now)
            idx = np.flatnonzero(self.cols["hidden"] <= now.timestamp())
        return idx

    def after(self, i: int, reaction: str | None, now: datetime) -> None:
        """Apply a reaction to task `i`: done replaces it, snooze/dismiss hide it for a while."""
        if not self.spec.persist or reaction is None:
            return
        if reaction == "done":
            self.cols = {key: np.delete(v, i) for key, v in self.cols.items()}
            self.add(1, now)
        elif reaction in _HIDE_HOURS:
            lo, hi = _HIDE_HOURS[reaction]
            self.cols["hidden"][i] = now.timestamp() + float(self.rng.uniform(lo, hi)) * 3600.0

    def batch(self, idx: np.ndarray, now: datetime) -> tuple[TaskBatch, dict[str, np.ndarray]]:
        """The candidates as a `TaskBatch` plus the raw columns the utility reads."""
        c = {key: v[idx] for key, v in self.cols.items()}
        batch = TaskBatch(tuple(str(j) for j in idx), c["priority"], c["added"], c["due_at"], c["due_date"])
        raw = batch.columns(now)
        raw["due_hours"] = (c["due_ts"] - now.timestamp()) / 3600.0
        return batch, raw


@dataclass(frozen=True)
class FamilyResult:
    """Expected reward of each pick, and the random / oracle baselines of the same candidates."""

    rewards: dict[str, np.ndarray]
    random: dict[str, np.ndarray]
    oracle: dict[str, np.ndarray]

    def normalized(self, key: str, stop: int, start: int = 0) -> float:
        """(policy - random) / (oracle - random) over decisions [start, stop), pooled over users."""
        s = slice(start, stop)
        rnd = self.random[key][:, s].sum()
        return float((self.rewards[key][:, s].sum() - rnd) / (self.oracle[key][:, s].sum() - rnd))


def _times(rng: np.random.Generator, tz: timezone, n: int) -> list[datetime]:
    now = _EPOCH.replace(tzinfo=tz) + timedelta(days=int(rng.integers(7)), hours=float(rng.uniform(0, 12)))
    out = []
    for _ in range(n):
        now += timedelta(hours=float(rng.exponential(5.0)))
        if now.hour < 7:
            now = now.replace(hour=7) + timedelta(hours=float(rng.uniform(0, 3)))
        out.append(now)
    return out


def _run_user(
    spec: PopulationSpec, policy: Policy, u: int, n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One user's decisions with one policy; the world is seeded per user (not per policy)."""
    world = np.random.default_rng([seed, 11, u])
    taste = draw_taste(spec, world)
    later = replace(draw_taste(spec, world), utc_offset_hours=taste.utc_offset_hours)
    answer = float(world.uniform(*spec.answered))
    tz = timezone(timedelta(hours=taste.utc_offset_hours))
    times = _times(world, tz, n)
    pool = _Pool(spec, np.random.default_rng([seed, 12, u]), times[0])
    react_rng = np.random.default_rng([seed, 13, u])
    encoder = get_encoder(policy.encoder or "textbook@1")
    out = np.zeros((3, n))
    for t, now in enumerate(times):
        who = later if spec.taste_change and t >= n // 2 else taste
        idx = pool.visible(now)
        batch, raw = pool.batch(idx, now)
        util = who.utility(raw, now, pool.cols["appeal"][idx])
        expected = who.expected_reward(util)
        X = encoder.encode_batch(batch, Context(now))
        i = policy.pick(X).index
        out[:, t] = expected[i], expected.mean(), expected.max()
        reaction = who.react(float(util[i]), react_rng) if react_rng.random() < answer else None
        if reaction is not None:
            policy.learn(X.row(i), REWARDS[reaction])
        pool.after(int(idx[i]), reaction, now)
    return out[0], out[1], out[2]


def replay_family(
    spec: PopulationSpec,
    policies: Mapping[str, Callable[[int], Policy]],
    *,
    n_users: int,
    n_decisions: int,
    seed: int,
) -> FamilyResult:
    """Run each policy (fresh per user) on `n_users` users of population `spec`.

    Args:
        spec: The population.
        policies: Label -> factory taking a seed and returning an untrained policy.
        n_users: Users.
        n_decisions: Decisions per user.
        seed: Seed of the users, their tasks, times and reactions.

    Returns:
        Per-policy arrays of shape (n_users, n_decisions).
    """
    shape = (n_users, n_decisions)
    rewards = {k: np.zeros(shape) for k in policies}
    random = {k: np.zeros(shape) for k in policies}
    oracle = {k: np.zeros(shape) for k in policies}
    for key, factory in policies.items():
        for u in range(n_users):
            policy = factory(seed * 1_000_003 + u)
            rewards[key][u], random[key][u], oracle[key][u] = _run_user(spec, policy, u, n_decisions, seed)
    return FamilyResult(rewards, random, oracle)
