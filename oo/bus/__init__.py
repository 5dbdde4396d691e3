"""Event bus for oO's signals: typed events, an in-memory default and a NATS JetStream backend.

Pick the backend with `create_bus`; the rest of the app only sees `EventBus`. This
package imports nothing else from ``oo`` and never imports the DB layer: persistence is
an injected `EventStore`.

Examples:
    >>> bus = create_bus(None)
    >>> type(bus).__name__
    'InMemoryBus'
"""

from __future__ import annotations

from typing import Any

from .base import BusUnavailable, EventBus, EventNotFound, EventStore, Handler, Subscription, matches
from .events import (
    ADMIN_ACTION,
    PUSH_SENT,
    REGISTRY,
    TASK_COMPLETED,
    TASK_SYNCED,
    TIP_FEEDBACK,
    TIP_SERVED,
    AdminAction,
    BusError,
    Event,
    InvalidPayload,
    Payload,
    PushSent,
    SyncCounts,
    TaskCompleted,
    TaskSynced,
    TipFeedback,
    TipServed,
    UnknownSubject,
    payload_type,
    register,
    validate_event,
)
from .memory import InMemoryBus

__all__ = [
    "ADMIN_ACTION",
    "PUSH_SENT",
    "REGISTRY",
    "TASK_COMPLETED",
    "TASK_SYNCED",
    "TIP_FEEDBACK",
    "TIP_SERVED",
    "AdminAction",
    "BusError",
    "BusUnavailable",
    "Event",
    "EventBus",
    "EventNotFound",
    "EventStore",
    "Handler",
    "InMemoryBus",
    "InvalidPayload",
    "Payload",
    "PushSent",
    "Subscription",
    "SyncCounts",
    "TaskCompleted",
    "TaskSynced",
    "TipFeedback",
    "TipServed",
    "UnknownSubject",
    "create_bus",
    "matches",
    "payload_type",
    "register",
    "validate_event",
]


def create_bus(url: str | None = None, store: EventStore | None = None, **options: Any) -> EventBus:
    """Build the bus a URL names; the caller still has to ``await bus.start()``.

    Args:
        url: ``None``, ``""`` or ``"memory"`` for `InMemoryBus`; ``nats://``, ``tls://``
            (comma-separated for a cluster) for `oo.bus.nats.NatsJetStreamBus`.
        store: Persistence sink for replay and retention.
        **options: Passed to the backend (``ring_size``, ``stream``, ``max_age``...).

    Returns:
        An unstarted bus.

    Raises:
        ValueError: If the URL scheme is not supported.
    """
    if not url or url == "memory":
        return InMemoryBus(store=store, **options)
    if url.startswith(("nats://", "tls://")):
        from .nats import NatsJetStreamBus  # lazily: keeps nats-py out of the memory path

        return NatsJetStreamBus(servers=url, store=store, **options)
    scheme = url.split("://", 1)[0] if "://" in url else url
    raise ValueError(f"unsupported event bus URL scheme {scheme!r}; use 'memory' or 'nats://host:port'")
