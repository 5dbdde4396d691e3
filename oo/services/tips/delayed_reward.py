"""The delayed reward: a task completed at its source soon after it was shown teaches the learner.

`on_task_completed` (subscribed to ``signals.task.completed`` in `oo.jobs.wiring`) turns the
completion into a delayed Done (+1) on the task's latest tip, once per delivery (a replay or a
second worker is a no-op).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from oo import offload
from oo.bus import Event
from oo.db import session_scope
from oo.models import TipView, utcnow
from oo.services.platform import event_bus as events
from oo.services.tips import feedback
from oo.services.tips.feedback import FeedbackResult

log = logging.getLogger("oo.learning")
DELAYED_REWARD_WINDOW = timedelta(days=7)  # as the Todoist webhook's "recently shown"


def record_completion(
    *,
    session: Session,
    user_id: int,
    source: str,
    task_ref: str,
    dedupe: str,
    now: datetime | None = None,
) -> FeedbackResult | None:
    """A task completed at its source soon after it was shown: a delayed Done (+1) on its latest tip.

    Args:
        session: Database session.
        user_id: The task's owner.
        source: The task source (``todoist``).
        task_ref: oO's task id (digits), or else the task's id at the source.
        dedupe: The delivery or event id; a replay with the same value is a no-op.
        now: When it was completed.

    Returns:
        The feedback result, or None when no tip showed that task within the window.
    """
    now = now or utcnow()
    # The publisher sends oO's task id (as ``signals.tip.served`` does); a non-numeric id can
    # only be the source's own id.
    numeric = task_ref.isdigit() and len(task_ref) < 18
    match = col(TipView.task_id) == int(task_ref) if numeric else col(TipView.external_id) == task_ref
    tip = session.exec(
        select(TipView)
        .where(
            TipView.user_id == user_id,
            TipView.source == source,
            match,
            col(TipView.served_at) >= now - DELAYED_REWARD_WINDOW,
        )
        .order_by(col(TipView.served_at).desc())
    ).first()
    if tip is None:
        return None
    key = "wh-" + hashlib.sha256(dedupe.encode()).hexdigest()[:40]
    try:
        return feedback.record(
            session=session,
            user_id=user_id,
            tip_id=tip.id,
            reaction="done",
            idempotency_key=key,
            origin="webhook",
            now=now,
        )
    except feedback.IdempotencyConflict:
        return None


def _record_completion(event: Event) -> FeedbackResult | None:
    assert event.user_id is not None
    data = event.data
    dedupe = str(data.get("delivery_id") or event.replay_of or event.id)
    with session_scope() as session:
        return record_completion(
            session=session,
            user_id=event.user_id,
            source=str(data.get("source", "")),
            task_ref=str(data.get("task_id", "")),
            dedupe=dedupe,
            now=event.occurred_at,
        )


async def on_task_completed(event: Event) -> None:
    """Bus handler: a task completed at its source → delayed +1 on its most recent tip."""
    if event.user_id is None or not event.data.get("external"):
        return  # completed inside oO: the Done reaction was the reward
    result = await offload.slow(_record_completion, event)
    if result is not None and not result.duplicate:
        log.info("delayed reward on tip %s (learned: %s)", result.tip_id, result.learned)
        await events.publish(feedback.feedback_event(result, user_id=event.user_id))
