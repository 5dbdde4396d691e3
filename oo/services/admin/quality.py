"""Data quality (A11): missing-feature rate, stale-token rate, daily completeness of the tip log.

- Missing features: the share of recent scoring calls (``tip_score``) whose feature dict lacks a
  feature of the R2 spec, overall and per feature. The newest `SAMPLE` calls are checked, which
  bounds the cost at any volume.
- Stale tokens: connected provider integrations that need a reconnect or have not synced for
  `STALE_AFTER`.
- Completeness: per day and field of the R5 log (``tip_view``), the share of rows that carry it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from oo.models import DEMO, Integration, TipScore, TipView, utcnow
from oo.recommender.features import TEXTBOOK_NAMES, get_encoder
from oo.services.admin.inputs import sample_bound
from oo.services.admin.portable_sql import day_of
from oo.services.learning import policies

log = logging.getLogger("oo.admin.quality")
SAMPLE = 2000
DEFAULT_ENCODER = "textbook@1"
STALE_AFTER = timedelta(hours=24)
HEATMAP_DAYS = 30
LOCAL_SOURCES = (DEMO,)  # built-in sources have no token to go stale


def missing_rates(calls: Iterable[tuple[dict[str, Any], Sequence[str]]]) -> dict[str, Any]:
    """Share of calls missing a required feature, overall and per feature (None counts as missing).

    Args:
        calls: (features sent, feature names the policy's encoder requires) per scoring call.

    Examples:
        >>> missing_rates([({"a": 1, "b": 2}, ("a", "b")), ({"a": None}, ("a", "b"))])
        {'calls': 2, 'missing_any': 0.5, 'per_feature': {'a': 0.5, 'b': 0.5}}
    """
    n = 0
    any_missing = 0
    seen: dict[str, int] = {}
    missing: dict[str, int] = {}
    for feats, required in calls:
        n += 1
        gone = [k for k in required if feats.get(k) is None]
        any_missing += bool(gone)
        for k in required:
            seen[k] = seen.get(k, 0) + 1
            missing[k] = missing.get(k, 0) + (k in gone)
    return {
        "calls": n,
        "missing_any": round(any_missing / n, 4) if n else 0.0,
        "per_feature": {k: round(missing[k] / seen[k], 4) for k in sorted(seen)},
    }


def _load(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _required_by_policy(session: Session) -> dict[str, tuple[str, ...]]:
    out = {}
    for policy in policies.list_policies(session=session):  # seeds the registry if it is empty
        encoder = str(_load(policy.params).get("encoder") or DEFAULT_ENCODER)
        try:
            out[f"{policy.name}@{policy.version}"] = tuple(get_encoder(encoder).feature_names)
        except (KeyError, ValueError):
            log.warning("policy %s@%s names an unknown encoder %s", policy.name, policy.version, encoder)
    return out


def missing_features(*, session: Session, sample: int = SAMPLE) -> dict[str, Any]:
    """`missing_rates` over the newest ``sample`` scoring calls of the serving policy.

    Each call is checked against the features of its own policy's encoder (a textbook policy
    needs the five R2 features, an ``improved@1`` policy its own set).
    """
    required = _required_by_policy(session)
    rows = session.exec(
        select(TipScore.policy, TipScore.policy_version, TipScore.features)
        .where(TipScore.role == "active")
        .order_by(col(TipScore.created_at).desc())
        .limit(sample)
    ).all()
    return missing_rates((_load(raw), required.get(f"{p}@{v}", TEXTBOOK_NAMES)) for p, v, raw in rows)


def stale_tokens(*, session: Session) -> dict[str, Any]:
    """How many provider integrations are stale (need reconnect, or no sync for a day), of how many."""
    cutoff = utcnow() - STALE_AFTER
    stale = sa.or_(
        col(Integration.status) != "connected",
        col(Integration.last_sync_at).is_(None),
        col(Integration.last_sync_at) < cutoff,
    )
    total, n_stale = session.exec(
        select(sa.func.count(), sa.func.sum(sa.case((stale, 1), else_=0))).where(
            col(Integration.provider).not_in(LOCAL_SOURCES)
        )
    ).one()
    by_status = session.exec(
        select(Integration.status, sa.func.count())
        .where(col(Integration.provider).not_in(LOCAL_SOURCES))
        .group_by(Integration.status)
    ).all()
    total = int(total or 0)
    return {
        "integrations": total,
        "stale": int(n_stale or 0),
        "rate": round((n_stale or 0) / total, 4) if total else 0.0,
        "by_status": dict(by_status),
    }


COMPLETENESS_FIELDS = ("features", "explanation", "task", "latency", "reaction")


def completeness(*, session: Session, days: int = HEATMAP_DAYS) -> list[dict[str, Any]]:
    """Per UTC day, the share of served tips that carry each field of the explainability log.

    Computed on a uniform sample of about `oo.services.admin.inputs.SAMPLE_TIPS` tips of the window (all of them when
    there are fewer), so the cost stays flat at any volume.
    """
    start = (utcnow() - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    total = session.exec(
        select(sa.func.count()).select_from(TipView).where(col(TipView.served_at) >= start)
    ).one()
    day = day_of(TipView.served_at).label("day")

    def share(cond: Any) -> sa.ColumnElement[int | None]:
        return sa.func.sum(sa.case((cond, 1), else_=0))

    # Filtering on the day string (not the indexed timestamp) lets SQLite walk the primary key.
    stmt = (
        sa.select(
            day,
            sa.func.count(),
            share(col(TipView.features).not_in(("", "{}"))),
            share(col(TipView.explanation).not_in(("", "{}"))),
            share(col(TipView.task_id).is_not(None)),
            share(col(TipView.latency_ms) > 0),
            share(col(TipView.reaction).is_not(None)),
        )
        .where(day >= start.strftime("%Y-%m-%d"))
        .group_by(day)
        .order_by(day)
    )
    bound = sample_bound(int(total))
    if bound is not None:
        stmt = stmt.where(col(TipView.id) < bound)
    out = []
    for d, n, *counts in session.connection().execute(stmt).all():
        for name, c in zip(COMPLETENESS_FIELDS, counts, strict=True):
            out.append({"day": d, "field": name, "share": round((c or 0) / n, 4) if n else 0.0, "tips": n})
    return out
