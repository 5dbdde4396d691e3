"""The delayed reward: a task completed at its source soon after it was shown teaches the learner.

`on_task_completed` (subscribed to ``signals.task.completed`` in `oo.jobs.wiring`) turns the
completion into a delayed Done (+1) on the task's latest tip, once per delivery (a replay or a
second worker is a no-op).
"""

from __future__ import annotations

import asyncio
import logging

from oo.bus import Event
from oo.db import session_scope
from oo.services.platform import event_bus as events
from oo.services.tips import feedback
from oo.services.tips.feedback import FeedbackResult

log = logging.getLogger("oo.learning")


def _record_completion(event: Event) -> FeedbackResult | None:
    assert event.user_id is not None
    data = event.data
    dedupe = str(data.get("delivery_id") or event.replay_of or event.id)
    with session_scope() as session:
        return feedback.record_completion(
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
    result = await asyncio.to_thread(_record_completion, event)
    if result is not None and not result.duplicate:
        log.info("delayed reward on tip %s (learned: %s)", result.tip_id, result.learned)
        await events.publish(feedback.feedback_event(result, user_id=event.user_id))
