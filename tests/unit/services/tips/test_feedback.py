"""Feedback: exactly once per key, first reward wins, task effects, the outbox, delayed rewards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from oo.models import ModelState, SourceAction, Task, TipFeedback, TipView
from oo.recommender import POLICY_SPECS, REWARDS
from oo.services.accounts import sessions as accounts
from oo.services.learning import learner, policies
from oo.services.sources import catalog as sources
from oo.services.tips import delayed_reward, feedback
from oo.services.tips.recommend import recommend

pytestmark = pytest.mark.usefixtures("generous_budget")


@pytest.fixture
def user_id(session) -> int:
    user = accounts.create_demo_user(session=session)
    sources.connect_demo(session=session, user_id=user.id)
    return user.id


def updates(session, user_id: int) -> dict[str, int]:
    rows = session.exec(select(ModelState).where(ModelState.user_id == user_id)).all()
    return {r.policy_key: r.updates for r in rows}


def react(session, user_id, tip_id, reaction="done", key="k1", **kw):
    return feedback.record(
        session=session, user_id=user_id, tip_id=tip_id, reaction=reaction, idempotency_key=key, **kw
    )


def test_the_same_feedback_three_times_is_one_row_and_one_update(session, user_id):
    rec = recommend(session=session, user_id=user_id)
    results = [react(session, user_id, rec.tip_id) for _ in range(3)]
    assert [r.duplicate for r in results] == [False, True, True]
    assert len({r.feedback_id for r in results}) == 1 and all(r.learned for r in results)
    assert len(session.exec(select(TipFeedback)).all()) == 1
    assert updates(session, user_id) == {
        s.key: 1 for s in POLICY_SPECS if s.name != "random"
    }  # random keeps no state
    row = session.exec(select(TipFeedback)).one()
    assert row.applied_at is not None and row.reward == 1.0 and row.origin == "user"


def test_a_key_reused_for_another_reaction_is_a_conflict(session, user_id):
    rec = recommend(session=session, user_id=user_id)
    react(session, user_id, rec.tip_id, "snooze", "same")
    with pytest.raises(feedback.IdempotencyConflict):
        react(session, user_id, rec.tip_id, "dismiss", "same")
    assert len(session.exec(select(TipFeedback)).all()) == 1


def test_a_key_used_on_one_tip_is_refused_on_a_fresh_tip_which_stays_unanswered(session, user_id):
    first = recommend(session=session, user_id=user_id)
    react(session, user_id, first.tip_id, "helpful", "same")
    fresh = recommend(session=session, user_id=user_id, exclude_task_ids=[first.task_id])
    session.commit()
    assert not session.in_transaction()  # the one-statement claim is tried (a fresh session, as /tip's)
    with pytest.raises(feedback.IdempotencyConflict):
        react(session, user_id, fresh.tip_id, "dismiss", "same")
    tip = session.get(TipView, fresh.tip_id)
    session.refresh(tip)
    assert tip.reaction is None and tip.reacted_at is None  # the claim was rolled back with the insert
    session.commit()
    again = react(session, user_id, fresh.tip_id, "dismiss", "new")
    assert again.first and not again.duplicate
    assert len(session.exec(select(TipFeedback)).all()) == 2


def test_first_reward_wins_later_reactions_are_recorded_not_learned(session, user_id):
    rec = recommend(session=session, user_id=user_id)
    first = react(session, user_id, rec.tip_id, "helpful", "a")
    later = react(session, user_id, rec.tip_id, "dismiss", "b")
    assert first.first and first.learned and not later.first and not later.learned
    assert updates(session, user_id)["linucb@3"] == 1
    view = session.get(TipView, rec.tip_id)
    assert view.reaction == "helpful" and view.reacted_at is not None
    assert [r.reaction for r in session.exec(select(TipFeedback).order_by(TipFeedback.id))] == [
        "helpful",
        "dismiss",
    ]


@pytest.mark.parametrize("reaction", list(REWARDS))
def test_each_reaction_has_its_reward_and_teaches_the_learner(session, user_id, reaction):
    rec = recommend(session=session, user_id=user_id)
    before = learner.get_models(
        session=session, user_id=user_id, refs=policies.serving_set(session=session).all
    )
    x = rec.explanation.features
    served = f"{rec.policy}@{rec.policy_version}"  # the explanation is in its encoding
    mean_before, std_before = before[served].mean_and_std({f.name: f.value for f in x})
    result = react(session, user_id, rec.tip_id, reaction)
    assert result.reward == REWARDS[reaction]
    after = learner.get_models(
        session=session, user_id=user_id, refs=policies.serving_set(session=session).all
    )
    mean_after, std_after = after[served].mean_and_std({f.name: f.value for f in x})
    # The learner saw it: less uncertain about this task here, whatever the reward.
    assert std_after < std_before
    # The posterior mean of the shown task moves towards the reward (a reward equal to the prior
    # mean, e.g. Snooze's 0 against a zero prior on a weekend evening, leaves it where it is).
    if abs(REWARDS[reaction] - mean_before) > 1e-9:
        assert (mean_after - mean_before) * (REWARDS[reaction] - mean_before) > 0
    else:
        assert mean_after == pytest.approx(mean_before)


def test_done_completes_the_task_and_queues_the_close_at_its_source(session, user_id):
    rec = recommend(session=session, user_id=user_id)
    react(session, user_id, rec.tip_id, "done")
    assert session.get(Task, rec.task_id).completed_at is not None
    assert not session.exec(select(SourceAction)).all(), "demo tasks have no source to close"
    task = Task(user_id=user_id, source="todoist", external_id="T-9", content="Real task", priority=4)
    session.add(task)
    session.commit()
    rec = recommend(
        session=session,
        user_id=user_id,
        exclude_task_ids=[
            t.id for t in session.exec(select(Task).where(Task.user_id == user_id, Task.source == "demo"))
        ],
    )
    assert rec.task_id == task.id
    react(session, user_id, rec.tip_id, "done", "k2")
    action = session.exec(select(SourceAction)).one()
    assert (action.action, action.source, action.external_id, action.task_id) == (
        "close",
        "todoist",
        "T-9",
        task.id,
    )
    react(session, user_id, rec.tip_id, "done", "k3")  # a second Done queues nothing more
    assert len(session.exec(select(SourceAction)).all()) == 1


def test_snooze_dismiss_and_helpful_change_the_task_as_promised(session, user_id):
    now = datetime.now(UTC)
    for reaction, key, expect in (
        ("snooze", "s", timedelta(hours=5)),
        ("dismiss", "d", timedelta(days=1)),
        ("helpful", "h", None),
    ):
        rec = recommend(session=session, user_id=user_id)
        react(session, user_id, rec.tip_id, reaction, key, snooze_hours=5, now=now)
        task = session.get(Task, rec.task_id)
        session.refresh(task)
        assert task.completed_at is None
        assert task.snoozed_until == (now + expect if expect else None)


@pytest.mark.parametrize(
    ("tip_id", "reaction", "key", "match"),
    [
        ("0" * 32, "love", "k", "reaction"),
        ("0" * 32, "done", "has space", "idempotency key"),
        ("0" * 32, "done", "x" * 65, "idempotency key"),
        ("0" * 32, "done", None, "idempotency key"),
        ("NOT-HEX", "done", "k", "tip id"),
    ],
)
def test_invalid_feedback_is_refused_clearly(session, user_id, tip_id, reaction, key, match):
    with pytest.raises(feedback.FeedbackError, match=match):
        react(session, user_id, tip_id, reaction, key)


def test_another_users_tip_is_not_found(session, user_id):
    rec = recommend(session=session, user_id=user_id)
    other = accounts.create_demo_user(session=session)
    with pytest.raises(feedback.TipNotFound):
        react(session, other.id, rec.tip_id)
    with pytest.raises(feedback.TipNotFound):
        react(session, user_id, "f" * 32)
    assert session.get(TipView, rec.tip_id).reaction is None


def test_a_crash_before_learning_is_replayed_by_the_outbox(session, user_id, monkeypatch):
    rec = recommend(session=session, user_id=user_id)

    def crash(**_kw):
        raise RuntimeError("worker died")

    monkeypatch.setattr(learner, "apply", crash)
    result = react(session, user_id, rec.tip_id)
    assert not result.learned and result.first
    assert session.exec(select(TipFeedback)).one().applied_at is None
    assert updates(session, user_id) == {}
    monkeypatch.undo()
    assert learner.apply_pending(session=session, older_than=timedelta(0)) == 1
    assert updates(session, user_id)["linucb@3"] == 1
    assert learner.apply_pending(session=session, older_than=timedelta(0)) == 0
    assert learner.apply(session=session, feedback_id=result.feedback_id) is False  # never twice
    assert updates(session, user_id)["linucb@3"] == 1


def test_model_state_survives_a_restart_bit_for_bit(session, user_id):
    for i in range(5):
        rec = recommend(session=session, user_id=user_id)
        react(session, user_id, rec.tip_id, "done" if i % 2 else "dismiss", f"k{i}")
    refs = policies.serving_set(session=session).all
    before = learner.get_models(session=session, user_id=user_id, refs=refs)
    x = {f.name: f.value for f in rec.explanation.features}
    scores = {k: m.score([x]) for k, m in before.items() if set(x) == set(getattr(m, "features", ()))}
    assert scores, "the served policy's encoding"
    learner.cache.clear()  # a restart: nothing in memory
    after = learner.get_models(session=session, user_id=user_id, refs=refs)
    assert after["linucb@3"] is not before["linucb@3"]
    assert {k: after[k].score([x]) for k in scores} == scores
    data = session.exec(select(ModelState.data).where(ModelState.policy_key == "linucb@3")).one()
    # The compact binary form: a JSON header and raw float64 arrays, never pickle.
    assert data.startswith(b"OOP2") and b'"format":"oo.recommender.policy"' in data


def test_a_model_taught_by_another_worker_is_reloaded(session, user_id):
    refs = policies.serving_set(session=session).all
    rec = recommend(session=session, user_id=user_id)
    react(session, user_id, rec.tip_id, "done", "a")
    cached = learner.get_models(session=session, user_id=user_id, refs=refs)["linucb@3"]
    # Another worker learns: the row moves on while this process still caches version 1.
    other = learner.cache.get((user_id, "linucb@3"))
    learner.cache.clear()
    rec2 = recommend(session=session, user_id=user_id)
    react(session, user_id, rec2.tip_id, "done", "b")
    learner.cache.put((user_id, "linucb@3"), other)
    fresh = learner.get_models(session=session, user_id=user_id, refs=refs)["linucb@3"]
    assert fresh is not cached and fresh.n_updates == 2


def test_reset_forgets_the_users_models_only(session, user_id):
    other = accounts.create_demo_user(session=session)
    sources.connect_demo(session=session, user_id=other.id)
    for uid in (user_id, other.id):
        rec = recommend(session=session, user_id=uid)
        react(session, uid, rec.tip_id, "done", f"k{uid}")
    assert learner.reset(session=session, user_id=user_id) == sum(s.name != "random" for s in POLICY_SPECS)
    assert updates(session, user_id) == {} and updates(session, other.id)["linucb@3"] == 1
    refs = policies.serving_set(session=session).all
    assert learner.get_models(session=session, user_id=user_id, refs=refs)["linucb@3"].n_updates == 0
    assert learner.reset(session=session, user_id=other.id, policy_key="linucb@1") == 1
    assert set(updates(session, other.id)) == {s.key for s in POLICY_SPECS} - {"random@1", "linucb@1"}


def test_a_task_completed_at_its_source_is_a_delayed_done_once(session, user_id):
    rec = recommend(session=session, user_id=user_id)
    view = session.get(TipView, rec.tip_id)
    got = delayed_reward.record_completion(
        session=session, user_id=user_id, source=view.source, task_ref=str(rec.task_id), dedupe="delivery-1"
    )
    assert got.origin == "webhook" and got.reaction == "done" and got.learned
    again = delayed_reward.record_completion(
        session=session, user_id=user_id, source=view.source, task_ref=str(rec.task_id), dedupe="delivery-1"
    )
    assert again.duplicate and len(session.exec(select(TipFeedback)).all()) == 1
    assert session.get(Task, rec.task_id).completed_at is None, (
        "the source already completed it; oO only learns"
    )
    late = datetime.now(UTC) + delayed_reward.DELAYED_REWARD_WINDOW + timedelta(minutes=1)
    assert (
        delayed_reward.record_completion(
            session=session,
            user_id=user_id,
            source=view.source,
            task_ref=str(rec.task_id),
            dedupe="delivery-2",
            now=late,
        )
        is None
    )
    assert (
        delayed_reward.record_completion(
            session=session, user_id=user_id, source="todoist", task_ref=str(rec.task_id), dedupe="delivery-3"
        )
        is None
    )


def test_stats_count_served_tips_rewards_and_shadow_agreement(session, user_id):
    for i, reaction in enumerate(("done", "dismiss", "done")):
        rec = recommend(session=session, user_id=user_id)
        react(session, user_id, rec.tip_id, reaction, f"k{i}")
    stats = {s.key: s for s in learner.stats(session=session)}
    active = stats["linucb@5"]
    assert active.served == 3 and active.reward.n == 3 and active.reward.mean == pytest.approx(1 / 3)
    assert active.models == 1 and active.updates == 3 and active.alpha == 0.1
    for key in ("linucb@1", "linucb@2", "random@1"):
        assert stats[key].shadow_scored == 3 and 0.0 <= stats[key].shadow_agreement <= 1.0
    assert learner.stats(session=session, user_id=user_id + 99)[0].served == 0


def test_the_cached_model_is_reused_while_its_row_is_unchanged(session, user_id, monkeypatch):
    for i in range(3):
        rec = recommend(session=session, user_id=user_id)
        react(session, user_id, rec.tip_id, "done", f"k{i}")

    def no_decoding(*_args):
        raise AssertionError("the model was decoded again although the row did not change")

    monkeypatch.setattr(learner, "_decode", no_decoding)
    rec = recommend(session=session, user_id=user_id)
    react(session, user_id, rec.tip_id, "dismiss", "k-last")
    assert updates(session, user_id) == {s.key: 4 for s in POLICY_SPECS if s.name != "random"}
    assert not rec.fallback
