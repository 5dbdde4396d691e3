"""Advice performance for the console: per piece and per tag, intervals, low performers flagged first."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from oo.models import TipView, utcnow
from oo.services.accounts import sessions as accounts
from oo.services.admin import advice_performance
from oo.services.admin.inputs import AdminInputError
from oo.services.advice import library


def shown(session, user_id: int, key: str, reactions: list[str | None], days_ago: int = 1) -> None:
    for reaction in reactions:
        session.add(
            TipView(
                id=uuid.uuid4().hex, user_id=user_id, source="advice", external_id=key, kind="advice",
                policy="kindmix", served_at=utcnow() - timedelta(days=days_ago), reaction=reaction,
            )
        )  # fmt: skip
    session.commit()


def test_a_mostly_dismissed_piece_is_flagged_low_and_listed_first(session):
    library.seed(session=session)
    uid = accounts.create_demo_user(session=session).id
    shown(session, uid, "b003", ["dismiss"] * 8 + ["done"] * 3 + [None] * 4)
    shown(session, uid, "m001", ["done"] * 9 + ["helpful"] * 3)
    shown(session, uid, "r001", ["dismiss"] * 5, days_ago=40)  # outside the window
    report = advice_performance.report(session=session, days=30)
    first, *rest = report["pieces"]
    assert first["key"] == "b003" and first["low"] and first["shown"] == 15 and first["reacted"] == 11
    assert first["reactions"]["dismiss"] == 8 and first["mean_reward"] == pytest.approx(-5 / 11, abs=1e-4)
    good = next(p for p in rest if p["key"] == "m001")
    assert (
        not good["low"] and good["ci_low"] > 0 and good["mean_reward"] == pytest.approx(10.5 / 12, abs=1e-4)
    )
    assert next(p for p in rest if p["key"] == "r001")["shown"] == 0
    tags = {t["tag"]: t for t in report["tags"]}
    assert tags["topic:breaks"]["shown"] == 15 and tags["topic:movement"]["shown"] == 12
    assert "topic:rest" not in tags


def test_a_bad_window_is_refused(session):
    with pytest.raises(AdminInputError):
        advice_performance.report(session=session, days=0)
