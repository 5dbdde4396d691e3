"""NATS JetStream backend: a drop-in `EventBus` shared by every worker process.

How it maps onto JetStream:

* ``start`` connects, then creates the stream (or updates it to this config) with
  subjects ``signals.>`` and ``max_age`` retention, so old signals expire on the
  server without a job.
* ``publish`` stores the event through the injected `EventStore`, then publishes it
  to JetStream with ``Nats-Msg-Id`` = event id, so a retried publish inside the
  stream's duplicate window is stored once. It waits for the server's ack: a failure
  is logged and raised as `BusUnavailable` (the event is still in the store, so an
  admin can replay it later).
* Each process follows the whole stream with one *ephemeral ordered push consumer*
  (no acks, flow control, heartbeats). It feeds that process's ring buffer, so the
  live tail on any worker shows events published by every worker, and it dispatches
  to the local handlers from `subscribe`. Handlers therefore run in every process
  (broadcast), with the semantics of `oo.bus.base`. On start the consumer begins up
  to ``ring_size`` messages back: those fill the tail but are not sent to handlers.
* Reconnects are handled by nats-py (unlimited attempts once connected); the ordered
  consumer notices missed heartbeats and resumes after the last stream sequence it
  saw. An event published by this process is recorded as soon as it is acked
  (read-your-writes for the tail); whichever of that and the stream's echo comes
  second is skipped, as is any id already in the ring buffer.

``nats`` (nats-py) is imported lazily, so the in-memory default never needs it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from contextlib import suppress
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from oo.bus.base import BusUnavailable, EventBus, EventStore
from oo.bus.events import Event, validate_event

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.js import JetStreamContext
    from nats.js.api import StreamInfo

logger = logging.getLogger(__name__)

ROOT = "signals"
REPLAY_HEADER = "Oo-Replay-Of"
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class NatsJetStreamBus(EventBus):
    """Event bus over a NATS JetStream stream, for running several workers.

    Args:
        servers: One URL, a comma-separated list or a sequence of URLs.
        stream: JetStream stream name.
        store: Where published events are persisted for replay and retention.
        ring_size: How many recent events `tail` can return.
        namespace: Optional subject prefix on the wire (``<namespace>.signals.>``) so
            several deployments or test runs can share one server; event subjects
            themselves never change.
        max_age: How long the stream keeps a message.
        duplicate_window: How long JetStream remembers message ids for dedupe.
        connect_timeout: Seconds ``start`` may spend reaching a server.
        publish_timeout: Seconds ``publish`` waits for the JetStream ack.
        handler_timeout: Seconds one handler may run before it is cancelled.
    """

    def __init__(
        self,
        servers: str | Sequence[str] = "nats://127.0.0.1:4222",
        stream: str = "OO_SIGNALS",
        store: EventStore | None = None,
        ring_size: int = 500,
        *,
        namespace: str | None = None,
        max_age: timedelta = timedelta(days=7),
        duplicate_window: timedelta = timedelta(minutes=2),
        connect_timeout: float = 5.0,
        publish_timeout: float = 5.0,
        handler_timeout: float | None = 30.0,
    ) -> None:
        """Configure the bus; nothing connects until `start`."""
        super().__init__(store=store, ring_size=ring_size, handler_timeout=handler_timeout)
        if not _NAME_RE.match(stream):
            raise ValueError(f"invalid stream name {stream!r}")
        if namespace is not None and not all(_NAME_RE.match(t) for t in namespace.split(".")):
            raise ValueError(f"invalid namespace {namespace!r}")
        self.servers = [s.strip() for s in servers.split(",")] if isinstance(servers, str) else list(servers)
        self.stream = stream
        self.namespace = namespace
        self.max_age = max_age
        self.duplicate_window = duplicate_window
        self.connect_timeout = connect_timeout
        self.publish_timeout = publish_timeout
        self._prefix = f"{namespace}." if namespace else ""
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._sub: Any = None
        self._live_from = 0

    @property
    def healthy(self) -> bool:
        """Whether the bus is started and connected to a server."""
        return self._nc is not None and self._nc.is_connected

    @property
    def subjects(self) -> str:
        """The wire subject filter of the stream (``signals.>`` without a namespace)."""
        return f"{self._prefix}{ROOT}.>"

    async def start(self) -> None:
        """Connect, create or update the stream and start following it.

        Raises:
            BusUnavailable: If no server answers within ``connect_timeout`` or
                JetStream is not enabled on it.
        """
        if self._nc is not None:
            return
        import nats  # lazily: only this backend needs nats-py

        nc = nats.NATS()
        errors: list[Exception] = []
        try:
            await asyncio.wait_for(self._connect(nc, errors), self.connect_timeout)
        except (TimeoutError, OSError, nats.errors.Error) as exc:
            await _quietly_close(nc)
            cause = errors[-1] if errors else exc
            raise BusUnavailable(
                f"cannot connect to NATS at {', '.join(self.servers)} within {self.connect_timeout}s: {cause!r}"
            ) from exc
        try:
            js = nc.jetstream(timeout=self.publish_timeout)
            info = await self._ensure_stream(js)
            self._sub = await self._follow(js, info)
        except (TimeoutError, nats.errors.Error) as exc:
            await _quietly_close(nc)
            raise BusUnavailable(f"JetStream stream {self.stream!r} is unavailable: {exc!r}") from exc
        self._nc, self._js = nc, js

    async def close(self) -> None:
        """Stop following the stream, drain handlers and close the connection."""
        if self._sub is not None:
            with suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        await self._stop_handlers()
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None:
            await _quietly_close(nc)

    async def publish(self, event: Event) -> None:
        """Persist the event and publish it to JetStream, waiting for the ack.

        Raises:
            UnknownSubject: If the subject has no payload type.
            InvalidPayload: If ``event.data`` does not fit it.
            BusUnavailable: If the bus is not started or NATS did not ack in time.
        """
        from nats.errors import Error as NatsError

        event = validate_event(event)
        if self._js is None:
            raise BusUnavailable(f"bus is not started; dropped {event.subject} (event {event.id})")
        await self._persist(event)
        headers = {"Nats-Msg-Id": event.id}
        if event.replay_of:
            headers[REPLAY_HEADER] = event.replay_of
        try:
            ack = await self._js.publish(
                self._prefix + event.subject,
                event.to_json().encode(),
                timeout=self.publish_timeout,
                stream=self.stream,
                headers=headers,
            )
        except (TimeoutError, OSError, NatsError) as exc:
            logger.error("NATS publish failed for %s (event %s): %r", event.subject, event.id, exc)
            raise BusUnavailable(f"NATS did not accept {event.subject} (event {event.id}): {exc!r}") from exc
        if ack.duplicate:
            logger.info("NATS dropped duplicate %s (event %s)", event.subject, event.id)
            return
        if not self._buffered(event.id):  # the stream may have echoed it back while we waited
            self._record(event)

    async def _connect(self, nc: Client, errors: list[Exception]) -> None:
        async def on_error(exc: Exception) -> None:
            errors.append(exc)
            logger.warning("NATS error: %r", exc)

        await nc.connect(
            servers=self.servers,
            name="oo-bus",
            connect_timeout=max(1, int(self.connect_timeout)),
            reconnect_time_wait=1,
            max_reconnect_attempts=-1,
            error_cb=on_error,
            disconnected_cb=_on_disconnected,
            reconnected_cb=_on_reconnected,
        )

    async def _ensure_stream(self, js: JetStreamContext) -> StreamInfo:
        from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
        from nats.js.errors import NotFoundError

        config = StreamConfig(
            name=self.stream,
            subjects=[self.subjects],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=self.max_age.total_seconds(),
            duplicate_window=self.duplicate_window.total_seconds(),
        )
        try:
            await js.stream_info(self.stream)
        except NotFoundError:
            return await js.add_stream(config)
        return await js.update_stream(config)

    async def _follow(self, js: JetStreamContext, info: StreamInfo) -> Any:
        from nats.js.api import ConsumerConfig, DeliverPolicy

        state = info.state
        self._live_from = state.last_seq + 1
        start = (
            max(state.first_seq, self._live_from - (self._ring.maxlen or 0))
            if state.messages
            else self._live_from
        )
        config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start)
        return await js.subscribe(
            self.subjects,
            stream=self.stream,
            cb=self._on_message,
            config=config,
            ordered_consumer=True,
            idle_heartbeat=5.0,
        )

    def _buffered(self, event_id: str) -> bool:
        # Newest first: an echo usually arrives a few events after its local copy.
        return any(e.id == event_id for e in reversed(self._ring))

    async def _on_message(self, msg: Msg) -> None:
        try:
            event = Event.from_json(msg.data)
        except ValidationError:
            logger.warning("skipping a malformed message on %s", msg.subject)
            return
        if self._buffered(event.id):
            return  # published by this process and already recorded
        self._record(event, dispatch=msg.metadata.sequence.stream >= self._live_from)


async def _quietly_close(nc: Client) -> None:
    # A client that never connected raises on close; there is nothing to release then.
    with suppress(Exception):
        await nc.close()


async def _on_disconnected() -> None:
    logger.warning("NATS disconnected")


async def _on_reconnected() -> None:
    logger.info("NATS reconnected")
