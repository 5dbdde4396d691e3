"""Data quality (A11): defaulted inputs of recent picks, stale-token rate, completeness of the tip log.

- Defaulted inputs: the share of recent scoring calls (one per served tip) where an input of the
  pick had to be defaulted or imputed, per reason (`oo.services.tips.facts`: no due date, unknown
  time zone, stale source) and overall. `recommend` records the reasons on the tip log at serve
  time; the newest `SAMPLE` tips that carry them are read, which bounds the cost at any volume.
- Stale tokens: connected provider integrations that need a reconnect or have not synced for
  `STALE_AFTER`.
- Completeness: per day and field of the R5 log (``tip_view``), the share of rows that carry it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from oo.models import Integration, TipView, utcnow
from oo.services.admin.inputs import sample_bound
from oo.services.admin.portable_sql import day_of
from oo.services.tips.facts import LOCAL_SOURCES, REASONS, STALE_AFTER

log = logging.getLogger("oo.admin.quality")
SAMPLE = 2000
HEATMAP_DAYS = 30


def imputed_shares(values: Iterable[str]) -> dict[str, Any]:
    """Share of calls with each defaulted input, and with any, from the tip log's ``imputed`` values.

    Examples:
        >>> imputed_shares(["no_due", "", "no_due,stale_source", "unknown_tz"])
        {'calls': 4, 'any': 0.75, 'per_reason': {'no_due': 0.5, 'unknown_tz': 0.25, 'stale_source': 0.25}}
    """
    n = any_ = 0
    hits = dict.fromkeys(REASONS, 0)
    for value in values:
        n += 1
        reasons = [r for r in (value or "").split(",") if r in hits]
        any_ += bool(reasons)
        for r in reasons:
            hits[r] += 1
    return {
        "calls": n,
        "any": round(any_ / n, 4) if n else 0.0,
        "per_reason": {r: round(c / n, 4) if n else 0.0 for r, c in hits.items()},
    }


def defaulted_inputs(*, session: Session, sample: int = SAMPLE) -> dict[str, Any]:
    """`imputed_shares` over the newest ``sample`` served tips that were logged with their facts."""
    rows = session.exec(
        select(TipView.imputed)
        .where(col(TipView.local_hour).is_not(None))
        .order_by(col(TipView.served_at).desc())
        .limit(sample)
    ).all()
    return imputed_shares(rows)


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


COMPLETENESS_FIELDS = ("features", "explanation", "task", "latency", "priority", "local hour", "reaction")


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
            share(col(TipView.task_priority).is_not(None)),
            share(col(TipView.local_hour).is_not(None)),
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
    found: Any = session.execute(stmt).all()
    for d, n, *counts in found:
        for name, c in zip(COMPLETENESS_FIELDS, counts, strict=True):
            out.append({"day": d, "field": name, "share": round((c or 0) / n, 4) if n else 0.0, "tips": n})
    return out
