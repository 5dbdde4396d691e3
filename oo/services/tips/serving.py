"""The tip as the app serves it: `recommend` and `feedback.record` off the event loop, plus the signals.

/tip (TipState), push and the JSON API call these two coroutines. Each runs the synchronous
service in a worker thread with its own database session (so a pick never blocks the server's
event loop), then publishes ``signals.tip.served`` or ``signals.tip.feedback``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass

from sqlmodel import Session, select

from oo.db import session_scope
from oo.models import Integration
from oo.services.platform import event_bus as events
from oo.services.tips import feedback
from oo.services.tips.candidates import zone
from oo.services.tips.explain import Recommendation
from oo.services.tips.feedback import FeedbackResult
from oo.services.tips.recommend import recommend, served_event
from oo.settings import get_settings

NEEDS_RECONNECT = "needs_reconnect"


@dataclass(frozen=True)
class SourceState:
    """What /tip must say about the user's sources."""

    has_source: bool
    needs_reconnect: bool


def source_state(*, session: Session, user_id: int) -> SourceState:
    """Whether the user has any source, and whether one of them needs a reconnect."""
    statuses = session.exec(select(Integration.status).where(Integration.user_id == user_id)).all()
    return SourceState(has_source=bool(statuses), needs_reconnect=NEEDS_RECONNECT in statuses)


async def next_tip(
    *,
    user_id: int,
    channel: str = "web",
    timezone: str | None = None,
    exclude_task_ids: Collection[int] = (),
) -> Recommendation:
    """Pick, log and announce the user's next tip."""

    def pick() -> Recommendation:
        with session_scope() as session:
            return recommend(
                session=session,
                user_id=user_id,
                channel=channel,
                exclude_task_ids=exclude_task_ids,
                tz=zone(timezone) if timezone is not None else None,
            )

    rec = await asyncio.to_thread(pick)
    if not rec.empty:
        await events.publish(served_event(rec, user_id=user_id, channel=channel))
    return rec


async def react(
    *,
    user_id: int,
    tip_id: str,
    reaction: str,
    idempotency_key: str,
    origin: str = "user",
) -> FeedbackResult:
    """Record a reaction (once per key), learn from it, and announce it.

    Raises:
        feedback.FeedbackError: For invalid input, a foreign tip or a reused key.
    """

    def save() -> FeedbackResult:
        with session_scope() as session:
            return feedback.record(
                session=session,
                user_id=user_id,
                tip_id=tip_id,
                reaction=reaction,
                idempotency_key=idempotency_key,
                origin=origin,
                snooze_hours=get_settings().snooze_hours,
            )

    result = await asyncio.to_thread(save)
    if not result.duplicate:
        await events.publish(feedback.feedback_event(result, user_id=user_id))
    return result
