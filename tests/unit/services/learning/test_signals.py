"""Every signal: ignored tips (a weak reward) and which later reactions the learner absorbs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from oo.models import ModelState, TipFeedback, TipView, utcnow
from oo.services.accounts import sessions as accounts
from oo.services.learning import signals
from oo.services.sources import catalog as sources
from oo.services.tips import feedback
from oo.services.tips.recommend import recommend

pytestmark = pytest.mark.usefixtures("generous_budget")


@pytest.fixture
def user_id(session) -> int:
    user = accounts.create_demo_user(session=session)
    sources.connect_demo(session=session, user_id=user.id)
    return user.id


def _updates(session, user_id: int) -> dict[str, int]:
    rows = session.exec(select(ModelState).where(ModelState.user_id == user_id)).all()
    return {r.policy_key: r.updates for r in rows}


def test_a_tip_left_without_reaction_is_recorded_as_ignored_when_the_next_one_is_served(session, user_id):
    t0 = utcnow() - timedelta(minutes=10)
    first = recommend(session=session, user_id=user_id, now=t0)
    recommend(session=session, user_id=user_id, now=t0 + timedelta(seconds=5))  # a quick reload: nothing
    assert session.exec(select(TipFeedback)).all() == []
    recommend(session=session, user_id=user_id, now=t0 + timedelta(minutes=5))
    rows = session.exec(select(TipFeedback).where(TipFeedback.reaction == "ignored")).all()
    assert first.tip_id in {r.tip_id for r in rows}
    row = next(r for r in rows if r.tip_id == first.tip_id)
    assert (row.reward, row.origin) == (signals.IGNORED_REWARD, "signal") and row.applied_at is not None
    assert session.get(TipView, first.tip_id).reaction is None  # a later reaction still counts as first
    assert set(_updates(session, user_id).values()) == {len(rows)}  # every learner absorbed each one


def test_helpful_then_done_teaches_both_and_nothing_else_is_learned_twice(session, user_id):
    t0 = utcnow() - timedelta(minutes=10)
    tip = recommend(session=session, user_id=user_id, now=t0)
    recommend(session=session, user_id=user_id, now=t0 + timedelta(minutes=1))  # tip -> ignored (1)
    base = _updates(session, user_id)
    assert base and set(base.values()) == {1}

    def react(reaction: str, key: str) -> feedback.FeedbackResult:
        return feedback.record(
            session=session, user_id=user_id, tip_id=tip.tip_id, reaction=reaction, idempotency_key=key
        )

    helpful = react("helpful", "k1")
    assert helpful.first and helpful.learned
    done = react("done", "k2")
    assert not done.first and done.learned
    assert set(_updates(session, user_id).values()) == {3}
    for reaction, key in (("dismiss", "k3"), ("done", "k4"), ("helpful", "k5")):
        later = react(reaction, key)
        assert not later.learned
    assert set(_updates(session, user_id).values()) == {3}
    assert session.get(TipView, tip.tip_id).reaction == "helpful"
    assert [
        r.reaction
        for r in session.exec(
            select(TipFeedback).where(TipFeedback.tip_id == tip.tip_id).order_by(TipFeedback.id)
        ).all()
    ] == ["ignored", "helpful", "done", "dismiss", "done", "helpful"]


def test_pushed_and_answered_tips_are_never_recorded_as_ignored(session, user_id):
    t0 = utcnow() - timedelta(minutes=10)
    pushed = recommend(session=session, user_id=user_id, now=t0, channel="push")
    answered = recommend(session=session, user_id=user_id, now=t0 + timedelta(seconds=1))
    feedback.record(
        session=session, user_id=user_id, tip_id=answered.tip_id, reaction="snooze", idempotency_key="s1"
    )
    assert signals.record_ignored(session=session, user_id=user_id, now=t0 + timedelta(minutes=5)) == []
    assert (
        pushed.tip_id and not session.exec(select(TipFeedback).where(TipFeedback.reaction == "ignored")).all()
    )


@pytest.fixture
def app_user(app_session):
    """A user on the app's own database (the write-behind flusher opens its own sessions)."""
    user = accounts.create_demo_user(session=app_session)
    sources.connect_demo(session=app_session, user_id=user.id)
    return app_session, user.id


def test_an_ignored_tip_and_a_written_behind_reaction_both_reach_the_stored_model(app_user, monkeypatch):
    """The /tip path teaches in memory and writes behind; an ignored tip is written at once. Neither is lost."""
    from oo.recommender import POLICY_SPECS
    from oo.services.learning import hot as learner_hot
    from oo.services.tips import serving

    session, user_id = app_user
    shown = serving.show_in(session, user_id=user_id, timezone="UTC")
    serving.react_in(
        session, user_id=user_id, reaction="helpful", key="h1", tip_ref=shown.ref, timezone="UTC"
    )
    assert learner_hot.pending_count() > 0  # the Helpful lives in memory until the flush
    monkeypatch.setattr(signals, "IGNORE_AFTER", timedelta(0))
    serving.show_in(session, user_id=user_id, timezone="UTC")  # the tip shown after the Helpful: ignored
    for _ in range(3):  # a flush that lost a race reloads and replays at the next one
        learner_hot.flush()
    session.expire_all()
    rows = session.exec(select(TipFeedback).order_by(TipFeedback.id)).all()
    assert [r.reaction for r in rows] == ["helpful", "ignored"]
    assert all(r.applied_at is not None for r in rows)
    learners = {s.key for s in POLICY_SPECS if s.name != "random"}
    assert _updates(session, user_id) == dict.fromkeys(learners, 2)
