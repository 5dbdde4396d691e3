"""The database event store behind the bus: idempotent saves, filters, retention."""

from datetime import UTC, datetime, timedelta

import pytest

from oo import db, singletons
from oo.bus import Event, TipFeedback
from oo.services.platform.event_bus import DbEventStore


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("OO_DATA_DIR", str(tmp_path))
    singletons.reset()
    from sqlmodel import SQLModel

    SQLModel.metadata.create_all(db.get_engine())
    yield DbEventStore()
    singletons.reset()


def feedback(user_id: int, when: datetime) -> Event:
    payload = TipFeedback(tip_id="a" * 32, reaction="done", reward=1.0)
    return Event.of(payload, user_id=user_id).model_copy(update={"occurred_at": when})


def test_save_is_idempotent_and_round_trips(store):
    event = feedback(1, datetime.now(UTC))
    store.save(event)
    store.save(event)
    assert store.list(limit=10) == [event]
    assert store.get(event.id) == event


def test_filters_and_retention(store):
    now = datetime.now(UTC)
    old, new, other = feedback(1, now - timedelta(days=40)), feedback(1, now), feedback(2, now)
    for e in (old, new, other):
        store.save(e)
    assert [e.id for e in store.list(user_id=1)] == [new.id, old.id]
    recent = store.list(subject="signals.tip.>", since=now - timedelta(days=1))
    assert {e.id for e in recent} == {new.id, other.id}
    assert store.list(subject="signals.task.synced") == []
    assert store.purge_older_than(now - timedelta(days=30)) == 1
    assert store.get(old.id) is None


def test_the_server_writer_batches_saves_and_drains_at_shutdown(store, monkeypatch):
    from sqlalchemy import event as sa_event

    commits = []
    listener = lambda *_a: commits.append(1)  # noqa: E731
    monkeypatch.setattr(DbEventStore, "BATCH_SECONDS", 3600.0)  # only the shutdown drain writes
    store.start_writer()
    now = datetime.now(UTC)
    events = [feedback(1, now - timedelta(seconds=i)) for i in range(50)]
    sa_event.listen(db.get_engine(), "commit", listener)
    try:
        for e in events:
            store.save(e)
        assert store.list(limit=100) == [], "queued, not written on the caller's path"
        store.stop_writer()
    finally:
        sa_event.remove(db.get_engine(), "commit", listener)
    assert len(commits) == 1, "fifty events, one transaction"
    assert {e.id for e in store.list(limit=100)} == {e.id for e in events}
    late = feedback(2, now)
    store.save(late)  # after shutdown: written at once
    assert store.get(late.id) == late


def test_the_bus_queues_on_the_writer_without_a_thread_hop(store, monkeypatch):
    import asyncio

    from oo.bus.memory import InMemoryBus

    monkeypatch.setattr(DbEventStore, "BATCH_SECONDS", 3600.0)  # only the shutdown drain writes
    hops = []
    real = asyncio.to_thread

    async def counted(fn, *a, **k):
        hops.append(fn)
        return await real(fn, *a, **k)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    bus = InMemoryBus(store=store)
    first, second = feedback(1, datetime.now(UTC)), feedback(2, datetime.now(UTC))
    asyncio.run(bus._persist(first))  # no writer running: written at once, in a thread
    assert len(hops) == 1 and store.get(first.id) == first
    store.start_writer()
    asyncio.run(bus._persist(second))  # queued for the writer: no thread hop
    assert len(hops) == 1 and store.get(second.id) is None
    store.stop_writer()
    assert store.get(second.id) == second
