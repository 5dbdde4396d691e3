"""Off-policy evaluation on logged tips, the promotion gate, the drift monitor and model cards."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import numpy as np
import pytest
from sqlmodel import select

from oo.models import AdminAction, Policy, TipScore, TipView, User, utcnow
from oo.recommender import get_encoder
from oo.services.admin import drift as admin_drift
from oo.services.admin import model_cards
from oo.services.admin import offpolicy as admin_offpolicy
from oo.services.admin import policies as admin_policies
from oo.services.admin.inputs import AdminInputError
from oo.services.learning import policies

TEXTBOOK = get_encoder("textbook@1").feature_names
IMPROVED = get_encoder("improved@1").feature_names


def _log(
    session,
    *,
    users: int = 40,
    per_user: int = 10,
    good_shadow: str = "linucb@1",
    seed: int = 0,
    served_hours_ago: float = 2.0,
) -> None:
    """Tips served with propensity 0.5; `good_shadow` wants exactly the tips that got 'done'."""
    rng = np.random.default_rng(seed)
    for _ in range(users):
        user = User(name="u", role="user")
        session.add(user)
        session.commit()
        for _ in range(per_user):
            done = rng.random() < 0.5
            x_t = {n: float(rng.normal()) for n in TEXTBOOK}
            x_i = {n: float(rng.normal()) for n in IMPROVED}
            tip_id = uuid.uuid4().hex
            session.add(
                TipView(
                    id=tip_id,
                    user_id=user.id,
                    task_id=1,
                    policy="linucb",
                    policy_version=3,
                    features=json.dumps({"textbook@1": x_t, "improved@1": x_i}),
                    reaction="done" if done else "dismiss",
                    propensity=0.5,
                    served_at=utcnow() - timedelta(hours=served_hours_ago),
                )
            )
            name, version = good_shadow.split("@")
            session.add(
                TipScore(
                    request_id=tip_id,
                    tip_id=tip_id,
                    user_id=user.id,
                    policy=name,
                    policy_version=int(version),
                    role="shadow",
                    task_id=1 if done else 2,
                    features=json.dumps(x_t),
                    served_probability=1.0 if done else 0.0,
                )
            )
            session.add(
                TipScore(
                    request_id=tip_id,
                    tip_id=tip_id,
                    user_id=user.id,
                    policy="random",
                    policy_version=1,
                    role="shadow",
                    task_id=1,
                    features=json.dumps(x_t),
                    served_probability=0.5,
                )
            )
    session.commit()


def test_offpolicy_estimates_per_shadow_with_user_bootstrap_intervals(session):
    _log(session)
    data = admin_offpolicy.evaluate_shadows(session=session, window="7d")
    assert data["tips"] == 400 and data["users"] == 40 and data["served_by"] == ["linucb@3"]
    rewards = [1.0 if r.reaction == "done" else -1.0 for r in session.exec(select(TipView)).all()]
    assert data["active"]["value"] == pytest.approx(np.mean(rewards))
    by = {s["policy"]: s for s in data["shadows"]}
    good, rnd = by["linucb@1"], by["random@1"]
    # Picks only 'done' tips: IPS = mean(2 * 1[done]), SNIPS = 1 exactly.
    assert good["snips"]["value"] == pytest.approx(1.0)
    assert good["ips"]["value"] == pytest.approx(np.mean([2.0 * (r > 0) for r in rewards]))
    assert good["dr"]["low"] > data["active"]["high"]
    # Random had the logging policy's own probabilities: its IPS is the observed mean.
    assert rnd["ips"]["value"] == pytest.approx(data["active"]["value"])
    assert rnd["snips"]["low"] <= data["active"]["value"] <= rnd["snips"]["high"]


def test_promotion_needs_the_dr_lower_bound_above_the_observed_mean_or_a_reason(session):
    admin = User(name="a", role="admin")
    session.add(admin)
    session.commit()
    _log(session, good_shadow="linucb@1")
    rows = {f"{p.name}@{p.version}": p for p in policies.list_policies(session=session)}
    # random@1 is no better than what is served: refused without a reason.
    with pytest.raises(AdminInputError, match="does not beat"):
        admin_policies.set_status(
            session=session, admin_id=admin.id, policy_id=rows["random@1"].id, status="active"
        )
    session.rollback()
    assert session.exec(select(AdminAction)).all() == []
    # linucb@1 beats it: promoted, and the audit row says why.
    admin_policies.set_status(
        session=session, admin_id=admin.id, policy_id=rows["linucb@1"].id, status="active"
    )
    assert session.get(Policy, rows["linucb@1"].id).status == "active"
    [audit] = session.exec(select(AdminAction)).all()
    params = json.loads(audit.params)
    assert params["gate"].startswith("DR lower bound") and "override_reason" not in params


def test_drift_monitor_warns_on_a_reward_drop_and_a_feature_shift(session):
    _log(session, users=10, per_user=10, seed=1, served_hours_ago=48)  # baseline: half done
    quiet = admin_drift.drift(session=session)
    assert quiet["warnings"] == []
    # Last 24 h: everything dismissed, and the features moved by several std.
    user = User(name="u", role="user")
    session.add(user)
    session.commit()
    for _ in range(40):
        x_i = dict.fromkeys(IMPROVED, 3.0)
        session.add(
            TipView(
                id=uuid.uuid4().hex,
                user_id=user.id,
                policy="linucb",
                policy_version=3,
                features=json.dumps({"improved@1": x_i}),
                reaction="dismiss",
                propensity=0.5,
                served_at=utcnow() - timedelta(hours=1),
            )
        )
    session.commit()
    loud = admin_drift.drift(session=session)
    assert any("mean reward fell" in w for w in loud["warnings"])
    assert any("shifted by" in w for w in loud["warnings"])


def test_model_cards_cover_every_registered_version():
    cards = model_cards.cards_text()
    keys = [c["key"] for c in cards]
    assert keys == [s.key for s in policies.POLICY_SPECS]
    for card in cards:
        assert "Sees:" in card["body"] and "Priors and hyperparameters" in card["body"]
        assert "Known limits:" in card["body"]


def test_the_page_reuses_an_evaluation_for_a_while_and_reads_at_most_max_tips(session, monkeypatch):
    _log(session, users=10, per_user=5)
    first = admin_offpolicy.cached_evaluation(session=session, window="7d")
    _log(session, users=2, per_user=5, seed=9)
    assert admin_offpolicy.cached_evaluation(session=session, window="7d") is first
    assert admin_offpolicy.evaluate_shadows(session=session, window="7d")["tips"] == 60
    monkeypatch.setattr(admin_offpolicy, "MAX_TIPS", 25)
    assert admin_offpolicy.evaluate_shadows(session=session, window="7d")["tips"] == 25
