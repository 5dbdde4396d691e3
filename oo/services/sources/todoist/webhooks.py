"""Todoist webhook processing (I3), after the route has verified the signature.

Each delivery is processed once: its ``X-Todoist-Delivery-ID`` (reused by Todoist on retries; a
hash of the body when absent) is claimed with a unique row before anything happens, and released
again if processing fails so the retry can succeed. A completion of a task that oO showed as a tip
in the last `RECENT` becomes ``signals.task.completed`` (a delayed reward), unless oO itself
closed it after a Done. Every item event refreshes that user's cache in the background.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from oo import offload
from oo.bus import Event, TaskCompleted
from oo.db import session_scope
from oo.integrations.todoist import WebhookEvent, parse_webhook
from oo.models import TODOIST, Integration, SourceAction, TipView, WebhookDelivery, utcnow
from oo.services.platform.event_bus import publish
from oo.services.sources.todoist import sync as todoist_sync

log = logging.getLogger("oo.todoist.webhooks")

RECENT = timedelta(days=7)
MAX_DELIVERY_ID = 128


class Outcome(StrEnum):
    """What happened to one delivery (all are answered 200)."""

    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    UNKNOWN_USER = "unknown_user"


def delivery_key(delivery_id: str | None, raw_body: bytes) -> str:
    """The idempotency key: the delivery id, or a hash of the body when it is missing or too long.

    Examples:
        >>> delivery_key("d-1", b"{}")
        'd-1'
        >>> delivery_key(None, b"{}")[:7]
        'sha256:'
    """
    if delivery_id and len(delivery_id) <= MAX_DELIVERY_ID and delivery_id.isprintable():
        return delivery_id
    return "sha256:" + hashlib.sha256(raw_body).hexdigest()[:64]


async def receive(*, raw_body: bytes, delivery_id: str | None) -> Outcome:
    """Process one verified delivery.

    Raises:
        WebhookPayloadError: If the body is not a Todoist event (the route answers 400).
    """
    event = parse_webhook(raw_body)
    key = delivery_key(delivery_id, raw_body)
    user_ids = await offload.slow(_users_of, event.user_id)
    claimed = await offload.slow(_claim, key, event.event_name, user_ids[0] if user_ids else None)
    if not claimed:
        log.info("Todoist delivery %s already processed", key)
        return Outcome.DUPLICATE
    if not user_ids:
        return Outcome.UNKNOWN_USER
    try:
        for user_id in user_ids:
            await _apply(user_id, event, key)
    except BaseException:
        await offload.slow(_release, key)
        raise
    return Outcome.PROCESSED


async def _apply(user_id: int, event: WebhookEvent, key: str) -> None:
    if event.task_id is None:
        return  # project, label, note... events do not change the task cache
    if event.is_completion:
        completed = await offload.slow(_completion, user_id, event.task_id, key)
        if completed is not None:
            await publish(completed)
    todoist_sync.request_sync(user_id=user_id, fresh=True)


def users_of(*, session: Session, external_user_id: str) -> list[int]:
    """OO users whose Todoist integration belongs to this Todoist user id."""
    return list(
        session.exec(
            select(Integration.user_id)
            .where(Integration.provider == TODOIST, Integration.external_user_id == external_user_id)
            .order_by(col(Integration.user_id))
        ).all()
    )


def claim_delivery(*, session: Session, key: str, event_name: str, user_id: int | None) -> bool:
    """Record the delivery; False when it was recorded before (a replay)."""
    session.add(
        WebhookDelivery(provider=TODOIST, delivery_id=key, event_name=event_name[:64], user_id=user_id)
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def completion_event(
    *, session: Session, user_id: int, external_id: str, key: str, now: datetime
) -> Event | None:
    """``signals.task.completed`` for a task shown as a tip recently and not closed by oO itself.

    The event's ``task_id`` is oO's task id (``TipView.task_id``, as in ``signals.tip.served``).
    """
    tip = session.exec(
        select(TipView)
        .where(
            TipView.user_id == user_id,
            TipView.source == TODOIST,
            TipView.external_id == external_id,
            col(TipView.served_at) >= now - RECENT,
        )
        .order_by(col(TipView.served_at).desc())
    ).first()
    if tip is None or tip.task_id is None:
        return None
    ours = session.exec(
        select(SourceAction.id).where(
            SourceAction.user_id == user_id,
            SourceAction.source == TODOIST,
            SourceAction.external_id == external_id,
            SourceAction.action == "close",
            col(SourceAction.created_at) >= tip.served_at,
        )
    ).first()
    if ours is not None:
        return None  # Done in oO already rewarded it; Todoist is only echoing our close
    payload = TaskCompleted(source=TODOIST, task_id=str(tip.task_id), external=True, delivery_id=key)
    return Event.of(payload, user_id=user_id)


def _users_of(external_user_id: str) -> list[int]:
    with session_scope() as session:
        return users_of(session=session, external_user_id=external_user_id[:64])


def _claim(key: str, event_name: str, user_id: int | None) -> bool:
    with session_scope() as session:
        return claim_delivery(session=session, key=key, event_name=event_name, user_id=user_id)


def _release(key: str) -> None:
    with session_scope() as session:
        session.exec(
            delete(WebhookDelivery).where(
                col(WebhookDelivery.provider) == TODOIST, col(WebhookDelivery.delivery_id) == key
            )
        )
        session.commit()


def _completion(user_id: int, external_id: str, key: str) -> Event | None:
    with session_scope() as session:
        return completion_event(
            session=session, user_id=user_id, external_id=external_id, key=key, now=utcnow()
        )
