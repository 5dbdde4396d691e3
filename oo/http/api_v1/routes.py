"""The user routes of the v1 JSON API: recommend, feedback, API tokens (R1).

``POST /api/v1/recommend`` and ``POST /api/v1/feedback`` are the same calls /tip makes
(`oo.services.tips.serving`): every served tip is a ``tip_view`` row, every reaction a
``tip_feedback`` row, once per idempotency key. The feedback route takes a tip id and only
accepts the caller's own tips (another user's tip is a 404, indistinguishable from none).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from oo import offload
from oo.db import session_scope
from oo.http.api_v1.common import ApiError, body, caller, feedback_errors, limit, ok
from oo.http.api_v1.models import (
    FeedbackOut,
    FeedbackRequest,
    RecommendationOut,
    RecommendRequest,
    TokenCreate,
    TokenCreated,
    TokenList,
    TokenOut,
    TokenRotate,
)
from oo.services.accounts import api_tokens
from oo.services.accounts.sessions import CurrentUser
from oo.services.tips import serving as tips

log = logging.getLogger("oo.http.signin_routes.v1")
Handler = Callable[[Request], Awaitable[Response]]

RECOMMEND_PER_MINUTE = 60
FEEDBACK_PER_MINUTE = 120
TOKENS_PER_MINUTE = 20


async def recommend(request: Request) -> Response:
    """Pick, log and return the caller's next tip."""
    user = await caller(request, write=True)
    await limit(user, "recommend", per_minute=RECOMMEND_PER_MINUTE)
    req = await body(request, RecommendRequest)
    rec = await tips.next_tip(
        user_id=user.id, channel="api", timezone=user.timezone, exclude_task_ids=req.exclude_task_ids
    )
    return ok(RecommendationOut.of(rec))


async def post_feedback(request: Request) -> Response:
    """Record a reaction to one of the caller's tips (once per idempotency key)."""
    user = await caller(request, write=True)
    await limit(user, "feedback", per_minute=FEEDBACK_PER_MINUTE)
    req = await body(request, FeedbackRequest)
    with feedback_errors("no such tip"):
        reacted = await tips.react(
            user_id=user.id,
            tip_id=req.tip_id,
            reaction=req.reaction,
            key=req.idempotency_key,
            channel="api",
            show_next=False,
            write_behind=False,  # the answer says whether it was learned: persist first
        )
    result = reacted.feedback
    return ok(FeedbackOut.of(result), 200 if result.duplicate else 201)


def _token_out(info: api_tokens.TokenInfo) -> TokenOut:
    return TokenOut(
        id=info.id,
        name=info.name,
        created_at=info.created_at,
        last_used_at=info.last_used_at,
        expires_at=info.expires_at,
    )


async def _cookie_caller(request: Request, *, write: bool) -> CurrentUser:
    """Token management needs the browser session: a token cannot mint or revoke tokens."""
    if request.headers.get("authorization"):
        raise ApiError(403, "session_required", "manage API tokens with your signed-in session")
    user = await caller(request, write=write)
    await limit(user, "tokens", per_minute=TOKENS_PER_MINUTE)
    return user


async def create_token(request: Request) -> Response:
    """Create an API token for the signed-in user; the secret is in this response only."""
    user = await _cookie_caller(request, write=True)
    req = await body(request, TokenCreate)

    def create() -> tuple[str, api_tokens.TokenInfo]:
        with session_scope() as session:
            return api_tokens.create(session=session, user_id=user.id, name=req.name, days=req.days)

    try:
        secret, info = await offload.slow(create)
    except api_tokens.TokenError as exc:
        raise ApiError(422, "invalid_token_request", str(exc)) from None
    return ok(TokenCreated(token=secret, **_token_out(info).model_dump()), 201)


async def list_tokens(request: Request) -> Response:
    """The signed-in user's live tokens (never their secrets)."""
    user = await _cookie_caller(request, write=False)

    def read() -> list[api_tokens.TokenInfo]:
        with session_scope() as session:
            return api_tokens.list_tokens(session=session, user_id=user.id)

    return ok(TokenList(tokens=[_token_out(i) for i in await offload.slow(read)]))


async def revoke_token(request: Request) -> Response:
    """Revoke one of the signed-in user's tokens (404 for anyone else's)."""
    user = await _cookie_caller(request, write=True)
    raw = request.path_params["token_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise ApiError(422, "validation_error", "token id must be a positive integer")

    def revoke() -> bool:
        with session_scope() as session:
            return api_tokens.revoke(session=session, user_id=user.id, token_id=int(raw))

    if not await offload.slow(revoke):
        raise ApiError(404, "token_not_found", "no such token")
    return Response(status_code=204)


async def rotate_token(request: Request) -> Response:
    """A successor of one of the signed-in user's live tokens; the old one works one more day."""
    user = await _cookie_caller(request, write=True)
    raw = request.path_params["token_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise ApiError(422, "validation_error", "token id must be a positive integer")
    req = await body(request, TokenRotate)

    def rotate() -> tuple[str, api_tokens.TokenInfo] | None:
        with session_scope() as session:
            return api_tokens.rotate(session=session, user_id=user.id, token_id=int(raw), days=req.days)

    try:
        made = await offload.slow(rotate)
    except api_tokens.TokenError as exc:
        raise ApiError(422, "invalid_token_request", str(exc)) from None
    if made is None:
        raise ApiError(404, "token_not_found", "no such live token")
    secret, info = made
    return ok(TokenCreated(token=secret, **_token_out(info).model_dump()), 201)


def guarded(handler: Handler) -> Handler:
    """Turn ApiError into its JSON response, and anything unexpected into a logged 500."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return exc.response()
        except Exception:
            log.exception("%s %s failed", request.method, request.url.path)
            return JSONResponse(
                {"error": {"code": "internal", "message": "something went wrong"}}, status_code=500
            )

    run.__name__ = run.__qualname__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run
