"""Fault injection, outside parts: Todoist storms and timeouts, Redis restarted, NATS down (issue 16).

Users keep reacting while the part is broken; each test counts reactions lost (0), duplicates (0),
the clear message an operator sees, and recovery once the part is back. Redis and NATS are this
test's own servers on free ports (tests/support/servers.py), stopped and restarted for real.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session

from oo import db
from oo.bus import TIP_FEEDBACK, Event, TipFeedback, create_bus
from oo.jobs import run_source_actions
from oo.models import SourceAction
from oo.models import TipFeedback as FeedbackRow
from oo.services.learning import learner
from oo.services.platform import event_bus, ratelimit
from oo.services.sources.todoist import connection as todoist
from oo.services.sources.todoist import sync as todoist_sync
from oo.services.tips import feedback
from oo.services.tips.recommend import recommend
from tests.integration.todoist_env import configure, connect, rows
from tests.support.servers import nats_server, redis_server

pytestmark = [pytest.mark.anyio, pytest.mark.faults]


@pytest.fixture
async def todoist_env(app_env, make_tables, monkeypatch, server):
    configure(monkeypatch, server)
    make_tables()
    monkeypatch.setattr("oo.integrations.todoist.client.BACKOFF_BASE", 0.001)
    monkeypatch.setattr("oo.integrations.todoist.client.TIMEOUT", httpx.Timeout(0.5))
    yield
    server.fake.clear_faults()
    await todoist.close_http()


def react_done(user_id: int, n: int) -> list[str]:
    """The person is served n tips and presses Done on each (the close at Todoist is queued)."""
    done = []
    with Session(db.get_engine()) as s:
        for _ in range(n):
            tip = recommend(session=s, user_id=user_id)
            assert tip.tip_id and tip.kind == "todo", tip
            feedback.record(
                session=s,
                user_id=user_id,
                tip_id=tip.tip_id,
                reaction="done",
                idempotency_key=f"d{tip.task_id}",
            )
            done.append(tip.external_id)
    return done


def time_passes() -> None:
    """The retry backoff elapses."""
    with Session(db.get_engine()) as s:
        s.execute(sa.update(SourceAction).values(next_attempt_at=sa.func.datetime("now", "-1 minute")))
        s.commit()


async def test_todoist_5xx_storm_and_timeouts_lose_no_done_and_close_each_task_once(
    todoist_env, server, caplog
):
    user_id, token = connect(server)
    ids = [server.fake.add_task(token, content=f"Task {i}", due_date="2030-01-01")["id"] for i in range(6)]
    await todoist_sync.sync_user(user_id=user_id)
    server.fake.fail_next(100, 503)  # a 5xx storm
    closed = react_done(user_id, 3)
    report = await run_source_actions.run()
    assert report["done"] == 0 and server.fake.closed_ids(token) == []
    server.fake.clear_faults()
    server.fake.delay_next(100, 1.0)  # every request now outlives the client's timeout
    closed += react_done(user_id, 3)
    assert sorted(closed) == sorted(ids)
    time_passes()
    assert (await run_source_actions.run())["done"] == 0
    assert "closing Todoist task" in caplog.text  # the operator sees why
    actions = rows(SourceAction, SourceAction.user_id == user_id)
    assert len(actions) == 6 and {a.status for a in actions} == {"pending"}  # 0 lost
    await asyncio.sleep(1.2)  # let the held requests finish (some may have closed a task)
    server.fake.clear_faults()
    server.fake.fail_after_next(2, 500)  # and two closes that work but answer 500 (ambiguous)
    for _ in range(4):
        time_passes()
        await run_source_actions.run()
    assert sorted(server.fake.closed_ids(token)) == sorted(ids)  # every Done reached Todoist
    assert not [i for i, n in Counter(server.fake.closed_ids(token)).items() if n > 1]  # once each
    assert {a.status for a in rows(SourceAction, SourceAction.user_id == user_id)} == {"done"}
    assert len(rows(FeedbackRow, FeedbackRow.user_id == user_id)) == 6


async def test_a_redis_restart_keeps_limits_answering_and_sharing_resumes(caplog):
    redis = redis_server().start()
    try:
        url = f"redis://127.0.0.1:{redis.port}/0"
        worker_a = ratelimit.RedisLimiter(url, ratelimit.MemoryLimiter())
        worker_b = ratelimit.RedisLimiter(url, ratelimit.MemoryLimiter())
        answers = [await w.hit("k", limit=4, per=60.0) for w in (worker_a, worker_b) * 3]
        assert [a > 0 for a in answers] == [False] * 4 + [True] * 2  # one budget for both workers
        redis.stop()
        start = time.monotonic()
        down = [await worker_a.hit("d", limit=2, per=60.0) for _ in range(3)]
        assert [a > 0 for a in down] == [False, False, True]  # still limited, from memory
        assert time.monotonic() - start < 3  # and a dead Redis does not stall anyone
        assert "Redis unreachable" in caplog.text
        redis.start()
        await asyncio.sleep(0.2)
        back = [await w.hit("after", limit=2, per=60.0) for w in (worker_a, worker_b, worker_a)]
        assert [a > 0 for a in back] == [False, False, True]  # shared again, same clients reconnected
    finally:
        redis.stop()


def reaction_event(user_id: int, n: int) -> Event:
    return Event.of(TipFeedback(tip_id=f"t{n}", reaction="done", reward=1.0), user_id=user_id)


async def until(check, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_nats_down_loses_no_reaction_and_the_bus_recovers(
    app_env, make_tables, tmp_path, monkeypatch, caplog
):
    make_tables()
    nats = nats_server(tmp_path / "js").start()
    url = f"nats://127.0.0.1:{nats.port}"
    one = create_bus(url, stream="OO_FAULTS", publish_timeout=1.0, connect_timeout=2.0)
    two = create_bus(url, stream="OO_FAULTS", publish_timeout=1.0, connect_timeout=2.0)
    seen: list[str] = []
    try:
        await one.start()
        await two.start()
        two.subscribe(TIP_FEEDBACK, lambda e: seen.append(e.id))
        monkeypatch.setattr(event_bus, "_bus", one)
        from oo.services.accounts import sessions as accounts
        from oo.services.sources import catalog as sources

        with Session(db.get_engine()) as s:
            uid = accounts.create_demo_user(session=s).id
            sources.connect_demo(session=s, user_id=uid)
        await event_bus.publish(reaction_event(uid, 0))
        await until(lambda: len(seen) == 1)
        nats.stop()
        await until(lambda: not one.healthy)
        during = []
        with Session(db.get_engine()) as s:  # users keep reacting: nothing raises into them
            for n in range(1, 4):
                tip = recommend(session=s, user_id=uid).tip_id
                feedback.record(
                    session=s, user_id=uid, tip_id=tip, reaction="helpful", idempotency_key=f"n{n}"
                )
                event = reaction_event(uid, n)
                during.append(event.id)
                await event_bus.publish(event)
        assert "publishing signals.tip.feedback failed" in caplog.text or "NATS publish failed" in caplog.text
        nats.start()
        await until(lambda: one.healthy and two.healthy)
        after = reaction_event(uid, 9)
        await event_bus.publish(after)
        # The other worker's ordered consumer is rebuilt only after missed heartbeats
        # (idle_heartbeat=5 s): measured 15.5 s from the restart to the first cross-worker event.
        await until(lambda: after.id in seen, timeout=40)
        assert not [i for i, c in Counter(seen).items() if c > 1]  # no event handled twice
        reactions = rows(FeedbackRow, FeedbackRow.user_id == uid)
        assert sorted(r.idempotency_key for r in reactions) == ["n1", "n2", "n3"]  # 0 lost, 0 duplicates
        with Session(db.get_engine()) as s:  # the learner never needed the bus: the outbox catches up
            learner.apply_pending(session=s, older_than=timedelta(0))
        assert all(r.applied_at is not None for r in rows(FeedbackRow, FeedbackRow.user_id == uid))
    finally:
        await one.close()
        await two.close()
        nats.stop()
