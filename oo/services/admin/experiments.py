"""Experiments (A8): per-policy pulls and mean reward with a 95 % interval, cohorts, shadow agreement.

A pull is a served tip; its reward is the reward of the tip's first reaction (``tip_view.reaction``
through `oo.recommender.REWARDS`), which is exactly what the learner was taught (later reactions
to the same tip are recorded but not learned from). Tips without a reaction are not rewards.
Cohorts are signup months, so an old cohort's habits do not pass for a policy effect. Shadow
policies are never served; their agreement with the served pick on recent requests (the newest
`SHADOW_SAMPLE` shadow scores of the last 24 hours), and the mean reward on the agreeing
requests, estimate how they would do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from oo.models import TipScore, TipView, User, utcnow
from oo.recommender import REWARDS
from oo.services.admin.inputs import mean_interval, parse_window, since_days
from oo.services.admin.policies import list_policies
from oo.services.admin.portable_sql import day_of
from oo.services.admin.rewards import reacted_tips

SHADOW_WINDOW = timedelta(hours=24)
SHADOW_SAMPLE = 3000  # the newest shadow scores: a few hundred to a thousand requests


def reward_summary(counts: Iterable[tuple[str | None, int]]) -> tuple[int, float, float, float]:
    """(rewards, mean, low, high) from (reaction, count) pairs; unreacted tips are skipped.

    Examples:
        >>> reward_summary([("done", 3), ("dismiss", 1), (None, 5)])
        (4, 0.5, -0.48, 1.48)
    """
    n = total = total_sq = 0.0
    for reaction, count in counts:
        if reaction is not None and reaction in REWARDS:
            value = REWARDS[reaction]
            n, total, total_sq = n + count, total + value * count, total_sq + value * value * count
    return (int(n), *mean_interval(int(n), total, total_sq))


def _served(session: Session, since: Any) -> dict[str, dict[str | None, int]]:
    out: dict[str, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    for policy, version, reaction, n in session.exec(
        select(TipView.policy, TipView.policy_version, TipView.reaction, sa.func.count())
        .where(col(TipView.served_at) >= since)
        .group_by(col(TipView.policy), col(TipView.policy_version), col(TipView.reaction))
    ).all():
        out[f"{policy}@{version}"][reaction] += n
    return out


def _shadow(session: Session) -> dict[str, dict[tuple[bool, str | None], int]]:
    recent = (
        select(TipScore.policy, TipScore.policy_version, TipScore.task_id, TipScore.tip_id)
        .where(col(TipScore.created_at) >= utcnow() - SHADOW_WINDOW, TipScore.role == "shadow")
        .order_by(col(TipScore.created_at).desc())
        .limit(SHADOW_SAMPLE)
        .subquery()
    )
    agree = recent.c.task_id == col(TipView.task_id)
    out: dict[str, dict[tuple[bool, str | None], int]] = defaultdict(lambda: defaultdict(int))
    stmt: sa.Select[str, int, bool | None, str | None, int] = (
        sa.select(recent.c.policy, recent.c.policy_version, agree, col(TipView.reaction), sa.func.count())
        .join(TipView, col(TipView.id) == recent.c.tip_id)
        .group_by(recent.c.policy, recent.c.policy_version, agree, col(TipView.reaction))
    )
    for policy, version, agreed, reaction, n in session.connection().execute(stmt).all():
        out[f"{policy}@{version}"][(bool(agreed), reaction)] += n
    return out


def policy_stats(*, session: Session, window: Any = "7d") -> list[dict[str, Any]]:
    """One row per registered policy (and any other policy that served in the window).

    Raises:
        AdminInputError: Unknown window.
    """
    return experiments(session=session, window=window)["stats"]


def cohort_stats(*, session: Session, window: Any = "7d") -> list[dict[str, Any]]:
    """Mean reward with interval per served policy and signup-month cohort.

    Raises:
        AdminInputError: Unknown window.
    """
    return experiments(session=session, window=window)["cohorts"]


def experiments(*, session: Session, window: Any = "7d") -> dict[str, list[dict[str, Any]]]:
    """Per-policy stats and the cohort comparison, sharing one scan of the window's tips.

    Raises:
        AdminInputError: Unknown window.
    """
    since = since_days(parse_window(window))
    served = _served(session, since)
    return {"stats": _stats(session, served), "cohorts": _cohorts(session, since, served)}


def _stats(session: Session, served: dict[str, dict[str | None, int]]) -> list[dict[str, Any]]:
    shadow = _shadow(session)
    registry = {r["key"]: r for r in list_policies(session=session)}
    out = []
    for k in [*registry, *sorted(set(served) - set(registry))]:
        counts = served.get(k, {})
        n, mean, lo, hi = reward_summary(counts.items())
        sh = shadow.get(k, {})
        scored = sum(sh.values())
        agreed = sum(c for (ok, _), c in sh.items() if ok)
        row = registry.get(k)
        out.append(
            {
                "policy": k,
                "status": row["status"] if row else "unregistered",
                "alpha": row["alpha"] if row else "",
                "pulls": sum(counts.values()),
                "rewards": n,
                "mean": mean if n else None,
                "low": lo if n else None,
                "high": hi if n else None,
                "shadow_agreement": f"{agreed / scored:.1%}" if scored else "",
                "shadow_mean": reward_summary((r, c) for (ok, r), c in sh.items() if ok)[1] if agreed else "",
            }
        )
    return out


def _cohorts(session: Session, since: Any, served: dict[str, dict[str | None, int]]) -> list[dict[str, Any]]:
    reacted = sum(n for counts in served.values() for r, n in counts.items() if r is not None)
    signup = day_of(User.created_at)
    stmt = (
        sa.select(
            col(TipView.policy), col(TipView.policy_version), signup, col(TipView.reaction), sa.func.count()
        )
        .join(User, col(User.id) == TipView.user_id)
        .group_by(col(TipView.policy), col(TipView.policy_version), signup, col(TipView.reaction))
    )
    merged: dict[tuple[str, str], dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    for policy, version, day, reaction, n in session.connection().execute(
        reacted_tips(session, stmt, since=since, reacted=reacted)
    ):
        merged[(f"{policy}@{version}", (day or "unknown")[:7])][reaction] += n
    out = []
    for (policy, cohort), counts in sorted(merged.items()):
        n, mean, lo, hi = reward_summary(counts.items())
        out.append({"policy": policy, "cohort": cohort, "rewards": n, "mean": mean, "low": lo, "high": hi})
    return out
