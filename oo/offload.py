"""Work that leaves the event loop: quick calls on one thread, slow ones on a pool of their own.

The tip paths (a load, a reaction, Undo, the batched reload checks, settling, the write-behind
flush, session lookups) and Reflex's own disk-state writes are short and come by the thousand
under load; they use asyncio's default executor (`asyncio.to_thread`), which the server makes a
single thread (`lifespan`, ``OO_QUICK_THREADS``, default 1). With asyncio's usual six threads
they took turns at the GIL around every SQLite call: at 1,000 users about 95 voluntary context
switches per served event against 35 with one thread, and 5.8 to 6.5 against 4.3 to 4.5 ms of
server CPU per event (bench/README.md, 2026-11-29).

Calls that may take long (admin queries, exports, Todoist syncs and webhooks, push delivery,
calendar reads, jobs, start-up and shutdown work, WAL checkpoints) go through `slow` instead, on
a pool of ``OO_SLOW_THREADS`` (4): one of them can never hold up a tip. `tests/unit/test_offload.py`
keeps the list of modules allowed to use `asyncio.to_thread` (the quick ones).

Examples:
    >>> import asyncio, threading
    >>> asyncio.run(slow(lambda: threading.current_thread().name)).startswith("oo-slow")
    True
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import ParamSpec, TypeVar

from oo import singletons
from oo.settings import get_settings

P = ParamSpec("P")
R = TypeVar("R")

_lock = threading.Lock()
_slow: ThreadPoolExecutor | None = None


def slow_executor() -> ThreadPoolExecutor:
    """The process's pool for slow calls (``OO_SLOW_THREADS`` threads named ``oo-slow_N``)."""
    global _slow
    with _lock:
        if _slow is None:
            _slow = ThreadPoolExecutor(get_settings().slow_threads, thread_name_prefix="oo-slow")
        return _slow


async def slow(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """`asyncio.to_thread` on the slow pool: ``fn(*args, **kwargs)`` with the caller's context."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(slow_executor(), call)


@asynccontextmanager
async def lifespan() -> AsyncIterator[None]:
    """Lifespan task (the first): the loop's default executor becomes ``OO_QUICK_THREADS`` threads."""
    quick = ThreadPoolExecutor(get_settings().quick_threads, thread_name_prefix="oo-quick")
    asyncio.get_running_loop().set_default_executor(quick)  # the loop shuts it down when it closes
    yield


def _reset() -> None:
    """Tests: the next `slow` starts a new pool (with the settings of then)."""
    global _slow
    with _lock:
        old, _slow = _slow, None
    if old is not None:
        old.shutdown(wait=False)


singletons.on_reset("offload.slow", _reset)
