"""Todoist OAuth helpers against httpx.MockTransport: authorize URL, code exchange, revocation."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from oo.integrations.todoist import TodoistAuthError, TodoistError, TodoistUnavailable
from oo.integrations.todoist.oauth import (
    API_BASE,
    AUTH_BASE,
    authorize_url,
    exchange_code,
    exchange_code_grant,
    revoke_token,
)

CLIENT_ID = "cid-123"
CLIENT_SECRET = "client-secret-xyz"
TOKEN = "access-token-abc"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def mock_http(
    handler: Callable[[httpx.Request], httpx.Response],
) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return httpx.AsyncClient(transport=httpx.MockTransport(recording)), seen


def test_authorize_url_has_comma_separated_scope_and_state() -> None:
    url = authorize_url(AUTH_BASE, CLIENT_ID, ["data:read", "data:read_write"], "st4te")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "todoist.com", "/oauth/authorize")
    assert parse_qs(parts.query) == {
        "client_id": [CLIENT_ID],
        "scope": ["data:read,data:read_write"],
        "state": ["st4te"],
    }


def test_authorize_url_accepts_string_scope_and_redirect_uri() -> None:
    url = authorize_url("http://127.0.0.1:9/", CLIENT_ID, "data:read_write", "s", "http://app/cb")
    query = parse_qs(urlsplit(url).query)
    assert url.startswith("http://127.0.0.1:9/oauth/authorize?")
    assert query["scope"] == ["data:read_write"]
    assert query["redirect_uri"] == ["http://app/cb"]


@pytest.mark.anyio
async def test_exchange_code_posts_credentials_and_returns_token() -> None:
    http, seen = mock_http(
        lambda r: httpx.Response(200, json={"access_token": TOKEN, "token_type": "Bearer"})
    )
    assert await exchange_code(http, AUTH_BASE, CLIENT_ID, CLIENT_SECRET, "the-code") == TOKEN
    request = seen[0]
    assert (request.method, str(request.url)) == ("POST", "https://todoist.com/oauth/access_token")
    assert parse_qs(request.content.decode()) == {
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
        "code": ["the-code"],
    }


@pytest.mark.anyio
async def test_exchange_code_grant_keeps_refresh_fields() -> None:
    body = {"access_token": TOKEN, "token_type": "Bearer", "refresh_token": "r1", "expires_in": 3600}
    http, _ = mock_http(lambda r: httpx.Response(200, json=body))
    grant = await exchange_code_grant(http, AUTH_BASE, CLIENT_ID, CLIENT_SECRET, "c")
    assert (grant.access_token, grant.refresh_token, grant.expires_in) == (TOKEN, "r1", 3600)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(400, json={"error": "invalid_grant"}),
        httpx.Response(200, json={"error": "bad_authorization_code"}),
        httpx.Response(200, json={"token_type": "Bearer"}),
        httpx.Response(400, text="nope"),
    ],
)
async def test_exchange_code_errors_raise_auth_error(response: httpx.Response) -> None:
    http, _ = mock_http(lambda r: response)
    with pytest.raises(TodoistAuthError) as info:
        await exchange_code(http, AUTH_BASE, CLIENT_ID, CLIENT_SECRET, "c")
    assert CLIENT_SECRET not in str(info.value)


@pytest.mark.anyio
async def test_exchange_code_server_error_is_unavailable() -> None:
    http, _ = mock_http(lambda r: httpx.Response(503))
    with pytest.raises(TodoistUnavailable):
        await exchange_code(http, AUTH_BASE, CLIENT_ID, CLIENT_SECRET, "c")


@pytest.mark.anyio
async def test_revoke_uses_rfc7009_endpoint_with_basic_auth() -> None:
    http, seen = mock_http(lambda r: httpx.Response(200))
    await revoke_token(http, API_BASE, CLIENT_ID, CLIENT_SECRET, TOKEN)
    assert len(seen) == 1
    request = seen[0]
    assert (request.method, str(request.url)) == ("POST", "https://api.todoist.com/api/v1/revoke")
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert json.loads(request.content) == {"token": TOKEN, "token_type_hint": "access_token"}


@pytest.mark.anyio
@pytest.mark.parametrize("status", [404, 405])
async def test_revoke_falls_back_to_legacy_delete(status: int) -> None:
    http, seen = mock_http(lambda r: httpx.Response(status if r.method == "POST" else 204))
    await revoke_token(http, API_BASE, CLIENT_ID, CLIENT_SECRET, TOKEN)
    legacy = seen[1]
    assert (legacy.method, legacy.url.path) == ("DELETE", "/api/v1/access_tokens")
    assert dict(legacy.url.params) == {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "access_token": TOKEN,
    }


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "error"),
    [(401, TodoistAuthError), (403, TodoistAuthError), (500, TodoistUnavailable), (400, TodoistError)],
)
async def test_revoke_failures_raise(status: int, error: type[Exception]) -> None:
    http, _ = mock_http(lambda r: httpx.Response(status, text=f"{TOKEN} {CLIENT_SECRET}"))
    with pytest.raises(error) as info:
        await revoke_token(http, API_BASE, CLIENT_ID, CLIENT_SECRET, TOKEN)
    assert TOKEN not in str(info.value)
    assert CLIENT_SECRET not in str(info.value)


@pytest.mark.anyio
async def test_revoke_transport_error_is_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    http, _ = mock_http(handler)
    with pytest.raises(TodoistUnavailable):
        await revoke_token(http, API_BASE, CLIENT_ID, CLIENT_SECRET, TOKEN)
