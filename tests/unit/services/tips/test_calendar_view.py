"""The pick reads the calendar from the busy cache only: known on a hit, unknown (and a prefetch) on a miss."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from oo.integrations.google_calendar import Busy
from oo.models import Task, TipScore
from oo.services.accounts import sessions as accounts
from oo.services.sources import catalog as sources
from oo.services.tips import calendar_view
from oo.services.tips.recommend import recommend as pick

pytestmark = pytest.mark.usefixtures("generous_budget")
NOW = datetime(2026, 3, 11, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def empty_cache():
    calendar_view.cache.clear()
    yield
    calendar_view.cache.clear()
    calendar_view.set_refresher(None)


def test_a_miss_is_unknown_and_asks_for_a_background_read():
    asked: list[int] = []
    calendar_view.set_refresher(asked.append)
    assert calendar_view.read(7, NOW) == {"calendar_known": False}
    assert asked == [7]
    calendar_view.cache[7] = (time.monotonic() - 1, [])  # expired: a miss too
    assert calendar_view.read(7, NOW) == {"calendar_known": False} and asked == [7, 7]


def test_a_hit_gives_the_free_minutes_and_a_refresher_that_fails_is_harmless():
    calendar_view.cache[7] = (
        time.monotonic() + 60,
        [Busy(NOW + timedelta(minutes=20), NOW + timedelta(hours=1))],
    )
    assert calendar_view.read(7, NOW) == {"calendar_known": True, "busy_now": False, "free_minutes": 20.0}
    assert calendar_view.read(7, NOW + timedelta(minutes=30))["busy_now"] is True
    calendar_view.cache[8] = (time.monotonic() + 60, None)  # connected but unreadable
    assert calendar_view.read(8, NOW) == {"calendar_known": False}

    def broken(user_id: int) -> None:
        raise RuntimeError("no loop")

    calendar_view.set_refresher(broken)
    assert calendar_view.read(9, NOW) == {"calendar_known": False}


def _shadow_features(session, tip_id: str) -> dict:
    row = session.exec(select(TipScore).where(TipScore.tip_id == tip_id, TipScore.policy_version == 6)).one()
    assert row.policy == "linucb" and row.role == "shadow"
    return json.loads(row.features)


def test_the_pick_logs_the_calendar_for_the_shadow_and_never_waits(session):
    user = accounts.create_demo_user(session=session)
    sources.connect_demo(session=session, user_id=user.id)
    assert all(t.length_minutes is None or t.length_minutes > 0 for t in session.exec(select(Task)).all())
    assert any(t.length_minutes for t in session.exec(select(Task)).all()), "demo tasks get a length"
    unknown = _shadow_features(session, pick(session=session, user_id=user.id, now=NOW).tip_id)
    assert unknown["cal_known"] == 0.0 and unknown["short_slot"] == 0.0
    slot = [Busy(NOW + timedelta(minutes=25), NOW + timedelta(hours=2))]
    calendar_view.cache[user.id] = (time.monotonic() + 60, slot)
    known = _shadow_features(session, pick(session=session, user_id=user.id, now=NOW).tip_id)
    assert known["cal_known"] == 1.0 and known["short_slot"] == 1.0 and known["busy_now"] == 0.0
