"""Limits on what a client can make us read and parse: body size before reading, JSON depth.

* `BodyLimit` is an ASGI middleware in front of every HTTP route (pages, API, webhooks, sign-in
  callbacks): a declared ``Content-Length`` over the cap is refused with 413 before a byte is
  read, and a body without one (chunked) is counted while it streams and cut off at the cap.
* `read_capped` is the same rule for one route with its own, smaller cap.
* `signin_limited` counts sign-in starts and demo accounts per client address (and overall).
* `loads` parses JSON only after a linear scan proved its nesting is at most `MAX_DEPTH` deep,
  so hostile nesting is a clean `JsonTooDeep` (a 4xx for the caller), never a RecursionError.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oo.services.platform import ratelimit
from oo.settings import get_settings

log = logging.getLogger("oo.http.limits")

MAX_DEPTH = 32
DEFAULT_MAX_BODY = 1 << 20  # 1 MiB: Todoist's own webhook body limit; nothing of ours is larger


class BodyTooLarge(Exception):
    """The request body is over the cap (declared or counted)."""


class JsonTooDeep(ValueError):
    """JSON nested deeper than allowed."""


def declared_too_large(headers: Any, limit: int) -> bool:
    """Whether a ``Content-Length`` header declares more than ``limit`` bytes (or is malformed).

    Examples:
        >>> declared_too_large({"content-length": "10"}, 5), declared_too_large({}, 5)
        (True, False)
        >>> declared_too_large({"content-length": "-1"}, 5)
        True
    """
    value = headers.get("content-length")
    if value is None:
        return False
    value = value.strip()
    return not value.isdigit() or len(value) > 18 or int(value) > limit


async def read_capped(request: Request, limit: int) -> bytes:
    """The whole body of ``request``, refusing more than ``limit`` bytes before and while reading.

    Raises:
        BodyTooLarge: When Content-Length declares more, or the stream goes past the cap.
    """
    if declared_too_large(request.headers, limit):
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def json_depth(raw: bytes | str, stop_after: int = MAX_DEPTH) -> int:
    """The deepest nesting of ``[``/``{`` in a JSON text (strings skipped), stopping early past ``stop_after``.

    Examples:
        >>> json_depth(b'{"a": [1, {"b": "[[[["}]}')
        3
        >>> json_depth("[" * 100, stop_after=5)
        6
    """
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_after:
                    return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads` after checking the nesting depth.

    Raises:
        JsonTooDeep: Nested deeper than ``max_depth``.
        ValueError: Not valid JSON (or not UTF-8).

    Examples:
        >>> loads(b'{"a": [1]}')
        {'a': [1]}
        >>> loads("[" * 40 + "]" * 40)
        Traceback (most recent call last):
        ...
        oo.http.limits.JsonTooDeep: JSON nested deeper than 32 levels
    """
    if json_depth(raw, max_depth) > max_depth:
        raise JsonTooDeep(f"JSON nested deeper than {max_depth} levels")
    return json.loads(raw)


async def signin_limited(request: Request, bucket: str) -> bool:
    """Whether this client address (or everyone together) started too many sign-ins this minute."""
    per_minute = get_settings().rate_signin_per_minute
    address = request.client.host if request.client else "unknown"
    if await ratelimit.hit(f"signin:{bucket}:{address}", limit=per_minute, per=60.0):
        log.warning("sign-in %s rate-limited for one client address", bucket)
        return True
    return bool(await ratelimit.hit(f"signin:{bucket}:all", limit=per_minute * 10, per=60.0))


class BodyLimit:
    """ASGI middleware: every HTTP request body capped at ``max_bytes`` (413 before or while reading)."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY) -> None:
        """Wrap ``app``."""
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a declared oversize body at once; count a streamed one and cut it off."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if declared_too_large(headers, self.max_bytes):
            await _too_large(send)
            return
        seen, started, refused = 0, False, False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # answer 413 now; the app sees the client go away
                    refused = True
                    if not started:
                        await _too_large(send)
                    return {"type": "http.disconnect"}
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is already out: whatever the app answers is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            if not refused:
                raise


async def _too_large(send: Send) -> None:
    body = b'{"error": {"code": "too_large", "message": "the request body is too large"}}'
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
