"""Sign-in end to end through oO's HTTP routes against a real OpenID provider on loopback."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from oo import db, singletons
from oo.http.app import create_api
from oo.models import Consent, User, UserSession
from tests.support.oidc import OidcProvider, complete_login, expected_email, expected_sub

CLIENT_ID, CLIENT_SECRET = "oo-test-client", "oo-test-secret-0123456789"
CALLBACK = "http://testserver/auth/google/callback"


@pytest.fixture(scope="module")
def idp():
    with OidcProvider(CLIENT_ID, CLIENT_SECRET, [CALLBACK]) as provider:
        yield provider


@pytest.fixture
def client(idp, app_env, monkeypatch, make_tables):
    monkeypatch.setenv("OO_GOOGLE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("OO_GOOGLE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("OO_GOOGLE_DISCOVERY_URL", idp.discovery_url)
    monkeypatch.setenv("OO_ADMIN_SEED_EMAIL", "root@example.test")
    singletons.reset()
    make_tables()
    with TestClient(create_api(), base_url="http://testserver", follow_redirects=False) as c:
        yield c


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _start(client, next_path: str | None = None) -> str:
    resp = client.get("/auth/google/start" + (f"?next={next_path}" if next_path else ""))
    assert resp.status_code == 303
    assert "oo_flow" in resp.cookies
    return resp.headers["location"]


def _rows(model):
    with Session(db.get_engine()) as s:
        return s.exec(select(model)).all()


def test_google_sign_in_creates_user_session_and_consent(client):
    authorize = _start(client, "/connect")
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"][0] and query["state"][0]
    callback = complete_login(authorize, "alice")
    resp = client.get(_path(callback))
    assert resp.status_code == 303 and resp.headers["location"] == "http://testserver/connect"
    cookie = resp.headers["set-cookie"]
    assert (
        "oo_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    )
    [user] = _rows(User)
    assert user.oidc_subject == expected_sub("alice") and user.email == expected_email("alice")
    assert user.role == "user"
    assert len(_rows(UserSession)) == 1 and len(_rows(Consent)) == 2
    token = resp.cookies["oo_session"]
    assert token not in {s.token_hash for s in _rows(UserSession)}


def test_admin_seed_email_becomes_admin(client):
    callback = complete_login(_start(client), "root@example.test")
    assert client.get(_path(callback)).status_code == 303
    assert _rows(User)[0].role == "admin"


def test_tampered_state_is_refused(client):
    callback = complete_login(_start(client), "alice")
    resp = client.get(_path(_with_query(callback, state="forged-state")))
    assert resp.headers["location"].endswith("/signin?error=bad_state")
    assert not _rows(UserSession)


def test_replayed_callback_is_refused(client):
    callback = complete_login(_start(client), "alice")
    assert client.get(_path(callback)).headers["location"] == "http://testserver/tip"
    again = client.get(_path(callback))
    assert again.headers["location"].endswith("/signin?error=bad_state")
    # The same code with a fresh, valid state: the provider refuses the second exchange.
    fresh = parse_qs(urlsplit(_start(client)).query)["state"][0]
    replay = client.get(_path(_with_query(callback, state=fresh)))
    assert replay.headers["location"].endswith("/signin?error=token_exchange_failed")
    assert len(_rows(UserSession)) == 1


def test_wrong_nonce_is_refused(client):
    authorize = _with_query(_start(client), nonce="not-the-nonce-we-sent")
    callback = complete_login(authorize, "alice")
    resp = client.get(_path(callback))
    assert resp.headers["location"].endswith("/signin?error=bad_nonce")
    assert not _rows(UserSession) and not _rows(User)


def test_callback_from_another_browser_is_refused(client):
    callback = complete_login(_start(client), "alice")
    client.cookies.clear()
    resp = client.get(_path(callback))
    assert resp.headers["location"].endswith("/signin?error=bad_state")


def test_wrong_issuer_parameter_is_refused(client):
    callback = complete_login(_start(client), "alice")
    resp = client.get(_path(_with_query(callback, iss="https://evil.example")))
    assert resp.headers["location"].endswith("/signin?error=bad_iss")


def test_denied_consent_returns_clear_error(client):
    authorize = _start(client)
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    resp = client.get(f"/auth/google/callback?error=access_denied&state={state}")
    assert resp.headers["location"].endswith("/signin?error=denied")


def test_no_open_redirect_after_login(client):
    callback = complete_login(_start(client, "https://evil.example/x"), "alice")
    assert client.get(_path(callback)).headers["location"] == "http://testserver/tip"


def test_unknown_provider_is_not_configured(client):
    resp = client.get("/auth/apple/start")
    assert resp.headers["location"].endswith("/signin?error=not_configured")


def test_demo_sign_in_checks_origin_and_signout_revokes(client):
    evil = client.post("/auth/demo", headers={"origin": "https://evil.example"})
    assert evil.status_code == 403 and not _rows(User)
    resp = client.post("/auth/demo", headers={"origin": "http://testserver"})
    assert resp.status_code == 303 and resp.headers["location"] == "http://testserver/connect"
    assert _rows(User)[0].is_demo
    out = client.post("/auth/signout", headers={"origin": "http://testserver"})
    assert out.status_code == 303 and out.headers["location"] == "http://testserver/signin"
    assert _rows(UserSession)[0].revoked_at is not None


def test_demo_is_refused_when_demo_mode_is_off(client, monkeypatch):
    monkeypatch.setenv("OO_DEMO", "false")
    singletons.reset()
    assert client.post("/auth/demo", headers={"origin": "http://testserver"}).status_code == 404
