"""Admin read models on a small hand-made dataset whose answers are known."""

from __future__ import annotations

import json
from datetime import timedelta
from uuid import uuid4

import pytest

from oo.bus import Event
from oo.models import EventRecord, Integration, Task, TipFeedback, TipScore, TipView, User, utcnow
from oo.services.admin import event_stream as admin_events
from oo.services.admin import experiments as admin_experiments
from oo.services.admin import features as admin_features
from oo.services.admin import overview as admin_overview
from oo.services.admin import quality as admin_quality
from oo.services.admin import recommendation_log as admin_reclog
from oo.services.admin import rewards as admin_rewards
from oo.services.admin import users as admin_users
from oo.services.admin.inputs import AdminInputError

NOW = utcnow()
FULL_TEXTBOOK = {
    "is_overdue": 0.0,
    "task_age_days": 3.0,
    "priority": 4.0,
    "hour_of_day": 9.0,
    "day_of_week": 2.0,
}


@pytest.fixture
def data(session):
    """Three users: Ann (todoist, 3 tips, 2 reacted), Ben (demo, 1 push tip), Cat (signed up only)."""
    ann = User(email="ann@example.test", name="Ann", created_at=NOW - timedelta(days=40))
    ben = User(email="ben@example.test", name="Ben", created_at=NOW - timedelta(days=3))
    cat = User(email="cat@example.test", name="Cat", created_at=NOW - timedelta(days=1))
    session.add_all([ann, ben, cat])
    session.commit()
    session.add_all(
        [
            Integration(
                user_id=ann.id, provider="todoist", status="connected", last_sync_at=NOW - timedelta(days=2)
            ),
            Integration(user_id=ben.id, provider="demo", status="connected", last_sync_at=NOW),
            Task(id=1, user_id=ann.id, source="todoist", external_id="t1", content="Pay rent", priority=4),
            Task(id=2, user_id=ben.id, source="demo", external_id="d1", content="Call mum", priority=2),
        ]
    )
    tips = [
        (ann, 1, "linucb", 3, NOW - timedelta(hours=2), "web", "done"),
        (ann, 1, "linucb", 3, NOW - timedelta(days=2), "web", "dismiss"),
        (ann, 1, "random", 1, NOW - timedelta(days=10), "web", None),
        (ben, 2, "linucb", 3, NOW - timedelta(hours=5), "push", None),
    ]
    ids, feedback = [], []
    for user, task_id, policy, version, at, channel, reaction in tips:
        tip_id = uuid4().hex
        ids.append(tip_id)
        features = {"textbook@1": {"priority": 4.0 if task_id == 1 else 2.0, "is_overdue": 0.0}}
        session.add(
            TipView(
                id=tip_id,
                user_id=user.id,
                task_id=task_id,
                policy=policy,
                policy_version=version,
                channel=channel,
                served_at=at,
                reaction=reaction,
                features=json.dumps(features),
                explanation='{"why": "due"}',
                latency_ms=4.0,
                score=0.5,
            )
        )
        # random@1 logs every textbook feature; the linucb@3 rows miss the improved@1 ones it needs.
        logged = FULL_TEXTBOOK if policy == "random" else features["textbook@1"]
        session.add(
            TipScore(
                request_id=tip_id,
                tip_id=tip_id,
                user_id=user.id,
                policy=policy,
                policy_version=version,
                task_id=task_id,
                created_at=at,
                features=json.dumps(logged),
            )
        )
        if reaction:
            feedback.append(
                TipFeedback(
                    tip_id=tip_id,
                    user_id=user.id,
                    reaction=reaction,
                    reward=0.0,
                    idempotency_key=uuid4().hex,
                    created_at=at + timedelta(minutes=1),
                )
            )
    session.commit()
    session.add_all(feedback)  # after the tips they point at
    session.commit()
    return {"ann": ann.id, "ben": ben.id, "cat": cat.id, "tips": ids}


def test_overview_counts_active_users_tips_reactions_and_the_funnel(session, data):
    ov = admin_overview.overview(session=session)
    # DAU: Ann reacted within 24 h; Ben's only tip was a push nobody opened.
    assert ov.kpis["dau"] == 1 and ov.kpis["wau"] == 1
    assert ov.kpis["tips_24h"] == 2 and ov.kpis["tips_7d"] == 3 and ov.kpis["users"] == 3
    assert ov.kpis["new_users_7d"] == 2 and ov.kpis["deleted_7d"] == 0
    assert sorted((r["reaction"], r["count"]) for r in ov.reactions) == [("dismiss", 1), ("done", 1)]
    # The funnel follows the sign-ups of the last 30 days: Ben and Cat (Ann is 40 days old).
    assert [(s["step"], s["users"]) for s in ov.funnel] == [
        ("signed up", 2),
        ("connected", 1),
        ("first tip", 1),
        ("first reaction", 0),
    ]
    assert sum(d["tips served"] for d in ov.daily) == 4  # the series covers 14 days
    assert len(ov.daily) == admin_overview.SERIES_DAYS and ov.daily[-1]["day"] == NOW.strftime("%Y-%m-%d")
    assert ov.daily[0]["tips served"] == 0  # quiet days are zeros, not gaps


def test_experiments_mean_reward_uses_the_first_reaction_of_each_tip(session, data):
    stats = {r["policy"]: r for r in admin_experiments.policy_stats(session=session, window="30d")}
    assert stats["linucb@3"]["pulls"] == 3 and stats["linucb@3"]["rewards"] == 2
    assert stats["linucb@3"]["mean"] == 0.0  # done +1, dismiss -1
    assert stats["linucb@3"]["status"] == "shadow" and stats["linucb@5"]["status"] == "active"
    assert (
        stats["random@1"]["pulls"] == 1
        and stats["random@1"]["rewards"] == 0
        and stats["random@1"]["mean"] is None
    )
    week = {r["policy"]: r for r in admin_experiments.policy_stats(session=session, window="7d")}
    assert week["random@1"]["pulls"] == 0
    cohorts = admin_experiments.cohort_stats(session=session, window="30d")
    assert [(c["policy"], c["rewards"]) for c in cohorts] == [("linucb@3", 2)]
    with pytest.raises(AdminInputError):
        admin_experiments.policy_stats(session=session, window="1y")


def test_reward_slices(session, data):
    result = admin_rewards.analytics(session=session, window="30d")
    assert {(r["reaction"], r["count"]) for r in result["daily"]} == {("done", 1), ("dismiss", 1)}
    assert [(r["policy"], r["rewards"], r["mean"]) for r in result["policy"]] == [("linucb@3", 2, 0.0)]
    # These tips were logged without the frozen facts, so they slice as "unknown".
    assert [(r["priority"], r["rewards"]) for r in result["priority"]] == [("unknown", 2)]
    assert [r["cohort"] for r in result["cohort"]] == [(NOW - timedelta(days=40)).strftime("%Y-%m")]
    assert sum(r["rewards"] for r in result["hour"]) == 2


def test_recommendation_log_filters(session, data):
    everything = admin_reclog.search(session=session, window="30d")
    assert len(everything.rows) == 4 and everything.rows[0]["text"] == "Pay rent"
    assert [
        r["reaction"] for r in admin_reclog.search(session=session, window="30d", reaction="done").rows
    ] == ["done"]
    assert len(admin_reclog.search(session=session, window="30d", reaction="none").rows) == 2
    assert len(admin_reclog.search(session=session, window="30d", policy="random@1").rows) == 1
    assert len(admin_reclog.search(session=session, window="30d", channel="push").rows) == 1
    assert len(admin_reclog.search(session=session, window="30d", user_id=str(data["ben"])).rows) == 1
    assert len(admin_reclog.search(session=session, tip_id=data["tips"][2]).rows) == 1
    two = admin_reclog.search(session=session, window="30d", page_size=2)
    assert two.has_next and len(two.rows) == 2
    for bad in ({"reaction": "love"}, {"policy": "linucb@x"}, {"user_id": "1 or 1=1"}, {"window": "forever"}):
        with pytest.raises(AdminInputError):
            admin_reclog.search(session=session, **bad)


def test_feature_browser_diffs_consecutive_calls(session, data):
    ann = data["ann"]
    assert admin_features.latest_user(session=session) == ann
    calls = admin_features.scoring_calls(session=session, user_id=ann).rows
    assert [c["policy"] for c in calls] == ["linucb@3", "linucb@3", "random@1"]
    assert calls[0]["changes"] == "no change" and calls[1]["changes"] == "first call"
    series = admin_features.feature_series(session=session, user_id=ann)
    assert {p["feature"] for p in series} == set(FULL_TEXTBOOK)


def test_quality_stale_tokens_and_completeness(session, data):
    # These tips were logged before the tip log kept its facts: no pick is counted as checked.
    assert admin_quality.defaulted_inputs(session=session)["calls"] == 0
    stale = admin_quality.stale_tokens(session=session)
    assert stale == {
        "integrations": 1,
        "stale": 1,
        "rate": 1.0,
        "by_status": {"connected": 1},
    }  # demo not counted
    heat = admin_quality.completeness(session=session)
    # The two tips of the last 5 hours (one answered) fall on one UTC day, or two just after midnight.
    recent = {(NOW - timedelta(hours=h)).strftime("%Y-%m-%d") for h in (2, 5)}
    rows = [h for h in heat if h["day"] in recent]
    answered = [(h["share"] * h["tips"], h["tips"]) for h in rows if h["field"] == "reaction"]
    assert tuple(map(sum, zip(*answered, strict=True))) == (1.0, 2)
    assert all(
        h["share"] == 1.0 for h in rows if h["field"] in ("features", "explanation", "task", "latency")
    )


def test_user_detail_shows_no_secrets(session, data):
    session.get(User, data["ann"])
    detail = admin_users.user_detail(session=session, user_id=data["ann"])
    assert detail["identity"]["email"] == "ann@example.test"
    assert (
        detail["integrations"][0]["provider"] == "todoist" and "credentials" not in detail["integrations"][0]
    )
    assert detail["last_tip"]["text"] == "Pay rent"
    assert [r["reaction"] for r in detail["rewards"]] == ["dismiss", "done"]
    found = admin_users.search_users(session=session, query="ann")
    assert [r["email"] for r in found.rows] == ["ann@example.test"]
    assert [r["id"] for r in admin_users.search_users(session=session, query=str(data["cat"])).rows] == [
        data["cat"]
    ]
    with pytest.raises(AdminInputError):
        admin_users.user_detail(session=session, user_id="nope")


def test_event_history_filters_and_replay_needs_a_real_id(session, data):
    for i, subject in enumerate(("signals.tip.served", "signals.tip.feedback", "signals.task.synced")):
        e = Event(
            subject=subject,
            user_id=data["ann"] if i < 2 else data["ben"],
            occurred_at=NOW - timedelta(minutes=i),
        )
        session.add(
            EventRecord(id=e.id, subject=e.subject, user_id=e.user_id, occurred_at=e.occurred_at, data="{}")
        )
    session.commit()
    assert len(admin_events.history(session=session).rows) == 3
    assert len(admin_events.history(session=session, subject="signals.tip.>").rows) == 2
    assert len(admin_events.history(session=session, user_id=str(data["ben"])).rows) == 1
    assert (
        admin_events.history(session=session, subject="signals.task.synced").rows[0]["subject"]
        == "signals.task.synced"
    )
    assert sum(r["count"] for r in admin_events.hourly_counts(session=session)) == 3
    for bad in ({"subject": "signals.*.served"}, {"subject": "a..b"}, {"since": "1y"}, {"user_id": "x"}):
        with pytest.raises(AdminInputError):
            admin_events.history(session=session, **bad)


def test_feature_diffs_compare_the_same_policy_version_only(session, data):
    uid = data["cat"]
    for minutes, version, prio in ((3, 1, 1.0), (2, 2, 9.0), (1, 1, 2.0)):
        session.add(
            TipScore(
                request_id=uuid4().hex,
                user_id=uid,
                policy="linucb",
                policy_version=version,
                features=json.dumps({"priority": prio}),
                created_at=NOW - timedelta(minutes=minutes),
            )
        )
    session.commit()
    newest, middle, oldest = admin_features.scoring_calls(session=session, user_id=uid).rows
    assert newest["policy"] == "linucb@1" and newest["changes"] == "priority: 1 → 2"
    assert middle["changes"] == oldest["changes"] == "first call"
