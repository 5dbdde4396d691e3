"""Retention of the recommendation logs (R5), persisted events (R7) and push decisions.

After `RETENTION_DAYS`, ``tip_score`` rows (the per-policy feature log) and ``event`` rows are
deleted, and a served tip keeps its counts (policy, score, reaction: the ``tip_views`` metric)
but loses its logged features and explanation.

``push_decision`` rows (one per subscribed user per timing decision, send or not) are deleted after
``OO_PUSH_DECISION_RETENTION_DAYS`` (default `PUSH_DECISION_DAYS`, 90): long enough for the push
funnel and off-policy evaluation of timing policies, short enough that the table stops growing.
The timing model itself keeps what it learned (its ``model_state`` row), and the timing signals
read only the last days (pushes today, the last push, unsettled pushes of the last hours).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, delete, or_

from oo.models import EventRecord, PushDecision, TipScore, TipView, utcnow

RETENTION_DAYS = 30
PUSH_DECISION_DAYS = 90


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


def purge_push_decisions(
    *, session: Session, now: datetime | None = None, days: int = PUSH_DECISION_DAYS
) -> dict[str, int]:
    """Delete push decisions older than ``days``; returns ``{"push_decision": deleted}``."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    deleted = session.exec(delete(PushDecision).where(col(PushDecision.decided_at) < cutoff))
    session.commit()
    return {"push_decision": int(deleted.rowcount or 0)}
