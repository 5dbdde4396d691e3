"""Around recommend(): the column batch path, retention, learner ops, API token service."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlmodel import select

from oo.crypto import sha256_hex
from oo.models import ApiToken, EventRecord, Task, TipScore, TipView
from oo.recommender import ENCODERS, POLICY_SPECS, Context, TaskBatch, TaskView
from oo.services.accounts import api_tokens
from oo.services.accounts import sessions as accounts
from oo.services.admin import learner_ops
from oo.services.platform import retention
from oo.services.sources import catalog as sources
from oo.services.tips import candidates
from oo.services.tips.recommend import recommend

pytestmark = pytest.mark.usefixtures("generous_budget")


@pytest.fixture
def user_id(session) -> int:
    user = accounts.create_demo_user(session=session)
    sources.connect_demo(session=session, user_id=user.id)
    return user.id


def _views(n: int, now: datetime, seed: int = 0) -> list[TaskView]:
    # Times in UTC, as the database returns them (same-zone arithmetic in Python is wall-clock).
    rng, today, now = random.Random(seed), now.date(), now.astimezone(UTC)
    out = []
    for i in range(n):
        kind = rng.random()
        due_at = now + timedelta(hours=rng.choice([-30, -1, 0, 0.5, 23.9, 24, 40])) if kind < 0.4 else None
        due_date = (today + timedelta(days=rng.randint(-3, 3))) if 0.4 <= kind < 0.8 else None
        added = now - timedelta(days=rng.random() * 90) if i % 7 else now + timedelta(minutes=5)  # clock skew
        out.append(TaskView(str(i), rng.randint(1, 4), added, due_at=due_at, due_date=due_date))
    return out


@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles", "Pacific/Kiritimati"])
def test_the_column_batch_encodes_exactly_like_task_views(tz):
    from zoneinfo import ZoneInfo

    now = datetime(2025, 6, 1, 23, 30, tzinfo=UTC).astimezone(ZoneInfo(tz))
    views = _views(300, now)
    ctx = Context(now)
    batch = TaskBatch.from_views(views)
    for encoder in ENCODERS.values():
        fast = encoder.encode_batch(batch, ctx).values
        slow = np.array([list(encoder.encode(v, ctx).values()) for v in views])
        np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9)  # float seconds vs timedelta
    assert [batch.view(i) for i in range(len(views))] == views


def test_tasks_read_from_the_database_match_their_rows(session, user_id):
    now = datetime.now(UTC)
    odd = Task(
        user_id=user_id,
        source="demo",
        external_id="x",
        content="odd",
        priority=9,
        due_at=now + timedelta(hours=2),
        due_date=date(2030, 1, 1),
    )
    session.add(odd)
    session.commit()
    ids, batch = candidates.load(session=session, user_id=user_id, now=now)
    rows = {t.id: t for t in session.exec(select(Task).where(Task.user_id == user_id))}
    assert set(ids) == set(rows) and len(batch) == len(ids)
    for i, task_id in enumerate(ids):
        task, view = rows[task_id], batch.view(i)
        assert view.priority == min(4, task.priority) and view.added_at == task.added_at
        assert view.due_at == task.due_at and view.due_date == task.due_date


def test_retention_drops_old_logs_and_keeps_counts(session, user_id):
    old = datetime.now(UTC) - timedelta(days=31)
    stale = recommend(session=session, user_id=user_id, now=old)
    fresh = recommend(session=session, user_id=user_id)
    session.add(EventRecord(id="a" * 32, subject="signals.tip.served", user_id=user_id, occurred_at=old))
    session.add(EventRecord(id="b" * 32, subject="signals.tip.served", user_id=user_id))
    session.commit()
    counts = retention.purge(session=session)
    assert counts == {"tip_score": len(POLICY_SPECS), "tip_view_explanations": 1, "event": 1}
    kept = session.get(TipView, stale.tip_id)
    session.refresh(kept)
    assert kept.features == "{}" and kept.explanation == "{}" and kept.policy == "linucb"
    assert json.loads(session.get(TipView, fresh.tip_id).features)
    assert {r.tip_id for r in session.exec(select(TipScore))} == {fresh.tip_id}
    assert [e.id for e in session.exec(select(EventRecord))] == ["b" * 32]
    assert retention.purge(session=session) == {"tip_score": 0, "tip_view_explanations": 0, "event": 0}


def test_ops_score_ranks_every_open_task_without_serving(session, user_id):
    result = learner_ops.score(session=session, user_id=user_id, limit=100)
    assert result["policy"] == "linucb@5" and result["candidates"] == len(result["items"])
    scores = [i["score"] for i in result["items"]]
    assert scores == sorted(scores, reverse=True)
    assert all(i["text"] and i["explanation"].features for i in result["items"])
    assert not session.exec(select(TipView)).all()
    assert (
        learner_ops.score(session=session, user_id=user_id, policy_key="random@1", limit=3)["policy"]
        == "random@1"
    )
    with pytest.raises(learner_ops.UnknownPolicy):
        learner_ops.score(session=session, user_id=user_id, policy_key="linucb@99")


def test_ops_features_lists_the_feature_log(session, user_id):
    rec = recommend(session=session, user_id=user_id)
    rows = learner_ops.features(session=session, user_id=user_id)
    assert len(rows) == len(POLICY_SPECS) and {r["tip_id"] for r in rows} == {rec.tip_id}
    active = learner_ops.features(session=session, user_id=user_id, policy_key="linucb@5")
    assert len(active) == 1 and active[0]["role"] == "active" and len(active[0]["features"]) == 28
    assert learner_ops.features(session=session, user_id=user_id + 1) == []


def test_api_tokens_store_only_a_hash_and_revoke_per_owner(session, user_id):
    secret, info = api_tokens.create(session=session, user_id=user_id, name="laptop")
    assert secret.startswith("oo_") and len(secret) > 40
    row = session.get(ApiToken, info.id)
    assert row.token_hash == sha256_hex(secret) and secret not in row.token_hash
    assert [t.name for t in api_tokens.list_tokens(session=session, user_id=user_id)] == ["laptop"]
    other = accounts.create_demo_user(session=session)
    assert not api_tokens.revoke(session=session, user_id=other.id, token_id=info.id)
    assert api_tokens.revoke(session=session, user_id=user_id, token_id=info.id)
    assert not api_tokens.revoke(session=session, user_id=user_id, token_id=info.id)
    assert api_tokens.list_tokens(session=session, user_id=user_id) == []
    for bad in ("", " ", "x" * 101, "tab\there"):
        with pytest.raises(api_tokens.TokenError):
            api_tokens.create(session=session, user_id=user_id, name=bad)
