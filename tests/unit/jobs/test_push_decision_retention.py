"""push_decision retention: the purge job deletes decisions past OO_PUSH_DECISION_RETENTION_DAYS; deleting an account deletes them all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from oo import singletons
from oo.jobs import purge_logs
from oo.models import PushDecision, User, utcnow
from oo.services.platform import retention
from oo.services.privacy import deletion


def _user_with_decisions(session, *days_ago: int) -> int:
    user = User(name="pushed")
    session.add(user)
    session.commit()
    now = utcnow()
    for days in days_ago:
        session.add(
            PushDecision(user_id=user.id, decided_at=now - timedelta(days=days, minutes=1), send=True)
        )
    session.commit()
    return user.id


def _ages(session) -> list[int]:
    now = utcnow()
    return sorted(
        round((now - d.decided_at).total_seconds() / 86400) for d in session.exec(select(PushDecision))
    )


@pytest.mark.anyio
async def test_the_purge_job_keeps_90_days_of_push_decisions_by_default(app_session):
    _user_with_decisions(app_session, 0, 30, 89, 91, 400)
    result = await purge_logs.run()
    assert result["push_decision"] == 2
    app_session.expire_all()
    assert _ages(app_session) == [0, 30, 89]
    assert (await purge_logs.run())["push_decision"] == 0


@pytest.mark.anyio
async def test_the_window_is_a_setting(app_session, monkeypatch):
    _user_with_decisions(app_session, 0, 8, 30)
    monkeypatch.setenv("OO_PUSH_DECISION_RETENTION_DAYS", "7")
    singletons.reset()
    assert (await purge_logs.run())["push_decision"] == 2
    app_session.expire_all()
    assert _ages(app_session) == [0]


def test_retention_counts_and_cutoff(session):
    _user_with_decisions(session, 1, 100)
    assert retention.purge_push_decisions(session=session, now=utcnow(), days=90) == {"push_decision": 1}
    assert retention.purge_push_decisions(session=session, days=0) == {"push_decision": 1}
    assert session.exec(select(PushDecision)).all() == []


def test_account_deletion_removes_the_users_push_decisions(session):
    gone = _user_with_decisions(session, 0, 2)
    kept = _user_with_decisions(session, 1)
    deletion.purge(session=session, user_id=gone)
    left = session.exec(select(PushDecision)).all()
    assert [d.user_id for d in left] == [kept]
