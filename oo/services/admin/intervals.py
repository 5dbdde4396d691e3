"""Mean reward with a 95 % interval that respects who the rewards came from.

Rewards cluster by person (one enthusiastic user can give fifty "done"s), so tips are not
independent draws. The interval resamples **users**, not tips: `BOOTSTRAP` replicates, each
drawing the group's users with replacement and taking the mean reward of all their rewards; the
interval is the 2.5th and 97.5th percentile of those means. Past `BOOTSTRAP_MAX_USERS` users in
a group, the bootstrap's own limit is used directly: the cluster-robust normal interval of the
ratio mean (what the bootstrap converges to, at a fraction of the cost). Either way the bounds
are clipped to the reward range (`LOW`..`HIGH`), and a group with fewer than `MIN_REWARDS`
rewards gets its mean but no interval ("too few"). Replicates use a fixed seed, so a page shows
the same interval on every load.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np

from oo.recommender import REWARDS

MIN_REWARDS = 10
BOOTSTRAP = 200
BOOTSTRAP_MAX_USERS = 100
LOW, HIGH = min(REWARDS.values()), max(REWARDS.values())
Z = 1.96


def _clip(x: float) -> float:
    return round(min(HIGH, max(LOW, x)), 4)


def clustered_normal(n: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """Cluster-robust normal 95 % interval of sum(s)/sum(n) over users (per-user counts and sums).

    Examples:
        >>> clustered_normal(np.array([2.0, 2.0]), np.array([2.0, -2.0]))  # mean 0, users disagree
        (-1.0, 1.0)
    """
    users, total = len(n), float(n.sum())
    mean = float(s.sum()) / total
    resid = s - mean * n
    var = float((resid**2).sum()) / total**2 * (users / (users - 1) if users > 1 else 1.0)
    half = Z * math.sqrt(var)
    return _clip(mean - half), _clip(mean + half)


def bootstrap(
    n: np.ndarray, s: np.ndarray, *, replicates: int = BOOTSTRAP, seed: int = 0
) -> tuple[float, float]:
    """Percentile 95 % interval of sum(s)/sum(n) from resampling users with replacement."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(n), size=(replicates, len(n)))
    means = s[idx].sum(axis=1) / n[idx].sum(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return _clip(float(lo)), _clip(float(hi))


def summary(per_user: dict[Any, list[float]]) -> dict[str, Any]:
    """``rewards``, ``users``, ``mean``, ``low``, ``high``, ``too_few`` from user → [count, sum].

    Examples:
        >>> summary({"a": [3, 3.0]})["too_few"], summary({"a": [3, 3.0]})["mean"]
        (True, 1.0)
    """
    n = np.array([v[0] for v in per_user.values()], dtype=np.float64)
    s = np.array([v[1] for v in per_user.values()], dtype=np.float64)
    rewards = int(n.sum())
    if rewards == 0:
        return {"rewards": 0, "users": 0, "mean": None, "low": None, "high": None, "too_few": True}
    mean = round(float(s.sum()) / rewards, 4)
    out = {"rewards": rewards, "users": len(n), "mean": mean, "low": None, "high": None, "too_few": True}
    if rewards >= MIN_REWARDS:
        lo, hi = bootstrap(n, s) if len(n) <= BOOTSTRAP_MAX_USERS else clustered_normal(n, s)
        out |= {"low": min(lo, mean), "high": max(hi, mean), "too_few": False}
    return out


def by_group(rows: Iterable[tuple[Hashable, Any, str | None, int]], name: str) -> list[dict[str, Any]]:
    """One `summary` per group from (group, user, reaction, count) rows; unreacted rows are skipped.

    Examples:
        >>> [(r["policy"], r["mean"], r["too_few"]) for r in by_group(
        ...     [("a", 1, "done", 6), ("a", 2, "dismiss", 6), ("b", 1, None, 4)], "policy")]
        [('a', 0.0, False)]
    """
    groups: dict[Hashable, dict[Any, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
    for group, user, reaction, count in rows:
        if reaction is not None and reaction in REWARDS:
            acc = groups[group][user]
            acc[0] += count
            acc[1] += REWARDS[reaction] * count
    return [{name: g, **summary(groups[g])} for g in sorted(groups, key=str)]
