"""Demo source, integrations per user, and the tip with ownership checks."""

import pytest
from sqlmodel import select

from oo.models import Task
from oo.services.accounts import sessions as accounts
from oo.services.sources import catalog as sources
from oo.services.tips import feedback
from oo.services.tips.recommend import recommend


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
    statuses = {
        s.provider: s.status
        for s in sources.list_sources(session=session, user_id=uid, todoist_configured=False)
    }
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
    tip = recommend(session=session, user_id=a)
    assert not tip.empty
    assert recommend(session=session, user_id=b).empty
    # Another user's reaction on a's tip is refused and changes nothing.
    with pytest.raises(feedback.TipNotFound):
        feedback.record(session=session, user_id=b, tip_id=tip.tip_id, reaction="done", idempotency_key="k1")
    assert feedback.record(
        session=session, user_id=a, tip_id=tip.tip_id, reaction="done", idempotency_key="k1"
    )
    open_ids = {t.id for t in session.exec(select(Task).where(Task.user_id == a, Task.completed_at == None))}  # noqa: E711
    assert tip.task_id not in open_ids
    nxt = recommend(session=session, user_id=a)
    feedback.record(session=session, user_id=a, tip_id=nxt.tip_id, reaction="snooze", idempotency_key="k2")
    assert nxt.task_id not in {recommend(session=session, user_id=a).task_id for _ in range(5)}
