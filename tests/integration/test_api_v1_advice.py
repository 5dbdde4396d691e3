"""The advice parts of the v1 API: kind advice from /recommend, and the admin library routes with audit rows."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from oo import db
from oo.http.api_v1.models import RecommendationOut
from oo.http.app import create_api
from oo.models import AdminAction, Advice, SourceAction, TipView
from oo.services.advice import library
from tests.integration.test_api_v1 import ORIGIN, signed_in

TAGS = {"time": ["morning", "evening"], "energy": "low", "minutes": 3, "contexts": ["stuck"]}


@pytest.fixture
def client(app_env, make_tables, generous_budget):
    make_tables()
    with Session(db.get_engine()) as s:
        library.seed(session=s)
    with TestClient(create_api(), base_url="http://testserver") as c:
        yield c


def rows(model, *where):
    with Session(db.get_engine()) as s:
        return s.exec(select(model).where(*where)).all()


def test_recommend_with_nothing_open_is_advice_and_done_on_it_closes_nothing(client):
    cookie, uid = signed_in(demo_tasks=False)
    resp = client.post("/api/v1/recommend", json={}, headers={**cookie, **ORIGIN})
    assert resp.status_code == 200
    tip = RecommendationOut.model_validate(resp.json())
    assert tip.kind == "advice" and tip.task is None and tip.advice.key and tip.text
    assert tip.policy.name == "kindmix" and tip.score is not None and 0 < tip.propensity <= 1
    assert tip.explanation.summary
    view = rows(TipView, TipView.id == tip.tip_id)[0]
    assert (view.user_id, view.kind, view.channel) == (uid, "advice", "api")
    done = client.post(
        "/api/v1/feedback",
        json={"tip_id": tip.tip_id, "reaction": "done", "idempotency_key": "adv-1"},
        headers={**cookie, **ORIGIN},
    )
    assert done.status_code == 201 and done.json()["first"] is True
    assert rows(SourceAction) == []


def test_the_advice_admin_routes_are_admin_only(client):
    cookie, _ = signed_in()
    for method, path, body in (
        ("get", "/api/v1/admin/advice", None),
        ("post", "/api/v1/admin/advice", {"text": "x", "tags": TAGS}),
        ("patch", "/api/v1/admin/advice/1", {"text": "y"}),
        ("post", "/api/v1/admin/advice/1/status", {"status": "retired"}),
        ("get", "/api/v1/admin/advice/performance", None),
    ):
        resp = client.request(method, path, json=body, headers={**cookie, **ORIGIN})
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "forbidden", path
    assert rows(AdminAction) == [] and rows(Advice, Advice.source == "operator") == []
    anonymous = client.get("/api/v1/admin/advice")
    assert anonymous.status_code == 401


def test_admin_creates_edits_retires_and_restores_with_one_audit_row_each(client):
    cookie, admin_id = signed_in(admin=True)
    h = {**cookie, **ORIGIN}
    listed = client.get("/api/v1/admin/advice", headers=h).json()["items"]
    assert len(listed) >= 60 and {p["source"] for p in listed} == {"builtin"}
    created = client.post(
        "/api/v1/admin/advice",
        json={
            "key": "ops-tea",
            "text": "Make a pot of tea  and sit with it.",
            "topic": "breaks",
            "tags": TAGS,
        },
        headers=h,
    )
    assert created.status_code == 201, created.text
    piece = created.json()
    assert piece["text"] == "Make a pot of tea and sit with it." and piece["source"] == "operator"
    edited = client.patch(
        f"/api/v1/admin/advice/{piece['id']}", json={"rationale": "Tea is nice."}, headers=h
    )
    assert edited.status_code == 200 and edited.json()["rationale"] == "Tea is nice."
    builtin = next(p for p in listed if p["key"] == "b001")
    client.patch(f"/api/v1/admin/advice/{builtin['id']}", json={"text": "Look far away."}, headers=h)
    retired = client.post(f"/api/v1/admin/advice/{piece['id']}/status", json={"status": "retired"}, headers=h)
    assert retired.json()["status"] == "retired"
    restored = client.post(f"/api/v1/admin/advice/{piece['id']}/status", json={"status": "active"}, headers=h)
    assert restored.json()["status"] == "active"
    audit = rows(AdminAction)
    assert [a.action for a in audit] == [
        "advice.create",
        "advice.update",
        "advice.update",
        "advice.retire",
        "advice.restore",
    ]
    assert {a.admin_id for a in audit} == {admin_id} and audit[0].target == "advice:ops-tea"
    # An upgrade (re-seed) keeps the operator's piece and the edited built-in one.
    with Session(db.get_engine()) as s:
        for row in s.exec(select(Advice).where(Advice.source == "builtin")).all():
            row.version = 0  # pretend every built-in row is from an older library
            s.add(row)
        s.commit()
        counts = library.seed(session=s)
    assert counts["updated"] == len(listed) - 1 and counts["kept"] == 1
    assert rows(Advice, Advice.key == "b001")[0].text == "Look far away."
    assert rows(Advice, Advice.key == "ops-tea")[0].rationale == "Tea is nice."


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/api/v1/admin/advice", {"text": "", "tags": TAGS}, 422),
        ("post", "/api/v1/admin/advice", {"text": "x" * 281, "tags": TAGS}, 422),
        ("post", "/api/v1/admin/advice", {"text": "ok", "tags": {**TAGS, "time": ["dawn"]}}, 422),
        ("post", "/api/v1/admin/advice", {"text": "ok", "tags": {**TAGS, "minutes": 0}}, 422),
        ("post", "/api/v1/admin/advice", {"key": "b001", "text": "dup", "tags": TAGS}, 422),
        ("patch", "/api/v1/admin/advice/999999", {"text": "y"}, 404),
        ("patch", "/api/v1/admin/advice/abc", {"text": "y"}, 404),
        ("patch", "/api/v1/admin/advice/1", {}, 422),
        ("post", "/api/v1/admin/advice/1/status", {"status": "gone"}, 422),
        ("get", "/api/v1/admin/advice/performance?days=0", None, 422),
    ],
)
def test_bad_admin_input_is_a_clear_error_and_changes_nothing(client, method, path, body, status):
    cookie, _ = signed_in(admin=True)
    resp = client.request(method, path, json=body, headers={**cookie, **ORIGIN})
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["message"]
    assert rows(AdminAction) == []


def test_performance_counts_reactions_per_piece_and_tag(client):
    cookie, _ = signed_in(demo_tasks=False)
    for i in range(3):
        tip = client.post("/api/v1/recommend", json={}, headers={**cookie, **ORIGIN}).json()
        client.post(
            "/api/v1/feedback",
            json={"tip_id": tip["tip_id"], "reaction": "dismiss", "idempotency_key": f"p{i}"},
            headers={**cookie, **ORIGIN},
        )
    admin, _ = signed_in(admin=True)
    report = client.get("/api/v1/admin/advice/performance?days=7", headers={**admin, **ORIGIN}).json()
    shown = [p for p in report["pieces"] if p["shown"]]
    assert sum(p["shown"] for p in shown) == 3 and all(p["reactions"]["dismiss"] == 1 for p in shown)
    assert all(p["mean_reward"] == -1.0 and p["ci_low"] is None for p in shown)  # too few for an interval
    assert sum(t["shown"] for t in report["tags"] if t["tag"].startswith("energy:")) == 3
    assert report["kind"]["decisions"] == 0  # nothing was open: no kind was drawn
