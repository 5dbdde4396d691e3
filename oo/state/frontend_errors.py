"""Errors the browser reports (Reflex's ``handle_frontend_exception``), logged safely.

Reflex's built-in handler writes the client's text into the app log as is. Ours (passed as
``rx.App(frontend_exception_handler=...)``) writes one line: control characters and newlines
replaced, e-mail addresses masked, at most `MAX_CHARS` characters, at most `PER_MINUTE` lines a
minute per worker. `oo.state.ratelimit.EventRateLimit` lets the report event through only for a
signed-in session, and only a few per user and minute (`gate`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time

from oo.db import session_scope
from oo.services.accounts import sessions as accounts
from oo.services.platform import ratelimit
from oo.settings import get_settings

log = logging.getLogger("oo.frontend")
MAX_CHARS = 500
PER_MINUTE = 30
PER_USER_PER_MINUTE = 5
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_EMAIL = re.compile(r"[^\s@<>\"']{1,64}@[^\s@<>\"']{1,255}")
_window = [0.0, 0]


def sanitize(text: str) -> str:
    r"""One short log-safe line: no control characters or newlines, e-mails masked, capped.

    Examples:
        >>> sanitize("boom\n[ERROR] forged line for ann@example.com")
        'boom ⏎ [ERROR] forged line for <email>'
    """
    text = _EMAIL.sub("<email>", text[: MAX_CHARS * 4])
    text = _CONTROL.sub(" ⏎ ", text).strip()
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def report(exception: Exception) -> None:
    """The app's frontend exception handler: one sanitized, size-capped, rate-limited log line."""
    now = time.monotonic()
    if now - _window[0] > 60:
        _window[0], _window[1] = now, 0
    _window[1] += 1
    if _window[1] > PER_MINUTE:
        return
    log.warning("frontend error: %s", sanitize(str(exception)))


async def gate(cookie: str | None, user_key: str) -> bool:
    """Whether a report from this tab may be logged: a live session, within its per-user budget."""

    def signed_in() -> bool:
        settings = get_settings()
        with session_scope() as session:
            user = accounts.resolve_session(
                session=session, token=cookie, idle_days=settings.session_idle_days
            )
        return user is not None

    if not cookie or not await asyncio.to_thread(signed_in):
        return False
    return not await ratelimit.hit(f"ws:frontend:{user_key}", limit=PER_USER_PER_MINUTE, per=60.0)
