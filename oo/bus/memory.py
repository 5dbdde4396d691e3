"""In-process event bus: the embedded default when no NATS URL is configured.

Every event stays inside one process, so run a single worker with it (or switch to
`oo.bus.nats.NatsJetStreamBus` to scale out). Delivery semantics are those of
`oo.bus.base`: handlers are scheduled as tasks and never block the publisher.

Examples:
    >>> import asyncio
    >>> from oo.bus.events import Event, TipFeedback
    >>> async def demo():
    ...     seen = []
    ...     async with InMemoryBus() as bus:
    ...         bus.subscribe("signals.tip.*", seen.append)
    ...         await bus.publish(Event.of(TipFeedback(tip_id="t1", reaction="done", reward=1.0)))
    ...         await bus.drain()
    ...         return [e.subject for e in seen], len(bus.tail())
    >>> asyncio.run(demo())
    (['signals.tip.feedback'], 1)
"""

from __future__ import annotations

from oo.bus.base import BusUnavailable, EventBus, EventStore
from oo.bus.events import Event, validate_event


class InMemoryBus(EventBus):
    """Single-process bus with a ring buffer, optional persistence and replay.

    It needs no connection: `publish` works before `start`, and only fails after
    `close`.

    Args:
        store: Where published events are persisted for replay and retention.
        ring_size: How many recent events `tail` can return.
        handler_timeout: Seconds one handler may run before it is cancelled.
    """

    def __init__(
        self, store: EventStore | None = None, ring_size: int = 500, *, handler_timeout: float | None = 30.0
    ) -> None:
        """Create an open bus (see the class docstring for the arguments)."""
        super().__init__(store=store, ring_size=ring_size, handler_timeout=handler_timeout)
        self._closed = False

    @property
    def healthy(self) -> bool:
        """Whether the bus is open."""
        return not self._closed

    async def start(self) -> None:
        """(Re)open the bus; there is nothing to connect to."""
        self._closed = False

    async def close(self) -> None:
        """Wait briefly for running handlers, then refuse further events."""
        self._closed = True
        await self._stop_handlers()

    async def publish(self, event: Event) -> None:
        """Validate, persist, buffer and schedule handlers for one event.

        Raises:
            UnknownSubject: If the subject has no payload type.
            InvalidPayload: If ``event.data`` does not fit it.
            BusUnavailable: If the bus was closed.
        """
        event = validate_event(event)
        if self._closed:
            raise BusUnavailable(f"bus is closed; dropped {event.subject} (event {event.id})")
        await self._persist(event)
        self._record(event)
