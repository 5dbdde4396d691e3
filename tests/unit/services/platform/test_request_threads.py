"""The request path's blocking work runs on its own small pool, with the caller's context."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time

from oo.services.platform import threads
from oo.settings import get_settings

WHO = contextvars.ContextVar("who", default="nobody")


def test_work_runs_on_the_request_pool_with_the_callers_context():
    async def main() -> tuple[str, str]:
        WHO.set("caller")
        return await threads.run(lambda: (threading.current_thread().name, WHO.get()))

    name, who = asyncio.run(main())
    assert name.startswith("oo-request") and who == "caller"


def test_the_pool_has_as_many_threads_as_the_setting(monkeypatch):
    monkeypatch.setenv("OO_REQUEST_THREADS", "3")
    get_settings.cache_clear()
    threads._reset()
    seen: set[str] = set()
    gate = threading.Barrier(3, timeout=5)

    def hold() -> None:
        seen.add(threading.current_thread().name)
        gate.wait()  # three at once only if the pool has three threads
        time.sleep(0.01)

    async def main() -> None:
        await asyncio.gather(*(threads.run(hold) for _ in range(6)))

    asyncio.run(main())
    assert len(seen) == 3
    get_settings.cache_clear()
    threads._reset()
