"""Todoist connect / reconnect / disconnect through oO's HTTP routes and the loopback fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from oo import db, singletons
from oo.crypto import CryptoError, generate_key
from oo.http.app import create_api
from oo.models import Integration, SourceAction, Task, User
from oo.services.accounts import sessions as accounts
from oo.services.platform.keyring import keyring
from oo.services.sources import catalog as sources
from oo.services.sources.todoist import connection as todoist
from tests.integration.todoist_env import CLIENT_ID, CLIENT_SECRET, configure, new_user, rows

CALLBACK = "http://testserver/auth/todoist/callback"
ORIGIN = {"origin": "http://testserver"}


@pytest.fixture
def client(app_env, make_tables, monkeypatch, server) -> Iterator[TestClient]:
    configure(monkeypatch, server)
    make_tables()
    server.fake.deny_authorization = False
    server.fake.grant_token = None
    with TestClient(create_api(), base_url="http://testserver", follow_redirects=False) as c:
        yield c


def sign_in(client: TestClient) -> int:
    user_id = new_user()
    with Session(db.get_engine()) as session:
        token = accounts.create_session(session=session, user_id=user_id, days=1)
    client.cookies.set("oo_session", token)
    return user_id


def start(client: TestClient) -> str:
    resp = client.post("/auth/todoist/start", headers=ORIGIN)
    assert resp.status_code == 303 and "oo_flow" in resp.cookies
    return resp.headers["location"]


def authorize(url: str) -> str:
    """The browser at Todoist: the fake grants (or denies) and redirects back with code and state."""
    resp = httpx.get(url, follow_redirects=False)
    assert resp.status_code == 302
    location = resp.headers["location"]
    assert location.startswith(CALLBACK)
    return location.removeprefix("http://testserver")


def outcome(resp) -> str:
    assert resp.status_code == 303 and resp.headers["referrer-policy"] == "no-referrer"
    location = resp.headers["location"]
    assert location.startswith("http://testserver/connect?todoist=")
    return parse_qs(urlsplit(location).query)["todoist"][0]


def test_connect_stores_the_token_encrypted_and_syncs_at_once(client, server, app_env):
    user_id = sign_in(client)
    server.fake.grant_token = token = "granted-token-0123456789abcdef"
    server.fake.add_user(token, tz="Asia/Tokyo")
    server.fake.seed_tasks(token, 12, seed=3)
    url = start(client)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(server.auth_url + "/oauth/authorize")
    assert query["scope"] == ["data:read_write"] and query["client_id"] == [CLIENT_ID]
    assert len(query["state"][0]) >= 32 and query["redirect_uri"] == [CALLBACK]

    assert outcome(client.get(authorize(url))) == "connected"
    [row] = rows(Integration, Integration.user_id == user_id)
    assert row.status == "connected" and row.external_user_id == server.fake.user(token).id
    assert row.credentials != token and keyring().decrypt(row.credentials) == token
    assert row.sync_token and row.last_sync_at is not None  # the first sync already ran
    assert len(rows(Task, Task.user_id == user_id)) == 12
    assert rows(User, User.id == user_id)[0].timezone == "Asia/Tokyo"
    files = list(Path(app_env["OO_DATA_DIR"]).glob("oo.db*"))
    assert files and all(token.encode() not in f.read_bytes() for f in files), "raw token in the database"


def test_the_state_is_single_use_and_bound_to_browser_and_user(client, server):
    sign_in(client)
    callback = authorize(start(client))
    assert outcome(client.get(callback)) == "connected"
    assert outcome(client.get(callback)) == "bad_state"  # replayed

    callback = authorize(start(client))
    client.cookies.delete("oo_flow")
    assert outcome(client.get(callback)) == "bad_state"  # another browser (no binding cookie)

    callback = authorize(start(client))
    sign_in(client)  # the same browser, now someone else's session
    assert outcome(client.get(callback)) == "bad_state"
    assert outcome(client.get("/auth/todoist/callback?code=x&state=forged")) == "bad_state"


def test_denied_and_failed_flows_return_with_a_clear_code(client, server):
    user_id = sign_in(client)
    server.fake.deny_authorization = True
    assert outcome(client.get(authorize(start(client)))) == "denied"
    server.fake.deny_authorization = False
    callback = authorize(start(client))
    bad_code = callback.replace("code=", "code=wrong")
    assert outcome(client.get(bad_code)) == "failed"
    assert rows(Integration, Integration.user_id == user_id) == []


def test_start_needs_a_session_our_origin_and_a_configured_app(client, server, monkeypatch):
    assert client.post("/auth/todoist/start", headers={"origin": "https://evil.example"}).status_code == 403
    resp = client.post("/auth/todoist/start", headers=ORIGIN)
    assert resp.status_code == 303 and resp.headers["location"].endswith("/signin")
    get = client.get("/auth/todoist/start")  # a GET never starts OAuth (CSRF): only the POST does
    assert not get.headers.get("location", "").startswith(server.auth_url)
    sign_in(client)
    monkeypatch.setenv("OO_TODOIST_CLIENT_ID", "")
    singletons.reset()
    assert outcome(client.post("/auth/todoist/start", headers=ORIGIN)) == "not_configured"
    with Session(db.get_engine()) as session:
        statuses = sources.list_sources(session=session, user_id=1, todoist_configured=False)
    assert [s.status for s in statuses if s.provider == "todoist"] == ["not_configured"]


@pytest.mark.anyio
async def test_disconnect_revokes_at_todoist_and_deletes_everything(client, server):
    user_id = sign_in(client)
    server.fake.grant_token = token = "to-revoke-0123456789"
    server.fake.add_user(token)
    server.fake.seed_tasks(token, 4, seed=1)
    assert outcome(client.get(authorize(start(client)))) == "connected"
    with Session(db.get_engine()) as session:
        session.add(SourceAction(user_id=user_id, source="todoist", external_id="x"))
        session.commit()
    assert await sources.disconnect_source(user_id=user_id, provider="todoist") is sources.Disconnected.DONE
    assert ("revoke", token) in server.fake.revocations
    assert rows(Integration, Integration.user_id == user_id) == []
    assert rows(Task, Task.user_id == user_id) == []
    [action] = rows(SourceAction, SourceAction.user_id == user_id)
    assert action.status == "failed" and "disconnected" in action.last_error
    assert (
        await sources.disconnect_source(user_id=user_id, provider="todoist")
        is sources.Disconnected.NOT_CONNECTED
    )


@pytest.mark.anyio
async def test_disconnect_still_forgets_the_token_when_todoist_is_down(client, server):
    user_id = sign_in(client)
    server.fake.grant_token = token = "to-revoke-down-0123456789"
    assert outcome(client.get(authorize(start(client)))) == "connected"
    server.fake.revoke_endpoint_enabled = False  # legacy endpoint then; break it too
    server.fake.client_secret = "rotated"
    try:
        result = await sources.disconnect_source(user_id=user_id, provider="todoist")
    finally:
        server.fake.revoke_endpoint_enabled, server.fake.client_secret = True, CLIENT_SECRET
    assert result is sources.Disconnected.NOT_REVOKED
    assert rows(Integration, Integration.user_id == user_id) == []
    assert token not in server.fake.revoked_tokens


def test_reconnect_after_a_401_makes_waiting_closes_due(client, server):
    user_id = sign_in(client)
    server.fake.grant_token = "first-token-0123456789"
    assert outcome(client.get(authorize(start(client)))) == "connected"
    with Session(db.get_engine()) as session:
        row = session.get(Integration, rows(Integration, Integration.user_id == user_id)[0].id)
        row.status = "needs_reconnect"
        session.add(row)
        session.add(
            SourceAction(
                user_id=user_id,
                source="todoist",
                external_id="t",
                attempts=1,
                next_attempt_at=row.created_at.replace(year=2100),
            )
        )
        session.commit()
    server.fake.grant_token = "second-token-0123456789"
    server.fake.add_user("second-token-0123456789")
    assert outcome(client.get(authorize(start(client)))) == "connected"
    [row] = rows(Integration, Integration.user_id == user_id)
    assert row.status == "connected" and keyring().decrypt(row.credentials) == "second-token-0123456789"
    [action] = rows(SourceAction, SourceAction.user_id == user_id)
    assert action.next_attempt_at.year < 2100


def test_a_token_written_with_a_retired_key_asks_for_a_reconnect(client, server, monkeypatch):
    user_id = sign_in(client)
    assert outcome(client.get(authorize(start(client)))) == "connected"
    monkeypatch.setenv("OO_ENCRYPTION_KEYS", f"k9:{generate_key()}")
    singletons.reset()
    with pytest.raises(CryptoError):
        keyring().decrypt(rows(Integration, Integration.user_id == user_id)[0].credentials)
    with Session(db.get_engine()) as session:
        assert todoist.load_credentials(session=session, user_id=user_id) is None
    assert rows(Integration, Integration.user_id == user_id)[0].status == "needs_reconnect"
