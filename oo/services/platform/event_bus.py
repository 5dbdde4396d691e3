"""The process-wide event bus and its database store (events persisted for replay and retention).

`bus()` returns the one bus of this process: in-memory by default, NATS JetStream when
``OO_BUS_URL`` is ``nats://...``. The app's lifespan starts and closes it; code that runs outside
the server (scripts, tests) may call `bus()` too and gets a started in-memory bus lazily.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, delete, select

from oo import singletons
from oo.bus import Event, EventBus, create_bus
from oo.db import get_engine
from oo.models import EventRecord
from oo.settings import get_settings

log = logging.getLogger("oo.events")
RETENTION_DAYS = 30

_bus: EventBus | None = None


class DbEventStore:
    """`oo.bus.EventStore` over the ``event`` table (sync; the bus calls it from a worker thread)."""

    def save(self, event: Event) -> None:
        """Insert once per event id (one round trip: INSERT ... ON CONFLICT DO NOTHING)."""
        engine = get_engine()
        insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        stmt = (
            insert(EventRecord.__table__)  # type: ignore[attr-defined]
            .values(
                id=event.id,
                subject=event.subject,
                user_id=event.user_id,
                occurred_at=event.occurred_at,
                data=json.dumps(event.data, default=str),
                replay_of=event.replay_of,
            )
            .on_conflict_do_nothing(index_elements=["id"])
        )
        with engine.begin() as conn:
            conn.execute(stmt)

    def get(self, event_id: str) -> Event | None:
        """One stored event."""
        with Session(get_engine()) as session:
            row = session.get(EventRecord, event_id)
        return _to_event(row) if row else None

    def list(
        self,
        *,
        limit: int = 100,
        subject: str | None = None,
        user_id: int | None = None,
        since: datetime | None = None,
    ) -> list[Event]:
        """Newest first, filtered by exact subject (or prefix ending in ``.>``), user and time."""
        query = select(EventRecord)
        if subject:
            query = (
                query.where(col(EventRecord.subject).startswith(subject[:-1]))
                if subject.endswith(">")
                else query.where(EventRecord.subject == subject)
            )
        if user_id is not None:
            query = query.where(EventRecord.user_id == user_id)
        if since is not None:
            query = query.where(col(EventRecord.occurred_at) >= since)
        query = query.order_by(col(EventRecord.occurred_at).desc()).limit(max(1, min(limit, 1000)))
        with Session(get_engine()) as session:
            return [_to_event(r) for r in session.exec(query).all()]

    def purge_older_than(self, cutoff: datetime) -> int:
        """Retention."""
        with Session(get_engine()) as session:
            result = session.exec(delete(EventRecord).where(col(EventRecord.occurred_at) < cutoff))
            session.commit()
            return int(result.rowcount or 0)


def _to_event(row: EventRecord) -> Event:
    return Event(
        id=row.id,
        subject=row.subject,
        user_id=row.user_id,
        occurred_at=row.occurred_at,
        data=json.loads(row.data),
        replay_of=row.replay_of,
    )


def bus() -> EventBus:
    """The process-wide bus (created on first use; the lifespan task starts it)."""
    global _bus
    if _bus is None:
        _bus = create_bus(get_settings().bus_url or None, store=DbEventStore())
    return _bus


@asynccontextmanager
async def bus_lifespan() -> AsyncIterator[None]:
    """Lifespan task: start the bus with the server, close it at shutdown."""
    global _bus
    await bus().start()
    try:
        yield
    finally:
        if _bus is not None:
            await _bus.close()
            _bus = None


async def publish(event: Event) -> None:
    """Publish, never raising into the caller: a bus failure is logged (the event is still stored)."""
    try:
        await bus().publish(event)
    except Exception:
        log.exception("publishing %s failed", event.subject)


def _forget_bus() -> None:
    global _bus
    _bus = None


singletons.on_reset("event_bus", _forget_bus)
