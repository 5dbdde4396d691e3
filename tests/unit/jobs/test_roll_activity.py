"""The hourly job rolls up the days that are over, so the console's first Overview does not have to."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from sqlmodel import select

from oo.jobs import roll_activity
from oo.models import ActiveDay, ActiveDayRollup, TipView, User, utcnow
from oo.services.admin import activity


@pytest.mark.anyio
async def test_the_job_rolls_the_last_35_days_that_are_over_once(app_session):
    user = User(name="seen")
    app_session.add(user)
    app_session.commit()
    now = utcnow()
    for days_ago in (0, 3, 40):  # today: still live; 3 days ago: rolled; 40 days ago: outside the job's reach
        app_session.add(
            TipView(
                id=uuid4().hex, user_id=user.id, policy="linucb", served_at=now - timedelta(days=days_ago)
            )
        )
    app_session.commit()
    first = await roll_activity.run()
    # 35 days before today's midnight up to the last midnight a grace ago: 34 or 35 days.
    expected = activity.ROLL_DAYS - (1 if now - activity._midnight(now) < activity.GRACE else 0)
    assert first == {"days": expected}
    app_session.expire_all()
    rolled = app_session.exec(select(ActiveDay)).all()
    assert [r.day for r in rolled] == [(now - timedelta(days=3)).strftime("%Y-%m-%d")]
    assert len(app_session.exec(select(ActiveDayRollup)).all()) == expected
    assert await roll_activity.run() == {"days": 0}
