"""The learning loop's server wiring: the delayed reward subscription and start-up housekeeping.

`lifespan` (registered in ``oo/oo.py``) subscribes to ``signals.task.completed``: a task
completed at its source soon after it was shown becomes a delayed Done (+1) on its latest tip,
once per delivery (a replay or a second worker is a no-op). At start-up it seeds the policy
registry, applies reactions a crash left pending, and warms the scoring pool so the first pick
does not spend its time budget on imports. The periodic jobs (`oo.jobs.apply_feedback`,
`oo.jobs.purge_logs`) run on the scheduler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from oo.bus import TASK_COMPLETED, Event
from oo.db import session_scope
from oo.services import events, feedback, learner, policies, recommend
from oo.services.advice import library as advice_library
from oo.services.feedback import FeedbackResult

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


def _startup() -> None:
    with session_scope() as session:
        policies.ensure_registry(session=session)
        advice_library.seed(session=session)  # idempotent: built-in pieces up to the shipped version
        applied = learner.apply_pending(session=session, older_than=timedelta(0))
    if applied:
        log.info("applied %s reactions left pending by the last run", applied)
    recommend.warm_up()


@asynccontextmanager
async def lifespan() -> AsyncIterator[None]:
    """Reflex lifespan task: subscribe to completions; seed, replay the outbox and warm up."""
    subscription = events.bus().subscribe(TASK_COMPLETED, on_task_completed)
    try:
        await asyncio.to_thread(_startup)
    except Exception:  # a missing migration must not stop the server; picks fall back anyway
        log.exception("learning start-up housekeeping failed")
    try:
        yield
    finally:
        subscription.unsubscribe()
