"""Experiments (A8): per-policy pulls and mean reward with a 95 % interval, cohorts, shadow agreement.

A pull is a served tip; its reward is the reward of the tip's first reaction (``tip_view.reaction``
through `oo.recommender.REWARDS`), which is exactly what the learner was taught (later reactions
to the same tip are recorded but not learned from), counted as every console page counts
reactions (`oo.services.admin.metrics`). Tips without a reaction are not rewards. Intervals
resample users (`oo.services.admin.intervals`). A pick that Random made because the active
policy failed (a *fallback*) is its own row, ``random@1 (fallback)``, so the random@1 row only
holds deliberate random picks. Cohorts are signup months, so an old cohort's habits do not pass
for a policy effect. Shadow policies are never served; their agreement with the served pick on
the requests of the selected window, and the mean reward on the agreeing requests, estimate how
they would do (past `SHADOW_EXACT` reacted tips in the window, on a uniform sample of its requests).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from oo.models import TipScore, TipView
from oo.recommender import REWARDS
from oo.services.admin import intervals
from oo.services.admin.inputs import parse_window, sample_bound, since_days
from oo.services.admin.policies import list_policies
from oo.services.admin.rewards import reacted_tips, signup_months

FALLBACK = " (fallback)"
SHADOW_EXACT = 2_000  # reacted tips in the window; past this, shadow agreement reads a sample


def reward_summary(counts: Iterable[tuple[str | None, int]]) -> tuple[int, float | None]:
    """(rewards, mean) from (reaction, count) pairs; unreacted tips are skipped.

    Examples:
        >>> reward_summary([("done", 3), ("dismiss", 1), (None, 5)])
        (4, 0.5)
        >>> reward_summary([(None, 2)])
        (0, None)
    """
    n = total = 0.0
    for reaction, count in counts:
        if reaction is not None and reaction in REWARDS:
            n, total = n + count, total + REWARDS[reaction] * count
    return int(n), (round(total / n, 4) if n else None)


def _key(policy: str, version: int, fallback: Any) -> str:
    return f"{policy}@{version}" + (FALLBACK if fallback else "")


def _served(session: Session, since: Any) -> dict[str, dict[str | None, int]]:
    """Policy key → reaction (None: unreacted) → tips served in the window (exact, index only)."""
    keys: list[Any] = [TipView.policy, TipView.policy_version, TipView.fallback, TipView.reaction]
    rows: Any = session.execute(
        sa.select(*keys, sa.func.count()).where(col(TipView.served_at) >= since).group_by(*keys)
    ).all()
    out: dict[str, dict[str | None, int]] = defaultdict(lambda: defaultdict(int))
    for p, v, f, r, n in rows:
        out[_key(p, v, f)][r] += n
    return out


def _per_user(session: Session, since: Any, reacted: int) -> list[tuple[str, int, str | None, int, str]]:
    """(policy key, user, reaction, tips, signup month) of the window's reacted tips (a sample past the limit)."""
    # User first: SQLite then reads the sample through its id range, not the policy-ordered index.
    keys: list[Any] = [
        TipView.user_id,
        TipView.reaction,
        TipView.policy,
        TipView.policy_version,
        TipView.fallback,
    ]
    stmt = sa.select(*keys, sa.func.count()).select_from(TipView).group_by(*keys)
    found: Any = session.execute(reacted_tips(session, stmt, since=since, reacted=reacted)).all()
    months = signup_months(session, {row[0] for row in found})
    return [(_key(p, v, f), u, r, n, months.get(u) or "unknown") for u, r, p, v, f, n in found]


def _shadow(session: Session, since: Any, reacted: int) -> dict[str, dict[tuple[bool, str | None], int]]:
    """Shadow policy → (agreed with the served pick, reaction of the served tip) → requests in the window."""
    agree = col(TipScore.task_id) == col(TipView.task_id)
    keys: list[Any] = [TipScore.policy, TipScore.policy_version, agree, TipView.reaction]
    stmt = (
        sa.select(*keys, sa.func.count())
        .select_from(TipView)
        .join(TipScore, col(TipScore.request_id) == TipView.id)
        .where(col(TipScore.role) == "shadow", col(TipView.served_at) >= since)
        .group_by(*keys)
    )
    if reacted > SHADOW_EXACT:  # a uniform sample of the window's requests (tip ids are random)
        everything = session.exec(select(sa.func.count()).select_from(TipView)).one()
        stmt = stmt.where(col(TipView.id) < (sample_bound(int(everything)) or "g"))
    out: dict[str, dict[tuple[bool, str | None], int]] = defaultdict(lambda: defaultdict(int))
    rows: Any = session.execute(stmt).all()
    for policy, version, agreed, reaction, n in rows:
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


def experiments(*, session: Session, window: Any = "7d", now: Any = None) -> dict[str, list[dict[str, Any]]]:
    """Per-policy stats and the cohort comparison for the tips served in the window.

    Pulls are exact; rewards, means and intervals come from the per-user rows, which are a
    uniform sample once the window holds more than `oo.services.admin.rewards.EXACT_LIMIT`
    reacted tips.

    Raises:
        AdminInputError: Unknown window.
    """
    since = since_days(parse_window(window), now=now)
    served = _served(session, since)
    reacted = sum(n for counts in served.values() for r, n in counts.items() if r is not None)
    per_user = _per_user(session, since, reacted)
    return {"stats": _stats(session, since, served, per_user, reacted), "cohorts": _cohorts(per_user)}


def _stats(
    session: Session,
    since: Any,
    served: dict[str, dict[str | None, int]],
    per_user: list[tuple[str, int, str | None, int, str]],
    reacted: int,
) -> list[dict[str, Any]]:
    shadow = _shadow(session, since, reacted)
    registry = {r["key"]: r for r in list_policies(session=session)}
    pulls = {k: sum(counts.values()) for k, counts in served.items()}
    summaries = {
        r["policy"]: r for r in intervals.by_group(((k, u, r, n) for k, u, r, n, _ in per_user), "policy")
    }
    out = []
    for k in [*registry, *sorted((set(pulls) | set(shadow)) - set(registry))]:
        base = k.removesuffix(FALLBACK)
        summary = summaries.get(k, intervals.summary({}))
        sh = shadow.get(k, {})
        scored = sum(sh.values())
        agreed = sum(c for (ok, _), c in sh.items() if ok)
        row = registry.get(base)
        out.append(
            {
                "policy": k,
                "status": "fallback" if k.endswith(FALLBACK) else (row["status"] if row else "unregistered"),
                "alpha": row["alpha"] if row else "",
                "pulls": pulls.get(k, 0),
                "rewards": summary["rewards"],
                "users": summary["users"],
                "mean": summary["mean"],
                "low": summary["low"],
                "high": summary["high"],
                "too_few": summary["too_few"],
                "shadow_requests": scored or "",
                "shadow_agreement": f"{agreed / scored:.1%}" if scored else "",
                "shadow_mean": reward_summary((r, c) for (ok, r), c in sh.items() if ok)[1] if agreed else "",
            }
        )
    return out


def _cohorts(per_user: list[tuple[str, int, str | None, int, str]]) -> list[dict[str, Any]]:
    rows = [((k, month), u, r, n) for k, u, r, n, month in per_user]
    return [
        {"policy": g[0], "cohort": g[1], **{k: v for k, v in r.items() if k != "group"}}
        for r in intervals.by_group(rows, "group")
        for g in [r["group"]]
    ]
