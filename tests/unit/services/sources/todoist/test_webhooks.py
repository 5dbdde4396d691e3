"""Webhook rules on the database: replays, user routing, and which completions are delayed rewards."""

from __future__ import annotations

from datetime import timedelta

import pytest

from oo.bus import TASK_COMPLETED
from oo.models import Integration, SourceAction, TipView, User, utcnow
from oo.services.sources.todoist import webhooks as wh


@pytest.fixture
def user_id(session) -> int:
    user = User(name="Ada")
    session.add(user)
    session.commit()
    session.add(Integration(user_id=user.id, provider="todoist", external_user_id="2671355"))
    session.commit()
    return user.id


def shown(session, user_id: int, external_id: str, ago: timedelta, task_id: int = 7) -> TipView:
    tip = TipView(
        id=f"tip{external_id}",
        user_id=user_id,
        task_id=task_id,
        source="todoist",
        external_id=external_id,
        policy="random",
        served_at=utcnow() - ago,
    )
    session.add(tip)
    session.commit()
    return tip


def test_a_delivery_is_claimed_once(session, user_id):
    assert wh.claim_delivery(session=session, key="d-1", event_name="item:added", user_id=user_id)
    assert not wh.claim_delivery(session=session, key="d-1", event_name="item:added", user_id=user_id)
    assert wh.claim_delivery(session=session, key="d-2", event_name="item:added", user_id=None)


def test_deliveries_route_to_the_users_who_connected_that_todoist_account(session, user_id):
    assert wh.users_of(session=session, external_user_id="2671355") == [user_id]
    assert wh.users_of(session=session, external_user_id="999") == []


def test_completing_a_recent_tip_is_a_delayed_reward(session, user_id):
    shown(session, user_id, "T1", timedelta(days=2), task_id=42)
    event = wh.completion_event(session=session, user_id=user_id, external_id="T1", key="d-9", now=utcnow())
    assert event is not None and event.subject == TASK_COMPLETED and event.user_id == user_id
    assert event.data == {"source": "todoist", "task_id": "42", "external": True, "delivery_id": "d-9"}


def test_old_tips_and_tasks_never_shown_are_not_rewarded(session, user_id):
    shown(session, user_id, "OLD", timedelta(days=8))
    for external_id in ("OLD", "NEVER"):
        assert (
            wh.completion_event(
                session=session, user_id=user_id, external_id=external_id, key="k", now=utcnow()
            )
            is None
        )


def test_our_own_close_after_a_done_is_not_rewarded_twice(session, user_id):
    shown(session, user_id, "T2", timedelta(hours=1))
    session.add(SourceAction(user_id=user_id, source="todoist", external_id="T2", status="done"))
    session.commit()
    assert (
        wh.completion_event(session=session, user_id=user_id, external_id="T2", key="k", now=utcnow()) is None
    )


def test_delivery_key_falls_back_to_a_body_hash():
    assert wh.delivery_key("abc", b"x") == "abc"
    hashed = wh.delivery_key(None, b"x")
    assert hashed.startswith("sha256:") and hashed == wh.delivery_key("x" * 500, b"x")
    assert wh.delivery_key("bad\nid", b"x") == hashed
