"""Retention of the recommendation logs (R5) and of persisted events (R7): 30 days.

After `RETENTION_DAYS`, ``tip_score`` rows (the per-policy feature log) and ``event`` rows are
deleted, and a served tip keeps its counts (policy, score, reaction: the ``tip_views`` metric)
but loses its logged features and explanation.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, delete, or_

from oo.models import EventRecord, TipScore, TipView, utcnow

RETENTION_DAYS = 30


def purge(*, session: Session, now: datetime | None = None, days: int = RETENTION_DAYS) -> dict[str, int]:
    """Apply the retention; returns how many rows were deleted or cleared per table."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    scores = session.exec(delete(TipScore).where(col(TipScore.created_at) < cutoff))
    views = session.exec(
        update(TipView)
        .where(
            col(TipView.served_at) < cutoff,
            or_(col(TipView.features) != "{}", col(TipView.explanation) != "{}"),
        )
        .values(features="{}", explanation="{}")
    )
    events = session.exec(delete(EventRecord).where(col(EventRecord.occurred_at) < cutoff))
    session.commit()
    return {
        "tip_score": int(scores.rowcount or 0),
        "tip_view_explanations": int(views.rowcount or 0),
        "event": int(events.rowcount or 0),
    }
