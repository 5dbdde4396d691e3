"""The push bench's outside world in its own process: the fake push service and fake Google.

`bench/push_delivery.py` measures oO; with the fakes in the bench's own process their work (the
push service verifies the VAPID JWT and decrypts every RFC 8291 message; Google mints tokens and
answers FreeBusy) shared oO's GIL. Here they run in a child process (``spawn``) with the same code
(`tests.fakes.push_service`, `tests.fakes.google_calendar`); the bench drives them through a pipe
with a handful of batched commands. Every message is still verified and decrypted (by the child).
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Endpoints:
    """Where the child's fakes listen, and the fake Google client."""

    push_origin: str
    gcal_url: str = ""
    gcal_api_url: str = ""
    gcal_discovery_url: str = ""
    gcal_client_id: str = ""
    gcal_client_secret: str = ""


def _endpoints(push: Any, gcal: Any) -> Endpoints:
    if gcal is None:
        return Endpoints(push.origin)
    fake = gcal.fake
    return Endpoints(
        push.origin, gcal.url, gcal.api_url, gcal.discovery_url, fake.client_id, fake.client_secret
    )


def _commands(push: Any, gcal: Any) -> dict[str, Callable[..., Any]]:
    """The control commands over a running push service and (optionally) fake Google."""

    def grants(wanted: list[tuple[str, list[tuple[datetime, datetime]]]]) -> list[str]:
        for subject, blocks in wanted:
            if blocks:
                gcal.fake.set_busy(subject, blocks)
        return [gcal.fake.issue_refresh_token(subject) for subject, _ in wanted]

    def expect(key: str) -> None:
        push.expected_key = key

    return {
        "expect": expect,
        "subscriptions": lambda n: [push.new_subscription() for _ in range(n)],
        "grants": grants,
        "counts": push.counts,
        "calendar_requests": lambda: dict(gcal.fake.requests) if gcal is not None else {},
    }


def _servers(stack: ExitStack, calendars: bool) -> tuple[Any, Any]:
    """Start the push service (and fake Google) on ``stack``."""
    from tests.fakes.google_calendar import FakeGoogleCalendarServer
    from tests.fakes.push_service import FakePushService

    push = stack.enter_context(FakePushService())
    return push, stack.enter_context(FakeGoogleCalendarServer()) if calendars else None


def _child(conn: Any, calendars: bool) -> None:
    with ExitStack() as stack:
        push, gcal = _servers(stack, calendars)
        conn.send(_endpoints(push, gcal))
        commands = _commands(push, gcal)
        while True:
            name, args = conn.recv()
            if name == "stop":
                break
            conn.send(commands[name](*args))


class InlineFakes:
    """The same fakes and commands in the bench's own process (the old setup, for comparison)."""

    def __init__(self, *, calendars: bool) -> None:
        """Prepare; ``with`` starts and stops the servers."""
        self._calendars = calendars
        self.endpoints: Endpoints | None = None

    def __enter__(self) -> InlineFakes:
        """Start the servers in this process's threads."""
        self._stack = ExitStack()
        push, gcal = _servers(self._stack, self._calendars)
        self.endpoints, self._commands = _endpoints(push, gcal), _commands(push, gcal)
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the servers."""
        self._stack.close()

    def call(self, name: str, *args: Any) -> Any:
        """Run one command and return its answer."""
        return self._commands[name](*args)


class FakesProcess:
    """``with FakesProcess(calendars=True) as fakes:`` the fakes in a child process."""

    def __init__(self, *, calendars: bool) -> None:
        """Prepare the child; ``with`` starts and stops it."""
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_child, args=(child, calendars), name="oo-bench-fakes", daemon=True)
        self.endpoints: Endpoints | None = None

    def __enter__(self) -> FakesProcess:
        """Start the child and wait for its servers' addresses."""
        self._proc.start()
        if not self._conn.poll(60):
            raise RuntimeError("the fakes' process did not start")
        self.endpoints = self._conn.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop the servers and the child."""
        try:
            self._conn.send(("stop", ()))
        finally:
            self._proc.join(timeout=20)
            if self._proc.is_alive():
                self._proc.terminate()

    def call(self, name: str, *args: Any) -> Any:
        """Run one command in the child and return its answer."""
        self._conn.send((name, args))
        return self._conn.recv()
