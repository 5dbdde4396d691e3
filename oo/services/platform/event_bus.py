"""The process-wide event bus and its database store (events persisted for replay and retention).

`bus()` returns the one bus of this process: in-memory by default, NATS JetStream when
``OO_BUS_URL`` is ``nats://...``. The app's lifespan starts and closes it; code that runs outside
the server (scripts, tests) may call `bus()` too and gets a started in-memory bus lazily.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, delete, select

from oo import offload, singletons
from oo.bus import Event, EventBus, create_bus
from oo.db import get_engine
from oo.models import EventRecord
from oo.settings import get_settings

log = logging.getLogger("oo.events")
RETENTION_DAYS = 30

_bus: EventBus | None = None


def _row(event: Event) -> dict[str, object]:
    return {
        "id": event.id,
        "subject": event.subject,
        "user_id": event.user_id,
        "occurred_at": event.occurred_at,
        "data": json.dumps(event.data, default=str),
        "replay_of": event.replay_of,
    }


def _insert_rows(rows: list[dict[str, object]]) -> None:
    """Insert once per event id (INSERT ... ON CONFLICT DO NOTHING), all rows in one transaction."""
    engine = get_engine()
    insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(EventRecord.__table__).on_conflict_do_nothing(index_elements=["id"])  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(stmt, rows)


class DbEventStore:
    """`oo.bus.EventStore` over the ``event`` table (sync; the bus calls it from a worker thread).

    In the server (`bus_lifespan`) saves are batched: `save` queues the row and a writer thread
    inserts what arrived every `BATCH_SECONDS` in one transaction, instead of one commit per event
    on the request path. The store is a sink for replay and retention (the tip and feedback tables
    are the record), so a crash may lose the last fraction of a second of events; shutdown drains
    the queue. Elsewhere (scripts, tests) `save` writes at once.
    """

    BATCH_SECONDS = 0.05

    def __init__(self) -> None:
        """A store that writes at once until `start_writer`."""
        self._queue: deque[dict[str, object]] | None = None
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def save(self, event: Event) -> None:
        """Persist one event (queued for the writer thread when it runs)."""
        if not self.save_nowait(event):
            _insert_rows([_row(event)])

    def save_nowait(self, event: Event) -> bool:
        """Queue the event for the writer thread, without blocking; False when no writer runs."""
        queue = self._queue
        if queue is None:
            return False
        queue.append(_row(event))  # the writer wakes on its own every BATCH_SECONDS
        return True

    def start_writer(self) -> None:
        """Batch from now on (idempotent)."""
        if self._thread is not None:
            return
        self._queue, self._wake = deque(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-store-writer", daemon=True)
        self._thread.start()

    def stop_writer(self) -> None:
        """Write what is queued and go back to writing at once."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._wake.set()
        thread.join(timeout=10)
        queue, self._queue = self._queue, None  # saves from now on write at once
        self._drain(queue)

    def _run(self) -> None:
        while not self._wake.wait(self.BATCH_SECONDS):
            self._drain(self._queue)

    def _drain(self, queue: deque[dict[str, object]] | None) -> None:
        while queue:
            rows = [queue.popleft() for _ in range(min(len(queue), 1000))]
            try:
                _insert_rows(rows)
            except Exception:  # a sink: log, never crash the writer
                log.exception("saving %s events failed", len(rows))

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
    store = bus().store
    if isinstance(store, DbEventStore):
        store.start_writer()
    try:
        yield
    finally:
        if _bus is not None:
            await _bus.close()
            _bus = None
        if isinstance(store, DbEventStore):
            await offload.slow(store.stop_writer)


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
