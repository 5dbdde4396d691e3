"""The reaction path: one call records once, learns, and returns the next tip; tip references."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from oo.models import ModelState, Task, TipFeedback
from oo.recommender import POLICY_SPECS
from oo.services.accounts import sessions as accounts
from oo.services.learning import hot as learner_hot
from oo.services.sources import catalog as sources
from oo.services.tips import feedback
from oo.services.tips import refs as tip_refs
from oo.services.tips import serving as tips


@pytest.fixture
def session(app_session):
    """A session on the app's own engine (the write-behind flush opens its own sessions there)."""
    return app_session


@pytest.fixture
def two_users(session) -> tuple[int, int]:
    ids = []
    for _ in range(2):
        user = accounts.create_demo_user(session=session)
        sources.connect_demo(session=session, user_id=user.id)
        ids.append(user.id)
    return ids[0], ids[1]


def test_a_reference_names_one_tip_of_one_user():
    ref = tip_refs.issue(user_id=7, tip_id="a" * 32)
    assert len(ref) == tip_refs.REF_LEN and (ref + "-not_helpful").__len__() <= 64
    assert tip_refs.verify(user_id=7, ref=ref) == "a" * 32
    assert tip_refs.issue(user_id=7, tip_id="a" * 32) == ref  # deterministic: push and API can carry it
    with pytest.raises(feedback.TipNotFound):
        tip_refs.verify(user_id=8, ref=ref)  # another user's reference
    with pytest.raises(feedback.TipNotFound):
        tip_refs.verify(user_id=7, ref="b" * 32 + ref[32:])  # the mac of one tip on another tip id
    for bad in ("", "a" * 32, ref + "x", ref.upper(), None, 5, "a" * 32 + "!" * 16):
        with pytest.raises(feedback.FeedbackError):
            tip_refs.verify(user_id=7, ref=bad)


def test_a_reaction_lands_on_the_tip_its_reference_names_even_after_a_newer_tip(session, two_users):
    uid, _ = two_users
    first = tips.show_in(session, user_id=uid)
    newer = tips.show_in(session, user_id=uid, exclude_task_ids=[first.tip.task_id])  # the tab moved on
    assert first.tip.tip_id != newer.tip.tip_id
    reacted = tips.react_in(session, user_id=uid, reaction="done", key="k-1", tip_ref=first.ref)
    row = session.exec(select(TipFeedback)).one()
    assert row.tip_id == first.tip.tip_id and reacted.feedback.feedback_id == row.id
    assert session.get(Task, first.tip.task_id).completed_at is not None
    assert session.get(Task, newer.tip.task_id).completed_at is None
    nxt = reacted.next
    assert nxt is not None and nxt.tip.task_id != first.tip.task_id and nxt.ref
    assert tip_refs.verify(user_id=uid, ref=nxt.ref) == nxt.tip.tip_id
    assert nxt.sources == tips.SourceState(has_source=True, needs_reconnect=False)


def test_the_same_key_twice_records_once_learns_once_and_shows_no_second_tip(session, two_users):
    uid, _ = two_users
    shown = tips.show_in(session, user_id=uid)
    once = tips.react_in(session, user_id=uid, reaction="helpful", key="same", tip_ref=shown.ref)
    again = tips.react_in(session, user_id=uid, reaction="helpful", key="same", tip_ref=shown.ref)
    assert not once.feedback.duplicate and once.next is not None
    assert again.feedback.duplicate and again.next is None
    assert again.feedback.feedback_id == once.feedback.feedback_id
    assert len(session.exec(select(TipFeedback)).all()) == 1
    assert learner_hot.pending_count() == sum(s.name != "random" for s in POLICY_SPECS)  # each learner, once
    assert learner_hot.flush() == 1 and learner_hot.flush() == 0
    assert {r.updates for r in session.exec(select(ModelState).where(ModelState.user_id == uid))} == {1}


def test_another_users_reference_records_nothing(session, two_users):
    victim, attacker = two_users
    shown = tips.show_in(session, user_id=victim)
    with pytest.raises(feedback.TipNotFound):
        tips.react_in(session, user_id=attacker, reaction="done", key="k", tip_ref=shown.ref)
    with pytest.raises(feedback.TipNotFound):  # the bare id (API) is checked against the row's owner
        tips.react_in(session, user_id=attacker, reaction="done", key="k", tip_id=shown.tip.tip_id)
    assert session.exec(select(TipFeedback)).all() == []
    assert session.get(Task, shown.tip.task_id).completed_at is None


def test_the_tip_is_named_exactly_once_and_inputs_are_checked(session, two_users):
    uid, _ = two_users
    shown = tips.show_in(session, user_id=uid)
    for kw in ({}, {"tip_ref": shown.ref, "tip_id": shown.tip.tip_id}):
        with pytest.raises(feedback.FeedbackError):
            tips.react_in(session, user_id=uid, reaction="done", key="k", **kw)
    with pytest.raises(feedback.FeedbackError):
        tips.react_in(session, user_id=uid, reaction="done", key="has space", tip_ref=shown.ref)
    with pytest.raises(feedback.FeedbackError):
        tips.react_in(session, user_id=uid, reaction="done", key="k", tip_ref=shown.ref, channel="fax")
    api = tips.react_in(
        session, user_id=uid, reaction="snooze", key="api-1", tip_id=shown.tip.tip_id, show_next=False
    )
    assert api.next is None and api.feedback.tip_id == shown.tip.tip_id and not api.feedback.duplicate


def test_react_is_one_awaitable_call_off_the_event_loop(session, two_users):
    uid, _ = two_users

    async def journey() -> tuple[tips.Shown, tips.Reacted]:
        shown = await tips.show(user_id=uid)
        return shown, await tips.react(user_id=uid, reaction="dismiss", key="x1", tip_ref=shown.ref)

    shown, reacted = asyncio.run(journey())
    assert reacted.feedback.tip_id == shown.tip.tip_id
    assert reacted.next is not None and reacted.next.tip.task_id != shown.tip.task_id
