"""NatsJetStreamBus against the real NATS server on loopback: two buses play two workers.

Each test gets its own stream and wire namespace (``<ns>.signals.>``), so runs never
see each other's events or collide with the app's ``OO_SIGNALS`` stream, and the
stream is deleted afterwards. Point ``OO_TEST_NATS_URL`` elsewhere if needed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from datetime import timedelta

import anyio
import nats
import pytest
from nats.js.errors import NotFoundError

from oo.bus import TIP_FEEDBACK, BusUnavailable, Event, TipFeedback, create_bus
from oo.bus.nats import NatsJetStreamBus
from tests.support.loopback import scaleout_marks

NATS_URL = os.environ.get("OO_TEST_NATS_URL", "nats://127.0.0.1:4222")


pytestmark = scaleout_marks(NATS_URL, 4222, "NATS server")


def feedback(user_id: int = 1) -> Event:
    return Event.of(TipFeedback(tip_id="t1", reaction="done", reward=1.0), user_id=user_id)


async def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        while not check():
            await anyio.sleep(0.02)


@pytest.fixture
def names() -> tuple[str, str]:
    """A unique (stream, namespace) pair for one test."""
    token = uuid.uuid4().hex[:10]
    return f"OO_TEST_{token}", f"test{token}"


@pytest.fixture
async def nc(names) -> AsyncIterator[nats.NATS]:
    """A plain client for assertions; deletes the test stream afterwards."""
    client = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=1)
    yield client
    with suppress(NotFoundError):
        await client.jetstream().delete_stream(names[0])
    await client.close()


@pytest.fixture
async def worker(names, nc) -> AsyncIterator[Callable[..., NatsJetStreamBus]]:
    """Start buses ("workers") on the test stream; all are closed afterwards."""
    started: list[NatsJetStreamBus] = []

    async def start(**options: object) -> NatsJetStreamBus:
        bus = create_bus(NATS_URL, stream=names[0], namespace=names[1], **options)
        await bus.start()
        started.append(bus)
        return bus

    yield start
    for bus in started:
        await bus.close()


async def test_event_published_on_one_worker_reaches_the_other(worker):
    one, two = await worker(), await worker()
    received: list[Event] = []
    two.subscribe("signals.tip.*", received.append)
    event = feedback(user_id=7)
    await one.publish(event)
    await eventually(lambda: len(received) == 1)
    assert received == [event]
    await eventually(lambda: len(two.tail()) == 1)
    assert one.tail() == [event]
    assert two.tail(subject=TIP_FEEDBACK, user_id=7) == [event]
    assert one.healthy and two.healthy


async def test_same_event_id_is_stored_once(worker, nc, names):
    one, two = await worker(), await worker()
    received: list[Event] = []
    two.subscribe("signals.>", received.append)
    event = feedback()
    await one.publish(event)
    await one.publish(event)
    await two.publish(event)
    await eventually(lambda: len(received) == 1)
    await anyio.sleep(0.2)
    info = await nc.jetstream().stream_info(names[0])
    assert info.state.messages == 1
    assert len(received) == 1
    assert one.tail() == two.tail() == [event]


async def test_stream_is_created_with_signals_subjects_and_max_age(worker, nc, names):
    await worker(max_age=timedelta(hours=6), duplicate_window=timedelta(seconds=30))
    config = (await nc.jetstream().stream_info(names[0])).config
    assert config.subjects == [f"{names[1]}.signals.>"]
    assert config.max_age == pytest.approx(6 * 3600)
    assert config.duplicate_window == pytest.approx(30)
    await worker(max_age=timedelta(days=2))  # a later start updates the stream in place
    config = (await nc.jetstream().stream_info(names[0])).config
    assert config.max_age == pytest.approx(2 * 86400)


async def test_late_worker_fills_its_tail_from_the_stream_but_only_handles_new_events(worker):
    one = await worker()
    old = [feedback(user_id=i) for i in range(3)]
    for event in old:
        await one.publish(event)
    late = await worker(ring_size=2)
    received: list[Event] = []
    late.subscribe("signals.>", received.append)
    await eventually(lambda: len(late.tail()) == 2)
    assert late.tail() == [old[2], old[1]]
    new = feedback(user_id=99)
    await one.publish(new)
    await eventually(lambda: len(received) == 1)
    assert received == [new]
    assert late.tail() == [new, old[2]]


async def test_replay_reaches_other_workers_marked_as_replay(worker, nc, names):
    one, two = await worker(), await worker()
    received: list[Event] = []
    two.subscribe(TIP_FEEDBACK, received.append)
    await one.publish(original := feedback())
    await eventually(lambda: len(received) == 1)
    replay = await one.replay(original.id)
    await eventually(lambda: len(received) == 2)
    assert received[1] == replay
    assert received[1].replay_of == original.id
    message = await nc.jetstream().get_last_msg(names[0], f"{names[1]}.{TIP_FEEDBACK}")
    assert message.headers["Oo-Replay-Of"] == original.id
    assert message.headers["Nats-Msg-Id"] == replay.id


async def test_publish_failure_is_surfaced(worker, nc, names, caplog):
    bus = await worker(publish_timeout=1.0)
    await nc.jetstream().delete_stream(names[0])
    event = feedback()
    with pytest.raises(BusUnavailable, match=event.id):
        await bus.publish(event)
    assert event.id in caplog.text
    assert bus.tail() == []


async def test_unreachable_server_fails_start_with_a_clear_error():
    bus = NatsJetStreamBus("nats://127.0.0.1:1", stream="OO_TEST_UNREACHABLE", connect_timeout=1.0)
    with (
        anyio.fail_after(10),
        pytest.raises(BusUnavailable, match=r"cannot connect to NATS at nats://127\.0\.0\.1:1"),
    ):
        await bus.start()
    assert not bus.healthy
    with pytest.raises(BusUnavailable, match="not started"):
        await bus.publish(feedback())
    await bus.close()
