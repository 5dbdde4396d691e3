"""Hostile HTTP input: bodies sized before reading, bounded JSON depth, bounded integers (issue 16)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from starlette.testclient import TestClient

from oo.http.app import create_api
from oo.http.limits import BodyLimit
from tests.integration.test_api_v1 import ORIGIN, client, signed_in  # noqa: F401  (fixture)

DEEP = ("[" * 5000 + "]" * 5000).encode()


class Stream:
    """An ASGI ``receive`` serving 64 KiB chunks (25 MiB in all) that counts what was pulled."""

    def __init__(self, chunks: int | None = 400) -> None:  # 25 MiB at most, so a failure is not an OOM
        self.pulled, self.chunks = 0, chunks

    async def __call__(self):
        self.pulled += 1
        more = self.chunks is None or self.pulled < self.chunks
        return {"type": "http.request", "body": b"x" * 65536, "more_body": more}


def scope(path: str, headers: dict[str, str]) -> dict:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [*raw, (b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
        "root_path": "",
    }


async def call(app, path: str, headers: dict[str, str], stream: Stream) -> int:
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    await app(scope(path, headers), stream, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start")


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/api/v1/recommend", "/webhooks/todoist", "/auth/apple/callback"])
async def test_a_declared_huge_body_is_refused_before_a_byte_is_read(app_env, make_tables, path):
    make_tables()
    app = BodyLimit(create_api())
    stream = Stream()
    headers = {"content-type": "application/json", "content-length": str(400 << 20)}
    assert await call(app, path, headers, stream) == 413
    assert stream.pulled == 0


@pytest.mark.anyio
async def test_a_streamed_body_without_length_is_cut_off_at_the_cap(app_env, make_tables):
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    async def greedy(request):  # a route that reads everything it is given
        return Response(str(len(await request.body())))

    make_tables()
    for app in (Starlette(routes=[Route("/any", greedy, methods=["POST"])]), create_api()):
        stream = Stream()  # chunked, no length: only the cap stops it early
        path = (
            "/any"
            if not hasattr(app, "user_middleware") or app.routes[0].path == "/any"
            else "/webhooks/todoist"
        )
        assert await call(BodyLimit(app), path, {"content-type": "application/json"}, stream) == 413
        assert stream.pulled <= (1 << 20) // 65536 + 1


@pytest.mark.anyio
async def test_the_api_body_reader_stops_at_its_own_smaller_cap(app_env, make_tables):
    make_tables()
    cookie, _ = signed_in()
    stream = Stream()
    headers = {"content-type": "application/json", **cookie, **ORIGIN}
    assert await call(create_api(), "/api/v1/recommend", headers, stream) == 413  # no middleware
    assert stream.pulled <= 2  # MAX_BODY is 16 KiB: the first 64 KiB chunk is already too much


def test_deeply_nested_json_is_a_422_not_a_500(client):  # noqa: F811
    cookie, _ = signed_in()
    headers = {"content-type": "application/json", **cookie, **ORIGIN}
    resp = client.post("/api/v1/recommend", content=DEEP, headers=headers)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "too_deep"


def test_a_huge_user_id_is_a_422_not_a_500(client):  # noqa: F811
    admin, _ = signed_in(admin=True, demo_tasks=False)
    for path in ("/api/v1/admin/learner/score", "/api/v1/admin/learner/reset"):
        resp = client.post(path, json={"user_id": 10**30}, headers={**admin, **ORIGIN})
        assert resp.status_code == 422, (path, resp.text)
    resp = client.get("/api/v1/admin/learner/stats?user_id=" + "9" * 30, headers=admin)
    assert resp.status_code == 422
    cookie, _ = signed_in()
    resp = client.post("/api/v1/recommend", json={"exclude_task_ids": [10**30]}, headers={**cookie, **ORIGIN})
    assert resp.status_code == 422


def test_a_signed_but_deeply_nested_webhook_is_a_400(app_env, make_tables, monkeypatch):
    from tests.integration.todoist_env import CLIENT_SECRET

    monkeypatch.setenv("OO_TODOIST_CLIENT_ID", "cid")
    monkeypatch.setenv("OO_TODOIST_CLIENT_SECRET", CLIENT_SECRET)
    from oo import settings

    settings.get_settings.cache_clear()
    make_tables()
    body = b'{"event_name": "item:added", "user_id": 1, "event_data": ' + DEEP + b"}"
    sig = base64.b64encode(hmac.new(CLIENT_SECRET.encode(), body, hashlib.sha256).digest()).decode()
    with TestClient(create_api(), base_url="http://testserver") as c:
        resp = c.post("/webhooks/todoist", content=body, headers={"X-Todoist-Hmac-SHA256": sig})
    assert resp.status_code == 400, resp.text


def test_every_integer_of_every_request_model_is_bounded():
    from pydantic import BaseModel

    from oo.http.api_v1 import admin_models, models

    def bounded(info) -> bool:
        return any(
            getattr(m, "le", None) is not None or getattr(m, "lt", None) is not None for m in info.metadata
        )

    loose = []
    for module in (models, admin_models):
        for cls in vars(module).values():
            if not (isinstance(cls, type) and issubclass(cls, BaseModel)) or not cls.__name__.endswith(
                ("Request", "Query", "In", "Create", "Unsubscribe")
            ):
                continue
            for name, info in cls.model_fields.items():
                text = json.dumps(str(info.annotation))
                if "int" in text and not bounded(info) and "list" not in text:
                    loose.append(f"{cls.__name__}.{name}")
    assert loose == []


def test_api_tokens_expire_and_rotate_with_a_grace_period(client):  # noqa: F811
    from datetime import timedelta

    from sqlmodel import Session

    from oo import db
    from oo.models import ApiToken, utcnow
    from tests.integration.test_api_v1 import rows

    cookie, _ = signed_in()
    made = client.post(
        "/api/v1/tokens", json={"name": "cli", "days": 30}, headers={**cookie, **ORIGIN}
    ).json()
    expires = made["expires_at"]
    assert expires is not None
    bearer = {"authorization": f"Bearer {made['token']}"}
    assert client.post("/api/v1/recommend", json={}, headers=bearer).status_code == 200
    assert (
        client.post(
            "/api/v1/tokens", json={"name": "x", "days": 10**6}, headers={**cookie, **ORIGIN}
        ).status_code
        == 422
    )

    rotated = client.post(f"/api/v1/tokens/{made['id']}/rotate", json={}, headers={**cookie, **ORIGIN})
    assert rotated.status_code == 201 and rotated.json()["name"] == "cli"
    new = {"authorization": f"Bearer {rotated.json()['token']}"}
    assert client.post("/api/v1/recommend", json={}, headers=new).status_code == 200
    assert client.post("/api/v1/recommend", json={}, headers=bearer).status_code == 200  # grace period
    [old] = rows(ApiToken, ApiToken.id == made["id"])
    assert timedelta(hours=23) < old.expires_at - utcnow() <= timedelta(days=1)

    with Session(db.get_engine()) as s:  # time passes: the old token's grace period is over
        row = s.get(ApiToken, made["id"])
        row.expires_at = utcnow() - timedelta(seconds=1)
        s.add(row)
        s.commit()
    assert client.post("/api/v1/recommend", json={}, headers=bearer).status_code == 401
    assert client.post("/api/v1/recommend", json={}, headers=new).status_code == 200
    listed = client.get("/api/v1/tokens", headers=cookie).json()["tokens"]
    assert [t["id"] for t in listed] == [rotated.json()["id"]]
    assert (
        client.post(f"/api/v1/tokens/{made['id']}/rotate", json={}, headers={**cookie, **ORIGIN}).status_code
        == 404
    )
