"""Advice through recommend(): both kinds in one contract, the switch, repetition, reactions, the kind learner."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlmodel import col, select

from oo.models import Advice, ModelState, SourceAction, Task, TipScore, TipView, User
from oo.services.accounts import sessions as accounts
from oo.services.advice import library, mixing
from oo.services.learning import learner
from oo.services.sources import catalog as sources
from oo.services.tips import advice as serving
from oo.services.tips import feedback
from oo.services.tips.recommend import recommend as pick
from oo.settings import get_settings

EVENING = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)  # a Wednesday evening (UTC user)


pytestmark = pytest.mark.usefixtures("generous_budget")


@pytest.fixture(autouse=True)
def _replayable_draws(monkeypatch):
    monkeypatch.setattr(serving, "_rng", np.random.default_rng(12))  # the kind and item draws replay


@pytest.fixture
def user_id(session) -> int:
    library.seed(session=session)
    return accounts.create_demo_user(session=session).id


def with_tasks(session, user_id: int) -> int:
    return sources.connect_demo(session=session, user_id=user_id)


def react(session, user_id, tip_id, reaction, key):
    return feedback.record(
        session=session, user_id=user_id, tip_id=tip_id, reaction=reaction, idempotency_key=key
    )


def test_a_user_with_no_open_task_gets_advice_through_the_same_contract(session, user_id):
    rec = pick(session=session, user_id=user_id, now=EVENING)
    assert rec.kind == "advice" and not rec.empty and len(rec.tip_id) == 32 and rec.text
    assert rec.task_id is None and rec.advice_key and (rec.policy, rec.policy_version) == ("kindmix", 1)
    piece = session.exec(select(Advice).where(Advice.key == rec.advice_key)).one()
    assert rec.text == piece.text and "evening" in json.loads(piece.tags)["time"]
    view = session.get(TipView, rec.tip_id)
    assert (view.kind, view.source, view.external_id, view.task_id) == ("advice", "advice", piece.key, None)
    logged = json.loads(view.explanation)
    # Forced kind (nothing open): kind propensity 1, the item uniform among the best matches.
    assert logged["kind_propensity"] == 1.0 and logged["propensity"] == pytest.approx(rec.propensity)
    assert rec.propensity == pytest.approx(logged["item_propensity"]) and 0 < rec.propensity <= 1
    assert view.propensity == pytest.approx(rec.propensity)
    assert json.loads(view.features) == {}  # no kind decision was made: nothing for the mixer to learn
    assert session.exec(select(TipScore).where(TipScore.tip_id == rec.tip_id)).one().policy == "kindmix"
    assert rec.explanation.summary.startswith("Advice")


def test_a_piece_only_for_an_empty_list_is_never_shown_with_tasks_open(session, user_id, monkeypatch):
    with_tasks(session, user_id)
    monkeypatch.setattr(get_settings(), "advice_repeat_days", 0)
    keys = set()
    for i in range(40):
        rec = pick(session=session, user_id=user_id, now=EVENING + timedelta(hours=2 * i))
        if rec.kind == "advice":
            keys.add(rec.advice_key)
    assert keys, "with tasks open, the cold mixer still shows some advice"
    assert not keys & {"k009", "p010"}


def test_tasks_and_advice_are_mixed_with_exact_logged_propensities(session, user_id):
    with_tasks(session, user_id)
    kinds = {"todo": 0, "advice": 0}
    for i in range(30):
        rec = pick(session=session, user_id=user_id, now=EVENING + timedelta(minutes=90 * i))
        kinds[rec.kind] += 1
        view = session.get(TipView, rec.tip_id)
        logged = json.loads(view.explanation)
        p_advice = logged["p_advice"]
        expected = p_advice if rec.kind == "advice" else 1 - p_advice
        assert logged["kind_propensity"] == pytest.approx(expected)
        assert json.loads(view.features)[mixing.FEATURES_KEY], "the mixer's x is logged on both kinds"
        assert view.propensity == pytest.approx(rec.propensity)  # the tip_view column, for off-policy use
        if rec.kind == "todo":  # P(task) x the task policy's own probability of this task
            assert 0 < rec.propensity <= expected + 1e-12 and rec.task_id is not None
            active = session.exec(
                select(TipScore).where(TipScore.tip_id == rec.tip_id, TipScore.role == "active")
            ).one()
            assert active.served_probability == pytest.approx(rec.propensity)
    assert kinds["todo"] > kinds["advice"] > 0  # the cold start favours tasks, without ruling advice out


def test_the_advice_switch_off_means_tasks_only_and_then_the_empty_state(session, user_id):
    with_tasks(session, user_id)
    session.get(User, user_id).advice_enabled = False
    session.commit()
    for i in range(15):
        assert pick(session=session, user_id=user_id, now=EVENING + timedelta(hours=i)).kind == "todo"
    for task in session.exec(select(Task).where(Task.user_id == user_id)).all():
        task.completed_at = EVENING
    session.commit()
    assert pick(session=session, user_id=user_id, now=EVENING).empty


def test_a_shown_piece_rests_for_the_repeat_days_and_a_dismissed_one_much_longer(
    session, user_id, monkeypatch
):
    settings = get_settings()
    monkeypatch.setattr(settings, "advice_repeat_days", 7)
    monkeypatch.setattr(settings, "advice_dismiss_days", 60)
    first = pick(session=session, user_id=user_id, now=EVENING)
    react(session, user_id, first.tip_id, "dismiss", "d1")
    shown = set()
    for day in range(1, 7):  # every evening for six days: never the dismissed or a repeated piece
        rec = pick(session=session, user_id=user_id, now=EVENING + timedelta(days=day))
        assert rec.advice_key not in shown | {first.advice_key}
        shown.add(rec.advice_key)
    later = EVENING + timedelta(days=30)
    keys = {
        pick(session=session, user_id=user_id, now=later + timedelta(minutes=61 * i)).advice_key
        for i in range(40)
    }
    assert first.advice_key not in keys, "dismissed: still resting after 30 days"
    assert keys & shown, "shown (not dismissed) pieces come back after the repeat window"


def test_done_on_advice_is_recorded_and_learned_but_closes_nothing(session, user_id):
    with_tasks(session, user_id)
    rng = np.random.default_rng(3)
    rec = None
    for _ in range(60):
        decision = serving.decide(
            session=session, user_id=user_id, now=EVENING, local=EVENING, open_tasks=5, rng=rng
        )
        if decision.kind == "advice":
            rec = serving.serve(
                session=session, user_id=user_id, channel="web", decision=decision, started=0.0
            )
            break
    assert rec is not None and rec.kind == "advice"
    open_before = session.exec(
        select(Task.id).where(Task.user_id == user_id, col(Task.completed_at).is_(None))
    ).all()
    result = react(session, user_id, rec.tip_id, "done", "k-done")
    assert result.first and result.learned and result.reward == 1.0 and result.task_id is None
    assert session.exec(select(SourceAction)).all() == []
    after = session.exec(
        select(Task.id).where(Task.user_id == user_id, col(Task.completed_at).is_(None))
    ).all()
    assert after == open_before
    state = session.exec(select(ModelState).where(ModelState.policy_key == mixing.MODEL_KEY)).one()
    assert state.user_id == user_id and state.updates == 1
    # The task learners never learn from advice (they have no features for it).
    assert not session.exec(select(ModelState).where(ModelState.policy_key != mixing.MODEL_KEY)).all()


def test_the_kind_learner_learns_from_reactions_to_either_kind(session, user_id, monkeypatch):
    monkeypatch.setattr(get_settings(), "advice_repeat_days", 0)
    with_tasks(session, user_id)
    ctx_p = []
    for i in range(40):
        rec = pick(session=session, user_id=user_id, now=EVENING + timedelta(minutes=61 * i))
        ctx_p.append(json.loads(session.get(TipView, rec.tip_id).explanation)["p_advice"])
        react(session, user_id, rec.tip_id, "done" if rec.kind == "advice" else "not_helpful", f"k{i}")
    assert ctx_p[-1] > 0.8 > ctx_p[0], "a user who does the advice and dismisses tasks gets more advice"


def test_a_broken_advice_decision_still_serves_the_task(session, user_id, monkeypatch):
    with_tasks(session, user_id)

    def broken(**_kw):
        raise RuntimeError("library unreadable")

    monkeypatch.setattr(serving, "decide", broken)  # decide_or_task catches it
    rec = pick(session=session, user_id=user_id, now=EVENING)
    assert rec.kind == "todo" and rec.task_id is not None


def test_a_retired_piece_is_never_served(session, user_id):
    for row in session.exec(select(Advice)).all():
        row.status = "retired" if row.key != "r008" else "active"  # r008: night only
        session.add(row)
    session.commit()
    assert pick(session=session, user_id=user_id, now=EVENING).empty  # nothing fits an evening now
    night = EVENING.replace(hour=23)
    assert pick(session=session, user_id=user_id, now=night).advice_key == "r008"


def test_the_write_behind_reaction_path_teaches_the_kind_learner_exactly_once(session, user_id):
    from oo.services.learning import hot as learner_hot

    with_tasks(session, user_id)
    rec = pick(session=session, user_id=user_id, now=EVENING)
    assert rec.kind == "todo" and mixing.FEATURES_KEY in json.loads(session.get(TipView, rec.tip_id).features)
    result = feedback.record(
        session=session,
        user_id=user_id,
        tip_id=rec.tip_id,
        reaction="done",
        idempotency_key="wb",
        write_behind=True,
    )
    assert result.first

    def kind_updates() -> int:
        session.expire_all()
        row = session.exec(select(ModelState).where(ModelState.policy_key == mixing.MODEL_KEY)).first()
        return row.updates if row else 0

    assert kind_updates() == 1  # learned at once, in its own transaction
    session.expire_all()
    assert mixing.FEATURES_KEY not in json.loads(session.get(TipView, rec.tip_id).features)  # consumed
    stale = json.dumps({mixing.FEATURES_KEY: {"bias": 1.0}})  # a caller's copy read before that
    assert not mixing.learn_from_tip_once(
        session=session, user_id=user_id, tip_id=rec.tip_id, reward=1.0, now=EVENING, features=stale
    )
    assert kind_updates() == 1, "a stale copy of the features teaches nothing"
    # A crash before the flush: memory is lost, the outbox replays the reaction for the task models.
    learner.cache.clear()
    learner.pending.clear()
    learner_hot._dirty.clear()
    assert learner.apply_pending(session=session, older_than=timedelta(0)) == 1
    assert kind_updates() == 1, "the replay does not teach the kind learner twice"
