"""The learning loop's server side: the delayed-reward subscription, the outbox and retention jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from oo import db
from oo.bus import Event, InMemoryBus, TaskCompleted
from oo.jobs import apply_feedback, purge_logs
from oo.models import ModelState, TipFeedback, TipScore, TipView
from oo.recommender import POLICY_SPECS
from oo.services.accounts import sessions as accounts
from oo.services.learning import learner
from oo.services.platform import event_bus as events
from oo.services.sources import catalog as sources
from oo.services.tips import delayed_reward as learning
from oo.services.tips import feedback
from oo.services.tips.recommend import recommend

LEARNERS = sum(1 for s in POLICY_SPECS if s.name != "random")  # random keeps no state


@pytest.fixture
def user_tip(app_env, make_tables, monkeypatch):
    make_tables()
    monkeypatch.setattr(events, "_bus", InMemoryBus())
    with Session(db.get_engine(), expire_on_commit=False) as s:
        user = accounts.create_demo_user(session=s)
        sources.connect_demo(session=s, user_id=user.id)
        rec = recommend(session=s, user_id=user.id)
    return user.id, rec


def _rows(model):
    with Session(db.get_engine()) as s:
        return s.exec(select(model)).all()


@pytest.mark.anyio
async def test_a_completion_at_the_source_becomes_one_delayed_reward(user_tip):
    user_id, rec = user_tip
    seen = []
    events.bus().subscribe("signals.tip.feedback", seen.append)
    event = Event.of(
        TaskCompleted(source="demo", task_id=str(rec.task_id), external=True, delivery_id="d-1"),
        user_id=user_id,
    )
    await learning.on_task_completed(event)
    replay = event.model_copy(update={"id": "f" * 32, "replay_of": event.id})
    await learning.on_task_completed(replay)  # an admin replay (or a second worker) is a no-op
    await learning.on_task_completed(
        Event.of(TaskCompleted(source="demo", task_id=str(rec.task_id)), user_id=user_id)
    )
    await events.bus().drain()
    fb = _rows(TipFeedback)
    assert [(f.origin, f.reaction, f.reward) for f in fb] == [("webhook", "done", 1.0)]
    assert fb[0].applied_at is not None and {m.updates for m in _rows(ModelState)} == {1}
    assert [e.data["reaction"] for e in seen] == ["done"]


@pytest.mark.anyio
async def test_the_outbox_job_applies_what_a_crash_left_pending(user_tip, monkeypatch):
    user_id, rec = user_tip

    def crash(**_kw):
        raise RuntimeError("killed mid-request")

    monkeypatch.setattr(learner, "apply", crash)
    with Session(db.get_engine()) as s:
        feedback.record(session=s, user_id=user_id, tip_id=rec.tip_id, reaction="done", idempotency_key="k")
    monkeypatch.undo()
    assert _rows(TipFeedback)[0].applied_at is None
    assert await apply_feedback.run() == {"applied": 0}, "young rows are left to the request that wrote them"
    with Session(db.get_engine()) as s:
        row = s.exec(select(TipFeedback)).one()
        row.created_at = datetime.now(UTC) - timedelta(minutes=5)
        s.add(row)
        s.commit()
    assert await apply_feedback.run() == {"applied": 1}
    assert _rows(TipFeedback)[0].applied_at is not None and len(_rows(ModelState)) == LEARNERS
    assert await apply_feedback.run() == {"applied": 0}


@pytest.mark.anyio
async def test_the_retention_job_purges_old_scores(user_tip):
    user_id, _ = user_tip
    with Session(db.get_engine()) as s:
        recommend(session=s, user_id=user_id, now=datetime.now(UTC) - timedelta(days=40))
    result = await purge_logs.run()
    assert result["tip_score"] == len(POLICY_SPECS) and result["tip_view_explanations"] == 1
    assert len(_rows(TipScore)) == len(POLICY_SPECS) and len(_rows(TipView)) == 2
