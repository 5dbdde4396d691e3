"""The recommender on the real PostgreSQL server: the raw-column read, and concurrent learners."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from oo.db import make_engine
from oo.models import ModelState, Task, TipFeedback
from oo.recommender import POLICY_SPECS
from oo.services.accounts import sessions as accounts
from oo.services.learning import learner, policies
from oo.services.sources import catalog as sources
from oo.services.tips import candidates, feedback
from oo.services.tips.recommend import recommend

pytestmark = pytest.mark.scaleout
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def engine(generous_budget) -> Iterator[sa.Engine]:
    name = f"oo_recommend_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
    try:
        SQLModel.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        learner.cache.clear()
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_open_tasks_read_raw_from_postgres_match_their_rows(engine):
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as s:
        user = accounts.create_demo_user(session=s)
        sources.connect_demo(session=s, user_id=user.id)
        s.add(
            Task(
                user_id=user.id,
                source="todoist",
                external_id="x",
                content="timed",
                priority=3,
                due_at=now + timedelta(hours=5),
                due_date=date(2031, 2, 3),
            )
        )
        s.commit()
        ids, batch = candidates.load(session=s, user_id=user.id, now=now)
        rows = {t.id: t for t in s.exec(select(Task).where(Task.user_id == user.id))}
        assert set(ids) == set(rows)
        for i, task_id in enumerate(ids):
            view, task = batch.view(i), rows[task_id]
            assert (view.priority, view.added_at, view.due_at, view.due_date) == (
                task.priority,
                task.added_at,
                task.due_at,
                task.due_date,
            )
        rec = recommend(session=s, user_id=user.id)
        assert not rec.empty and not rec.fallback


def test_concurrent_reactions_from_two_workers_are_all_learned_once(engine):
    with Session(engine, expire_on_commit=False) as s:
        user = accounts.create_demo_user(session=s)
        sources.connect_demo(session=s, user_id=user.id)
        tips = [recommend(session=s, user_id=user.id).tip_id for _ in range(8)]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker(chunk: list[str], offset: int) -> None:
        try:
            barrier.wait()
            with Session(engine, expire_on_commit=False) as s:
                for i, tip_id in enumerate(chunk):
                    learner.cache.clear()  # each write sees another "worker"'s newer model
                    feedback.record(
                        session=s,
                        user_id=user.id,
                        tip_id=tip_id,
                        reaction="done",
                        idempotency_key=f"w{offset}-{i}",
                    )
                    # A retry of the same request, racing the others: recorded once.
                    feedback.record(
                        session=s,
                        user_id=user.id,
                        tip_id=tip_id,
                        reaction="done",
                        idempotency_key=f"w{offset}-{i}",
                    )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(tips[k::4], k)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with Session(engine) as s:
        assert len(s.exec(select(TipFeedback)).all()) == 8
        # Every reaction was applied, possibly by the outbox after optimistic conflicts.
        learner.apply_pending(session=s, older_than=timedelta(0))
        assert all(f.applied_at is not None for f in s.exec(select(TipFeedback)))
        states = {m.policy_key: m for m in s.exec(select(ModelState).where(ModelState.user_id == user.id))}
        assert {k: m.updates for k, m in states.items()} == {
            s.key: 8 for s in POLICY_SPECS if s.name != "random"
        }
        learner.cache.clear()
        models = learner.get_models(session=s, user_id=user.id, refs=policies.serving_set(session=s).all)
        assert models["linucb@3"].n_updates == 8, "no update was lost or applied twice"
