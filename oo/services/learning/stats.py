"""Per-policy statistics for the learner ops API and the admin console (A8, R6).

For the serving policy: tips served, fallbacks, and the mean reward of the first reaction to
each tip with a 95 % interval. For shadow policies, which are never served: how often their
pick agreed with the served tip, and the mean reward on those agreeing requests (a simple
replay estimate of how the shadow would do). Shadow figures cover the ``tip_score`` retention
window (30 days).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func
from sqlmodel import Session, col, select

from oo.models import ModelState, TipScore, TipView
from oo.recommender import REWARDS
from oo.services.learning.policies import list_policies


@dataclass(frozen=True)
class RewardSummary:
    """Count, mean and 95 % half-interval of rewards (None when there are none).

    Examples:
        >>> RewardSummary.of([("done", 3), ("dismiss", 1)]).mean
        0.5
        >>> RewardSummary.of([]).mean is None
        True
    """

    n: int
    mean: float | None
    ci95: float | None

    @classmethod
    def of(cls, counts: Iterable[tuple[str | None, int]]) -> RewardSummary:
        """From (reaction, count) pairs; reactions outside `REWARDS` are ignored."""
        pairs = [(REWARDS[r], c) for r, c in counts if r is not None and r in REWARDS and c > 0]
        n = sum(c for _, c in pairs)
        if n == 0:
            return cls(0, None, None)
        mean = sum(v * c for v, c in pairs) / n
        if n < 2:
            return cls(n, mean, None)
        var = sum(c * (v - mean) ** 2 for v, c in pairs) / (n - 1)
        return cls(n, mean, 1.96 * math.sqrt(var / n))


@dataclass(frozen=True)
class PolicyStats:
    """One registered policy's numbers."""

    key: str
    name: str
    version: int
    status: str
    alpha: float | None
    served: int
    fallbacks: int
    reward: RewardSummary
    shadow_scored: int
    shadow_agreement: float | None
    shadow_reward: RewardSummary
    models: int
    updates: int


def _served(session: Session, user_id: int | None) -> dict[str, dict[str | None, int]]:
    served = (col(TipView.policy), col(TipView.policy_version), col(TipView.fallback), col(TipView.reaction))
    query = sa.select(*served, func.count())
    if user_id is not None:
        query = query.where(col(TipView.user_id) == user_id)
    out: dict[str, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    for name, version, fallback, reaction, n in session.connection().execute(query.group_by(*served)).all():
        counts = out[f"{name}@{version}"]
        counts["__served__"] += n
        counts["__fallback__"] += n if fallback else 0
        counts[reaction] += n
    return out


def _shadow(session: Session, user_id: int | None) -> dict[str, dict[tuple[bool, str | None], int]]:
    agree = col(TipScore.task_id) == col(TipView.task_id)
    shadow = (col(TipScore.policy), col(TipScore.policy_version), agree, col(TipView.reaction))
    query = (
        sa.select(*shadow, func.count())
        .join(TipView, col(TipView.id) == col(TipScore.tip_id))
        .where(col(TipScore.role) == "shadow")
    )
    if user_id is not None:
        query = query.where(col(TipScore.user_id) == user_id)
    out: dict[str, dict[tuple[bool, str | None], int]] = defaultdict(lambda: defaultdict(int))
    for name, version, agreed, reaction, n in session.connection().execute(query.group_by(*shadow)).all():
        out[f"{name}@{version}"][(bool(agreed), reaction)] += n
    return out


def _models(session: Session, user_id: int | None) -> dict[str, tuple[int, int]]:
    query = select(ModelState.policy_key, func.count(), func.coalesce(func.sum(ModelState.updates), 0))
    if user_id is not None:
        query = query.where(ModelState.user_id == user_id)
    return {k: (int(n), int(u)) for k, n, u in session.exec(query.group_by(ModelState.policy_key)).all()}


def stats(*, session: Session, user_id: int | None = None) -> list[PolicyStats]:
    """Numbers for every registered policy, over all users or one."""
    served, shadow, models = _served(session, user_id), _shadow(session, user_id), _models(session, user_id)
    out = []
    for row in list_policies(session=session):
        key = f"{row.name}@{row.version}"
        counts = served.get(key, {})
        sh = shadow.get(key, {})
        scored = sum(sh.values())
        agreed = sum(n for (ok, _), n in sh.items() if ok)
        alpha = _alpha(row.params)
        out.append(
            PolicyStats(
                key=key,
                name=row.name,
                version=row.version,
                status=row.status,
                alpha=alpha,
                served=counts.get("__served__", 0),
                fallbacks=counts.get("__fallback__", 0),
                reward=RewardSummary.of((r, n) for r, n in counts.items() if r and not r.startswith("__")),
                shadow_scored=scored,
                shadow_agreement=(agreed / scored) if scored else None,
                shadow_reward=RewardSummary.of((r, n) for (ok, r), n in sh.items() if ok),
                models=models.get(key, (0, 0))[0],
                updates=models.get(key, (0, 0))[1],
            )
        )
    return out


def model_summaries(*, session: Session, user_id: int) -> list[dict[str, Any]]:
    """The user's stored models: key, number of updates, last update, size in bytes."""
    rows = session.exec(select(ModelState).where(ModelState.user_id == user_id)).all()
    return [
        {"policy": r.policy_key, "updates": r.updates, "updated_at": r.updated_at, "bytes": len(r.data)}
        for r in sorted(rows, key=lambda r: r.policy_key)
    ]


def _alpha(params: str) -> float | None:
    try:
        value = json.loads(params or "{}").get("alpha")
    except (ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) else None
