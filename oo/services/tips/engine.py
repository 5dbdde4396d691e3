"""The tip engine: /tip's service calls in a process of their own, beside the web worker.

Why: a worker runs Python on one core at a time (the GIL), and Reflex's own event handling
already fills much of it at load. A reaction's service work (record it, pick, explain and log
the next tip, later learn from it) costs several times the event around it, so with one worker
the second core stayed mostly idle. With ``OO_TIP_ENGINE=process`` (the default) the worker
hands that work to one child process and serves the next events meanwhile (bench/README.md,
2026-11-29 ~15:10: the 1,000-user mix, alternating).

What runs there (`oo.services.tips.engine_process`): the synchronous cores of `serving.react`
and `serving.show` (a new pick, or the check that the tip on screen is still current), and what
follows them in the same process: settling held reactions (`undo`), writing models behind
(`oo.services.learning.hot`), scoring the shadows. The worker keeps Reflex, the batched reload
checks, session lookups, the rate limits, the event bus (it announces what the engine served),
push, the API's other calls and the jobs.

Consistency: the engine's models are hot in its memory like another worker's, checked against
the stored version at each pick; what the worker forgets of a user (deletion, a model reset) is
forwarded (`learner.forgetting`). Nothing is lost when the engine dies: a call in flight fails
with `EngineGone` (the page says "try again"; the same key is recorded once), the next call
starts a new engine, and reactions it had learned only in memory are still pending in the
feedback log, which the outbox job replays.

Protocol: a socket pair between the worker and the child it spawned (no path, no port), frames
of a 4-byte length and a pickle. Pickle is acceptable here only because both ends are this code
base in two processes of one server; nothing read from a client or a file is ever unpickled.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import pickle
import socket
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from oo import offload
from oo.services.learning import learner
from oo.settings import get_settings

log = logging.getLogger("oo.engine")

HEAD = struct.Struct("!I")  # a frame's length, then that many bytes of pickle
MAX_FRAME = 64 * 1024 * 1024
READY = 0  # the call id of the engine's first frame: it is ready for calls
START_SECONDS = 60.0  # an engine that is not ready by then is given up (calls run in the worker)
CALL_SECONDS = 60.0  # a call unanswered by then fails with `EngineGone` (the engine is restarted)
RETRY_SECONDS = 30.0  # an engine that dies within this of its start: calls run in the worker until then
STOP_SECONDS = 10.0  # at shutdown, the engine's last flush; then it is killed


class EngineGone(Exception):
    """The engine process went away (or stopped answering) during a call: its outcome is unknown."""


class EngineUnavailable(EngineGone):
    """No engine could be started (or made ready) for a call: nothing was sent; run it in the worker."""


def encode(call_id: int, payload: object) -> bytes:
    """One frame.

    Examples:
        >>> frame = encode(7, ("show", {"user_id": 1}))
        >>> HEAD.unpack(frame[:4])[0] == len(frame) - 4
        True
        >>> decode(frame[4:])
        (7, ('show', {'user_id': 1}))
    """
    body = pickle.dumps((call_id, payload), protocol=pickle.HIGHEST_PROTOCOL)
    return HEAD.pack(len(body)) + body


def decode(body: bytes) -> tuple[int, Any]:
    """A frame's body (written by `encode` in the other process of this server)."""
    call_id, payload = pickle.loads(body)  # our own child's frames: see the module docstring
    return call_id, payload


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    """The next frame's body (raises `asyncio.IncompleteReadError` at the end of the stream)."""
    (size,) = HEAD.unpack(await reader.readexactly(HEAD.size))
    if size > MAX_FRAME:
        raise EngineGone(f"a frame of {size} bytes")
    return await reader.readexactly(size)


def exception_payload(exc: BaseException) -> BaseException:
    """The exception itself if it crosses the socket intact, else `EngineGone` naming it."""
    try:
        if type(pickle.loads(pickle.dumps(exc))) is type(exc):
            return exc
    except Exception:
        pass
    return EngineGone(f"{type(exc).__name__}: {exc}")


class Client:
    """The worker's side: starts the engine, sends calls, matches answers, restarts it when it dies."""

    def __init__(self, command: list[str] | None = None) -> None:
        self._command = command or [sys.executable, "-m", "oo.services.tips.engine_process"]
        self._proc: subprocess.Popen[bytes] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._ready: asyncio.Future[None] | None = None
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.starts = 0  # engines started by this client (tests, health)
        self._retry_at = 0.0  # no new engine before this (monotonic) time: see `RETRY_SECONDS`

    @property
    def pid(self) -> int | None:
        """The running engine's process id."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _spawn(self) -> None:
        parent, child = socket.socketpair()
        try:
            self._proc = subprocess.Popen([*self._command, str(child.fileno())], pass_fds=(child.fileno(),))
        except Exception:
            parent.close()
            raise
        finally:
            child.close()
        self.starts += 1
        self._retry_at = time.monotonic() + RETRY_SECONDS  # one that dies sooner is not restarted before
        loop = asyncio.get_running_loop()
        self._loop, self._ready = loop, loop.create_future()
        task = loop.create_task(self._read(parent, self._proc, self._ready), name="tip-engine-answers")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(
        self, sock: socket.socket, proc: subprocess.Popen[bytes], ready: asyncio.Future[None]
    ) -> None:
        """Answers of one engine (``proc``); when it goes, and it is still the current one, `_gone`."""
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        if self._proc is proc:
            self._writer = writer
        try:
            while True:
                call_id, (ok, value) = decode(await read_frame(reader))
                if call_id == READY:
                    if not ready.done():
                        ready.set_result(None)
                    continue
                future = self._waiting.pop(call_id, None)
                if future is not None and not future.done():
                    future.set_result(value) if ok else future.set_exception(value)
        except (asyncio.IncompleteReadError, ConnectionError, EngineGone, pickle.UnpicklingError) as exc:
            if self._proc is proc:  # not an engine already given up (a timeout) or stopped
                self._gone(EngineGone(f"the tip engine went away: {exc!r}"))
        except asyncio.CancelledError:
            if self._proc is proc:
                self._gone(EngineGone("the worker is stopping"))
            raise

    def _gone(self, exc: EngineGone) -> None:
        """Fail every call in flight; the next call starts a new engine."""
        if self._ready is not None and not self._ready.done():
            self._ready.set_exception(exc)
            self._ready.exception()  # retrieved: nobody may be waiting for it
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(exc)
        if self._writer is not None:
            self._writer.close()
        proc, self._proc, self._writer, self._ready = self._proc, None, None, None
        if proc is not None and proc.poll() is None:
            proc.kill()
        if proc is not None:
            with contextlib.suppress(Exception):
                proc.wait(timeout=5)
        log.warning("%s", exc)

    async def call(self, name: str, kwargs: dict[str, Any]) -> Any:
        """Run ``name`` with ``kwargs`` in the engine and return its result (or raise its exception)."""
        try:
            if self._proc is None or self._proc.poll() is not None:
                if self._proc is not None:
                    self._gone(EngineGone(f"the tip engine exited with {self._proc.returncode}"))
                if time.monotonic() < self._retry_at:
                    raise EngineUnavailable("the tip engine failed lately; not restarted yet")
                self._spawn()
            assert self._ready is not None
            await asyncio.wait_for(asyncio.shield(self._ready), START_SECONDS)
        except Exception as exc:
            if isinstance(exc, EngineUnavailable):
                raise
            if not isinstance(exc, EngineGone):
                self._gone(EngineGone(f"the tip engine could not start: {exc!r}"))
            raise EngineUnavailable(str(exc)) from exc
        call_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[call_id] = future
        assert self._writer is not None
        self._writer.write(encode(call_id, (name, kwargs)))
        try:
            return await asyncio.wait_for(future, CALL_SECONDS)
        except TimeoutError:
            self._gone(EngineGone(f"the tip engine did not answer {name} within {CALL_SECONDS:.0f} s"))
            raise EngineGone(f"{name} unanswered") from None

    def forget_soon(self, user_id: int, policy_key: str | None = None) -> None:
        """From any thread: the engine forgets the user's cached models too (deletion, a reset)."""
        loop = self._loop
        if loop is None or loop.is_closed() or self._proc is None:
            return

        def send() -> None:
            task = loop.create_task(self._forget(user_id, policy_key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: the engine is gone too
            loop.call_soon_threadsafe(send)

    async def _forget(self, user_id: int, policy_key: str | None) -> None:
        try:
            await self.call("forget_user", {"user_id": user_id, "policy_key": policy_key})
        except Exception:
            log.warning("the tip engine could not forget user %s", user_id, exc_info=True)

    async def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Close the socket: the engine makes its last flush and exits (killed after ``timeout``)."""
        proc, writer = self._proc, self._writer
        self._proc = self._writer = self._ready = None  # its reader sees the end of the stream: not a failure
        if writer is not None:
            writer.close()
        if proc is not None:
            try:
                await asyncio.wait_for(offload.slow(proc.wait), timeout)
            except TimeoutError:
                log.warning("the tip engine did not stop within %s s; killed", timeout)
                proc.kill()
        for task in list(self._tasks):
            task.cancel()


_client: Client | None = None


def client() -> Client | None:
    """The engine client of this process, when the server started one (`lifespan`)."""
    return _client


def _forget(user_id: int, policy_key: str | None) -> None:
    if _client is not None:
        _client.forget_soon(user_id, policy_key)


@asynccontextmanager
async def lifespan(make: Callable[[], Client] = Client) -> AsyncIterator[None]:
    """Lifespan task: with ``OO_TIP_ENGINE=process``, the tip engine is started now and stopped at shutdown."""
    global _client
    if get_settings().tip_engine != "process":
        yield
        return
    _client = make()
    learner.forgetting.append(_forget)
    try:
        _client._spawn()  # starts importing now; the first call waits until it is ready
    except Exception:
        log.exception("starting the tip engine failed; tips are served in the worker")
        _client = None
    try:
        yield
    finally:
        learner.forgetting.remove(_forget)
        running, _client = _client, None
        if running is not None:
            await running.stop()
