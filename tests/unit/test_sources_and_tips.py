"""Demo source, integrations per user, and the first-cut tip with ownership checks."""

from sqlmodel import select

from oo.models import Task
from oo.services import accounts, sources, tips


def _users(session):
    a = accounts.create_demo_user(session=session)
    b = accounts.create_demo_user(session=session)
    return a.id, b.id


def test_connect_demo_loads_varied_tasks_once(session):
    uid, _ = _users(session)
    added = sources.connect_demo(session=session, user_id=uid)
    assert added >= 15
    assert sources.connect_demo(session=session, user_id=uid) == 0
    tasks = session.exec(select(Task).where(Task.user_id == uid)).all()
    assert {t.priority for t in tasks} >= {1, 2, 3, 4}
    assert any(t.due_date is None for t in tasks) and any(t.due_date is not None for t in tasks)
    statuses = {s.provider: s.status for s in sources.list_sources(session=session, user_id=uid, todoist_configured=False)}
    assert statuses == {"demo": "connected", "todoist": "not_configured"}


def test_disconnect_only_touches_own_sources(session):
    a, b = _users(session)
    sources.connect_demo(session=session, user_id=a)
    assert not sources.disconnect(session=session, user_id=b, provider="demo")
    assert session.exec(select(Task).where(Task.user_id == a)).all()
    assert sources.disconnect(session=session, user_id=a, provider="demo")
    assert not session.exec(select(Task).where(Task.user_id == a)).all()


def test_tip_reactions_and_ownership(session):
    a, b = _users(session)
    sources.connect_demo(session=session, user_id=a)
    tip = tips.next_tip(session=session, user_id=a)
    assert tip is not None
    assert tips.next_tip(session=session, user_id=b) is None
    # Another user's reaction on a's task changes nothing.
    assert not tips.react(session=session, user_id=b, task_id=tip.task_id, reaction=tips.Reaction.DONE)
    assert tips.react(session=session, user_id=a, task_id=tip.task_id, reaction=tips.Reaction.DONE)
    assert not tips.react(session=session, user_id=a, task_id=tip.task_id, reaction=tips.Reaction.DONE)
    open_ids = {t.id for t in tips.open_tasks(session=session, user_id=a)}
    assert tip.task_id not in open_ids
    nxt = tips.next_tip(session=session, user_id=a)
    tips.react(session=session, user_id=a, task_id=nxt.task_id, reaction=tips.Reaction.SNOOZE)
    assert nxt.task_id not in {t.id for t in tips.open_tasks(session=session, user_id=a)}
