"""Shared plumbing of the v1 JSON API: errors, body validation, authentication, rate limits.

Every route derives the caller from the request (`oo.http.caller.request_user`: the HttpOnly
session cookie or ``Authorization: Bearer <api token>``), never from a user id in the body.
A write authenticated by the cookie must also come from our own origin (CSRF). Errors are
one JSON shape: ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from oo.db import session_scope
from oo.http import limits
from oo.http.caller import request_user, same_origin
from oo.services.accounts.sessions import CurrentUser
from oo.services.platform import ratelimit
from oo.services.tips import feedback

M = TypeVar("M", bound=BaseModel)
MAX_BODY = 16_384


class ApiError(Exception):
    """An error answer: HTTP status, stable code, readable message, optional details."""

    def __init__(
        self, status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        """Build the error."""
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.headers = (
            status,
            code,
            message,
            details,
            headers,
        )

    def response(self) -> JSONResponse:
        """The JSON response for this error."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return JSONResponse({"error": body}, status_code=self.status, headers=self.headers)


@contextmanager
def feedback_errors(not_found: str) -> Iterator[None]:
    """Turn the feedback service's refusals into API errors (404, 409 or 422 with its code)."""
    try:
        yield
    except feedback.TipNotFound:
        raise ApiError(404, "tip_not_found", not_found) from None
    except feedback.IdempotencyConflict as exc:
        raise ApiError(409, exc.code, str(exc)) from None
    except feedback.FeedbackError as exc:
        raise ApiError(422, exc.code, str(exc)) from None


def ok(model: BaseModel, status: int = 200) -> JSONResponse:
    """A validated response model as JSON."""
    return JSONResponse(
        model.model_dump(mode="json"), status_code=status, headers={"Cache-Control": "no-store"}
    )


def _details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]


async def body(request: Request, model: type[M]) -> M:
    """Parse and validate a JSON body (``application/json``, at most `MAX_BODY` bytes, bounded depth).

    Raises:
        ApiError: 415 for another content type, 413 when too large (declared or streamed),
            422 when invalid or nested too deep.
    """
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    try:
        raw = await limits.read_capped(request, MAX_BODY)  # Content-Length first, then a streaming cap
    except limits.BodyTooLarge:
        raise ApiError(413, "too_large", f"the body must be at most {MAX_BODY} bytes") from None
    try:
        data = limits.loads(raw or b"{}")
    except limits.JsonTooDeep:
        raise ApiError(422, "too_deep", f"the body nests deeper than {limits.MAX_DEPTH} levels") from None
    except ValueError:
        raise ApiError(422, "invalid_json", "the body is not valid JSON") from None
    return validate(model, data)


def validate(model: type[M], data: Any) -> M:
    """Validate data against a request model; 422 with per-field details on failure."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "validation_error", "the request is invalid", _details(exc)) from None


async def caller(request: Request, *, write: bool = False, admin: bool = False) -> CurrentUser:
    """The authenticated caller.

    Raises:
        ApiError: 401 without valid credentials, 403 for a cross-site cookie write or a
            non-admin on an admin route.
    """

    def resolve() -> tuple[CurrentUser | None, str]:
        with session_scope() as session:
            return request_user(request, session=session)

    user, how = await asyncio.to_thread(resolve)
    if user is None:
        raise ApiError(
            401,
            "unauthenticated",
            "sign in, or send Authorization: Bearer <api token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if write and how == "cookie" and not same_origin(request):
        raise ApiError(403, "cross_site", "cross-site request refused")
    if admin and not user.is_admin:
        raise ApiError(403, "forbidden", "admins only")
    return user


def retry_after(wait: float) -> ApiError:
    """The 429 for a limit that frees up in ``wait`` seconds."""
    seconds = str(max(1, round(wait)))
    return ApiError(
        429, "rate_limited", f"too many requests; retry in {seconds} s", headers={"Retry-After": seconds}
    )


async def limit(user: CurrentUser, bucket: str, *, per_minute: int) -> None:
    """Apply a per-user limit (shared by every worker through Redis when configured).

    Raises:
        ApiError: 429 with Retry-After when the limit is exceeded.
    """
    wait = await ratelimit.hit(f"api:{bucket}:{user.id}", limit=per_minute, per=60.0)
    if wait:
        raise retry_after(wait)
