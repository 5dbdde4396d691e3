"""A reload shows the tip on screen again while it is current; anything that changes it makes a new pick."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import select

from oo.models import Task, TipView, utcnow
from oo.services.accounts import sessions as accounts
from oo.services.advice import library, preferences
from oo.services.privacy import deletion
from oo.services.sources import catalog as sources
from oo.services.tips import reshow
from oo.services.tips import serving as tips
from oo.settings import get_settings


@pytest.fixture
def session(app_session):
    return app_session


@pytest.fixture
def uid(session) -> int:
    user = accounts.create_demo_user(session=session)
    sources.connect_demo(session=session, user_id=user.id)
    preferences.set_enabled(session=session, user_id=user.id, enabled=False)  # tasks only, unless a test says
    return user.id


def load(uid: int) -> tips.Shown:
    return asyncio.run(tips.show(user_id=uid, again=True))


def views(session) -> int:
    session.expire_all()
    return len(session.exec(select(TipView)).all())


def test_a_reload_shows_the_same_tip_and_logs_no_new_decision(session, uid):
    first = load(uid)
    assert first.ref and views(session) == 1
    for _ in range(3):
        again = load(uid)
        assert (again.ref, again.tip.tip_id, again.tip.text) == (first.ref, first.tip.tip_id, first.tip.text)
        assert again.sources == first.sources
        assert (again.tip.kind, again.tip.explanation.summary) == (
            first.tip.kind,
            first.tip.explanation.summary,
        )
    assert views(session) == 1
    fresh = asyncio.run(tips.show(user_id=uid))  # not a load (e.g. after a refused reaction): a new pick
    assert fresh.tip.tip_id != first.tip.tip_id and views(session) == 2


def test_after_a_reaction_a_reload_shows_the_next_tip(session, uid):
    first = load(uid)
    reacted = asyncio.run(tips.react(user_id=uid, reaction="helpful", key="k-1", tip_ref=first.ref))
    assert reacted.next is not None
    again = load(uid)
    assert again.tip.tip_id == reacted.next.tip.tip_id and again.ref == reacted.next.ref
    assert views(session) == 2


@pytest.mark.parametrize("change", ["completed", "snoozed", "deleted"])
def test_a_task_closed_snoozed_or_gone_since_is_not_shown_again(session, uid, change):
    first = load(uid)
    task = session.get(Task, first.tip.task_id)
    if change == "completed":  # e.g. closed in Todoist, then synced
        task.completed_at = utcnow()
        session.add(task)
    elif change == "snoozed":
        task.snoozed_until = utcnow() + timedelta(hours=1)
        session.add(task)
    else:
        session.delete(task)
    session.commit()
    again = load(uid)
    assert again.tip.tip_id != first.tip.tip_id and again.tip.task_id != first.tip.task_id


def test_a_newer_tip_anywhere_else_wins(session, uid):
    first = load(uid)
    other = tips.show_in(session, user_id=uid, channel="api")  # another tab, the API or push picked since
    session.commit()
    again = load(uid)
    assert again.tip.tip_id not in (first.tip.tip_id, other.tip.tip_id)


def test_an_answered_tip_is_not_shown_again(session, uid):
    first = load(uid)
    tips.react_in(  # answered through the API (the task stays open): no next tip was served
        session, user_id=uid, reaction="helpful", key="api-1", tip_id=first.tip.tip_id, show_next=False
    )
    session.commit()
    assert load(uid).tip.tip_id != first.tip.tip_id


def test_advice_is_shown_again_only_while_advice_is_on(session, uid):
    library.seed(session=session)
    preferences.set_enabled(session=session, user_id=uid, enabled=True)
    for task in session.exec(select(Task).where(Task.user_id == uid)).all():
        task.completed_at = utcnow()  # nothing open: the pick is a piece of advice
        session.add(task)
    session.commit()
    first = load(uid)
    assert first.tip.kind == "advice"
    assert load(uid).tip.tip_id == first.tip.tip_id
    preferences.set_enabled(session=session, user_id=uid, enabled=False)
    assert load(uid).tip.kind != "advice"


def test_the_window_and_the_switch(session, uid, monkeypatch):
    first = load(uid)
    clock = reshow.time.monotonic() + 91  # OO_TIP_RESHOW_SECONDS defaults to 90
    monkeypatch.setattr(reshow.time, "monotonic", lambda: clock)
    assert load(uid).tip.tip_id != first.tip.tip_id
    monkeypatch.undo()
    monkeypatch.setenv("OO_TIP_RESHOW_SECONDS", "0")
    get_settings.cache_clear()  # settings are read again; 0 turns reshowing off
    second = load(uid)
    assert load(uid).tip.tip_id != second.tip.tip_id


def test_undo_and_account_deletion_forget_the_tip(session, uid):
    first = load(uid)
    assert reshow.recalled(uid) is not None
    reacted = asyncio.run(
        tips.react(user_id=uid, reaction="done", key="k-1", tip_ref=first.ref, undoable=True)
    )
    assert reshow.recalled(uid)[0].tip_id == reacted.next.tip.tip_id
    asyncio.run(tips.take_back(user_id=uid, tip_ref=first.ref, key="k-1"))
    assert reshow.recalled(uid) is None  # the page shows the restored tip: a reload picks afresh
    load(uid)
    assert reshow.recalled(uid) is not None
    asyncio.run(deletion.delete_account(user_id=uid))
    assert reshow.recalled(uid) is None


def gate(answers: list[bool]):
    """A load gate that answers from ``answers`` and records each time it is asked."""
    asked: list[bool] = []

    async def ask() -> bool:
        asked.append(answers[len(asked)])
        return asked[-1]

    return ask, asked


def test_only_a_new_pick_asks_the_load_gate(session, uid):
    ask, asked = gate([True, True])
    first = asyncio.run(tips.show(user_id=uid, again=True, gate=ask))
    assert len(asked) == 1 and views(session) == 1  # no entry yet: a new pick, counted
    for _ in range(5):  # reshows: nothing written, nothing counted
        assert asyncio.run(tips.show(user_id=uid, again=True, gate=ask)).tip.tip_id == first.tip.tip_id
    assert len(asked) == 1
    task = session.get(Task, first.tip.task_id)
    task.completed_at = utcnow()  # closed elsewhere: the reload must pick anew, and that counts
    session.add(task)
    session.commit()
    fresh = asyncio.run(tips.show(user_id=uid, again=True, gate=ask))
    assert fresh.tip.tip_id != first.tip.tip_id and len(asked) == 2 and views(session) == 2


def test_a_refused_gate_picks_nothing(session, uid):
    ask, asked = gate([False])
    with pytest.raises(tips.Throttled):
        asyncio.run(tips.show(user_id=uid, again=True, gate=ask))
    assert asked == [False] and views(session) == 0 and reshow.recalled(uid) is None
    first = load(uid)
    task = session.get(Task, first.tip.task_id)
    task.completed_at = utcnow()
    session.add(task)
    session.commit()
    ask, asked = gate([False])  # an entry that is no longer current: refused before the pick
    with pytest.raises(tips.Throttled):
        asyncio.run(tips.show(user_id=uid, again=True, gate=ask))
    assert asked == [False] and views(session) == 1


def test_loads_that_overlap_share_one_pick(session, uid):
    ask, asked = gate([True] * 4)

    async def four_at_once() -> list[tips.Shown]:
        return await asyncio.gather(*(tips.show(user_id=uid, again=True, gate=ask) for _ in range(4)))

    shown = asyncio.run(four_at_once())
    assert {(s.tip.tip_id, s.ref) for s in shown} == {(shown[0].tip.tip_id, shown[0].ref)}
    assert len(asked) == 1 and views(session) == 1


def test_reloads_of_many_users_at_once_are_checked_together(session, uid):
    users = [uid]
    for _ in range(4):
        other = accounts.create_demo_user(session=session)
        sources.connect_demo(session=session, user_id=other.id)
        preferences.set_enabled(session=session, user_id=other.id, enabled=False)
        users.append(other.id)
    first = {u: load(u) for u in users}
    tips.react_in(  # one of them answered the tip elsewhere: only that one is picked anew
        session,
        user_id=users[2],
        reaction="helpful",
        key="api-1",
        tip_id=first[users[2]].tip.tip_id,
        show_next=False,
    )
    session.commit()
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_a) -> None:
        statements.append(statement.split()[0].upper())

    async def all_at_once() -> list[tips.Shown]:
        return await asyncio.gather(*(tips.show(user_id=u, again=True) for u in users if u != users[2]))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        again = asyncio.run(all_at_once())
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [s.ref for s in again] == [first[u].ref for u in users if u != users[2]]
    assert statements.count("SELECT") == 2 and "INSERT" not in statements  # one batch: sources, tips
    assert load(users[2]).tip.tip_id != first[users[2]].tip.tip_id
