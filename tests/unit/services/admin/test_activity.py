"""The daily activity rollup: days that are over are grouped once and then read instead of events.

Hand-built activity (N = "now" = 2026-03-05 09:00 UTC; days are UTC):

- ann  web tip 03-01 08:00, own reaction 03-01 21:00, web tip 03-04 10:00, web tip today 08:30.
- ben  API tip 03-02 23:50; a push that failed 03-03 (not activity); reaction from a webhook
       03-03 (not activity).
- cat  web tip 03-03 01:00 and 03-03 23:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlmodel import select

from oo.models import ActiveDay, ActiveDayRollup, TipFeedback, TipView, User
from oo.services.admin import activity
from oo.services.admin import metrics as m
from oo.services.privacy import deletion

N = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def _tip(session, uid: int, when: datetime, channel: str = "web") -> str:
    tip_id = uuid4().hex
    session.add(TipView(id=tip_id, user_id=uid, task_id=1, channel=channel, policy="linucb", served_at=when))
    session.flush()
    return tip_id


def _react(session, uid: int, tip_id: str, when: datetime, origin: str = "user") -> None:
    session.add(
        TipFeedback(
            tip_id=tip_id,
            user_id=uid,
            reaction="done",
            reward=1.0,
            idempotency_key=uuid4().hex,
            origin=origin,
            created_at=when,
        )
    )


@pytest.fixture
def people(session) -> dict[str, int]:
    ids = {}
    for name in ("ann", "ben", "cat"):
        user = User(name=name, created_at=at(1, 0))
        session.add(user)
        session.commit()
        ids[name] = user.id
    ann, ben, cat = ids["ann"], ids["ben"], ids["cat"]
    _react(session, ann, _tip(session, ann, at(1, 8)), at(1, 21))
    _tip(session, ann, at(4, 10))
    _tip(session, ann, at(5, 8, 30))
    _tip(session, ben, at(2, 23, 50), channel="api")
    _react(session, ben, _tip(session, ben, at(3, 5), channel="push_failed"), at(3, 6), origin="webhook")
    _tip(session, cat, at(3, 1))
    _tip(session, cat, at(3, 23))
    session.commit()
    return ids


def test_days_that_are_over_are_rolled_up_once_with_each_persons_last_activity(session, people):
    ann, ben, cat = people["ann"], people["ben"], people["cat"]
    assert activity.ensure_rolled(session, at(1, 0), at(5, 0)) == 4  # 03-01 .. 03-04
    got = {(r.day, r.user_id): r.last_at for r in session.exec(select(ActiveDay))}
    assert got == {
        ("2026-03-01", ann): at(1, 21),  # the reaction after the tip
        ("2026-03-02", ben): at(2, 23, 50),
        ("2026-03-03", cat): at(3, 23),  # ben's failed push and webhook reward are not activity
        ("2026-03-04", ann): at(4, 10),
    }
    assert activity.ensure_rolled(session, at(1, 0), at(5, 0)) == 0  # never twice


def test_a_day_another_worker_marked_is_left_to_it(session, people):
    session.add(ActiveDayRollup(day="2026-03-02"))
    session.commit()
    assert activity.ensure_rolled(session, at(2, 0), at(4, 0)) == 1  # only 03-03
    assert {r.day for r in session.exec(select(ActiveDay))} == {"2026-03-03"}


def test_the_span_stops_at_the_last_midnight_a_grace_ago_and_at_until():
    assert activity.rolled_span(at(1, 12), None, N) == (at(1, 0), at(5, 0))
    # Five minutes after midnight, yesterday is still read live (late writes are landing).
    assert activity.rolled_span(at(1, 12), None, at(5, 0, 5)) == (at(1, 0), at(4, 0))
    assert activity.rolled_span(at(1, 12), at(3, 12), N) == (at(1, 0), at(3, 0))
    assert activity.rolled_span(at(4, 12), None, at(4, 20)) is None


def test_rolled_and_live_halves_count_as_the_events_do(session, people, monkeypatch):
    monkeypatch.setattr(activity, "utcnow", lambda: N)
    since = at(1, 12)  # ann's 03-01 tip at 08:00 is before it, her 21:00 reaction after it
    daily, (last_day, since_3rd) = m.activity(
        session=session, since=since, marks=(N - timedelta(days=1), at(3, 0))
    )
    assert daily == {"2026-03-01": 1, "2026-03-02": 1, "2026-03-03": 1, "2026-03-04": 1, "2026-03-05": 1}
    assert last_day == 1  # ann (03-04 10:00, today 08:30)
    assert since_3rd == 2  # cat (03-03) and ann (03-04, today); ben's 03-03 rows are no activity
    assert session.exec(select(ActiveDayRollup)).all(), "the days that are over were rolled up"
    # A tip shown today after the first read is counted at once (today is live).
    _tip(session, people["ben"], at(5, 8, 59))
    session.commit()
    daily, (last_day,) = m.activity(session=session, since=since, marks=(N - timedelta(days=1),))
    assert daily["2026-03-05"] == 2 and last_day == 2


def test_a_window_that_starts_mid_day_counts_only_activity_after_its_start(session, people, monkeypatch):
    monkeypatch.setattr(activity, "utcnow", lambda: N)
    # 03-03 from 12:00: cat's 23:00 tip counts, her 01:00 tip alone would not.
    assert m.daily_active(session=session, since=at(3, 12), until=at(4, 0)) == {"2026-03-03": 1}
    assert m.daily_active(session=session, since=at(3, 23, 30), until=at(4, 0)) == {}  # all before it
    assert m.active_users(session=session, since=at(3, 2), until=at(3, 22)) == 0  # live: no rolled day fits


def test_deleting_an_account_removes_its_rolled_days(session, people):
    activity.ensure_rolled(session, at(1, 0), at(5, 0))
    deletion.purge(session=session, user_id=people["ann"])
    session.commit()
    assert {r.user_id for r in session.exec(select(ActiveDay))} == {people["ben"], people["cat"]}


def test_the_hourly_roll_removes_a_day_that_raced_an_account_deletion(session, people):
    """A rollup that read ann's events just before her deletion committed its row just after it."""
    activity.ensure_rolled(session, at(1, 0), at(5, 0))
    ann = session.get(User, people["ann"])
    ann.deleted_at = N
    session.add(ann)
    session.commit()
    activity.roll_recent(session=session, now=N)
    assert people["ann"] not in {r.user_id for r in session.exec(select(ActiveDay))}
    assert {r.user_id for r in session.exec(select(ActiveDay))} == {people["ben"], people["cat"]}
