"""The tip engine: /tip's service calls in a real child process (`oo.services.tips.engine`)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest
from sqlmodel import select

from oo.models import TipFeedback, TipView
from oo.services.accounts import sessions as accounts
from oo.services.learning import learner
from oo.services.sources import catalog as sources
from oo.services.tips import engine, feedback
from oo.services.tips import refs as tip_refs
from oo.services.tips import serving as tips

# A stand-in engine that says it is ready, reads one call and exits without answering.
DIES_ON_FIRST_CALL = f"""
import os, sys
sys.path.insert(0, {os.getcwd()!r})
from oo.services.tips import engine
fd = int(sys.argv[-1])
os.write(fd, engine.encode(engine.READY, (True, None)))
os.read(fd, 4)
"""


@pytest.fixture
def session(app_session):
    """A session on the app's own engine (the child process opens the same database: OO_DATA_DIR)."""
    return app_session


@pytest.fixture
def users(session) -> tuple[int, int]:
    ids = []
    for _ in range(2):
        user = accounts.create_demo_user(session=session)
        sources.connect_demo(session=session, user_id=user.id)
        ids.append(user.id)
    return ids[0], ids[1]


def test_a_load_and_a_reaction_run_in_the_engine_and_land_where_the_worker_sees_them(session, users):
    uid, _ = users

    async def journey():
        async with engine.lifespan():
            client = engine.client()
            assert client is not None
            shown = await tips.show(user_id=uid, again=True)
            reacted = await tips.react(
                user_id=uid, reaction="helpful", key="k-1", tip_ref=shown.ref, undoable=True
            )
            status = await client.call("status", {})
            return client.starts, status, shown, reacted, client._proc

    starts, status, shown, reacted, proc = asyncio.run(journey())
    assert starts == 1 and status["pid"] != os.getpid()
    assert proc.returncode == 0  # at shutdown it flushed and exited by itself, not killed
    assert status["cached_models"] > 0 and len(learner.cache) == 0  # the picks ran there, not here
    row = session.exec(select(TipFeedback)).one()
    assert row.tip_id == shown.tip.tip_id and reacted.feedback.feedback_id == row.id
    assert row.applied_at is None  # held for its undo window: learned by the engine's settling, or the outbox
    nxt = reacted.next
    assert nxt is not None and nxt.tip.task_id != shown.tip.task_id
    assert tip_refs.verify(user_id=uid, ref=nxt.ref) == nxt.tip.tip_id
    assert session.get(TipView, nxt.tip.tip_id) is not None  # the next tip is logged


def test_a_refusal_in_the_engine_reaches_the_caller_as_itself_and_records_nothing(session, users):
    victim, attacker = users

    async def journey() -> None:
        async with engine.lifespan():
            shown = await tips.show(user_id=victim)
            with pytest.raises(feedback.TipNotFound):
                await tips.react(user_id=attacker, reaction="done", key="k", tip_ref=shown.ref)
            with pytest.raises(feedback.FeedbackError):
                await tips.react(user_id=victim, reaction="done", key="has space", tip_ref=shown.ref)

    asyncio.run(journey())
    assert session.exec(select(TipFeedback)).all() == []


def test_an_engine_that_dies_fails_the_call_in_flight_and_the_next_call_starts_a_new_one(session, users):
    uid, _ = users

    async def journey():
        async with engine.lifespan():
            client = engine.client()
            first = await tips.show(user_id=uid)
            os.kill(client.pid, signal.SIGKILL)
            await asyncio.sleep(0.5)
            client._retry_at = 0.0  # as if it had lived longer than RETRY_SECONDS
            second = await tips.react(user_id=uid, reaction="done", key="k-2", tip_ref=first.ref)
            return client.starts, first, second

    starts, first, second = asyncio.run(journey())
    assert starts == 2
    assert session.exec(select(TipFeedback)).one().tip_id == first.tip.tip_id
    assert second.next is not None

    async def in_flight():
        stand_in = engine.Client([sys.executable, "-c", DIES_ON_FIRST_CALL])
        stand_in._spawn()
        with pytest.raises(engine.EngineGone) as gone:
            await stand_in.call("show", {"user_id": uid})
        await stand_in.stop()
        return gone.value

    assert not isinstance(asyncio.run(in_flight()), engine.EngineUnavailable)  # sent: outcome unknown


def test_an_engine_that_cannot_start_leaves_the_calls_to_the_worker_and_is_not_restarted_at_once(
    session, users
):
    uid, _ = users
    broken = [sys.executable, "-c", "raise SystemExit(3)"]

    async def journey():
        async with engine.lifespan(make=lambda: engine.Client(broken)):
            client = engine.client()
            shown = await tips.show(user_id=uid)
            reacted = await tips.react(user_id=uid, reaction="dismiss", key="k-3", tip_ref=shown.ref)
            with pytest.raises(engine.EngineUnavailable):
                await client.call("status", {})
            return client.starts, shown, reacted

    starts, shown, reacted = asyncio.run(journey())
    assert starts == 1  # one try; the calls ran in this process meanwhile
    assert len(learner.cache) > 0
    assert session.exec(select(TipFeedback)).one().tip_id == shown.tip.tip_id
    assert reacted.next is not None


def test_what_the_worker_forgets_of_a_user_the_engine_forgets_too(session, users):
    uid, _ = users

    async def journey():
        async with engine.lifespan():
            client = engine.client()
            await tips.show(user_id=uid)
            held = (await client.call("status", {}))["cached_models"]
            await asyncio.to_thread(learner.forget_user, uid)  # deletion and resets call it off the loop
            for _ in range(50):
                await asyncio.sleep(0.05)
                left = (await client.call("status", {}))["cached_models"]
                if left == 0:
                    break
            return held, left

    held, left = asyncio.run(journey())
    assert held > 0 and left == 0


def test_with_the_thread_setting_no_engine_is_started(session, users, monkeypatch):
    uid, _ = users
    monkeypatch.setenv("OO_TIP_ENGINE", "thread")
    from oo import singletons

    singletons.reset()

    async def journey():
        async with engine.lifespan():
            assert engine.client() is None
            return await tips.show(user_id=uid)

    assert asyncio.run(journey()).tip.tip_id
    assert len(learner.cache) > 0
