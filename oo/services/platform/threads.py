"""The threads that run the request path's blocking work (its database sessions) off the event loop.

asyncio's default executor has min(32, cores + 4) threads: six on this 2-core host. Under load,
six threads holding database sessions at once fight the event loop for the GIL and each other
for SQLite's single writer; in the load bench that cost a quarter of the server's CPU per event
(1,000 users, Helpful/load mix: 6.1 ms per event with six threads, 4.5 to 4.8 with one or two).
So the request path — a tip, a reaction with its next tip, a reload's check, settling held
reactions, the write-behind flush, a session lookup — runs on a small pool of its own,
``OO_REQUEST_THREADS`` (2). Everything else (jobs, the admin console, exports) keeps asyncio's
default pool, so a slow report never queues a user's tip behind it.

Nothing run here may wait for other work on this pool (with two threads that could deadlock).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from oo import singletons
from oo.settings import get_settings

P = ParamSpec("P")
T = TypeVar("T")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


async def run(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` on the request pool, with the caller's context (as `asyncio.to_thread`)."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_executor(), call)


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:  # made in the serving process, after any fork
            _pool = ThreadPoolExecutor(get_settings().request_threads, thread_name_prefix="oo-request")
        return _pool


def _reset() -> None:
    """Drop the pool (tests that change ``OO_REQUEST_THREADS``); running work finishes."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False)


singletons.on_reset("platform.request_threads", _reset)
