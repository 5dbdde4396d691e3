"""Contract tests of the v1 JSON API through Starlette's TestClient on a temporary database."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from oo import db
from oo.http.api_v1 import ROUTES
from oo.http.api_v1 import routes as api_routes
from oo.http.api_v1.models import FeedbackOut, RecommendationOut
from oo.http.app import create_api
from oo.models import AdminAction, ApiToken, ModelState, TipFeedback, TipView, User
from oo.recommender import POLICY_SPECS
from oo.services.accounts import sessions as accounts
from oo.services.learning.policies import DEFAULT_ACTIVE
from oo.services.sources import catalog as sources

ORIGIN = {"origin": "http://testserver"}


@pytest.fixture
def client(app_env, make_tables, generous_budget):
    make_tables()
    with TestClient(create_api(), base_url="http://testserver") as c:
        yield c


def signed_in(*, demo_tasks: bool = True, admin: bool = False) -> tuple[dict[str, str], int]:
    """A new user with a session; returns (cookie header, user id)."""
    with Session(db.get_engine(), expire_on_commit=False) as s:
        user = accounts.create_demo_user(session=s)
        if admin:
            user.role = "admin"
            s.add(user)
            s.commit()
        if demo_tasks:
            sources.connect_demo(session=s, user_id=user.id)
        token = accounts.create_session(session=s, user_id=user.id, days=1)
    return {"cookie": f"oo_session={token}"}, user.id


def rows(model, *where):
    with Session(db.get_engine()) as s:
        return s.exec(select(model).where(*where)).all()


def feedback_body(tip_id: str, reaction: str = "done", key: str = "key-1") -> dict[str, str]:
    return {"tip_id": tip_id, "reaction": reaction, "idempotency_key": key}


def test_recommend_returns_a_validated_logged_tip(client):
    cookie, uid = signed_in()
    resp = client.post("/api/v1/recommend", json={}, headers={**cookie, **ORIGIN})
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"
    tip = RecommendationOut.model_validate(resp.json())
    assert tip.kind == "todo" and tip.policy.name == "linucb" and tip.task.source == "demo"
    assert tip.explanation.features and tip.explanation.summary
    view = rows(TipView, TipView.id == tip.tip_id)[0]
    assert view.user_id == uid and view.channel == "api"
    again = client.post(
        "/api/v1/recommend", json={"exclude_task_ids": [tip.task.id]}, headers={**cookie, **ORIGIN}
    )
    assert again.json()["task"]["id"] != tip.task.id


def test_recommend_with_nothing_open_is_an_empty_tip(client):
    cookie, _ = signed_in(demo_tasks=False)
    resp = client.post("/api/v1/recommend", json={}, headers={**cookie, **ORIGIN})
    assert resp.status_code == 200
    assert resp.json()["kind"] == "empty" and resp.json()["tip_id"] is None


@pytest.mark.parametrize(
    "headers", [{}, {"cookie": "oo_session=forged"}, {"authorization": "Bearer oo_forged"}]
)
def test_no_valid_credentials_is_401(client, headers):
    for path, body in (("/api/v1/recommend", {}), ("/api/v1/feedback", feedback_body("0" * 32))):
        resp = client.post(path, json=body, headers={**headers, **ORIGIN})
        assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"
        assert resp.json()["error"]["code"] == "unauthenticated"
    assert not rows(TipView)


def test_a_cross_site_cookie_write_is_refused(client):
    cookie, _ = signed_in()
    resp = client.post("/api/v1/recommend", json={}, headers={**cookie, "origin": "https://evil.example"})
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "cross_site"
    assert not rows(TipView)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tip_id": "0" * 32, "reaction": "love", "idempotency_key": "k"}, "reaction"),
        ({"tip_id": "XYZ", "reaction": "done", "idempotency_key": "k"}, "tip_id"),
        ({"tip_id": "0" * 32, "reaction": "done", "idempotency_key": "has space"}, "idempotency_key"),
        ({"tip_id": "0" * 32, "reaction": "done"}, "idempotency_key"),
        ({"tip_id": "0" * 32, "reaction": "done", "idempotency_key": "k", "user_id": 1}, "user_id"),
        ({"tip_id": 7, "reaction": "done", "idempotency_key": "k"}, "tip_id"),
    ],
)
def test_feedback_validation_errors_name_the_field(client, body, field):
    cookie, _ = signed_in()
    resp = client.post("/api/v1/feedback", json=body, headers={**cookie, **ORIGIN})
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["code"] == "validation_error" and field in {d["field"] for d in error["details"]}


def test_malformed_bodies_are_clear_errors(client):
    cookie, _ = signed_in()
    headers = {**cookie, **ORIGIN}
    resp = client.post(
        "/api/v1/feedback", content=b"{not json", headers={**headers, "content-type": "application/json"}
    )
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_json"
    resp = client.post(
        "/api/v1/feedback", content=b"tip_id=x", headers={**headers, "content-type": "text/plain"}
    )
    assert resp.status_code == 415
    resp = client.post(
        "/api/v1/recommend",
        content=b"[" + b"1," * 20000 + b"1]",
        headers={**headers, "content-type": "application/json"},
    )
    assert resp.status_code == 413
    resp = client.post("/api/v1/recommend", json={"exclude_task_ids": ["1"]}, headers=headers)
    assert resp.status_code == 422, "strict types: a string is not a task id"


def test_feedback_is_idempotent_and_learned_once(client):
    cookie, uid = signed_in()
    headers = {**cookie, **ORIGIN}
    tip = client.post("/api/v1/recommend", json={}, headers=headers).json()
    answers = [
        client.post("/api/v1/feedback", json=feedback_body(tip["tip_id"]), headers=headers) for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 200, 200]
    first, *repeats = (FeedbackOut.model_validate(a.json()) for a in answers)
    assert first.learned and not first.duplicate and first.reward == 1.0
    assert all(r.duplicate and r.feedback_id == first.feedback_id for r in repeats)
    assert len(rows(TipFeedback, TipFeedback.user_id == uid)) == 1
    assert {m.policy_key: m.updates for m in rows(ModelState, ModelState.user_id == uid)}["linucb@3"] == 1
    conflict = client.post("/api/v1/feedback", json=feedback_body(tip["tip_id"], "dismiss"), headers=headers)
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "idempotency_conflict"
    later = client.post(
        "/api/v1/feedback", json=feedback_body(tip["tip_id"], "dismiss", "key-2"), headers=headers
    )
    assert later.status_code == 201 and later.json()["learned"] is False  # first reward wins
    assert {m.policy_key: m.updates for m in rows(ModelState, ModelState.user_id == uid)}["linucb@3"] == 1


def test_feedback_on_another_users_tip_is_404(client):
    victim, _ = signed_in()
    tip = client.post("/api/v1/recommend", json={}, headers={**victim, **ORIGIN}).json()
    attacker, _ = signed_in()
    resp = client.post("/api/v1/feedback", json=feedback_body(tip["tip_id"]), headers={**attacker, **ORIGIN})
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "tip_not_found"
    assert not rows(TipFeedback) and rows(TipView, TipView.id == tip["tip_id"])[0].reaction is None


def test_api_tokens_authenticate_and_can_be_revoked(client):
    cookie, uid = signed_in()
    created = client.post("/api/v1/tokens", json={"name": "cli"}, headers={**cookie, **ORIGIN})
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("oo_") and rows(ApiToken)[0].token_hash != token
    bearer = {"authorization": f"Bearer {token}"}
    resp = client.post("/api/v1/recommend", json={}, headers=bearer)  # no Origin needed: not a cookie
    assert resp.status_code == 200 and rows(TipView)[0].user_id == uid
    assert client.post("/api/v1/tokens", json={"name": "x"}, headers=bearer).status_code == 403
    listed = client.get("/api/v1/tokens", headers=cookie).json()["tokens"]
    assert [t["name"] for t in listed] == ["cli"] and "token" not in listed[0]
    other, _ = signed_in()
    assert client.delete(f"/api/v1/tokens/{listed[0]['id']}", headers={**other, **ORIGIN}).status_code == 404
    assert client.delete("/api/v1/tokens/abc", headers={**cookie, **ORIGIN}).status_code == 422
    assert client.delete(f"/api/v1/tokens/{listed[0]['id']}", headers={**cookie, **ORIGIN}).status_code == 204
    assert client.post("/api/v1/recommend", json={}, headers=bearer).status_code == 401


def test_rate_limits_answer_429_with_retry_after(client, monkeypatch):
    monkeypatch.setattr(api_routes, "RECOMMEND_PER_MINUTE", 2)
    cookie, _ = signed_in()
    codes = [
        client.post("/api/v1/recommend", json={}, headers={**cookie, **ORIGIN}).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    resp = client.post("/api/v1/recommend", json={}, headers={**cookie, **ORIGIN})
    assert int(resp.headers["retry-after"]) >= 1 and len(rows(TipView)) == 2


def test_learner_ops_are_admin_only(client):
    cookie, uid = signed_in()
    for method, path, body in (
        ("post", "/api/v1/admin/learner/score", {"user_id": uid}),
        ("post", "/api/v1/admin/learner/reset", {"user_id": uid}),
        ("get", f"/api/v1/admin/learner/stats?user_id={uid}", None),
        ("get", f"/api/v1/admin/learner/features?user_id={uid}", None),
        ("get", "/api/v1/admin/learner/offpolicy", None),
    ):
        resp = client.request(method, path, json=body, headers={**cookie, **ORIGIN})
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden"


def test_learner_ops_score_reward_stats_features_reset(client):
    user, uid = signed_in()
    admin, admin_id = signed_in(admin=True, demo_tasks=False)
    headers = {**admin, **ORIGIN}
    tip = client.post("/api/v1/recommend", json={}, headers={**user, **ORIGIN}).json()
    scored = client.post(
        "/api/v1/admin/learner/score", json={"user_id": uid, "limit": 3}, headers=headers
    ).json()
    assert scored["policy"] == DEFAULT_ACTIVE and len(scored["items"]) == 3
    reward = client.post(
        "/api/v1/admin/learner/reward",
        headers=headers,
        json={"user_id": uid, "tip_id": tip["tip_id"], "reaction": "helpful", "idempotency_key": "r1"},
    )
    assert reward.status_code == 201 and reward.json()["learned"] is True
    stats = client.get(f"/api/v1/admin/learner/stats?user_id={uid}", headers=admin).json()
    by_key = {p["key"]: p for p in stats["policies"]}
    assert by_key[DEFAULT_ACTIVE]["served"] == 1 and by_key[DEFAULT_ACTIVE]["reward"]["mean"] == 0.5
    assert {m["policy"] for m in stats["models"]} == {s.key for s in POLICY_SPECS if s.name != "random"}
    features = client.get(
        f"/api/v1/admin/learner/features?user_id={uid}&policy=linucb@3", headers=admin
    ).json()
    assert len(features["rows"]) == 1 and features["rows"][0]["tip_id"] == tip["tip_id"]
    assert client.get("/api/v1/admin/learner/features", headers=admin).status_code == 422
    assert client.get("/api/v1/admin/learner/stats?user_id=abc", headers=admin).status_code == 422
    assert (
        client.post("/api/v1/admin/learner/reset", json={"user_id": 999999}, headers=headers).status_code
        == 404
    )
    reset = client.post("/api/v1/admin/learner/reset", json={"user_id": uid}, headers=headers)
    assert reset.json() == {"user_id": uid, "deleted": sum(s.name != "random" for s in POLICY_SPECS)}
    assert not rows(ModelState, ModelState.user_id == uid)
    audit = {a.action for a in rows(AdminAction, AdminAction.admin_id == admin_id)}
    assert audit == {"learner.reward", "bandit.reset"}
    with Session(db.get_engine()) as s:
        user_row = s.get(User, admin_id)
        user_row.role = "user"  # the role is re-read on every request
        s.add(user_row)
        s.commit()
    assert client.get("/api/v1/admin/learner/stats", headers=admin).status_code == 403


def test_the_openapi_document_describes_every_route(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    described = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    for route in ROUTES:
        if route.path == "/api/v1/openapi.json":
            continue
        for method in route.methods - {"HEAD"}:
            assert (route.path, method.lower()) in described, (route.path, method)
    schemas = doc["components"]["schemas"]

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = set(refs(doc))
    assert found and all(r.removeprefix("#/components/schemas/") in schemas for r in found)
    assert schemas["FeedbackRequest"]["properties"]["reaction"]["enum"] == [
        "done",
        "helpful",
        "snooze",
        "not_helpful",
        "dismiss",
    ]


def test_recommend_returns_and_logs_the_propensity_and_each_shadow_logs_its_probability(client):
    from oo.models import TipScore

    cookie, _ = signed_in()
    tip = RecommendationOut.model_validate(
        client.post("/api/v1/recommend", json={}, headers={**cookie, **ORIGIN}).json()
    )
    view = rows(TipView, TipView.id == tip.tip_id)[0]
    assert tip.propensity is not None and 0.0 < tip.propensity <= 1.0
    assert view.propensity == pytest.approx(tip.propensity)
    scores = rows(TipScore, TipScore.tip_id == tip.tip_id)
    active = next(r for r in scores if r.role == "active")
    assert active.served_probability == pytest.approx(tip.propensity)
    shadows = [r for r in scores if r.role == "shadow"]
    assert shadows and all(r.served_probability is not None for r in shadows)
    n = scores[0].candidates
    for r in shadows:
        if r.policy == "random":
            assert r.served_probability == pytest.approx(1.0 / n)
        elif r.task_id == view.task_id:  # a deterministic shadow that agrees: its whole mass (or a tie share)
            assert r.served_probability > 0.0
        else:
            assert r.served_probability < 1.0
    assert (
        "propensity"
        in client.get("/api/v1/openapi.json").json()["components"]["schemas"]["RecommendationOut"][
            "properties"
        ]
    )


def test_offpolicy_route_serves_estimates_per_shadow_to_admins(client):
    from oo.http.api_v1.admin_models import OffPolicyOut
    from oo.services.tips import feedback as feedback_service

    admin, _ = signed_in(admin=True, demo_tasks=False)
    for _ in range(4):  # a few users with a few rewarded tips each
        cookie, uid = signed_in()
        for i in range(9):
            tip = client.post("/api/v1/recommend", json={}, headers={**cookie, **ORIGIN}).json()
            with Session(db.get_engine()) as s:
                feedback_service.record(
                    session=s,
                    user_id=uid,
                    tip_id=tip["tip_id"],
                    reaction=("done", "dismiss", "helpful")[i % 3],
                    idempotency_key=f"o{i}",
                )
    resp = client.get("/api/v1/admin/learner/offpolicy?window=7d", headers=admin)
    assert resp.status_code == 200
    out = OffPolicyOut.model_validate(resp.json())
    assert out.tips == 36 and out.users == 4 and out.served_by == [DEFAULT_ACTIVE]
    assert out.active is not None and out.active.low <= out.active.value <= out.active.high
    by = {s.policy: s for s in out.shadows}
    assert set(by) == {s.key for s in POLICY_SPECS} - {DEFAULT_ACTIVE}
    rnd = by["random@1"]
    assert rnd.tips == 36 and rnd.ips is not None and rnd.dr is not None and rnd.dr.low <= rnd.dr.high
    assert client.get("/api/v1/admin/learner/offpolicy?window=2d", headers=admin).status_code == 422
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/admin/learner/offpolicy" in paths
