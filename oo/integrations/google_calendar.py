"""Google Calendar free/busy, read only: incremental OAuth on the sign-in client, tokens, FreeBusy.

Least privilege: the one scope ``calendar.freebusy`` (busy intervals, never titles or guests),
asked for with incremental authorization (``include_granted_scopes=true``) on the same Google
OAuth client as sign-in, ``access_type=offline`` for a refresh token, PKCE S256. Endpoints come
from the provider's discovery document (Google's lists ``authorization_endpoint``,
``token_endpoint`` and ``revocation_endpoint``), so tests run the whole flow against a real
OpenID provider on loopback.

Every call has a timeout; FreeBusy and refresh retry transient failures (transport errors, 429,
5xx) a few times with backoff. Tokens never appear in exceptions or logs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx

SCOPE = "https://www.googleapis.com/auth/calendar.freebusy"
API_URL = "https://www.googleapis.com/calendar/v3"
TIMEOUT = httpx.Timeout(5.0, connect=3.0)
MAX_ATTEMPTS = 3
BACKOFF = 0.2  # seconds, doubled per attempt
MAX_BLOCKS = 500  # a FreeBusy answer larger than this is cut (no calendar needs more in 24 h)


class CalendarError(Exception):
    """Base class: the calendar could not be read or the grant could not be used."""


class GrantRevoked(CalendarError):
    """Google refused the refresh token (``invalid_grant``): the user must reconnect."""


class AccessExpired(CalendarError):
    """The access token was refused (401): refresh and try once more."""


class CalendarUnavailable(CalendarError):
    """Transport error, timeout, 429 or 5xx after the retries, or a malformed answer."""


@dataclass(frozen=True)
class Endpoints:
    """The OAuth endpoints from the discovery document."""

    authorization: str
    token: str
    revocation: str


@dataclass(frozen=True)
class TokenSet:
    """What a token response gave; ``refresh_token`` may be absent on refresh (keep the old one)."""

    access_token: str = field(repr=False)
    expires_at: float  # epoch seconds
    refresh_token: str | None = field(default=None, repr=False)
    scope: str = ""


@dataclass(frozen=True)
class Busy:
    """One busy interval (aware UTC)."""

    start: datetime
    end: datetime


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``(verifier, S256 challenge)`` pair."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def discover(http: httpx.AsyncClient, discovery_url: str) -> Endpoints:
    """Read the endpoints from the OpenID discovery document.

    Raises:
        CalendarUnavailable: The document cannot be read or lacks an endpoint.
    """
    try:
        response = await http.get(discovery_url, timeout=TIMEOUT)
        doc = response.json() if response.is_success else None
    except (httpx.HTTPError, ValueError) as exc:
        raise CalendarUnavailable(f"discovery failed ({type(exc).__name__})") from exc
    keys = ("authorization_endpoint", "token_endpoint", "revocation_endpoint")
    if not isinstance(doc, dict) or not all(isinstance(doc.get(k), str) for k in keys):
        raise CalendarUnavailable("discovery document lacks an OAuth endpoint")
    return Endpoints(*(doc[k] for k in keys))


def authorize_url(
    endpoints: Endpoints, *, client_id: str, redirect_uri: str, state: str, challenge: str
) -> str:
    """The incremental-authorization URL for the free/busy scope.

    Examples:
        >>> e = Endpoints("https://idp/auth", "https://idp/token", "https://idp/revoke")
        >>> url = authorize_url(e, client_id="c", redirect_uri="https://oo/cb", state="s", challenge="x")
        >>> "include_granted_scopes=true" in url and "access_type=offline" in url
        True
    """
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": SCOPE,
        "include_granted_scopes": "true",
        "access_type": "offline",
        "prompt": "consent",  # Google returns a refresh token again only with consent
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{endpoints.authorization}?{urlencode(params)}"


async def _post(http: httpx.AsyncClient, url: str, *, retries: int, **kwargs: object) -> httpx.Response:
    """POST with timeout and retries on transport errors, 429 and 5xx."""
    for attempt in range(retries):
        try:
            response = await http.post(url, timeout=TIMEOUT, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            if attempt + 1 == retries:
                raise CalendarUnavailable(f"request failed ({type(exc).__name__})") from exc
        else:
            if response.status_code != 429 and response.status_code < 500:
                return response
            if attempt + 1 == retries:
                raise CalendarUnavailable(f"HTTP {response.status_code}")
        await asyncio.sleep(BACKOFF * 2**attempt)
    raise CalendarUnavailable("no attempt made")


def _token_set(response: httpx.Response) -> TokenSet:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not response.is_success or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        error = body.get("error") if isinstance(body, dict) else None
        if error == "invalid_grant":
            raise GrantRevoked("the grant was revoked or expired")
        raise CalendarUnavailable(f"token endpoint answered HTTP {response.status_code} ({str(error)[:60]})")
    expires_in = body.get("expires_in")
    seconds = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 3600.0
    refresh = body.get("refresh_token")
    return TokenSet(
        access_token=body["access_token"],
        expires_at=time.time() + seconds,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        scope=str(body.get("scope", ""))[:500],
    )


async def exchange_code(
    http: httpx.AsyncClient,
    endpoints: Endpoints,
    *,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    verifier: str,
) -> TokenSet:
    """Exchange the callback's code (single use: no retry).

    Raises:
        GrantRevoked: The code was refused.
        CalendarUnavailable: Transport error or 5xx.
    """
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    return _token_set(await _post(http, endpoints.token, retries=1, data=data))


async def refresh(
    http: httpx.AsyncClient, endpoints: Endpoints, *, client_id: str, client_secret: str, refresh_token: str
) -> TokenSet:
    """A new access token for the refresh token.

    Raises:
        GrantRevoked: ``invalid_grant`` (revoked at Google, or expired): reconnect needed.
        CalendarUnavailable: Still failing after the retries.
    """
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
        "client_secret": client_secret,
    }
    return _token_set(await _post(http, endpoints.token, retries=MAX_ATTEMPTS, data=data))


async def revoke(
    http: httpx.AsyncClient, endpoints: Endpoints, *, client_id: str, client_secret: str, token: str
) -> bool:
    """Revoke the grant at Google (revoking the refresh token revokes its access tokens too).

    Returns:
        True when the provider confirmed (2xx, or 400 ``invalid_token``: already gone).
    """
    data = {"token": token, "client_id": client_id, "client_secret": client_secret}
    try:
        response = await _post(http, endpoints.revocation, retries=MAX_ATTEMPTS, data=data)
    except CalendarUnavailable:
        return False
    return response.is_success or response.status_code == 400


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def free_busy(
    http: httpx.AsyncClient, api_url: str, *, access_token: str, time_min: datetime, time_max: datetime
) -> list[Busy]:
    """The primary calendar's busy intervals between ``time_min`` and ``time_max``, sorted.

    Raises:
        AccessExpired: 401 (refresh and try again).
        GrantRevoked: 403 (the scope was taken back).
        CalendarUnavailable: After the retries, or a malformed answer.
    """
    body = {"timeMin": _stamp(time_min), "timeMax": _stamp(time_max), "items": [{"id": "primary"}]}
    response = await _post(
        http,
        f"{api_url.rstrip('/')}/freeBusy",
        retries=MAX_ATTEMPTS,
        json=body,
        headers={"Authorization": f"Bearer {access_token}"},
    )
    if response.status_code == 401:
        raise AccessExpired("access token refused")
    if response.status_code == 403:
        raise GrantRevoked("calendar access refused")
    try:
        data = response.json()
        primary = data["calendars"]["primary"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CalendarUnavailable(f"malformed FreeBusy answer (HTTP {response.status_code})") from exc
    if not response.is_success or not isinstance(primary, dict) or primary.get("errors"):
        raise CalendarUnavailable(f"FreeBusy could not read the calendar (HTTP {response.status_code})")
    blocks = []
    for item in (primary.get("busy") or [])[:MAX_BLOCKS]:
        if not isinstance(item, dict):
            continue
        start, end = _parse_time(item.get("start")), _parse_time(item.get("end"))
        if start and end and end > start:
            blocks.append(Busy(start, end))
    return sorted(blocks, key=lambda b: b.start)
