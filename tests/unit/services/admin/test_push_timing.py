"""The admin push funnel by hour, one user's P(send) by hour, and readable decision reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from oo.models import ModelState, PushDecision, TipView, User
from oo.recommender import timing
from oo.services.admin import push_timing as admin_push

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def _user(session) -> int:
    user = User(name="u")
    session.add(user)
    session.commit()
    return user.id


def _decision(session, uid, *, hour, send, tip=None, delivered=None, opened=False, reaction=None, days_ago=1):
    if tip:
        session.add(TipView(id=tip, user_id=uid, policy="linucb", channel="push", reaction=reaction))
    session.add(
        PushDecision(
            user_id=uid,
            decided_at=NOW - timedelta(days=days_ago),
            send=send,
            probability=0.6,
            local_hour=hour,
            tip_id=tip,
            delivered=delivered,
            opened_at=NOW if opened else None,
            context=json.dumps(
                {
                    "x": [0.0] * timing.DIM,
                    "raw": {"pushes_today": 1, "calendar_known": True, "minutes_to_busy": 20.4},
                }
            ),
        )
    )
    session.commit()


def test_the_funnel_counts_each_stage_by_local_hour(session):
    uid = _user(session)
    _decision(session, uid, hour=9, send=False)
    _decision(session, uid, hour=9, send=True, tip="a" * 32, delivered=True, opened=True, reaction="done")
    _decision(session, uid, hour=9, send=True, tip="b" * 32, delivered=True)
    _decision(session, uid, hour=14, send=True, tip="c" * 32, delivered=False)
    _decision(session, uid, hour=14, send=True, tip="d" * 32, delivered=True, days_ago=40)  # outside 30 days
    rows = admin_push.funnel_by_hour(session=session, days=30, now=NOW)
    assert len(rows) == 24
    assert rows[9] == {"hour": 9, "decided": 3, "sent": 2, "delivered": 2, "opened": 1, "reacted": 1}
    assert rows[14] == {"hour": 14, "decided": 1, "sent": 1, "delivered": 0, "opened": 0, "reacted": 0}
    assert rows[3]["decided"] == 0


def test_send_probability_by_hour_reads_the_users_model(session):
    uid = _user(session)
    prior = admin_push.send_probability_by_hour(session=session, user_id=uid)
    assert len(prior) == 24 and all(timing.P_MIN <= r["p_send"] <= timing.P_MAX for r in prior)
    model = timing.TimingModel.new()
    for _ in range(40):  # every push at any hour was dismissed
        ctx = timing.TimingContext(10.0, 2, True, None, None, None, None, 0, 3)
        model.learn(ctx.features(), -1.0)
    session.add(ModelState(user_id=uid, policy_key=timing.KEY, data=json.dumps(model.to_dict()).encode()))
    session.commit()
    learned = admin_push.send_probability_by_hour(session=session, user_id=uid)
    assert learned[10]["p_send"] < prior[10]["p_send"]


def test_last_decisions_say_why(session):
    uid = _user(session)
    _decision(session, uid, hour=9, send=False)
    [row] = admin_push.last_decisions(session=session, user_id=uid)
    assert row["decision"] == "wait" and "p=0.60" in row["why"] and "busy in 20 min" in row["why"]
