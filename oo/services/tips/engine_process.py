"""The tip engine's process: ``python -m oo.services.tips.engine_process FD`` (`oo.services.tips.engine`).

One thread does everything, one thing at a time: each call, and between calls the settling of
held reactions and the write-behind flush. The event loop's default executor runs its work
inline (`Inline`), so the same service code that hops to a thread in the worker
(``asyncio.to_thread``) runs here on the loop's own thread, and the shadow picks are scored and
logged there too (`shadows.write_on_loop`, batched as in the worker): the engine's writes never
wait for each other's SQLite lock, and its Python never waits for another of its threads' GIL.
With the shadows on a thread of their own, the engine's main thread slept in SQLite's busy
handler about a seventh of the time at load, and the mix served ~7 % less (bench/README.md).
Source actions keep their slow pool (`oo.offload`), the active pick its budgeted pool
(`oo.services.tips.recommend`).

The engine exits when the worker closes the socket (or dies): a last flush of the models, the
shadow picks still queued, and the HTTP clients closed. Held reactions whose window had not
passed stay pending in the feedback log; the outbox job teaches them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from oo.services.learning import hot, learner
from oo.services.sources.todoist import connection as todoist
from oo.services.tips import cores, engine, shadows

log = logging.getLogger("oo.engine")


class Inline(concurrent.futures.ThreadPoolExecutor):
    """An executor that runs each call at once in the submitting thread (it never starts one).

    A `ThreadPoolExecutor` only because asyncio's default executor must be one.

    Examples:
        >>> Inline().submit(sum, [1, 2]).result()
        3
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        """Run ``fn`` now; the returned future is already done."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


async def _forget_user(*, user_id: int, policy_key: str | None = None) -> None:
    learner.forget_user(user_id, policy_key)


async def _status() -> dict[str, int]:
    """What the engine holds: its process id, cached models and reactions learned but not yet written."""
    return {"pid": os.getpid(), "cached_models": len(learner.cache), "pending": hot.pending_count()}


# What the worker may ask for (`engine.Client.call`), by name.
CALLS: dict[str, Callable[..., Awaitable[Any]]] = {
    "react": cores.react_here,
    "show": cores.show_here,
    "forget_user": _forget_user,
    "status": _status,
}


async def answer(name: str, kwargs: dict[str, Any]) -> tuple[bool, Any]:
    """One call's outcome as ``(ok, value or exception)``."""
    try:
        return True, await CALLS[name](**kwargs)
    except Exception as exc:
        if not isinstance(exc, cores.EXPECTED):
            log.exception("the tip engine's %s failed", name)
        return False, engine.exception_payload(exc)


async def serve(sock: socket.socket) -> None:
    """Answer the worker's calls in order until it closes the socket."""
    asyncio.get_running_loop().set_default_executor(Inline())
    shadows.write_on_loop()
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    async with hot.flusher():  # and a last flush when the worker goes
        writer.write(engine.encode(engine.READY, (True, None)))
        while True:
            try:
                call_id, (name, kwargs) = engine.decode(await engine.read_frame(reader))
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            writer.write(engine.encode(call_id, await answer(name, kwargs)))
            await asyncio.sleep(0)  # settling and the flush get their turn between calls
    if not shadows.drain(5.0):
        log.warning("shadow picks still queued when the tip engine stopped were not logged")
    await todoist.close_http()


def main(argv: list[str]) -> int:
    """Serve on the inherited socket whose descriptor is ``argv[0]``."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(socket.socket(fileno=int(argv[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
