"""Web Push routes of the v1 API (U7): subscribe and unsubscribe this browser, react from a notification.

Session-authenticated (cookie, same-origin) or by API token; the subscription is validated
(https endpoint on a known push service, well-formed keys) before anything is stored.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from oo import offload
from oo.db import session_scope
from oo.http.api_v1.common import ApiError, body, caller, limit, ok
from oo.http.api_v1.models import (
    PushReacted,
    PushReaction,
    PushSubscribed,
    PushSubscriptionIn,
    PushUnsubscribe,
)
from oo.integrations.push_subscription import InvalidSubscription
from oo.services.push import opened as pushed
from oo.services.push import subscriptions as push
from oo.services.tips import feedback

PUSH_PER_MINUTE = 20
REACT_PER_MINUTE = 60


async def subscribe(request: Request) -> Response:
    """Store (or refresh) the caller's browser subscription."""
    user = await caller(request, write=True)
    await limit(user, "push", per_minute=PUSH_PER_MINUTE)
    req = await body(request, PushSubscriptionIn)

    def store() -> int:
        with session_scope() as session:
            push.subscribe(session=session, user_id=user.id, data=req.model_dump())
            return len(push.subscriptions(session=session, user_id=user.id))

    try:
        devices = await offload.slow(store)
    except InvalidSubscription as exc:
        raise ApiError(422, "invalid_subscription", str(exc)) from None
    return ok(PushSubscribed(subscribed=True, devices=devices), 201)


async def unsubscribe(request: Request) -> Response:
    """Forget one of the caller's subscriptions (404 when it is not theirs)."""
    user = await caller(request, write=True)
    await limit(user, "push", per_minute=PUSH_PER_MINUTE)
    req = await body(request, PushUnsubscribe)

    def drop() -> bool:
        with session_scope() as session:
            return push.unsubscribe(session=session, user_id=user.id, endpoint=req.endpoint)

    if not await offload.slow(drop):
        raise ApiError(404, "subscription_not_found", "no such subscription of yours")
    return Response(status_code=204)


async def react(request: Request) -> Response:
    """Done / Snooze from a notification (the service worker posts it with the session cookie)."""
    user = await caller(request, write=True)
    await limit(user, "push-react", per_minute=REACT_PER_MINUTE)
    req = await body(request, PushReaction)
    try:
        reacted = await pushed.react_from_notification(
            user_id=user.id, ref=req.ref, reaction=req.reaction, key=req.idempotency_key
        )
    except feedback.TipNotFound:
        raise ApiError(404, "tip_not_found", "no such tip of yours") from None
    except feedback.IdempotencyConflict:
        raise ApiError(409, "idempotency_conflict", "the key was used for another tip or reaction") from None
    except feedback.FeedbackError as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    result = reacted.feedback
    out = PushReacted(tip_id=result.tip_id, reaction=result.reaction, duplicate=result.duplicate)
    return ok(out, 200 if result.duplicate else 201)
