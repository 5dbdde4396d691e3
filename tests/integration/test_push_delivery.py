"""Decide and deliver against the local push service: VAPID, encryption, quiet hours, cap, dedupe, 410."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from oo import db, singletons
from oo.integrations.webpush import WebPushSender
from oo.models import PushSubscription, TipView
from oo.services.accounts import sessions as accounts
from oo.services.push import delivery as push_delivery
from oo.services.push import subscriptions as push
from oo.services.sources import catalog as sources
from tests.fakes.push_service import FakePushService

NOON = datetime(2026, 11, 26, 12, tzinfo=UTC)

pytestmark = pytest.mark.anyio


@pytest.fixture
def service():
    with FakePushService() as svc:
        yield svc


@pytest.fixture
def world(app_env, make_tables, monkeypatch, service):
    monkeypatch.setenv("OO_PUSH_ALLOWED_HOSTS", service.origin)
    monkeypatch.setenv("OO_PUSH_DAILY_CAP", "3")
    singletons.reset()
    make_tables()
    keys = push.vapid_keys()
    service.expected_key = keys.public_key
    with Session(db.get_engine()) as s:
        user_id = accounts.create_demo_user(session=s).id
        sources.connect_demo(session=s, user_id=user_id)
        sub = service.new_subscription()
        push.subscribe(session=s, user_id=user_id, data=sub)
    return user_id, sub, keys


async def round_at(keys, now, draw=lambda: 0.0):
    """One round; by default every timing-model draw falls below its probability (send)."""
    async with WebPushSender(
        keys.private_key, "mailto:ops@oo.test", allowed_hosts=push.allowed_hosts()
    ) as sender:
        return await push_delivery.run_round(sender=sender, now=now, draw=draw)


def views(user_id: int, channel: str = "push") -> list[TipView]:
    with Session(db.get_engine()) as s:
        return s.exec(select(TipView).where(TipView.user_id == user_id, TipView.channel == channel)).all()


async def test_a_push_is_a_decrypted_tip_with_vapid_ttl_urgency_topic(world, service):
    user_id, sub, keys = world
    stats = await round_at(keys, NOON)
    assert stats.sent == 1
    [msg] = service.messages(service.sub_id(sub))
    [view] = views(user_id)
    assert (
        msg.payload["tip_id"] == view.id
        and msg.payload["url"] == f"/tip?tip={view.id}"
        and msg.payload["body"]
    )
    assert [a["action"] for a in msg.payload["actions"]] == ["done", "snooze"]
    assert msg.ttl == push_delivery.PUSH_TTL and msg.urgency == "normal" and msg.topic == msg.payload["tag"]
    assert msg.claims["sub"] == "mailto:ops@oo.test" and msg.claims["aud"] == service.origin


async def test_the_shadow_policies_of_a_push_are_scored_and_logged_after_the_batch(world, service):
    from oo.models import TipScore
    from oo.services.tips import shadows

    user_id, _, keys = world
    assert (await round_at(keys, NOON)).sent == 1
    assert shadows.drain(10.0)
    [view] = views(user_id)
    with Session(db.get_engine()) as s:
        roles = s.exec(select(TipScore.role).where(TipScore.tip_id == view.id)).all()
    assert roles.count("active") == 1 and roles.count("shadow") >= 2, roles


async def test_cap_dedupe_and_topic_replacement(world, service, monkeypatch):
    monkeypatch.setenv("OO_PUSH_MIN_GAP_MINUTES", "0")
    singletons.reset()
    user_id, sub, keys = world
    for i in range(4):
        await round_at(keys, NOON + timedelta(minutes=31 * i))
    pushed = views(user_id)
    assert len(pushed) == 3, "the daily cap holds"
    assert len({v.task_id for v in pushed}) == 3, "never the same task twice within 24 h"
    sid = service.sub_id(sub)
    assert len(service.messages(sid)) == 3
    assert len(service.pending(sid)) == 1, "a newer push replaces the undelivered older one (Topic)"


async def test_quiet_hours_in_the_users_zone(world, service):
    _, sub, keys = world
    stats = await round_at(keys, datetime(2026, 11, 26, 23, tzinfo=UTC))
    assert stats.sent == 0 and stats.skipped["quiet"] == 1
    assert not service.messages(service.sub_id(sub))


async def test_gone_subscription_is_deleted(world, service):
    user_id, sub, keys = world
    service.set_status(service.sub_id(sub), 410)
    await round_at(keys, NOON)
    with Session(db.get_engine()) as s:
        assert not s.exec(select(PushSubscription)).all()
    assert not views(user_id) and len(views(user_id, "push_failed")) == 1


async def test_transient_failure_is_retried_next_round(world, service):
    user_id, sub, keys = world
    service.set_status(service.sub_id(sub), 500)
    await round_at(keys, NOON)
    assert not views(user_id)
    service.set_status(service.sub_id(sub), None)
    stats = await round_at(keys, NOON + timedelta(minutes=31))  # the next decision point
    assert stats.sent == 1 and len(views(user_id)) == 1
