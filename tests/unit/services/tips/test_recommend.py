"""recommend(): the contract, the logs (tip_view, tip_score), shadow policies, the fallback, the context."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from oo.models import Task, TipScore, TipView, User
from oo.recommender import POLICY_SPECS, LinUCBPolicy
from oo.services.accounts import sessions as accounts
from oo.services.learning import policies
from oo.services.sources import catalog as sources
from oo.services.tips import recommend
from oo.services.tips.recommend import recommend as pick

pytestmark = pytest.mark.usefixtures("generous_budget")


@pytest.fixture
def user_id(session) -> int:
    user = accounts.create_demo_user(session=session)
    sources.connect_demo(session=session, user_id=user.id)
    return user.id


def test_recommend_serves_one_logged_tip_with_its_explanation(session, user_id):
    rec = pick(session=session, user_id=user_id)
    assert not rec.empty and len(rec.tip_id) == 32 and rec.kind == "todo"
    task = session.get(Task, rec.task_id)
    assert task.user_id == user_id and rec.text == task.content and rec.source == "demo"
    assert (rec.policy, rec.policy_version, rec.fallback) == ("linucb", 5, False)
    assert 0.0 < rec.propensity <= 1.0 and session.get(TipView, rec.tip_id).propensity == rec.propensity
    view = session.get(TipView, rec.tip_id)
    assert view.user_id == user_id and view.task_id == rec.task_id and view.score == rec.score
    features = json.loads(view.features)
    assert set(features) == {
        "improved@1",
        "improved@2",
        "improved@3",
        "textbook@1",
    }  # every encoder a learner needs
    assert len(features["improved@1"]) == 23 and features["textbook@1"]["priority"] == task.priority
    logged = json.loads(view.explanation)
    assert logged["policy"] == "linucb@5" and logged["summary"] == rec.explanation.summary
    # The explanation adds up: the contributions are the posterior mean, plus the bonus is the score.
    contributions = sum(f.contribution for f in rec.explanation.features)
    assert contributions == pytest.approx(rec.explanation.mean)
    assert rec.explanation.mean + rec.explanation.bonus == pytest.approx(rec.score)
    assert {f.name for f in rec.explanation.features} == set(features["improved@2"])


def test_every_shadow_policy_is_scored_and_logged_but_never_served(session, user_id):
    rec = pick(session=session, user_id=user_id)
    rows = session.exec(select(TipScore).where(TipScore.tip_id == rec.tip_id)).all()
    by_policy = {f"{r.policy}@{r.policy_version}": r for r in rows}
    assert set(by_policy) == {s.key for s in POLICY_SPECS}
    assert by_policy["linucb@5"].role == "active" and by_policy["linucb@5"].task_id == rec.task_id
    assert by_policy["linucb@5"].served_probability == pytest.approx(rec.propensity)
    assert {by_policy[k].role for k in ("linucb@1", "linucb@2", "random@1")} == {"shadow"}
    n_open = len(session.exec(select(Task).where(Task.user_id == user_id)).all())
    for row in rows:
        assert row.candidates == n_open and row.latency_ms >= 0 and row.request_id == rec.tip_id
        assert json.loads(row.features), "the features of the policy's own pick are logged"
    assert by_policy["random@1"].served_probability == pytest.approx(1 / n_open)
    assert len(session.exec(select(TipView)).all()) == 1  # shadows never produce a served tip


def test_registry_is_seeded_and_promotion_changes_who_serves(session, user_id, generous_budget):
    statuses = {f"{p.name}@{p.version}": p.status for p in policies.list_policies(session=session)}
    assert statuses == {
        "linucb@7": "shadow",
        "linucb@5": "active",
        "linucb@6": "shadow",
        "linucb@4": "shadow",
        "linucb@3": "shadow",
        "linucb@1": "shadow",
        "linucb@2": "shadow",
        "random@1": "shadow",
    }
    policies.set_status(session=session, name="linucb", version=1, status="active")
    rec = pick(session=session, user_id=user_id)
    assert (rec.policy, rec.policy_version) == ("linucb", 1)
    statuses = {f"{p.name}@{p.version}": p.status for p in policies.list_policies(session=session)}
    assert statuses["linucb@5"] == "shadow" and list(statuses.values()).count("active") == 1
    with pytest.raises(policies.PolicyError, match="promote another"):
        policies.set_status(session=session, name="linucb", version=1, status="archived")
    policies.set_status(session=session, name="random", version=1, status="archived")
    after = pick(session=session, user_id=user_id)
    new = session.exec(
        select(TipScore.policy, TipScore.policy_version, TipScore.role).where(TipScore.tip_id == after.tip_id)
    ).all()
    assert ("linucb", 5, "shadow") in new, "the shadows of this pick are in the log"
    assert ("random", 1, "shadow") not in new, "archived policies are no longer scored"


def test_a_failing_learner_falls_back_to_random_and_is_recorded(session, user_id, monkeypatch, caplog):
    def broken(self, candidates, context=None):
        raise RuntimeError("boom")

    monkeypatch.setattr(LinUCBPolicy, "score_array", broken)
    with caplog.at_level(logging.WARNING, logger="oo.recommend"):
        rec = pick(session=session, user_id=user_id)
    assert not rec.empty and rec.fallback and (rec.policy, rec.policy_version) == ("random", 1)
    view = session.get(TipView, rec.tip_id)
    assert view.fallback and json.loads(view.explanation)["fallback_from"] == "linucb@5"
    assert "boom" in json.loads(view.explanation)["error"]
    roles = {(r.policy, r.role) for r in session.exec(select(TipScore).where(TipScore.tip_id == rec.tip_id))}
    assert ("random", "fallback") in roles and ("random", "shadow") in roles
    assert ("linucb", "active") not in roles  # the failed pick is not logged as a pick
    assert "Random serves" in caplog.text
    assert json.loads(view.features), "features are still logged, so the reaction still teaches"


def test_a_slow_learner_falls_back_within_the_budget(session, user_id, monkeypatch):
    original = LinUCBPolicy.score_array

    def slow(self, candidates, context=None):
        if self.version == 5:  # the active policy
            time.sleep(0.3)
        return original(self, candidates, context)

    monkeypatch.setattr(LinUCBPolicy, "score_array", slow)
    monkeypatch.setattr(recommend, "BUDGET_SECONDS", 0.05)
    start = time.perf_counter()
    rec = pick(session=session, user_id=user_id)
    assert time.perf_counter() - start < 0.25, "the user does not wait for a late learner"
    assert rec.fallback and "budget" in json.loads(session.get(TipView, rec.tip_id).explanation)["error"]


def test_an_unreadable_model_starts_cold_instead_of_failing(session, user_id, caplog):
    from oo.models import ModelState

    session.add(ModelState(user_id=user_id, policy_key="linucb@5", data=b"not json", updates=3))
    session.commit()
    with caplog.at_level(logging.ERROR, logger="oo.learner"):
        rec = pick(session=session, user_id=user_id)
    assert not rec.fallback and "unreadable" in caplog.text


def test_no_open_task_is_an_empty_recommendation_and_logs_nothing(session):
    user = accounts.create_demo_user(session=session)
    rec = pick(session=session, user_id=user.id)
    assert rec.empty and rec.kind == "empty" and rec.text == "" and rec.tip_id is None
    assert not session.exec(select(TipView)).all() and not session.exec(select(TipScore)).all()


def test_completed_snoozed_and_excluded_tasks_are_not_candidates(session, user_id):
    tasks = session.exec(select(Task).where(Task.user_id == user_id)).all()
    now = datetime.now(UTC)
    keep = tasks[0]
    for t in tasks[1:]:
        if t.id % 3 == 0:
            t.completed_at = now
        elif t.id % 3 == 1:
            t.snoozed_until = now + timedelta(hours=1)
        else:
            t.snoozed_until = now - timedelta(minutes=1)  # expired snooze: open again
        session.add(t)
    session.commit()
    allowed = {keep.id} | {t.id for t in tasks[1:] if t.id % 3 == 2}
    seen = {pick(session=session, user_id=user_id).task_id for _ in range(30)}
    assert seen <= allowed
    assert (
        pick(session=session, user_id=user_id, exclude_task_ids=list(allowed - {keep.id})).task_id == keep.id
    )


def test_context_uses_the_users_time_zone(session, user_id):
    user = session.get(User, user_id)
    user.timezone = "Asia/Tokyo"
    session.add(user)
    session.commit()
    now = datetime(2025, 3, 7, 23, 30, tzinfo=UTC)  # Saturday 08:30 in Tokyo
    rec = pick(session=session, user_id=user_id, now=now)
    x = json.loads(session.get(TipView, rec.tip_id).features)["textbook@1"]
    assert (x["hour_of_day"], x["day_of_week"]) == (8.0, 5.0)


def test_unknown_channel_is_refused(session, user_id):
    with pytest.raises(ValueError, match="channel"):
        pick(session=session, user_id=user_id, channel="sms")


def _one_task_user(session, *, timezone: str, last_sync, due=None) -> int:
    from oo.models import Integration

    user = User(name="far", timezone=timezone)
    session.add(user)
    session.commit()
    session.add(Integration(user_id=user.id, provider="todoist", last_sync_at=last_sync))
    session.add(
        Task(
            user_id=user.id, source="todoist", external_id="t1", content="Pay rent", priority=4, due_date=due
        )
    )
    session.commit()
    return user.id


def test_the_tip_log_freezes_priority_local_hour_and_what_was_defaulted(session):
    now = datetime(2026, 1, 10, 23, 30, tzinfo=UTC)
    # Kiritimati is UTC+14: 23:30 UTC is 13:30 there. The task has no due date and Todoist has
    # not synced for two days; the zone is known.
    uid = _one_task_user(session, timezone="Pacific/Kiritimati", last_sync=now - timedelta(days=2))
    view = session.get(TipView, pick(session=session, user_id=uid, now=now).tip_id)
    assert (view.task_priority, view.local_hour, view.imputed) == (4, 13, "no_due,stale_source")
    # An unknown zone stands in as UTC (hour 23); a fresh sync and a due date default nothing else.
    uid = _one_task_user(
        session,
        timezone="Mars/Olympus",
        last_sync=now - timedelta(hours=1),
        due=now.date() + timedelta(days=1),
    )
    view = session.get(TipView, pick(session=session, user_id=uid, now=now).tip_id)
    assert (view.task_priority, view.local_hour, view.imputed) == (4, 23, "unknown_tz")


@pytest.mark.parametrize(
    ("synced_ago", "imputed"), [(timedelta(days=2), "stale_source"), (timedelta(hours=1), "")]
)
def test_a_tip_for_the_page_freezes_the_source_fact_from_the_rows_the_page_read(session, synced_ago, imputed):
    from sqlalchemy import event

    from oo.services.tips import serving

    due = datetime.now(UTC).date() + timedelta(days=1)
    uid = _one_task_user(session, timezone="UTC", last_sync=datetime.now(UTC) - synced_ago, due=due)
    read: list[str] = []

    def count(_conn, _cursor, statement, *_a) -> None:
        if "FROM integration" in statement:
            read.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        shown = serving.show_in(session, user_id=uid, timezone="UTC")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert session.get(TipView, shown.tip.tip_id).imputed == imputed
    assert len(read) == 1, read  # the page's source state; the tip log reuses its rows
