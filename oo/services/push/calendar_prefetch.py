"""Background calendar reads for picks: a pick that misses the busy cache asks for one here.

`lifespan` installs `calendar_view`'s refresher on the server's event loop: a miss schedules
`calendar.busy(user_id)` there (at most one in flight per user), and the pick goes on with the
calendar unknown. Without a Google client nothing is read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from contextlib import asynccontextmanager

from oo.services.push import calendar
from oo.services.tips import calendar_view

log = logging.getLogger("oo.calendar")

_pending: set[int] = set()


def refresher(loop: asyncio.AbstractEventLoop) -> Callable[[int], None]:
    """A refresher that reads a user's calendar on ``loop`` (callable from any thread)."""

    def refresh(user_id: int) -> None:
        if user_id in _pending or calendar.config() is None or loop.is_closed():
            return
        _pending.add(user_id)
        future: Future = asyncio.run_coroutine_threadsafe(calendar.busy(user_id), loop)
        future.add_done_callback(lambda _done: _pending.discard(user_id))

    return refresh


@asynccontextmanager
async def lifespan() -> AsyncIterator[None]:
    """Lifespan task: let picks prefetch calendars on this loop until shutdown."""
    calendar_view.set_refresher(refresher(asyncio.get_running_loop()))
    try:
        yield
    finally:
        calendar_view.set_refresher(None)
        _pending.clear()
