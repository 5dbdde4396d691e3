"""Each console metric on hand-built data; every expected value is worked out by hand below.

The cast (T = 2026-01-10 12:00 UTC; "24 h" = [T-24h, T), "7 days" = [T-7d, T)):

- ann  signed up T-3d; saw a tip on the web at T-2h and pressed Done herself at T-1h; has a
       Todoist connection.
- ben  signed up T-10d; his only tip was a push that reached no device (``push_failed``) at T-3h.
- cat  signed up T-2d, lives in Pacific/Kiritimati (UTC+14); a push reached her phone at T-5h but
       she never opened it; the task was then completed in Todoist, and the webhook's delayed
       reward recorded "done" on that tip at T-4h.
- dan  signed up T-2d and deleted his account at T-1d (a tombstone row; his logs are purged).
- eve  an admin, signed up T-20d; an API tip at T-8d (outside the week) and an admin action at
       T-1h (admin actions are no activity).
- fay  signed up T-15d; a web tip at T-6d, dismissed at T-6d+1m, then "done" at T-6d+2m (a second
       reaction to the same tip).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from oo.models import AdminAction, Integration, TipFeedback, TipView, User
from oo.services.admin import activity
from oo.services.admin import metrics as m

T = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
DAY, WEEK = T - timedelta(days=1), T - timedelta(days=7)


def _user(session, name: str, created: datetime, **kw) -> User:
    user = User(name=name, created_at=created, **kw)
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def _tip(session, user: User, at: datetime, channel: str, source: str = "todoist", reaction=None) -> str:
    tip_id = uuid4().hex
    session.add(
        TipView(
            id=tip_id,
            user_id=user.id,
            task_id=1,
            channel=channel,
            source=source,
            policy="linucb",
            served_at=at,
            reaction=reaction,
            reacted_at=at if reaction else None,
        )
    )
    session.commit()
    return tip_id


def _react(session, user: User, tip_id: str, reaction: str, at: datetime, origin: str = "user") -> None:
    session.add(
        TipFeedback(
            tip_id=tip_id,
            user_id=user.id,
            reaction=reaction,
            reward=0.0,
            idempotency_key=uuid4().hex,
            origin=origin,
            created_at=at,
        )
    )
    session.commit()


@pytest.fixture(autouse=True, params=["rolled up", "live"])
def activity_path(request, monkeypatch) -> None:
    """Every activity figure twice: days over read from the daily rollup, and all read from events."""
    if request.param == "live":
        monkeypatch.setattr(activity, "rolled_span", lambda since, until, now: None)


@pytest.fixture
def cast(session) -> dict[str, User]:
    ann = _user(session, "ann", T - timedelta(days=3))
    ben = _user(session, "ben", T - timedelta(days=10))
    cat = _user(session, "cat", T - timedelta(days=2), timezone="Pacific/Kiritimati")
    dan = _user(session, "dan", T - timedelta(days=2), deleted_at=T - timedelta(days=1))
    eve = _user(session, "eve", T - timedelta(days=20), role="admin")
    fay = _user(session, "fay", T - timedelta(days=15))
    session.add(Integration(user_id=ann.id, provider="todoist"))
    t = _tip(session, ann, T - timedelta(hours=2), "web", reaction="done")
    _react(session, ann, t, "done", T - timedelta(hours=1))
    _tip(session, ben, T - timedelta(hours=3), "push_failed", source="demo")
    t = _tip(session, cat, T - timedelta(hours=5), "push", reaction="done")
    _react(session, cat, t, "done", T - timedelta(hours=4), origin="webhook")
    _tip(session, eve, T - timedelta(days=8), "api")
    session.add(
        AdminAction(
            admin_id=eve.id, action="role.grant", target=f"user:{ann.id}", created_at=T - timedelta(hours=1)
        )
    )
    t = _tip(session, fay, T - timedelta(days=6), "web", source="demo", reaction="dismiss")
    _react(session, fay, t, "dismiss", T - timedelta(days=6) + timedelta(minutes=1))
    _react(session, fay, t, "done", T - timedelta(days=6) + timedelta(minutes=2))
    session.commit()
    return {"ann": ann, "ben": ben, "cat": cat, "dan": dan, "eve": eve, "fay": fay}


def test_active_users_count_seeing_or_reacting_only(session, cast):
    # 24 h: ann (web tip, own reaction). Not ben (failed push), not cat (unopened push, webhook
    # reward), not eve (admin action). 7 days: ann + fay.
    assert m.active_users(session=session, since=DAY, until=T) == 1
    assert m.active_users(session=session, since=WEEK, until=T) == 2
    # By UTC day: ann on 01-10; fay on 01-04 (T-6d = 01-04 12:00).
    assert m.daily_active(session=session, since=WEEK, until=T) == {"2026-01-10": 1, "2026-01-04": 1}


def test_one_activity_pass_gives_the_daily_line_dau_and_wau(session, cast):
    # Since T-14d (the Overview's series): ann on 01-10, fay on 01-04 and eve's API tip on 01-02
    # (T-8d, inside 14 days but outside the week). DAU: ann. WAU: ann + fay. The same figures
    # as active_users / daily_active, from one query.
    daily, (dau, wau) = m.activity(session=session, since=T - timedelta(days=14), marks=(DAY, WEEK))
    assert daily == {"2026-01-10": 1, "2026-01-04": 1, "2026-01-02": 1}
    assert (dau, wau) == (1, 2)
    with pytest.raises(ValueError):
        m.activity(session=session, since=DAY, marks=(WEEK,))


def test_tips_served_exclude_failed_pushes(session, cast):
    # 24 h: ann's web tip + cat's delivered push = 2 (ben's failed push is not served).
    assert m.tips_served(session=session, since=DAY, until=T) == 2
    # 7 days: + fay's web tip = 3 (eve's API tip is 8 days old).
    assert m.tips_served(session=session, since=WEEK, until=T) == 3
    assert m.daily_tips(session=session, since=WEEK, until=T) == {"2026-01-10": 2, "2026-01-04": 1}


def test_signups_never_count_deleted_accounts_and_deletions_are_their_own_figure(session, cast):
    # All time: ann, ben, cat, eve, fay = 5 (dan deleted). 7 days: ann, cat = 2 (not dan).
    assert m.signups(session=session) == 5
    assert m.signups(session=session, since=WEEK, until=T) == 2
    assert m.deletions(session=session, since=WEEK, until=T) == 1
    assert m.deletions(session=session, since=DAY - timedelta(days=3), until=DAY - timedelta(hours=1)) == 0


def test_reactions_are_the_first_reaction_of_each_tip(session, cast):
    # Tips served in the week: ann done, cat done (the webhook's delayed reward), fay dismiss
    # (her later "done" to the same tip is not a second reaction).
    assert m.reaction_counts(session=session, since=WEEK, until=T) == {"done": 2, "dismiss": 1}


def test_the_funnel_follows_one_cohort(session, cast):
    # Cohort: signed up in the 30 days before T and not deleted = ann, ben, cat, eve, fay (5).
    # Connected (a connection now, or a tip from a source): all 5 (ben's failed push came from
    # his demo source). First tip (served): ann, cat, eve, fay = 4. Reacted themselves: ann, fay.
    steps = m.funnel(session=session, since=T - timedelta(days=30))
    assert [(s["step"], s["users"]) for s in steps] == [
        ("signed up", 5),
        ("connected", 5),
        ("first tip", 4),
        ("first reaction", 2),
    ]


def test_every_definition_is_written_down():
    names = [name for name, _ in m.GLOSSARY]
    assert {"Active user", "Tips served", "Sign-ups", "Reaction", "Reward"} <= set(names)
    assert all(len(text) > 40 for _, text in m.GLOSSARY)


def test_the_readme_states_the_same_definitions():
    readme = (Path(__file__).resolve().parents[4] / "admin" / "README.md").read_text()
    for name, text in m.GLOSSARY:
        assert f"- **{name}.** {text}" in readme, name


# ---- rewards: slices on frozen facts, intervals that resample users ------------------------------


def test_reward_slices_use_the_facts_frozen_at_serve_time(session, cast):
    # ann's Done tip: a Todoist p1 task (API priority 4) since completed and deleted from the cache,
    # served at 10:00 her time. cat's webhook "done": p3 (API 2), served 21:00 in Kiritimati
    # (07:00 UTC + 14 h). fay's dismiss: priority and hour not logged (an older tip).
    from sqlmodel import select

    from oo.services.admin import rewards

    views = {v.user_id: v for v in session.exec(select(TipView)).all()}
    for user, prio, hour in (("ann", 4, 10), ("cat", 2, 21)):
        views[cast[user].id].task_priority, views[cast[user].id].local_hour = prio, hour
    session.commit()
    counted = rewards.counts(session=session, window="30d", now=T)
    result = rewards.summarize(counted)
    assert [(r["priority"], r["rewards"], r["mean"]) for r in result["priority"]] == [
        ("p1", 1, 1.0),
        ("p3", 1, 1.0),
        ("unknown", 1, -1.0),
    ]
    assert [(r["hour"], r["mean"]) for r in result["hour"]] == [("10", 1.0), ("21", 1.0), ("unknown", -1.0)]
    # Policy: three first reactions, (1 + 1 - 1) / 3; too few for an interval.
    [policy] = result["policy"]
    assert (policy["rewards"], policy["users"], policy["mean"], policy["too_few"]) == (3, 3, 0.3333, True)
    assert policy["low"] is None and policy["high"] is None


def test_intervals_resample_users_not_tips():
    from oo.services.admin import intervals

    # Two people, twenty rewards each: one always +1, one always -1. Resampling the two people
    # gives means of +1, 0 or -1, so the interval spans the whole range; treating the 40 tips as
    # independent would have claimed 0 ± 0.31.
    result = intervals.summary({"a": [20, 20.0], "b": [20, -20.0]})
    assert (result["mean"], result["low"], result["high"], result["users"]) == (0.0, -1.0, 1.0, 2)


def test_intervals_are_clipped_to_the_reward_range_and_need_ten_rewards():
    import numpy as np

    from oo.services.admin import intervals

    # Ten users, one reward each: nine +1 and one -1. Mean 0.8; residuals 9 x 0.2 and -1.8, so
    # var = (9 * 0.04 + 3.24) / 10^2 * 10/9 = 0.04 and the half width is 1.96 * 0.2 = 0.392:
    # 0.408 .. 1.192, clipped to 1.0.
    low, high = intervals.clustered_normal(np.ones(10), np.array([1.0] * 9 + [-1.0]))
    assert (low, high) == (0.408, 1.0)
    boot = intervals.summary({u: [1, 1.0 if u < 9 else -1.0] for u in range(10)})
    assert boot["mean"] == 0.8 and not boot["too_few"] and -1.0 <= boot["low"] <= 0.8 <= boot["high"] == 1.0
    nine = intervals.summary({u: [1, 1.0] for u in range(9)})
    assert nine["too_few"] and nine["low"] is None and nine["mean"] == 1.0


def test_experiments_keep_fallbacks_apart_and_shadows_follow_the_window(session):
    from oo.models import TipScore
    from oo.services.admin import experiments

    def tip(user, days_ago, policy, version, fallback, reaction, task_id):
        tip_id = uuid4().hex
        session.add(
            TipView(
                id=tip_id,
                user_id=cast[user].id,
                policy=policy,
                policy_version=version,
                fallback=fallback,
                served_at=T - timedelta(days=days_ago),
                reaction=reaction,
                task_id=task_id,
            )
        )
        return tip_id

    cast = {name: _user(session, name, T - timedelta(days=40)) for name in ("ann", "cat", "eve", "fay")}
    tip("ann", 1, "random", 1, True, "dismiss", 1)  # Random stood in for a failed linucb
    tip("cat", 3, "random", 1, False, "done", 2)  # a deliberate random pick
    near = tip("fay", 1, "linucb", 3, False, "done", 3)
    far = tip("eve", 10, "linucb", 3, False, "helpful", 4)
    # The improved@1 shadow picked another task on the recent request and the same task 10 days ago.
    for request, task_id in ((near, 99), (far, 4)):
        session.add(
            TipScore(
                request_id=request,
                tip_id=request,
                user_id=cast["fay"].id,
                policy="improved",
                role="shadow",
                task_id=task_id,
            )
        )
    session.commit()
    week = {r["policy"]: r for r in experiments.experiments(session=session, window="7d", now=T)["stats"]}
    assert (week["random@1"]["pulls"], week["random@1"]["mean"]) == (1, 1.0)
    assert (week["random@1 (fallback)"]["pulls"], week["random@1 (fallback)"]["mean"]) == (1, -1.0)
    assert week["random@1 (fallback)"]["status"] == "fallback"
    assert (week["linucb@3"]["pulls"], week["linucb@3"]["mean"]) == (1, 1.0)
    assert (week["improved@1"]["shadow_requests"], week["improved@1"]["shadow_agreement"]) == (1, "0.0%")
    month = {r["policy"]: r for r in experiments.experiments(session=session, window="30d", now=T)["stats"]}
    # 30 days: linucb also has eve's helpful (+0.5): (1 + 0.5) / 2; the shadow agreed on 1 of 2.
    assert (month["linucb@3"]["pulls"], month["linucb@3"]["mean"]) == (2, 0.75)
    assert (month["improved@1"]["shadow_requests"], month["improved@1"]["shadow_agreement"]) == (2, "50.0%")
    assert month["improved@1"]["shadow_mean"] == 0.5  # the agreeing request's reward: helpful


def test_data_quality_measures_the_inputs_recommend_had_to_default(session):
    from oo.models import Integration, Task
    from oo.services.admin import quality
    from oo.services.learning import learner, policies
    from oo.services.tips.recommend import recommend

    learner.cache.clear()
    policies.invalidate()
    now = datetime.now(UTC)
    # far: Kiritimati (known), Todoist synced an hour ago, task due tomorrow -> nothing defaulted.
    # lost: an unknown zone, Todoist not synced for two days, a task without a due date -> all three.
    for name, zone, synced, due in (
        ("far", "Pacific/Kiritimati", now - timedelta(hours=1), (now + timedelta(days=1)).date()),
        ("lost", "Atlantis/Capital", now - timedelta(days=2), None),
    ):
        user = _user(session, name, now - timedelta(days=5), timezone=zone)
        session.add(Integration(user_id=user.id, provider="todoist", last_sync_at=synced))
        session.add(
            Task(user_id=user.id, source="todoist", external_id="t", content="x", priority=3, due_date=due)
        )
        session.commit()
        for _ in range(2 if name == "far" else 1):
            recommend(session=session, user_id=user.id, now=now)
    # Three picks: two for far (nothing defaulted), one for lost (everything defaulted).
    result = quality.defaulted_inputs(session=session)
    assert result["calls"] == 3 and result["any"] == round(1 / 3, 4)
    assert result["per_reason"] == {"no_due": 0.3333, "unknown_tz": 0.3333, "stale_source": 0.3333}
    learner.cache.clear()
    policies.invalidate()
