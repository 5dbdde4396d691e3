"""The close-at-source outbox: which actions are due, atomic claims, outcomes and backoff (SQLite)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlmodel import select

from oo.models import Integration, SourceAction, User, utcnow
from oo.services.sources import actions as sa


@pytest.fixture
def user_id(session) -> int:
    user = User(name="Ada")
    session.add(user)
    session.commit()
    session.add(Integration(user_id=user.id, provider="todoist", status="connected", credentials="x"))
    session.commit()
    return user.id


def action(session, user_id: int, **fields) -> SourceAction:
    row = SourceAction(
        user_id=user_id, source="todoist", external_id=fields.pop("external_id", "t1"), **fields
    )
    session.add(row)
    session.commit()
    return row


def test_due_actions_are_pending_todoist_closes_of_connected_users(session, user_id):
    now = utcnow()
    due = action(session, user_id)
    action(session, user_id, external_id="later", next_attempt_at=now + timedelta(minutes=5))
    action(session, user_id, external_id="done", status="done")
    session.add(SourceAction(user_id=user_id, source="elsewhere", external_id="x"))
    session.commit()
    assert sa.due_action_ids(session=session, now=now + timedelta(seconds=1)) == [due.id]
    integration = session.exec(select(Integration)).one()
    integration.status = "needs_reconnect"
    session.add(integration)
    session.commit()
    assert sa.due_action_ids(session=session, now=now + timedelta(seconds=1)) == []


def test_a_claim_is_won_once_and_leases_the_action(session, user_id):
    row = action(session, user_id)
    now = utcnow() + timedelta(seconds=1)
    won = sa.claim(session=session, action_id=row.id, now=now)
    assert (
        won is not None and won.attempts == 1 and won.next_attempt_at >= now + sa.LEASE - timedelta(seconds=1)
    )
    assert sa.claim(session=session, action_id=row.id, now=now) is None
    assert sa.due_action_ids(session=session, now=now) == []


def test_outcomes(session, user_id):
    now = utcnow() + timedelta(seconds=1)
    ok = sa.claim(session=session, action_id=action(session, user_id, external_id="a").id, now=now)
    sa.finish(session=session, action=ok, outcome="done")
    assert ok.status == "done" and ok.last_error is None
    waiting = sa.claim(session=session, action_id=action(session, user_id, external_id="b").id, now=now)
    sa.finish(session=session, action=waiting, outcome="wait", error="refused")
    assert waiting.status == "pending" and waiting.attempts == 0  # an auth refusal is not an attempt
    retry = sa.claim(session=session, action_id=action(session, user_id, external_id="c").id, now=now)
    sa.finish(session=session, action=retry, outcome="retry", error="HTTP 503")
    assert retry.status == "pending" and retry.next_attempt_at > utcnow() and retry.last_error == "HTTP 503"


def test_gives_up_after_max_attempts(session, user_id):
    row = action(session, user_id, attempts=sa.MAX_ATTEMPTS - 1)
    claimed = sa.claim(session=session, action_id=row.id, now=utcnow() + timedelta(seconds=1))
    sa.finish(session=session, action=claimed, outcome="retry", error="still failing")
    assert claimed.status == "failed" and claimed.attempts == sa.MAX_ATTEMPTS


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(1)
    delays = [sa.backoff(n, rng) for n in range(1, 12)]
    for n, delay in enumerate(delays, 1):
        full = min(sa.BACKOFF_CAP, sa.BACKOFF_BASE * 2 ** (n - 1))
        assert full * 0.5 <= delay <= full
    assert delays[4] > delays[0] and delays[-1] >= sa.BACKOFF_CAP * 0.5
    assert len({round(d.total_seconds(), 3) for d in delays[:3]}) == 3


def test_actions_of_users_without_todoist_fail_with_a_reason(session, user_id):
    row = action(session, user_id)
    session.delete(session.exec(select(Integration)).one())
    session.commit()
    assert sa.fail_orphans(session=session) == 1
    session.refresh(row)
    assert row.status == "failed" and "not connected" in row.last_error
