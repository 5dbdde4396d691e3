"""Fault injection while users react: each outside part fails, then comes back (issue 16).

Every test counts the same things: reactions lost (0), duplicate rows (0), a clear error where the
person or an operator must see one, and recovery once the part is back. Todoist 5xx/timeouts on
close live in test_todoist_source_actions.py (retries with the same Sync command uuid) and, as a
storm while users react, in test_faults_outside.py with Redis restarted and NATS down; the push
service gone in test_push_delivery.py (404/410 forget the subscription, 5xx retry).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from oo import db
from oo.models import ModelState, TipFeedback
from oo.services.accounts import sessions as accounts
from oo.services.learning import learner
from oo.services.platform import ratelimit
from oo.services.sources import catalog as sources
from oo.services.tips import feedback
from oo.services.tips import recommend as recommend_module
from oo.services.tips.recommend import recommend

pytestmark = pytest.mark.faults


@pytest.fixture
def user(app_env, make_tables, monkeypatch) -> int:
    monkeypatch.setattr(recommend_module, "BUDGET_SECONDS", 5.0)  # not a timing test
    make_tables()
    with Session(db.get_engine()) as s:
        uid = accounts.create_demo_user(session=s).id
        sources.connect_demo(session=s, user_id=uid)
    return uid


def serve_and_react(uid: int, n: int, prefix: str) -> list[tuple[str, str]]:
    """Serve n tips and react to each once; returns (tip_id, key) pairs; exceptions propagate."""
    done = []
    with Session(db.get_engine()) as s:
        for i in range(n):
            rec = recommend(session=s, user_id=uid)
            key = f"{prefix}{i}"
            feedback.record(
                session=s, user_id=uid, tip_id=rec.tip_id, reaction="helpful", idempotency_key=key
            )
            done.append((rec.tip_id, key))
    return done


def feedback_rows(uid: int) -> list[TipFeedback]:
    with Session(db.get_engine()) as s:
        return list(s.exec(select(TipFeedback).where(TipFeedback.user_id == uid)))


def test_the_learner_raising_loses_nothing_and_catches_up(user, monkeypatch):
    def broken(*_a, **_k):
        raise RuntimeError("learner down")

    monkeypatch.setattr(learner, "_apply_once", broken)
    reacted = serve_and_react(user, 10, "L")
    with Session(db.get_engine()) as s:  # the client retries every one (lost acks): nothing doubles
        for tip_id, key in reacted:
            again = feedback.record(
                session=s, user_id=user, tip_id=tip_id, reaction="helpful", idempotency_key=key
            )
            assert again.duplicate
    rows = feedback_rows(user)
    assert len(rows) == 10 and all(r.applied_at is None for r in rows)  # 0 lost, 0 duplicates, pending

    monkeypatch.undo()  # the learner is back; the outbox job catches up
    with Session(db.get_engine()) as s:
        assert learner.apply_pending(session=s, older_than=timedelta(0)) == 10
        updates = {
            m.policy_key: m.updates for m in s.exec(select(ModelState).where(ModelState.user_id == user))
        }
    assert all(r.applied_at is not None for r in feedback_rows(user))
    assert updates and max(updates.values()) == 10  # each reaction learned exactly once


def _hold_write_lock(path, seconds: float, ready: threading.Event) -> None:
    con = sqlite3.connect(path, timeout=1)
    con.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)
    con.rollback()
    con.close()


def test_a_locked_database_delays_or_refuses_clearly_and_a_retry_records_once(user, app_env, monkeypatch):
    path = f"{app_env['OO_DATA_DIR']}/oo.db"
    with Session(db.get_engine()) as s:
        tip = recommend(session=s, user_id=user).tip_id
    # 1) busy for 1 s: the write waits for the lock (busy_timeout) and goes through
    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 1.0, ready))
    holder.start()
    ready.wait(5)
    start = time.monotonic()
    with Session(db.get_engine()) as s:
        feedback.record(session=s, user_id=user, tip_id=tip, reaction="helpful", idempotency_key="busy-1")
    holder.join()
    assert time.monotonic() - start >= 0.5
    # 2) locked past the timeout: a clear error, nothing half-written; the retry records once
    with Session(db.get_engine()) as s:
        tip2 = recommend(session=s, user_id=user).tip_id
    engine = db.make_engine(f"sqlite:///{path}")
    engine.pool.dispose()

    @sa.event.listens_for(engine, "connect")
    def short_timeout(dbapi_conn, _record) -> None:
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    ready = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(path, 1.5, ready))
    holder.start()
    ready.wait(5)
    with pytest.raises(OperationalError, match="locked"), Session(engine) as s:
        feedback.record(session=s, user_id=user, tip_id=tip2, reaction="done", idempotency_key="locked-1")
    holder.join()
    with Session(engine) as s:
        feedback.record(session=s, user_id=user, tip_id=tip2, reaction="done", idempotency_key="locked-1")
        feedback.record(session=s, user_id=user, tip_id=tip2, reaction="done", idempotency_key="locked-1")
    engine.dispose()
    keys = sorted(r.idempotency_key for r in feedback_rows(user))
    assert keys == ["busy-1", "locked-1"]


@pytest.mark.anyio
async def test_rate_limits_hold_while_redis_is_gone(monkeypatch):
    memory = ratelimit.MemoryLimiter()
    gone = ratelimit.RedisLimiter("redis://127.0.0.1:1/0", memory)  # nothing listens there
    start = time.monotonic()
    answers = [await gone.hit("fault:k", limit=3, per=60.0) for _ in range(5)]
    assert [a > 0 for a in answers] == [False, False, False, True, True]  # per-worker memory holds
    assert time.monotonic() - start < 5  # and a dead Redis does not stall the page


@pytest.mark.scaleout
@pytest.mark.anyio
async def test_rate_limits_are_shared_by_workers_through_redis_and_recover_after_an_outage():
    key = f"fault:{time.time_ns()}"
    worker_a = ratelimit.RedisLimiter("redis://127.0.0.1:6379/0", ratelimit.MemoryLimiter())
    worker_b = ratelimit.RedisLimiter("redis://127.0.0.1:6379/0", ratelimit.MemoryLimiter())
    answers = [await w.hit(key, limit=4, per=60.0) for w in (worker_a, worker_b) * 3]
    assert [a > 0 for a in answers] == [False] * 4 + [True] * 2  # one budget over both workers
    worker_a.url = "redis://127.0.0.1:1/0"  # Redis "restarts": a new client finds nothing
    worker_a._clients.clear()
    assert await worker_a.hit(key + "x", limit=1, per=60.0) == 0  # memory fallback, no error
    worker_a.url = "redis://127.0.0.1:6379/0"  # back
    worker_a._clients.clear()
    assert await worker_a.hit(key, limit=4, per=60.0) > 0  # the shared count survived
