"""Todoist OAuth 2.0: the authorize URL, the code-for-token exchange, and token revocation.

Secrets and tokens are sent only in request bodies or headers and never appear in exception
messages. The state value is created and checked by the caller (`oo/http/signin_routes.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

import httpx

from oo.integrations.todoist.errors import TodoistAuthError, TodoistError, TodoistUnavailable
from oo.integrations.todoist.models import TokenGrant

AUTH_BASE = "https://todoist.com"
API_BASE = "https://api.todoist.com/api/v1"
# Token endpoints answer quickly or not at all; the user is waiting on the callback page.
TIMEOUT = httpx.Timeout(10.0)


def authorize_url(
    auth_base: str, client_id: str, scope: str | Sequence[str], state: str, redirect_uri: str | None = None
) -> str:
    """Build the URL to send the browser to.

    Args:
        auth_base: OAuth root, normally `AUTH_BASE` ("https://todoist.com").
        client_id: The app's client id.
        scope: Scopes, as a comma-separated string or a sequence (joined with commas).
        state: The unguessable value the callback must echo.
        redirect_uri: Optional; Todoist uses the URI configured in its app console.

    Returns:
        `{auth_base}/oauth/authorize?client_id=...&scope=...&state=...`.

    Examples:
        >>> authorize_url("https://todoist.com", "cid", ["data:read", "data:read_write"], "s1")
        'https://todoist.com/oauth/authorize?client_id=cid&scope=data%3Aread%2Cdata%3Aread_write&state=s1'
    """
    scopes = scope if isinstance(scope, str) else ",".join(scope)
    params = {"client_id": client_id, "scope": scopes, "state": state}
    if redirect_uri:
        params["redirect_uri"] = redirect_uri
    return f"{auth_base.rstrip('/')}/oauth/authorize?{urlencode(params)}"


async def exchange_code_grant(
    http: httpx.AsyncClient, auth_base: str, client_id: str, client_secret: str, code: str
) -> TokenGrant:
    """Exchange an authorization code and return the whole token response.

    The response always has `access_token` and `token_type`; apps with refresh tokens enabled
    also get `refresh_token` and `expires_in`.

    Raises:
        TodoistAuthError: If Todoist refuses the code or the client credentials.
        TodoistUnavailable: On 5xx or transport errors (a code is single-use, so no retry here).
    """
    data = {"client_id": client_id, "client_secret": client_secret, "code": code}
    try:
        response = await http.post(f"{auth_base.rstrip('/')}/oauth/access_token", data=data, timeout=TIMEOUT)
    except httpx.TransportError as exc:
        raise TodoistUnavailable(f"Todoist token exchange failed ({type(exc).__name__})") from exc
    if response.status_code >= 500:
        raise TodoistUnavailable("Todoist token exchange failed", status=response.status_code)
    try:
        body = response.json()
    except ValueError:
        body = None
    if (
        not response.is_success
        or not isinstance(body, dict)
        or "error" in body
        or not body.get("access_token")
    ):
        error = str(body.get("error"))[:100] if isinstance(body, dict) else None
        raise TodoistAuthError(
            f"Todoist refused the authorization code (HTTP {response.status_code}, error={error!r})",
            status=response.status_code,
        )
    return TokenGrant.model_validate(body)


async def exchange_code(
    http: httpx.AsyncClient, auth_base: str, client_id: str, client_secret: str, code: str
) -> str:
    """Exchange an authorization code for an access token.

    Args:
        http: Client used for the request.
        auth_base: OAuth root, normally `AUTH_BASE`.
        client_id: The app's client id.
        client_secret: The app's client secret.
        code: The `code` query parameter of the callback.

    Returns:
        The access token.

    Raises:
        TodoistAuthError: If Todoist refuses the code or the client credentials.
        TodoistUnavailable: On 5xx or transport errors.
    """
    grant = await exchange_code_grant(http, auth_base, client_id, client_secret, code)
    return grant.access_token


async def revoke_token(
    http: httpx.AsyncClient, api_base: str, client_id: str, client_secret: str, token: str
) -> None:
    """Revoke an access token (RFC 7009 endpoint, falling back to the legacy one on 404/405).

    Args:
        http: Client used for the request.
        api_base: API root, normally `API_BASE`.
        client_id: The app's client id.
        client_secret: The app's client secret.
        token: The access token to revoke.

    Raises:
        TodoistAuthError: If Todoist rejects the client credentials (401/403).
        TodoistUnavailable: On 5xx or transport errors.
        TodoistError: On any other non-2xx answer.
    """
    base = api_base.rstrip("/")
    try:
        response = await http.post(
            f"{base}/revoke",
            json={"token": token, "token_type_hint": "access_token"},
            auth=httpx.BasicAuth(client_id, client_secret),
            timeout=TIMEOUT,
        )
        if response.status_code in (404, 405):
            params = {"client_id": client_id, "client_secret": client_secret, "access_token": token}
            response = await http.delete(f"{base}/access_tokens", params=params, timeout=TIMEOUT)
    except httpx.TransportError as exc:
        raise TodoistUnavailable(f"Todoist token revocation failed ({type(exc).__name__})") from exc
    _raise_for_revoke(response)


def _raise_for_revoke(response: httpx.Response) -> None:
    status = response.status_code
    if response.is_success:
        return
    message = f"Todoist token revocation failed with HTTP {status}"
    if status in (401, 403):
        raise TodoistAuthError(message, status=status)
    if status >= 500 or status == 429:
        raise TodoistUnavailable(message, status=status)
    raise TodoistError(message, status=status)
