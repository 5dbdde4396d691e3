"""Quick calls on one thread, slow ones on a pool of their own (`oo.offload`)."""

from __future__ import annotations

import ast
import asyncio
import threading
import time
from pathlib import Path

from oo import offload, settings

ROOT = Path(__file__).resolve().parents[2]
# The modules whose calls go to asyncio's default executor (one thread in the server): the tip
# paths, session lookups and the event store. Everything else that leaves the event loop uses
# `offload.slow`, so that a slow call never waits in front of a tip.
QUICK = {
    "oo/bus/base.py",
    "oo/http/api_v1/common.py",
    "oo/services/accounts/session_cache.py",
    "oo/services/learning/hot.py",
    "oo/services/platform/batching.py",
    "oo/services/push/opened.py",
    "oo/services/tips/cores.py",
    "oo/services/tips/serving.py",
    "oo/services/tips/undo.py",
    "oo/state/frontend_errors.py",
}


def _calls_to_thread(path: Path) -> bool:
    return any(
        isinstance(node, ast.Attribute) and node.attr in ("to_thread", "run_in_executor")
        for node in ast.walk(ast.parse(path.read_text()))
    )


def test_only_the_quick_paths_use_the_default_executor():
    users = {
        str(p.relative_to(ROOT))
        for folder in ("oo", "admin")
        for p in (ROOT / folder).rglob("*.py")
        if p.name != "offload.py" and _calls_to_thread(p)
    }
    assert users == QUICK, "a new caller of asyncio.to_thread: quick (add it here) or offload.slow?"


def test_a_quick_call_is_answered_while_every_slow_thread_is_busy(monkeypatch):
    monkeypatch.setenv("OO_QUICK_THREADS", "1")
    monkeypatch.setenv("OO_SLOW_THREADS", "2")
    settings.get_settings.cache_clear()
    offload._reset()
    release = threading.Event()

    async def main() -> tuple[float, set[str], list[str]]:
        async with offload.lifespan():
            slow = [asyncio.ensure_future(offload.slow(release.wait, 3)) for _ in range(3)]
            await asyncio.sleep(0.05)  # both slow threads are taken, a third call waits
            started = time.perf_counter()
            names = {await asyncio.to_thread(lambda: threading.current_thread().name) for _ in range(5)}
            quick_s = time.perf_counter() - started
            release.set()
            slow_names = await asyncio.gather(
                *(offload.slow(lambda: threading.current_thread().name) for _ in range(4))
            )
            await asyncio.gather(*slow)
            return quick_s, names, slow_names

    try:
        quick_s, names, slow_names = asyncio.run(main())
    finally:
        release.set()
        settings.get_settings.cache_clear()
        offload._reset()
    assert quick_s < 1.0
    assert len(names) == 1 and next(iter(names)).startswith("oo-quick")
    assert all(name.startswith("oo-slow") for name in slow_names)
