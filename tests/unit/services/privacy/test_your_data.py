"""Your data: the export holds everything about the person and no secret; what oO has learned."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from oo.models import Integration, ModelState, PushSubscription, Task, TipFeedback
from oo.recommender import POLICY_SPECS
from oo.services.accounts import sessions as accounts
from oo.services.learning import learner, policies
from oo.services.platform.keyring import keyring
from oo.services.privacy import your_data
from oo.services.sources import catalog as sources
from oo.services.tips import feedback
from oo.services.tips import recommend as recommend_module
from oo.services.tips.recommend import recommend

SECRET_TOKEN = "todoist-secret-token-0123456789"
ENDPOINT = "https://fcm.googleapis.com/fcm/send/capability-0123456789"


@pytest.fixture(autouse=True)
def _fresh_caches(monkeypatch):
    monkeypatch.setattr(recommend_module, "BUDGET_SECONDS", 5.0)
    learner.cache.clear()
    policies.invalidate()
    yield
    learner.cache.clear()


@pytest.fixture
def user_id(session) -> int:
    user = accounts.create_demo_user(session=session)
    sources.connect_demo(session=session, user_id=user.id)
    return user.id


def react(session, user_id, reaction: str, key: str) -> str:
    rec = recommend(session=session, user_id=user_id)
    feedback.record(
        session=session, user_id=user_id, tip_id=rec.tip_id, reaction=reaction, idempotency_key=key
    )
    return rec.tip_id


def test_export_holds_tasks_tips_reactions_and_models(session, user_id):
    tip = react(session, user_id, "done", "k1")
    react(session, user_id, "dismiss", "k2")
    data = your_data.export(session=session, user_id=user_id)
    json.dumps(data)  # JSON-able as it is
    assert data["profile"]["id"] == user_id and data["profile"]["signed_in_with"] == "demo"
    assert {c["document"] for c in data["consents"]} == {"terms", "privacy"}
    titles = {t.content for t in session.exec(select(Task).where(Task.user_id == user_id))}
    assert {t["content"] for t in data["tasks"]} == titles and titles
    by_id = {t["id"]: t for t in data["tips"]}
    assert [r["reaction"] for r in by_id[tip]["reactions"]] == ["done"]
    assert by_id[tip]["explanation"]["summary"]
    assert sorted(r["reaction"] for t in data["tips"] for r in t["reactions"]) == ["dismiss", "done"]
    models = {m["policy"]: m for m in data["models"]}
    assert models["linucb@3"]["updates"] == 2 and "overdue" in models["linucb@3"]["weights"]


def test_export_has_no_secret_and_no_one_elses_data(session, user_id):
    other = accounts.create_demo_user(session=session)
    sources.connect_demo(session=session, user_id=other.id)
    theirs = react(session, other.id, "done", "theirs")
    ring = keyring()
    session.add(
        Integration(
            user_id=user_id,
            provider="todoist",
            credentials=ring.encrypt(SECRET_TOKEN),
            sync_token="sync-cursor-secret",
        )
    )
    session.add(
        PushSubscription(
            user_id=user_id,
            endpoint_hash="h" * 64,
            data=ring.encrypt(
                json.dumps({"endpoint": ENDPOINT, "keys": {"p256dh": "PUBKEY", "auth": "AUTHSECRET"}})
            ),
        )
    )
    token = accounts.create_session(session=session, user_id=user_id, days=30)
    session.commit()
    text = json.dumps(your_data.export(session=session, user_id=user_id))
    for secret in (
        SECRET_TOKEN,
        "sync-cursor-secret",
        "capability-0123456789",
        "PUBKEY",
        "AUTHSECRET",
        token,
    ):
        assert secret not in text
    data = json.loads(text)
    assert data["push_subscriptions"][0]["push_service"] == "fcm.googleapis.com"
    assert [s["provider"] for s in data["sources"]] == ["demo", "todoist"]
    assert theirs not in text and data["tips"] == []  # this user has reacted to nothing yet


def test_export_of_a_missing_user_is_refused(session):
    with pytest.raises(LookupError):
        your_data.export(session=session, user_id=4242)


def test_learned_in_plain_words(session, user_id):
    assert your_data.learned(session=session, user_id=user_id).sentences == [
        "Nothing yet: oO learns from your reactions to tips."
    ]
    for i in range(6):
        react(session, user_id, "done", f"d{i}")
    words = your_data.learned(session=session, user_id=user_id)
    assert words.reactions == 6 and words.sentences[0] == "Learned from 6 reactions."
    assert all(w.endswith("tasks") or "tasks" in w for w in words.likes + words.dislikes)


def test_reset_leaves_no_model_row(session, user_id):
    react(session, user_id, "done", "k1")
    assert session.exec(select(ModelState).where(ModelState.user_id == user_id)).all()
    assert learner.reset(session=session, user_id=user_id) == sum(s.name != "random" for s in POLICY_SPECS)
    assert session.exec(select(ModelState).where(ModelState.user_id == user_id)).all() == []
    assert your_data.learned(session=session, user_id=user_id).reactions == 0
    assert len(session.exec(select(TipFeedback)).all()) == 1  # the reactions themselves stay


def test_export_covers_every_table_keyed_by_the_person(session, user_id):
    """Each table with a ``user_id`` column is in the export, or named here with the reason it is not."""
    from sqlmodel import SQLModel

    from oo.models import ActiveDay, PushDecision, utcnow

    not_exported = {
        "tip_feedback": "inside each tip as its reactions",
        "model_state": "as models (weights by feature name)",
        "webhook_delivery": "the provider's delivery ids (deduplication), no content",
        "login_flow": "a sign-in or connect in progress: single-use secrets that expire in minutes",
    }
    tip = react(session, user_id, "done", "k1")
    now = utcnow()
    session.add(
        PushDecision(
            user_id=user_id, send=True, probability=0.4, reason="model", context='{"busy_now": 0}', tip_id=tip
        )
    )
    session.add(ActiveDay(day=now.strftime("%Y-%m-%d"), user_id=user_id, last_at=now))
    session.commit()
    data = your_data.export(session=session, user_id=user_id)
    json.dumps(data)
    assert data["push_decisions"][0]["context"] == {"busy_now": 0}
    assert data["push_decisions"][0]["probability"] == 0.4 and data["push_decisions"][0]["tip_id"] == tip
    assert data["active_days"] == [{"day": now.strftime("%Y-%m-%d"), "last_at": now.isoformat()}]
    section = {
        "consent": "consents",
        "integration": "sources",
        "task": "tasks",
        "tip_view": "tips",
        "push_subscription": "push_subscriptions",
        "user_session": "sessions",
        "api_token": "api_tokens",
        "source_action": "source_actions",
        "event": "events",
        "tip_score": "scoring_log",
        "push_decision": "push_decisions",
        "active_day": "active_days",
    }
    keyed = {t.name for t in SQLModel.metadata.sorted_tables if "user_id" in t.c}
    assert keyed == set(section) | set(not_exported), (
        "a new table keyed by the user: export it or say why not"
    )
    assert all(name in data for name in section.values())
