"""The event bus interface, its persistence protocol and the in-process machinery both backends share.

Delivery semantics (the same for every backend):

* ``publish`` validates the event, hands it to the `EventStore` (if any), appends it
  to the ring buffer and *schedules* one asyncio task per matching handler, then
  returns. It never waits for handlers, so a slow handler cannot slow a page.
* Each handler task runs under ``handler_timeout`` seconds; a handler that raises or
  times out is logged with the subject and event id and affects nobody else.
* Handlers are at-most-once and per process: the order between handler tasks is not
  guaranteed, and work that must happen exactly once belongs in the publisher (or must
  be idempotent on ``event.id``).
* ``drain()`` waits for the handler tasks in flight; ``close()`` drains, then cancels
  what is left.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol, runtime_checkable

from oo.bus.events import BusError, Event

logger = logging.getLogger(__name__)

Handler = Callable[[Event], Awaitable[None] | None]
"""A subscriber: an async function of one event (plain functions are accepted too)."""


class BusUnavailable(BusError):
    """The bus cannot accept events: not started, closed, or its server is unreachable."""


class EventNotFound(BusError, LookupError):
    """No stored or buffered event has that id."""


def validate_pattern(pattern: str) -> str:
    """Check a NATS-style subject pattern and return it.

    ``*`` matches exactly one token; ``>`` matches one or more tokens and must come last.

    Raises:
        ValueError: If a token is empty, mixes wildcards with text, or ``>`` is not last.

    Examples:
        >>> validate_pattern("signals.>")
        'signals.>'
        >>> validate_pattern("signals.>.tip")
        Traceback (most recent call last):
        ...
        ValueError: '>' must be the last token in 'signals.>.tip'
    """
    tokens = pattern.split(".")
    for i, token in enumerate(tokens):
        if not token or (len(token) > 1 and ("*" in token or ">" in token)):
            raise ValueError(f"invalid token {token!r} in pattern {pattern!r}")
        if token == ">" and i != len(tokens) - 1:
            raise ValueError(f"'>' must be the last token in {pattern!r}")
    return pattern


def matches(pattern: str, subject: str) -> bool:
    """Whether a concrete subject matches a NATS-style pattern.

    Examples:
        >>> matches("signals.task.*", "signals.task.synced")
        True
        >>> matches("signals.task.*", "signals.task.synced.extra")
        False
        >>> matches("signals.>", "signals.tip.served")
        True
        >>> matches("signals.>", "signals")
        False
    """
    want, got = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(got) > i
        if i >= len(got) or (token != "*" and token != got[i]):
            return False
    return len(want) == len(got)


class Subscription:
    """A handler bound to a pattern on one bus; `unsubscribe` stops future deliveries."""

    def __init__(self, bus: EventBus, pattern: str, handler: Handler) -> None:
        """Bind ``handler`` to ``pattern`` on ``bus`` (use `EventBus.subscribe`)."""
        self.pattern = pattern
        self.handler = handler
        self._bus = bus

    @property
    def active(self) -> bool:
        """Whether the handler still receives events."""
        return self in self._bus._subscriptions

    def unsubscribe(self) -> None:
        """Stop delivering to this handler (idempotent); tasks already started finish."""
        if self.active:
            self._bus._subscriptions.remove(self)

    def __repr__(self) -> str:
        """Show the pattern and handler name."""
        return f"Subscription({self.pattern!r}, {_name(self.handler)})"


@runtime_checkable
class EventStore(Protocol):
    """Persistence sink injected by the app, so the bus never imports the DB layer.

    Methods are synchronous (a SQLModel session is); the bus calls them in a worker
    thread. A store may also offer ``save_nowait(event) -> bool``, which queues the event
    without blocking (True) or declines (False); the bus then skips the thread hop. Only the
    publishing process saves an event, so each event is saved once.
    """

    def save(self, event: Event) -> None:
        """Persist one event (idempotent on ``event.id``)."""

    def get(self, event_id: str) -> Event | None:
        """Return the stored event with that id, or ``None``."""

    def list(
        self,
        *,
        limit: int = 100,
        subject: str | None = None,
        user_id: int | None = None,
        since: datetime | None = None,
    ) -> list[Event]:
        """Return stored events, newest first, filtered like `EventBus.tail`."""

    def purge_older_than(self, cutoff: datetime) -> int:
        """Delete events that occurred before ``cutoff``; return how many were deleted."""


class EventBus(ABC):
    """Publish/subscribe for typed `Event`s with a live-tail ring buffer and replay.

    Subclasses implement `start`, `close`, `publish` and `healthy`; they call `_persist`
    and `_record` so storage, the ring buffer and handler dispatch behave the same on
    every backend (see the module docstring for the delivery semantics).

    Args:
        store: Where published events are persisted for replay and retention.
        ring_size: How many recent events `tail` can return.
        handler_timeout: Seconds one handler may run before it is cancelled
            (``None`` for no limit).
    """

    close_grace: float = 5.0
    """Seconds `close` waits for running handlers before cancelling them."""

    def __init__(
        self, *, store: EventStore | None = None, ring_size: int = 500, handler_timeout: float | None = 30.0
    ) -> None:
        """Set up the ring buffer, subscriber list and handler task set."""
        if ring_size < 1:
            raise ValueError("ring_size must be at least 1")
        self.store = store
        self.handler_timeout = handler_timeout
        self._ring: deque[Event] = deque(maxlen=ring_size)
        self._subscriptions: list[Subscription] = []
        self._tasks: set[asyncio.Task[None]] = set()

    @abstractmethod
    async def start(self) -> None:
        """Connect and prepare the backend; call once before publishing."""

    @abstractmethod
    async def close(self) -> None:
        """Drain handlers and release the backend (idempotent)."""

    @abstractmethod
    async def publish(self, event: Event) -> None:
        """Validate, persist, deliver and buffer one event.

        Raises:
            UnknownSubject: If the subject has no payload type.
            InvalidPayload: If ``event.data`` does not fit it.
            BusUnavailable: If the backend cannot take the event.
        """

    @property
    @abstractmethod
    def healthy(self) -> bool:
        """Whether the bus can publish right now (for the health page)."""

    async def __aenter__(self) -> EventBus:
        """Start the bus."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Close the bus."""
        await self.close()

    def subscribe(self, pattern: str, handler: Handler) -> Subscription:
        """Call ``handler`` for every future event whose subject matches ``pattern``.

        Args:
            pattern: A subject or a NATS-style pattern (``signals.task.*``, ``signals.>``).
            handler: An async function taking the event.

        Returns:
            The subscription; call ``unsubscribe()`` to stop it.
        """
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {handler!r}")
        subscription = Subscription(self, validate_pattern(pattern), handler)
        self._subscriptions.append(subscription)
        return subscription

    def tail(
        self,
        limit: int = 100,
        subject: str | None = None,
        user_id: int | None = None,
        since: datetime | None = None,
    ) -> list[Event]:
        """Return recent events from the ring buffer, newest first.

        Args:
            limit: At most this many events.
            subject: Keep events matching this subject or pattern.
            user_id: Keep events about this user.
            since: Keep events that occurred at or after this aware datetime.

        Returns:
            The matching events, newest first.
        """
        if subject is not None:
            validate_pattern(subject)
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be timezone-aware")
        found: list[Event] = []
        for event in reversed(self._ring):
            if len(found) >= limit:
                break
            if subject is not None and not matches(subject, event.subject):
                continue
            if user_id is not None and event.user_id != user_id:
                continue
            if since is not None and event.occurred_at < since:
                continue
            found.append(event)
        return found

    async def replay(self, event_id: str) -> Event:
        """Publish a stored event again as a new event marked ``replay_of`` the original.

        The replay gets a fresh id (so NATS dedupe does not drop it) and the current
        time; subject, user and data are copied. It is looked up in the store first,
        then in the ring buffer.

        Returns:
            The replay event that was published.

        Raises:
            EventNotFound: If no event has that id.
        """
        original = await self._find(event_id)
        replay = Event(
            subject=original.subject,
            user_id=original.user_id,
            data=original.data,
            replay_of=original.replay_of or original.id,
        )
        await self.publish(replay)
        return replay

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until no handler task is running.

        Returns:
            ``True`` if every task finished, ``False`` if ``timeout`` ran out first.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._tasks:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=remaining)
        return True

    async def _stop_handlers(self) -> None:
        """Drain handler tasks for up to `close_grace` seconds, then cancel the rest."""
        if await self.drain(self.close_grace):
            return
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _find(self, event_id: str) -> Event:
        if self.store is not None:
            stored = await asyncio.to_thread(self.store.get, event_id)
            if stored is not None:
                return stored
        for event in self._ring:
            if event.id == event_id:
                return event
        raise EventNotFound(f"no event with id {event_id!r}")

    async def _persist(self, event: Event) -> None:
        """Save to the store; a store failure is logged, never raised (the store is a sink)."""
        if self.store is None:
            return
        try:
            nowait = getattr(self.store, "save_nowait", None)  # a store that queues: no thread hop
            if nowait is None or not nowait(event):
                await asyncio.to_thread(self.store.save, event)
        except Exception:
            logger.exception("event store failed to save %s (event %s)", event.subject, event.id)

    def _record(self, event: Event, *, dispatch: bool = True) -> None:
        """Append to the ring buffer and schedule matching handlers."""
        self._ring.append(event)
        if not dispatch:
            return
        for subscription in list(self._subscriptions):
            if matches(subscription.pattern, event.subject):
                task = asyncio.get_running_loop().create_task(self._run(subscription.handler, event))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _run(self, handler: Handler, event: Event) -> None:
        timer = asyncio.timeout(self.handler_timeout)
        try:
            async with timer:
                result = handler(event)
                if inspect.isawaitable(result):
                    await result
        except Exception:
            if timer.expired():
                logger.error(
                    "bus handler %s timed out after %ss on %s (event %s)",
                    _name(handler),
                    self.handler_timeout,
                    event.subject,
                    event.id,
                )
            else:
                logger.exception(
                    "bus handler %s failed on %s (event %s)", _name(handler), event.subject, event.id
                )


def _name(handler: Handler) -> str:
    return getattr(handler, "__qualname__", None) or repr(handler)
