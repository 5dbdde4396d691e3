"""Google Calendar connect / refresh / revoke / disconnect: oO's routes, the real OpenID provider, the fake API.

The provider (panva's oidc-provider on loopback) plays Google's authorization server: it grants the
one calendar.freebusy scope with a refresh token, refreshes, revokes and introspects. The fake
FreeBusy API checks every Bearer token at the provider's introspection endpoint, as Google's API
checks Google's tokens.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import Session, select
from starlette.testclient import TestClient

from oo import db, singletons
from oo.http.app import create_api
from oo.integrations.google_calendar import SCOPE
from oo.models import Integration, User, utcnow
from oo.services.accounts import sessions as accounts
from oo.services.platform.keyring import keyring
from oo.services.push import calendar
from tests.fakes.google_calendar import FakeGoogleCalendarServer
from tests.support.oidc import OidcProvider, complete_login, expected_sub

CLIENT_ID, CLIENT_SECRET = "oo-google-test", "oo-google-secret-0123456789"
CALLBACK = "http://testserver/auth/google-calendar/callback"
ORIGIN = {"origin": "http://testserver"}


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcProvider]:
    with OidcProvider(CLIENT_ID, CLIENT_SECRET, [CALLBACK], extra_scopes=[SCOPE]) as provider:
        yield provider


@pytest.fixture(scope="module")
def api(idp) -> Iterator[FakeGoogleCalendarServer]:
    introspection = httpx.get(idp.discovery_url).json()["introspection_endpoint"]
    with FakeGoogleCalendarServer(CLIENT_ID, CLIENT_SECRET, introspection_url=introspection) as server:
        yield server


@pytest.fixture
def client(app_env, make_tables, monkeypatch, idp, api) -> Iterator[TestClient]:
    monkeypatch.setenv("OO_GOOGLE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("OO_GOOGLE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("OO_GOOGLE_DISCOVERY_URL", idp.discovery_url)
    monkeypatch.setenv("OO_GOOGLE_CALENDAR_API_URL", api.api_url)
    singletons.reset()
    make_tables()
    calendar.clear_cache()
    api.fake.requests.clear()
    api.fake.busy.clear()
    with TestClient(create_api(), base_url="http://testserver", follow_redirects=False) as c:
        yield c
    calendar.clear_cache()


def sign_in(client: TestClient) -> int:
    with Session(db.get_engine()) as session:
        user = User(name="Ada", email="ada@example.test")
        session.add(user)
        session.commit()
        user_id = user.id
        token = accounts.create_session(session=session, user_id=user_id, days=1)
    client.cookies.set("oo_session", token)
    return user_id


def start(client: TestClient) -> str:
    resp = client.post("/auth/google-calendar/start", headers=ORIGIN)
    assert resp.status_code == 303 and "oo_flow" in resp.cookies
    return resp.headers["location"]


def outcome(resp) -> str:
    assert resp.status_code == 303 and resp.headers["referrer-policy"] == "no-referrer"
    location = resp.headers["location"]
    assert location.startswith("http://testserver/connect?calendar=")
    return parse_qs(urlsplit(location).query)["calendar"][0]


def connect(client: TestClient, login: str = "ada") -> str:
    url = start(client)
    callback = complete_login(url, login)
    assert callback.startswith(CALLBACK)
    assert outcome(client.get(callback.removeprefix("http://testserver"))) == "connected"
    return callback


def row(user_id: int) -> Integration | None:
    with Session(db.get_engine()) as session:
        return session.exec(
            select(Integration).where(
                Integration.user_id == user_id, Integration.provider == calendar.PROVIDER
            )
        ).first()


def creds(user_id: int) -> dict:
    found = row(user_id)
    assert found is not None
    return json.loads(keyring().decrypt(found.credentials))


def busy(user_id: int):
    return asyncio.run(calendar.busy(user_id))


def test_connect_asks_for_the_one_scope_incrementally_and_stores_tokens_encrypted(client, api, app_env):
    user_id = sign_in(client)
    query = parse_qs(urlsplit(start(client)).query)
    assert query["scope"] == [SCOPE] and query["include_granted_scopes"] == ["true"]
    assert query["access_type"] == ["offline"] and query["redirect_uri"] == [CALLBACK]
    assert query["code_challenge_method"] == ["S256"] and len(query["state"][0]) >= 32

    connect(client)
    stored = row(user_id)
    assert stored.status == "connected" and stored.scopes == SCOPE
    secrets_ = creds(user_id)
    assert secrets_["refresh_token"] and secrets_["access_token"]
    files = list(Path(app_env["OO_DATA_DIR"]).glob("oo.db*"))
    assert all(secrets_["refresh_token"].encode() not in f.read_bytes() for f in files)

    now = utcnow()
    api.fake.set_busy(expected_sub("ada"), [(now - timedelta(minutes=5), now + timedelta(minutes=30))])
    blocks = busy(user_id)
    assert blocks and blocks[0].end > now
    assert busy(user_id) == blocks and api.fake.requests["freeBusy"] == 1  # cached


def test_the_state_is_single_use_and_bound_to_browser_and_user(client):
    sign_in(client)
    callback = complete_login(start(client), "ada").removeprefix("http://testserver")
    assert outcome(client.get(callback)) == "connected"
    assert outcome(client.get(callback)) == "bad_state"  # replayed
    callback = complete_login(start(client), "ada").removeprefix("http://testserver")
    client.cookies.delete("oo_flow")
    assert outcome(client.get(callback)) == "bad_state"  # another browser
    callback = complete_login(start(client), "ada").removeprefix("http://testserver")
    other = sign_in(client)  # same browser, someone else's session
    assert outcome(client.get(callback)) == "bad_state" and row(other) is None
    foreign = {"origin": "https://evil.example"}
    assert client.post("/auth/google-calendar/start", headers=foreign).status_code == 403


def test_an_expired_access_token_is_refreshed(client, api):
    user_id = sign_in(client)
    connect(client)
    before = creds(user_id)
    stored = row(user_id)
    with Session(db.get_engine()) as session:  # the access token's expiry has passed
        data = {**before, "access_token": "stale", "expires_at": 0}
        stored.credentials = keyring().encrypt(json.dumps(data))
        session.add(stored)
        session.commit()
    assert busy(user_id) == []
    assert api.fake.requests["freeBusy"] == 1  # refreshed before the call, not after a 401
    assert calendar._access[user_id][1] != before["access_token"]  # the fresh token, kept in memory
    assert row(user_id).status == "connected"


def test_a_refused_access_token_is_refreshed_once(client, api):
    user_id = sign_in(client)
    connect(client)
    old = creds(user_id)["access_token"]
    api.fake.fail_next(1, 401)  # Google no longer takes this access token (e.g. expired early)
    assert busy(user_id) == [] and calendar._access[user_id][1] != old
    assert api.fake.requests["freeBusy"] == 2


def test_a_grant_revoked_at_google_needs_reconnect_and_never_raises(client, idp):
    user_id = sign_in(client)
    connect(client)
    data = creds(user_id)
    revocation = httpx.get(idp.discovery_url).json()["revocation_endpoint"]
    r = httpx.post(revocation, data={"token": data["refresh_token"]}, auth=(CLIENT_ID, CLIENT_SECRET))
    assert r.status_code == 200
    assert busy(user_id) is None  # unknown, not an exception
    assert row(user_id).status == "needs_reconnect"
    with Session(db.get_engine()) as session:
        shown = calendar.status(session=session, user_id=user_id, configured=True)
    assert shown.status == "needs_reconnect" and "reconnect" in shown.detail
    connect(client)  # Reconnect
    assert row(user_id).status == "connected"


def test_disconnect_revokes_at_google_and_forgets(client, idp):
    user_id = sign_in(client)
    connect(client)
    refresh_token = creds(user_id)["refresh_token"]
    assert asyncio.run(calendar.disconnect(user_id=user_id)) is True
    assert row(user_id) is None
    token_url = httpx.get(idp.discovery_url).json()["token_endpoint"]
    r = httpx.post(
        token_url,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_an_unreadable_calendar_is_unknown_after_retries(client, api):
    user_id = sign_in(client)
    connect(client)
    api.fake.fail_next(3, 503)
    assert busy(user_id) is None
    assert api.fake.requests["freeBusy"] == 3  # three attempts, then give up
    assert row(user_id).status == "connected"  # a Google outage is not a revoked grant
    calendar.clear_cache()
    assert busy(user_id) == []


def test_without_a_google_client_the_row_says_who_sets_it_up(app_env, make_tables):
    make_tables()
    with Session(db.get_engine()) as session:
        shown = calendar.status(session=session, user_id=1, configured=calendar.config() is not None)
    assert shown.status == "not_configured" and "operator" in shown.detail


def test_connect_starts_are_rate_limited_per_address(client, monkeypatch):
    """Every start stores a single-use login_flow row: one browser cannot make thousands."""
    from oo.models import LoginFlow

    monkeypatch.setenv("OO_RATE_SIGNIN_PER_MINUTE", "3")
    singletons.reset()
    sign_in(client)
    answers = [client.post("/auth/google-calendar/start", headers=ORIGIN) for _ in range(6)]
    slowed = [a for a in answers if "calendar=slow_down" in a.headers.get("location", "")]
    assert len(slowed) == 3
    with Session(db.get_engine()) as session:
        assert len(session.exec(select(LoginFlow)).all()) == 3
