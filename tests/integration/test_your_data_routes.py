"""Download my data over HTTP: only the caller's own data, only from our own pages; demo sign-in on
both loopback names; OO_DEMO_ADMIN."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from oo import db, routes, settings
from oo.http.app import create_api
from oo.models import User
from oo.services.sources import catalog as sources

ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def client(app_env, make_tables):
    make_tables()
    with TestClient(create_api(), base_url="http://testserver", follow_redirects=False) as c:
        yield c


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"oo_session={token}"}


def demo_session(client: TestClient) -> tuple[int, str]:
    r = client.post(routes.AUTH_DEMO, headers=ORIGIN)
    assert r.status_code == 303
    token = r.cookies["oo_session"]
    with Session(db.get_engine()) as s:
        uid = s.exec(select(User.id).order_by(User.id.desc())).first()  # type: ignore[union-attr]
        sources.connect_demo(session=s, user_id=uid)
    client.cookies.clear()
    return uid, token


def test_download_is_the_callers_own_data(client):
    mine, my_token = demo_session(client)
    theirs, _ = demo_session(client)
    r = client.post(routes.MY_DATA, headers={**ORIGIN, **cookie(my_token)})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.headers["content-disposition"].startswith('attachment; filename="oo-my-data-')
    data = json.loads(r.content)
    assert data["profile"]["id"] == mine != theirs and data["tasks"]
    assert my_token not in r.text


def test_download_needs_a_session_and_our_origin(client):
    _, token = demo_session(client)
    assert client.post(routes.MY_DATA, headers=ORIGIN).status_code == 401
    assert client.post(routes.MY_DATA, headers={**ORIGIN, **cookie("forged")}).status_code == 401
    evil = {"Origin": "http://evil.example"}
    assert client.post(routes.MY_DATA, headers={**evil, **cookie(token)}).status_code == 403
    assert client.get(routes.MY_DATA, headers=cookie(token)).status_code == 405


def test_demo_sign_in_stays_on_the_loopback_name_it_came_from(app_env, make_tables, monkeypatch):
    monkeypatch.setenv("OO_BASE_URL", "")
    monkeypatch.setenv("OO_PORT", "3917")
    settings.get_settings.cache_clear()
    make_tables()
    for name in ("localhost", "127.0.0.1"):
        base = f"http://{name}:3917"
        with TestClient(create_api(), base_url=base, follow_redirects=False) as c:
            r = c.post(routes.AUTH_DEMO, headers={"Origin": base})
            assert r.status_code == 303 and r.headers["location"] == f"{base}{routes.CONNECT}"
            assert "oo_session" in r.cookies
            r = c.post(routes.AUTH_DEMO, headers={"Origin": "http://0.0.0.0:3917"})
            assert r.status_code == 403


@pytest.mark.parametrize("flag", ["true", "false"])
def test_demo_admin_makes_the_demo_user_an_admin(client, monkeypatch, flag):
    monkeypatch.setenv("OO_DEMO_ADMIN", flag)
    settings.get_settings.cache_clear()
    uid, _ = demo_session(client)
    with Session(db.get_engine()) as s:
        assert s.get(User, uid).role == ("admin" if flag == "true" else "user")
