"""Learned push timing end to end: calendar (fake FreeBusy), hard rules, decision log, rewards, the pushed tip.

Rounds run against the local push service (VAPID verified, bodies decrypted) and the fake Google
Calendar in standalone mode (its own token endpoint). The timing model's uniform draws are given
explicitly (``draw``), so each test knows whether the model's sample says send.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from oo import db, singletons
from oo.http.app import create_api
from oo.integrations.webpush import WebPushSender
from oo.models import Integration, ModelState, PushDecision, TipFeedback, TipView
from oo.recommender import timing
from oo.services.accounts import sessions as accounts
from oo.services.platform.keyring import keyring
from oo.services.push import calendar
from oo.services.push import delivery as push_delivery
from oo.services.push import opened as pushed
from oo.services.push import subscriptions as push
from oo.services.sources import catalog as sources
from oo.services.tips import serving as tips
from tests.fakes.google_calendar import FakeGoogleCalendarServer
from tests.fakes.push_service import FakePushService

NOON = datetime(2026, 11, 26, 12, tzinfo=UTC)  # a Thursday; the users live in UTC
ALWAYS, NEVER = (lambda: 0.0), (lambda: 0.999)
CLIENT_ID, CLIENT_SECRET = "cal-client", "cal-secret"

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def gcal():
    with FakeGoogleCalendarServer(CLIENT_ID, CLIENT_SECRET) as server:
        yield server


@pytest.fixture
def service():
    with FakePushService() as svc:
        yield svc


@pytest.fixture
def world(app_env, make_tables, monkeypatch, service, gcal):
    for key, value in {
        "OO_PUSH_ALLOWED_HOSTS": service.origin,
        "OO_PUSH_DAILY_CAP": "3",
        "OO_GOOGLE_CLIENT_ID": CLIENT_ID,
        "OO_GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
        "OO_GOOGLE_DISCOVERY_URL": gcal.discovery_url,
        "OO_GOOGLE_CALENDAR_API_URL": gcal.api_url,
        "OO_GOOGLE_CALENDAR_CACHE_SECONDS": "0",
    }.items():
        monkeypatch.setenv(key, value)
    singletons.reset()
    make_tables()
    calendar.clear_cache()
    gcal.fake.busy.clear()
    gcal.fake.requests.clear()
    gcal.fake._faults.clear()  # an earlier test's unused injected failures
    keys = push.vapid_keys()
    service.expected_key = keys.public_key
    return keys


def new_user(service, gcal=None, *, calendar_subject: str | None = None) -> tuple[int, dict]:
    with Session(db.get_engine()) as s:
        user_id = accounts.create_demo_user(session=s).id
        sources.connect_demo(session=s, user_id=user_id)
        sub = service.new_subscription()
        push.subscribe(session=s, user_id=user_id, data=sub)
    if calendar_subject:
        connect_calendar(gcal, user_id, calendar_subject)
    return user_id, sub


def connect_calendar(gcal, user_id: int, subject: str) -> None:
    """A stored grant as the OAuth callback leaves it (the access token already expired)."""
    refresh = gcal.fake.issue_refresh_token(subject)
    blob = keyring().encrypt(json.dumps({"refresh_token": refresh, "access_token": "x", "expires_at": 0}))
    with Session(db.get_engine()) as s:
        s.add(Integration(user_id=user_id, provider=calendar.PROVIDER, credentials=blob, status="connected"))
        s.commit()


async def round_at(keys, now, draw=ALWAYS):
    async with WebPushSender(
        keys.private_key, "mailto:ops@oo.test", allowed_hosts=push.allowed_hosts()
    ) as sender:
        return await push_delivery.run_round(sender=sender, now=now, draw=draw)


def decisions(user_id: int) -> list[PushDecision]:
    with Session(db.get_engine()) as s:
        return list(
            s.exec(
                select(PushDecision).where(PushDecision.user_id == user_id).order_by(PushDecision.id)
            ).all()
        )


def pushes(user_id: int) -> list[TipView]:
    with Session(db.get_engine()) as s:
        return list(
            s.exec(select(TipView).where(TipView.user_id == user_id, TipView.channel == "push")).all()
        )


async def test_a_new_user_with_a_free_calendar_gets_the_first_push_at_the_first_round(world, service, gcal):
    user_id, sub = new_user(service, gcal, calendar_subject="sub-free")
    stats = await round_at(world, NOON, draw=NEVER)  # whatever the model would sample
    assert stats.sent == 1
    [d] = decisions(user_id)
    assert d.send and d.reason == "first" and d.probability == 1.0 and d.delivered is True
    ctx = json.loads(d.context)
    assert ctx["raw"]["calendar_known"] is True and len(ctx["x"]) == timing.DIM
    [msg] = service.messages(service.sub_id(sub))
    assert msg.payload["url"] == f"/tip?tip={d.tip_id}" and msg.payload["ref"].startswith(d.tip_id)


async def test_no_push_while_busy_and_the_first_push_when_free(world, service, gcal):
    user_id, _ = new_user(service, gcal, calendar_subject="sub-busy")
    gcal.fake.set_busy("sub-busy", [(NOON - timedelta(minutes=30), NOON + timedelta(minutes=45))])
    stats = await round_at(world, NOON)
    assert stats.sent == 0 and stats.skipped["busy"] == 1 and not decisions(user_id)
    stats = await round_at(world, NOON + timedelta(minutes=50))
    assert stats.sent == 1 and decisions(user_id)[0].reason == "first"


async def test_an_unreadable_calendar_counts_as_unknown_and_never_breaks_the_round(world, service, gcal):
    user_id, _ = new_user(service, gcal, calendar_subject="sub-down")
    new_user(service)
    gcal.fake.fail_next(10, 503)
    stats = await round_at(world, NOON)
    assert stats.sent == 2 and stats.skipped == {}
    [d] = decisions(user_id)
    assert json.loads(d.context)["raw"]["calendar_known"] is False


async def test_minimum_gap_and_a_logged_not_now(world, service):
    user_id, _ = new_user(service)
    await round_at(world, NOON)
    stats = await round_at(world, NOON + timedelta(minutes=89))
    assert stats.skipped["gap"] == 1
    stats = await round_at(world, NOON + timedelta(minutes=91), draw=NEVER)
    assert stats.skipped["wait"] == 1
    _, wait = decisions(user_id)
    assert not wait.send and wait.reason == "model" and timing.P_MIN <= wait.probability <= timing.P_MAX
    assert wait.tip_id is None
    stats = await round_at(world, NOON + timedelta(minutes=100))  # a new decision only after the spacing
    assert stats.skipped["spacing"] == 1 and len(decisions(user_id)) == 2


async def test_a_later_users_failure_keeps_the_earlier_not_now_decisions(world, service, monkeypatch):
    first, _ = new_user(service)
    second, _ = new_user(service)
    assert first < second  # decided in this order within the batch
    await round_at(world, NOON)
    context = push_delivery.push_timing.context

    def failing_for_second(*, user, **kw):
        if user.id == second:
            raise RuntimeError("boom")
        return context(user=user, **kw)

    monkeypatch.setattr(push_delivery.push_timing, "context", failing_for_second)
    stats = await round_at(world, NOON + timedelta(minutes=91), draw=NEVER)
    assert stats.skipped["wait"] == 1 and stats.skipped["error"] == 1
    _, wait = decisions(first)  # the rollback for the second user did not take it away
    assert not wait.send and wait.reason == "model"
    assert len(decisions(second)) == 1


async def test_quiet_hours_hold_above_the_model(world, service):
    new_user(service)
    stats = await round_at(world, datetime(2026, 11, 26, 23, tzinfo=UTC))
    assert stats.sent == 0 and stats.skipped["quiet"] == 1


async def test_no_calendar_is_read_for_a_user_in_quiet_hours(world, service, gcal):
    new_user(service, gcal, calendar_subject="sub-asleep")
    stats = await round_at(world, datetime(2026, 11, 26, 23, tzinfo=UTC))
    assert stats.skipped["quiet"] == 1 and not gcal.fake.requests
    stats = await round_at(world, NOON)
    assert stats.sent == 1 and gcal.fake.requests["freeBusy"] == 1


async def test_no_calendar_is_read_for_a_user_whom_the_gap_or_the_spacing_excludes(world, service, gcal):
    user_id, _ = new_user(service, gcal, calendar_subject="sub-gap")
    await round_at(world, NOON)
    assert gcal.fake.requests["freeBusy"] == 1
    stats = await round_at(world, NOON + timedelta(minutes=89))  # within the minimum gap
    assert stats.skipped["gap"] == 1 and gcal.fake.requests["freeBusy"] == 1
    stats = await round_at(world, NOON + timedelta(minutes=91), draw=NEVER)  # read, then "not now"
    assert stats.skipped["wait"] == 1 and gcal.fake.requests["freeBusy"] == 2
    stats = await round_at(world, NOON + timedelta(minutes=100))  # within the decision spacing
    assert stats.skipped["spacing"] == 1 and gcal.fake.requests["freeBusy"] == 2
    assert len(decisions(user_id)) == 2


async def test_a_reaction_to_the_pushed_tip_teaches_the_timing_model(world, service):
    user_id, _ = new_user(service)
    await round_at(world, NOON)
    [d] = decisions(user_id)
    opened = await pushed.open_tip(user_id=user_id, tip_id=d.tip_id)
    assert opened.tip.tip_id == d.tip_id  # /tip?tip=<id> shows that very tip
    await tips.react(user_id=user_id, reaction="done", key="k-done", tip_ref=opened.ref, channel="push")
    await round_at(world, NOON + timedelta(minutes=95), draw=NEVER)
    d = decisions(user_id)[0]
    assert d.settled_at is not None and d.reward == 1.0 and d.reaction == "done" and d.reacted_via == "page"
    assert d.opened_at is not None
    with Session(db.get_engine()) as s:
        state = s.exec(
            select(ModelState).where(ModelState.user_id == user_id, ModelState.policy_key == timing.KEY)
        ).one()
    assert state.updates == 1


async def test_an_ignored_push_costs_a_little_once_it_expires(world, service):
    user_id, _ = new_user(service)
    await round_at(world, NOON)
    await round_at(world, NOON + timedelta(hours=2), draw=NEVER)
    assert decisions(user_id)[0].settled_at is None  # still live: it may yet be answered
    await round_at(world, NOON + timedelta(hours=4, minutes=1), draw=NEVER)
    d = decisions(user_id)[0]
    assert d.settled_at is not None and d.reward == timing.IGNORE_COST and d.opened_at is None


async def test_opening_a_finished_or_foreign_tip_shows_the_next_pick(world, service):
    user_id, _ = new_user(service)
    other, _ = new_user(service)
    await round_at(world, NOON)
    tip_id = pushes(user_id)[0].id
    foreign = await pushed.open_tip(user_id=other, tip_id=tip_id)
    assert foreign.tip.tip_id != tip_id
    assert decisions(user_id)[0].opened_at is None  # someone else's open does not count
    shown = await pushed.open_tip(user_id=user_id, tip_id=tip_id)
    await tips.react(user_id=user_id, reaction="done", key="k1", tip_ref=shown.ref, channel="push")
    again = await pushed.open_tip(user_id=user_id, tip_id=tip_id)
    assert again.tip.tip_id != tip_id
    junk = await pushed.open_tip(user_id=user_id, tip_id="../../etc")
    assert junk.tip.tip_id not in (None, tip_id)


async def test_done_from_the_notification_is_recorded_once_on_the_pushed_tip(world, service):
    user_id, sub = new_user(service)
    with Session(db.get_engine()) as s:
        token = accounts.create_session(session=s, user_id=user_id, days=1)
    await round_at(world, NOON)
    [msg] = service.messages(service.sub_id(sub))
    body = {
        "ref": msg.payload["ref"],
        "reaction": "done",
        "idempotency_key": f"push-{msg.payload['tip_id']}-done",
    }
    headers = {"cookie": f"oo_session={token}", "origin": "http://testserver"}

    def post(json_body, hdrs=headers):
        with TestClient(create_api(), base_url="http://testserver") as client:
            return client.post("/api/v1/push/react", json=json_body, headers=hdrs)

    r = await asyncio.to_thread(post, body)
    assert r.status_code == 201 and r.json()["tip_id"] == msg.payload["tip_id"]
    assert (await asyncio.to_thread(post, body)).status_code == 200  # the same press again
    with Session(db.get_engine()) as s:
        [fb] = s.exec(select(TipFeedback).where(TipFeedback.user_id == user_id)).all()
        view = s.get(TipView, msg.payload["tip_id"])
    assert fb.reaction == "done" and view.channel == "push" and view.reaction == "done"
    d = decisions(user_id)[0]
    assert d.reacted_via == "notification" and d.reaction == "done"
    no_cookie = {"origin": "http://testserver"}
    assert (await asyncio.to_thread(post, body, no_cookie)).status_code == 401
    cross = {**headers, "origin": "https://evil.example"}
    assert (await asyncio.to_thread(post, body, cross)).status_code == 403
    bad = {**body, "reaction": "dismiss"}
    assert (await asyncio.to_thread(post, bad)).status_code == 422
