"""Undo: a held reaction is not learned nor carried out until its window passes; Undo withdraws it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from oo.models import ModelState, SourceAction, Task, TipFeedback, TipView
from oo.recommender import POLICY_SPECS
from oo.services.accounts import sessions as accounts
from oo.services.advice import library, mixing
from oo.services.learning import hot as learner_hot
from oo.services.learning import learner
from oo.services.sources import catalog as sources
from oo.services.tips import serving as tips
from oo.services.tips import undo

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
LEARNERS = sum(spec.name != "random" for spec in POLICY_SPECS)


@pytest.fixture
def session(app_session):
    """A session on the app's own engine (the write-behind flush opens its own sessions there)."""
    return app_session


def demo_user(session) -> int:
    """A new demo user with Demo tasks connected."""
    user = accounts.create_demo_user(session=session)
    sources.connect_demo(session=session, user_id=user.id)
    return user.id


@pytest.fixture
def uid(session) -> int:
    return demo_user(session)


def held(session, uid: int, reaction: str = "done", key: str = "k-1", source: str | None = None):
    shown = tips.show_in(session, user_id=uid)
    if source:  # make the served task a Todoist one, so a Done queues a close at the source
        task = session.get(Task, shown.tip.task_id)
        task.source = source
        session.add(task)
        tip = session.get(TipView, shown.tip.tip_id)
        tip.source, tip.external_id = source, task.external_id
        session.add(tip)
        session.commit()
    tips.react_in(session, user_id=uid, reaction=reaction, key=key, tip_ref=shown.ref, undoable=True)
    return shown


def held_helpfuls(session, n: int) -> list[tuple[int, tips.Shown, int]]:
    """``n`` new demo users, each with a held Helpful on the tip shown: (user id, that tip, feedback id)."""
    out = []
    for i in range(n):
        user_id = demo_user(session)
        shown = held(session, user_id, reaction="helpful", key=f"k-{i}")
        out.append(
            (user_id, shown, session.exec(select(TipFeedback.id).where(TipFeedback.user_id == user_id)).one())
        )
    return out


def kind_batch(session, held_: list[tuple[int, tips.Shown, int]]) -> list[tuple[int, str, str, float]]:
    """The held tips as `mixing.learn_from_tips_once` takes them, each with reward 1."""
    return [
        (u, t.id, t.features, 1.0) for u, shown, _ in held_ for t in [session.get(TipView, shown.tip.tip_id)]
    ]


def models(session, uid: int) -> int:
    return len(session.exec(select(ModelState).where(ModelState.user_id == uid)).all())


def test_a_held_reaction_is_recorded_but_not_learned_nor_sent(session, uid):
    shown = held(session, uid, source="todoist")
    row = session.exec(select(TipFeedback)).one()
    assert row.applied_at is None and models(session, uid) == 0
    close = session.exec(select(SourceAction)).one()
    assert close.next_attempt_at - row.created_at >= undo.HOLD  # not due before the window closes
    assert session.get(Task, shown.tip.task_id).completed_at is not None


def test_undo_withdraws_everything_and_the_learner_never_sees_it(session, uid):
    shown = held(session, uid, source="todoist")
    out = undo.withdraw(session=session, user_id=uid, tip_id=shown.tip.tip_id, key="k-1")
    assert out.reaction == "done" and not out.reopen
    assert session.exec(select(TipFeedback)).all() == []
    assert session.get(TipView, shown.tip.tip_id).reaction is None
    assert session.get(Task, shown.tip.task_id).completed_at is None
    assert session.exec(select(SourceAction)).one().status == "cancelled"
    assert learner.apply_pending(session=session, older_than=timedelta(0)) == 0 and models(session, uid) == 0


@pytest.mark.parametrize("reaction", ["snooze", "dismiss"])
def test_undo_of_a_snooze_or_dismiss_shows_the_task_again(session, uid, reaction):
    shown = held(session, uid, reaction=reaction)
    assert session.get(Task, shown.tip.task_id).snoozed_until is not None
    undo.withdraw(session=session, user_id=uid, tip_id=shown.tip.tip_id, key="k-1")
    assert session.get(Task, shown.tip.task_id).snoozed_until is None


def test_after_the_window_the_reaction_is_learned_and_undo_is_refused(session, uid):
    shown = held(session, uid)
    row = session.exec(select(TipFeedback)).one()
    assert undo.settle_now(session=session, feedback_id=row.id)
    learner_hot.flush()
    assert models(session, uid) == LEARNERS
    with pytest.raises(undo.TooLateToUndo):
        undo.withdraw(session=session, user_id=uid, tip_id=shown.tip.tip_id, key="k-1")
    assert len(session.exec(select(TipFeedback)).all()) == 1


def kind_model_updates(session, uid: int) -> int:
    session.expire_all()
    row = session.exec(
        select(ModelState).where(ModelState.user_id == uid, ModelState.policy_key == mixing.MODEL_KEY)
    ).first()
    return row.updates if row else 0


def test_after_the_window_the_task_or_advice_learner_learns_once_and_never_from_an_undo(session, uid):
    library.seed(session=session)  # with the advice library, every pick draws task or advice first
    shown = held(session, uid, reaction="helpful", key="k-1")
    assert mixing.FEATURES_KEY in session.get(TipView, shown.tip.tip_id).features
    row = session.exec(select(TipFeedback)).one()
    assert kind_model_updates(session, uid) == 0  # held: nothing learned yet
    undo.settle_now(session=session, feedback_id=row.id)  # (True only when the tip was a task)
    assert kind_model_updates(session, uid) == 1
    session.expire_all()
    assert mixing.FEATURES_KEY not in session.get(TipView, shown.tip.tip_id).features  # consumed
    undo.settle_now(session=session, feedback_id=row.id)
    learner_hot.flush()
    learner.apply_pending(session=session, older_than=timedelta(0))
    assert kind_model_updates(session, uid) == 1  # exactly once
    second = held(session, uid, reaction="not_helpful", key="k-2")
    undo.withdraw(session=session, user_id=uid, tip_id=second.tip.tip_id, key="k-2")
    learner.apply_pending(session=session, older_than=timedelta(0))
    assert kind_model_updates(session, uid) == 1  # an undone reaction teaches nothing


def test_held_reactions_settled_together_teach_each_kind_model_once(session):
    library.seed(session=session)
    batch = held_helpfuls(session, 3)
    users, tips_, ids = (
        [u for u, _, _ in batch],
        [s.tip.tip_id for _, s, _ in batch],
        [f for _, _, f in batch],
    )
    # Another worker already taught the second user's kind model from its tip: that tip is skipped.
    assert mixing.learn_from_tip_once(session=session, user_id=users[1], tip_id=tips_[1], reward=1.0, now=NOW)
    undo._settle(session, ids)
    assert [kind_model_updates(session, u) for u in users] == [1, 1, 1]
    session.expire_all()
    assert all(mixing.FEATURES_KEY not in session.get(TipView, t).features for t in tips_)
    undo._settle(session, ids)  # settling again (before the flush) teaches nothing twice
    assert [kind_model_updates(session, u) for u in users] == [1, 1, 1]


def test_a_batch_with_no_conflict_teaches_every_kind_model_in_one_commit(session):
    library.seed(session=session)
    tips_ = kind_batch(session, held_helpfuls(session, 3))
    commits = []
    listener = lambda *_a: commits.append(1)  # noqa: E731
    sa.event.listen(session.get_bind(), "commit", listener)
    try:
        assert mixing.learn_from_tips_once(session=session, tips=tips_, now=NOW) == (3, frozenset())
    finally:
        sa.event.remove(session.get_bind(), "commit", listener)
    assert len(commits) == 1
    assert [kind_model_updates(session, u) for u, _, _, _ in tips_] == [1, 1, 1]
    # The same copies again (stale now: their kind features were consumed): nothing is learned twice.
    assert mixing.learn_from_tips_once(session=session, tips=tips_, now=NOW) == (0, frozenset())
    assert [kind_model_updates(session, u) for u, _, _, _ in tips_] == [1, 1, 1]


class _LockedKindModels:
    """Makes every write of a kind model fail as SQLite does when its lock is held past the timeout."""

    def __init__(self, engine) -> None:
        self.engine, self.failures = engine, 0

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self._fail)
        return self

    def __exit__(self, *exc) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._fail)

    def _fail(self, conn, cursor, statement, params, context, executemany) -> None:
        # Only kind models are written while it is on: the task models are written by the flush.
        if statement.lstrip().upper().startswith(("UPDATE MODEL_STATE", "INSERT INTO MODEL_STATE")):
            self.failures += 1
            raise sa.exc.OperationalError(statement, params, Exception("database is locked"))


def kind_features_left(session, tip_id: str) -> bool:
    session.expire_all()
    return mixing.FEATURES_KEY in session.get(TipView, tip_id).features


@pytest.mark.parametrize("users", [1, 3])
def test_a_kind_learning_that_fails_leaves_its_reactions_to_the_outbox_which_teaches_both(session, users):
    library.seed(session=session)
    batch = held_helpfuls(session, users)
    uids, tip_ids, ids = (
        [u for u, _, _ in batch],
        [s.tip.tip_id for _, s, _ in batch],
        [f for _, _, f in batch],
    )
    expected = [1 + (LEARNERS if s.tip.kind == "todo" else 0) for _, s, _ in batch]  # task models: tasks only
    with _LockedKindModels(session.get_bind()) as locked:
        assert undo._settle(session, ids) == 0  # nothing taught: not the kind model, not the task models
    assert locked.failures >= 1
    learner_hot.flush()
    session.expire_all()
    assert all(session.get(TipFeedback, i).applied_at is None for i in ids)  # still pending
    assert all(kind_features_left(session, t) for t in tip_ids)  # nothing consumed
    assert [kind_model_updates(session, u) for u in uids] == [0] * users
    assert learner.apply_pending(session=session, older_than=timedelta(0)) == users  # the outbox
    assert [kind_model_updates(session, u) for u in uids] == [1] * users
    assert [models(session, u) for u in uids] == expected  # the kind model, and the task models on a task
    assert not any(kind_features_left(session, t) for t in tip_ids)  # consumed: never taught again
    undo._settle(session, ids)
    learner_hot.flush()
    assert [kind_model_updates(session, u) for u in uids] == [1] * users


def test_a_reaction_not_held_whose_kind_learning_fails_is_left_to_the_outbox(session):
    library.seed(session=session)
    for _ in range(30):  # a task tip with a kind draw (the draw is random): its task models must wait too
        user_id = demo_user(session)
        shown = tips.show_in(session, user_id=user_id)
        if shown.tip.kind == "todo" and kind_features_left(session, shown.tip.tip_id):
            break
    else:
        pytest.fail("no task tip with a kind draw in 30 users")
    with _LockedKindModels(session.get_bind()) as locked:
        tips.react_in(session, user_id=user_id, reaction="helpful", key="api-1", tip_ref=shown.ref)
    assert locked.failures >= 1
    assert learner_hot.flush() == 0  # the task models were not taught in memory either
    assert session.exec(select(TipFeedback).where(TipFeedback.user_id == user_id)).one().applied_at is None
    assert learner.apply_pending(session=session, older_than=timedelta(0)) == 1
    assert kind_model_updates(session, user_id) == 1 and models(session, user_id) == LEARNERS + 1


def test_a_batch_that_conflicts_and_then_fails_names_every_failed_tip(session):
    library.seed(session=session)
    batch = kind_batch(session, held_helpfuls(session, 3))
    batch[1] = (
        *batch[1][:2],
        batch[1][2] + " ",
        1.0,
    )  # a stale copy: the batch's claim fails, each tip goes alone
    with _LockedKindModels(session.get_bind()):
        taught = mixing.learn_from_tips_once(session=session, tips=batch, now=NOW)
    assert taught == (0, frozenset(t for _, t, _, _ in batch))
    assert all(kind_features_left(session, t) for _, t, _, _ in batch)


def test_the_outbox_teaches_a_tips_kind_once_however_many_reactions_it_applies(session, uid):
    library.seed(session=session)
    shown = tips.show_in(session, user_id=uid)
    for key in ("api-1", "api-2"):  # a second reaction on the same tip (a later Done, say)
        tips.react_in(session, user_id=uid, reaction="done" if key == "api-2" else "helpful", key=key,
                      tip_ref=shown.ref, write_behind=False, show_next=False)  # fmt: skip
    assert kind_model_updates(session, uid) == 1
    assert not kind_features_left(session, shown.tip.tip_id)


def test_undo_after_the_window_is_refused_even_if_not_yet_learned(session, uid):
    shown = held(session, uid)
    row = session.exec(select(TipFeedback)).one()
    later = row.created_at + undo.HOLD + timedelta(seconds=1)
    with pytest.raises(undo.TooLateToUndo):
        undo.withdraw(session=session, user_id=uid, tip_id=shown.tip.tip_id, key="k-1", now=later)


def test_nobody_can_undo_someone_elses_reaction(session, uid):
    shown = held(session, uid)
    other = accounts.create_demo_user(session=session)
    with pytest.raises(undo.NothingToUndo):
        undo.withdraw(session=session, user_id=other.id, tip_id=shown.tip.tip_id, key="k-1")
    with pytest.raises(undo.NothingToUndo):
        undo.withdraw(session=session, user_id=uid, tip_id="f" * 32, key="k-1")
    assert len(session.exec(select(TipFeedback)).all()) == 1


def test_a_close_that_already_went_out_is_reopened(session, uid):
    shown = held(session, uid, source="todoist")
    close = session.exec(select(SourceAction)).one()
    close.attempts, close.status = 1, "done"  # the close reached Todoist (edge of the window)
    session.add(close)
    session.commit()
    out = undo.withdraw(session=session, user_id=uid, tip_id=shown.tip.tip_id, key="k-1")
    assert out.reopen
    actions = session.exec(select(SourceAction).order_by(SourceAction.id)).all()
    assert [(a.action, a.status) for a in actions] == [("close", "done"), ("reopen", "pending")]


def test_reactions_from_elsewhere_are_not_held(session, uid):
    shown = tips.show_in(session, user_id=uid)
    tips.react_in(session, user_id=uid, reaction="done", key="api-1", tip_ref=shown.ref)
    assert learner_hot.flush() == 1  # taught at once, written behind
    session.expire_all()
    assert session.exec(select(TipFeedback)).one().applied_at is not None and models(session, uid) == LEARNERS


def test_the_whole_window_through_the_service_calls(session, uid, monkeypatch):
    """react (held) → settle teaches the in-memory model → flush; react → take_back → nothing learned."""
    monkeypatch.setattr(undo, "HOLD", timedelta(seconds=0.2))
    monkeypatch.setattr(undo.source_actions, "kick", lambda **kw: None)

    async def journey() -> None:
        shown = await tips.show(user_id=uid)
        await tips.react(user_id=uid, reaction="done", key="k-a", tip_ref=shown.ref, undoable=True)
        nxt = await tips.show(user_id=uid)
        await tips.react(user_id=uid, reaction="dismiss", key="k-b", tip_ref=nxt.ref, undoable=True)
        await tips.take_back(user_id=uid, tip_ref=nxt.ref, key="k-b")
        await asyncio.sleep(1.0)  # past both windows: the settle timers have run

    asyncio.run(journey())
    learner_hot.flush()
    session.expire_all()
    rows = session.exec(select(TipFeedback)).all()
    assert [(r.reaction, r.applied_at is not None) for r in rows] == [("done", True)]
    assert {m.updates for m in session.exec(select(ModelState).where(ModelState.user_id == uid))} == {1}


def test_reactions_whose_windows_pass_together_are_learned_in_one_hop(session, monkeypatch):
    """Several users react at once: one thread hop settles them all; only a Done kicks its source."""
    monkeypatch.setattr(undo, "HOLD", timedelta(seconds=0.2))
    monkeypatch.setattr(undo, "SETTLE_SLACK", 5.0)  # however slow this machine serves the four tips
    kicked: list[int] = []
    monkeypatch.setattr(undo.source_actions, "kick", lambda *, user_id: kicked.append(user_id))
    hops: list[list[int]] = []
    settle_batch = undo._settle_batch
    monkeypatch.setattr(undo, "_settle_batch", lambda ids: (hops.append(list(ids)), settle_batch(ids)))
    users = [demo_user(session) for _ in range(5)]

    async def journey() -> None:
        for i, user_id in enumerate(users):
            shown = await tips.show(user_id=user_id)
            reaction = "done" if i == 0 else "helpful"
            await tips.react(
                user_id=user_id, reaction=reaction, key=f"k-{i}", tip_ref=shown.ref, undoable=True
            )
            if i == 4:  # the last one is taken back: its turn in the batch finds nothing to learn
                await tips.take_back(user_id=user_id, tip_ref=shown.ref, key=f"k-{i}")
        await asyncio.sleep(1.2)

    asyncio.run(journey())
    assert len(hops) == 1 and len(hops[0]) == 5  # one hop, one session, in the order they came
    assert kicked == [users[0]]
    assert learner_hot.flush() == 4
    session.expire_all()
    rows = session.exec(select(TipFeedback)).all()
    assert len(rows) == 4 and all(r.applied_at is not None for r in rows)


def test_a_backlog_of_due_reactions_is_settled_in_one_hop(monkeypatch):
    """Behind a long queue of tips, each hop takes every reaction due (up to `SETTLE_BATCH`), not a few hundred."""
    monkeypatch.setattr(undo, "HOLD", timedelta(seconds=0.05))
    monkeypatch.setattr(undo.source_actions, "kick", lambda **kw: None)
    hops: list[int] = []
    monkeypatch.setattr(undo, "_settle_batch", lambda ids: hops.append(len(ids)))
    n = 1_200  # 7 s of Helpfuls at 166 a second, the rate a saturated worker took them (bench/README.md)

    async def backlog() -> None:
        for i in range(n):
            undo.schedule_settle(user_id=1 + i % 50, feedback_id=i + 1, kick=False)
        await asyncio.sleep(0.8)  # every window has passed; the runner has made its hops

    asyncio.run(backlog())
    assert hops == [n]
