"""Advice performance for the console: per piece and per tag, intervals, low performers flagged first."""

from __future__ import annotations

import json
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


def test_the_kind_learner_is_compared_with_fixed_kinds_off_policy(session):
    uid = accounts.create_demo_user(session=session).id
    logged = [
        ("advice", "done", 0.5),
        ("todo", "dismiss", 0.5),
        ("todo", None, 0.2),
        ("advice", "helpful", 0.25),
    ]
    for kind, reaction, p in logged:
        session.add(
            TipView(
                id=uuid.uuid4().hex, user_id=uid, kind=kind, policy="x", reaction=reaction,
                served_at=utcnow(), explanation=json.dumps({"p_advice": p}),
            )
        )  # fmt: skip
    session.add(
        TipView(id=uuid.uuid4().hex, user_id=uid, kind="todo", policy="x", reaction="done")
    )  # no draw
    session.commit()
    out = advice_performance.kind_offpolicy(session=session, days=7)
    assert out["decisions"] == 4
    assert out["mixing"] == pytest.approx((1 - 1 + 0 + 0.5) / 4)
    assert out["always_task"] == pytest.approx((-1 / 0.5) / 4)
    assert out["always_advice"] == pytest.approx((1 / 0.5 + 0.5 / 0.25) / 4)
