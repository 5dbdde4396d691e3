"""InMemoryBus: delivery, the ring buffer, isolation of handler failures, validation and replay."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import anyio
import pytest

from oo.bus import (
    TASK_SYNCED,
    TIP_FEEDBACK,
    TIP_SERVED,
    BusUnavailable,
    Event,
    EventNotFound,
    EventStore,
    InMemoryBus,
    InvalidPayload,
    SyncCounts,
    TaskSynced,
    UnknownSubject,
    create_bus,
)

pytestmark = pytest.mark.anyio


def synced(user_id: int = 1) -> Event:
    counts = SyncCounts(upserted=1, removed=0, total=5)
    return Event.of(TaskSynced(source="todoist", counts=counts, duration_ms=12.0), user_id=user_id)


class Recorder:
    """An async handler that remembers what it got."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    @property
    def subjects(self) -> list[str]:
        return [e.subject for e in self.events]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (TIP_SERVED, [TIP_SERVED]),
        ("signals.tip.*", [TIP_SERVED, TIP_FEEDBACK]),
        ("signals.*.synced", [TASK_SYNCED]),
        ("signals.>", [TIP_SERVED, TIP_FEEDBACK, TASK_SYNCED]),
        ("signals.push.*", []),
    ],
)
async def test_subscribe_delivers_matching_subjects(pattern, expected, served, feedback):
    bus, seen = InMemoryBus(), Recorder()
    bus.subscribe(pattern, seen)
    for event in (served(), feedback(), synced()):
        await bus.publish(event)
    assert await bus.drain(timeout=5)
    assert sorted(seen.subjects) == sorted(expected)


async def test_unsubscribe_stops_delivery(feedback):
    bus, seen = InMemoryBus(), Recorder()
    subscription = bus.subscribe("signals.>", seen)
    await bus.publish(feedback())
    await bus.drain(timeout=5)
    subscription.unsubscribe()
    subscription.unsubscribe()
    await bus.publish(feedback())
    await bus.drain(timeout=5)
    assert len(seen.events) == 1
    assert not subscription.active


async def test_subscribe_accepts_plain_functions(feedback):
    bus, seen = InMemoryBus(), []
    bus.subscribe(TIP_FEEDBACK, seen.append)
    await bus.publish(feedback())
    await bus.drain(timeout=5)
    assert len(seen) == 1


async def test_subscribe_rejects_bad_patterns():
    bus = InMemoryBus()
    with pytest.raises(ValueError, match="last token"):
        bus.subscribe("signals.>.tip", Recorder())


async def test_ring_buffer_keeps_the_newest_500_newest_first(feedback):
    bus = InMemoryBus()
    published = [feedback(user_id=i) for i in range(600)]
    for event in published:
        await bus.publish(event)
    tail = bus.tail(limit=1000)
    assert len(tail) == 500
    assert [e.id for e in tail] == [e.id for e in reversed(published[100:])]
    assert [e.user_id for e in bus.tail()] == list(range(599, 499, -1))


async def test_ring_size_is_configurable(feedback):
    bus = InMemoryBus(ring_size=3)
    for i in range(5):
        await bus.publish(feedback(user_id=i))
    assert [e.user_id for e in bus.tail()] == [4, 3, 2]


async def test_tail_filters_by_subject_user_and_time(feedback, served):
    bus = InMemoryBus()
    start = datetime.now(UTC)
    await bus.publish(served(user_id=1, occurred_at=start - timedelta(hours=2)))
    await bus.publish(feedback(user_id=1, occurred_at=start - timedelta(minutes=5)))
    await bus.publish(served(user_id=2, occurred_at=start))
    await bus.publish(synced(user_id=1))
    assert [e.subject for e in bus.tail(subject=TIP_SERVED)] == [TIP_SERVED, TIP_SERVED]
    assert [e.subject for e in bus.tail(subject="signals.tip.*", user_id=1)] == [TIP_FEEDBACK, TIP_SERVED]
    assert [e.user_id for e in bus.tail(subject=TIP_SERVED, since=start - timedelta(hours=1))] == [2]
    assert len(bus.tail(user_id=1, since=start - timedelta(hours=1))) == 2
    assert len(bus.tail(limit=2)) == 2
    assert bus.tail(limit=0) == []
    with pytest.raises(ValueError, match="timezone-aware"):
        bus.tail(since=datetime(2025, 1, 1))


async def test_handler_exception_is_isolated_and_logged(feedback, caplog):
    bus, seen = InMemoryBus(), Recorder()

    async def broken(event: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe("signals.>", broken)
    bus.subscribe(TIP_FEEDBACK, seen)
    event = feedback()
    with caplog.at_level(logging.ERROR, logger="oo.bus"):
        await bus.publish(event)
        await bus.drain(timeout=5)
        await bus.publish(feedback())
        await bus.drain(timeout=5)
    assert len(seen.events) == 2
    failure = caplog.records[0]
    assert "broken" in failure.getMessage()
    assert TIP_FEEDBACK in failure.getMessage()
    assert event.id in failure.getMessage()
    assert failure.exc_info is not None


async def test_publish_does_not_wait_for_slow_handlers(feedback, caplog):
    bus = InMemoryBus(handler_timeout=0.2)
    release = asyncio.Event()
    seen = Recorder()

    async def slow(event: Event) -> None:
        await release.wait()

    bus.subscribe(TIP_FEEDBACK, slow)
    bus.subscribe(TIP_FEEDBACK, seen)
    with anyio.fail_after(1):
        await bus.publish(feedback())
    with caplog.at_level(logging.ERROR, logger="oo.bus"):
        assert await bus.drain(timeout=5)
    assert len(seen.events) == 1
    assert "timed out" in caplog.text


async def test_close_cancels_handlers_that_outlive_the_grace(feedback):
    bus = InMemoryBus(handler_timeout=None)
    bus.close_grace = 0.05
    bus.subscribe(TIP_FEEDBACK, lambda event: asyncio.sleep(3600))
    await bus.publish(feedback())
    assert not await bus.drain(timeout=0.05)
    with anyio.fail_after(10):
        await bus.close()
    assert await bus.drain(timeout=0)


async def test_publish_rejects_invalid_payload_before_anything_happens(store):
    bus, seen = InMemoryBus(store=store), Recorder()
    bus.subscribe("signals.>", seen)
    with pytest.raises(InvalidPayload, match="reward"):
        await bus.publish(Event(subject=TIP_FEEDBACK, data={"tip_id": "t1", "reaction": "done"}))
    await bus.drain(timeout=5)
    assert seen.events == []
    assert bus.tail() == []
    assert store.events == {}


async def test_publish_rejects_unknown_subject(store):
    bus = InMemoryBus(store=store)
    with pytest.raises(UnknownSubject, match=r"signals\.tip\.liked"):
        await bus.publish(Event(subject="signals.tip.liked", data={"tip_id": "t1"}))
    assert bus.tail() == []
    assert store.events == {}


async def test_publish_persists_normalised_events(store):
    bus = InMemoryBus(store=store)
    await bus.publish(Event(subject="signals.task.completed", data={"source": "todoist", "task_id": "9"}))
    (saved,) = store.events.values()
    assert saved.data["external"] is False
    assert bus.tail()[0] == saved


async def test_store_failure_is_logged_not_raised(store, feedback, caplog):
    store.fail = True
    bus = InMemoryBus(store=store)
    event = feedback()
    with caplog.at_level(logging.ERROR, logger="oo.bus"):
        await bus.publish(event)
    assert bus.tail() == [event]
    assert event.id in caplog.text


async def test_replay_republishes_a_stored_event_marked_as_replay(store, feedback):
    await InMemoryBus(store=store).publish(original := feedback(user_id=5))
    bus, seen = InMemoryBus(store=store), Recorder()  # a fresh process: only the store knows it
    bus.subscribe(TIP_FEEDBACK, seen)
    replay = await bus.replay(original.id)
    await bus.drain(timeout=5)
    assert replay.is_replay
    assert replay.replay_of == original.id
    assert replay.id != original.id
    assert (replay.subject, replay.user_id, replay.data) == (original.subject, 5, original.data)
    assert seen.events == [replay]
    assert bus.tail() == [replay]
    assert store.get(replay.id) == replay
    again = await bus.replay(replay.id)
    assert again.replay_of == original.id


async def test_replay_without_store_uses_the_ring_buffer(feedback):
    bus = InMemoryBus()
    await bus.publish(original := feedback())
    replay = await bus.replay(original.id)
    assert bus.tail() == [replay, original]


async def test_replay_of_unknown_id_raises(store):
    with pytest.raises(EventNotFound, match="abc"):
        await InMemoryBus(store=store).replay("abc")


async def test_closed_bus_refuses_events(feedback):
    bus = InMemoryBus()
    async with bus:
        assert bus.healthy
    assert not bus.healthy
    with pytest.raises(BusUnavailable, match="closed"):
        await bus.publish(feedback())


def test_fake_store_satisfies_the_protocol(store):
    assert isinstance(store, EventStore)


@pytest.mark.parametrize("url", [None, "", "memory"])
def test_create_bus_defaults_to_memory(url, store):
    bus = create_bus(url, store, ring_size=10)
    assert isinstance(bus, InMemoryBus)
    assert bus.store is store


def test_create_bus_builds_nats_without_connecting(store):
    from oo.bus.nats import NatsJetStreamBus

    bus = create_bus("nats://a:4222,nats://b:4222", store, stream="X_TEST")
    assert isinstance(bus, NatsJetStreamBus)
    assert bus.servers == ["nats://a:4222", "nats://b:4222"]
    assert (bus.stream, bus.store, bus.healthy) == ("X_TEST", store, False)


def test_create_bus_rejects_other_schemes():
    with pytest.raises(ValueError, match="redis"):
        create_bus("redis://localhost:6379")
