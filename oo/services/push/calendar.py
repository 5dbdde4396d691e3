"""Google Calendar free/busy for push timing: connect, encrypted tokens, busy blocks, disconnect.

The connection is an ``integration`` row with provider ``google_calendar`` (not a task source:
/tip's source state ignores it). ``credentials`` holds, as Keyring ciphertext like the Todoist
token, a JSON object with the refresh token, the current access token and its expiry. An
``invalid_grant`` on refresh (revoked at Google) turns the row into ``needs_reconnect``; Disconnect
revokes the grant at Google, then deletes the row.

Busy blocks for the next `WINDOW` are cached per user for ``OO_GOOGLE_CALENDAR_CACHE_SECONDS``.
`busy` never raises: a calendar that cannot be read gives None ("unknown") and the push decision
goes on without it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import httpx
from sqlmodel import Session, col, delete, select

from oo import offload, singletons
from oo.crypto import CryptoError
from oo.db import session_scope
from oo.integrations import google_calendar as gcal
from oo.models import Integration, utcnow
from oo.services.accounts import sessions as accounts
from oo.services.platform.keyring import keyring
from oo.services.tips import calendar_view
from oo.settings import Settings, get_settings

log = logging.getLogger("oo.calendar")

PROVIDER = "google_calendar"
LABEL = "Google Calendar"
CALLBACK_PATH = "/auth/google-calendar/callback"
WINDOW = timedelta(hours=12)
CONCURRENCY = 32
REFRESH_MARGIN = 60.0  # seconds before expiry at which the access token is refreshed
_cache = calendar_view.cache  # shared with the pick (`oo.services.tips.calendar_view`)
# Fresh access tokens stay in memory (user → refresh token they came from, token, expiry): a
# refresh writes the database only when Google rotates the refresh token.
_access: dict[int, tuple[str, str, float]] = {}
_endpoints: dict[str, tuple[float, gcal.Endpoints]] = {}
SHARDS = 4  # clients per loop: httpcore scans every pooled connection per request, so keep pools small
_http: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)


class ConnectResult(StrEnum):
    """How a connect callback ended; the value is the ``?calendar=`` code shown on /connect."""

    CONNECTED = "connected"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"
    NOT_CONFIGURED = "not_configured"


@dataclass(frozen=True)
class CalendarConfig:
    """The Google OAuth client (the sign-in one) and the endpoints."""

    client_id: str
    client_secret: str
    discovery_url: str
    api_url: str
    redirect_uri: str
    cache_seconds: int


@dataclass(frozen=True)
class CalendarStatus:
    """The /connect row: ``connected``, ``needs_reconnect``, ``not_connected`` or ``not_configured``."""

    status: str
    detail: str = ""


def config(settings: Settings | None = None) -> CalendarConfig | None:
    """The configuration, or None without a Google client (``OO_GOOGLE_CLIENT_ID``)."""
    settings = settings or get_settings()
    if not settings.google_client_id:
        return None
    return CalendarConfig(
        client_id=settings.google_client_id,
        client_secret=settings.google_client_secret.get_secret_value(),
        discovery_url=settings.google_discovery_url,
        api_url=settings.google_calendar_api_url,
        redirect_uri=f"{settings.backend_url}{CALLBACK_PATH}",
        cache_seconds=settings.google_calendar_cache_seconds,
    )


def http_client(shard: int = 0) -> httpx.AsyncClient:
    """One of the running loop's `SHARDS` shared clients (``shard``: e.g. the user id)."""
    clients = _http.setdefault(asyncio.get_running_loop(), {})
    client = clients.get(shard % SHARDS)
    if client is None or client.is_closed:
        size = CONCURRENCY // SHARDS  # together no more connections than reads in flight
        limits = httpx.Limits(max_connections=size, max_keepalive_connections=size)
        client = clients[shard % SHARDS] = httpx.AsyncClient(limits=limits)
    return client


async def endpoints(cfg: CalendarConfig) -> gcal.Endpoints:
    """The OAuth endpoints from the discovery document (cached for an hour)."""
    cached = _endpoints.get(cfg.discovery_url)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    found = await gcal.discover(http_client(), cfg.discovery_url)
    _endpoints[cfg.discovery_url] = (time.monotonic() + 3600, found)
    return found


def status(*, session: Session, user_id: int, configured: bool) -> CalendarStatus:
    """The user's calendar row on /connect."""
    row = _row(session, user_id)
    if row is None:
        if not configured:
            return CalendarStatus("not_configured", "The server's operator sets this up with Google sign-in.")
        return CalendarStatus(
            "not_connected", "Only free/busy times are read, so no push comes while you're busy."
        )
    return CalendarStatus(row.status, row.last_error or "")


async def start_connect(*, user_id: int, cfg: CalendarConfig) -> tuple[str, str]:
    """Begin incremental authorization; returns ``(authorize_url, browser_binding)``.

    The state is stored hashed, single use, bound to this user and browser; the PKCE verifier
    stays server-side in the same row.
    """
    found = await endpoints(cfg)
    state = secrets.token_urlsafe(32)
    verifier, challenge = gcal.pkce_pair()
    with session_scope() as session:
        binding = accounts.start_flow(
            session=session,
            provider=PROVIDER,
            state=state,
            code_verifier=verifier,
            user_id=user_id,
            next_path="/connect",
        )
    url = gcal.authorize_url(
        found, client_id=cfg.client_id, redirect_uri=cfg.redirect_uri, state=state, challenge=challenge
    )
    return url, binding


async def finish_connect(*, user_id: int, code: str, verifier: str, cfg: CalendarConfig) -> ConnectResult:
    """Exchange the code and store the encrypted tokens."""
    try:
        found = await endpoints(cfg)
        tokens = await gcal.exchange_code(
            http_client(),
            found,
            client_id=cfg.client_id,
            client_secret=cfg.client_secret,
            code=code,
            redirect_uri=cfg.redirect_uri,
            verifier=verifier,
        )
    except gcal.GrantRevoked:
        return ConnectResult.FAILED
    except gcal.CalendarError as exc:
        log.warning("calendar connect failed for user %s: %s", user_id, exc)
        return ConnectResult.UNAVAILABLE
    if not tokens.refresh_token or gcal.SCOPE not in tokens.scope.split():
        log.warning("calendar connect for user %s returned no refresh token or not the scope", user_id)
        return ConnectResult.FAILED
    try:
        blob = _seal(tokens.refresh_token, tokens)
    except CryptoError as exc:
        log.error("calendar connect impossible: %s", exc)
        return ConnectResult.NOT_CONFIGURED
    with session_scope() as session:
        row = _row(session, user_id) or Integration(user_id=user_id, provider=PROVIDER)
        row.status, row.credentials, row.scopes = "connected", blob, gcal.SCOPE
        row.last_error, row.updated_at = None, utcnow()
        session.add(row)
        session.commit()
    _cache.pop(user_id, None)
    _access.pop(user_id, None)
    log.info("Google Calendar connected for user %s", user_id)
    return ConnectResult.CONNECTED


def _seal(refresh_token: str, tokens: gcal.TokenSet) -> str:
    data = {
        "refresh_token": refresh_token,
        "access_token": tokens.access_token,
        "expires_at": tokens.expires_at,
    }
    return keyring().encrypt(json.dumps(data))


def _row(session: Session, user_id: int) -> Integration | None:
    return session.exec(
        select(Integration).where(Integration.user_id == user_id, Integration.provider == PROVIDER)
    ).first()


def _load_many(user_ids: list[int]) -> dict[int, dict]:
    """Decrypted credentials of every connected calendar among ``user_ids`` (one query)."""
    out = {}
    with session_scope() as session:
        rows = session.exec(
            select(Integration).where(
                Integration.provider == PROVIDER,
                Integration.status == "connected",
                col(Integration.user_id).in_(user_ids),
            )
        ).all()
        for row in rows:
            try:
                out[row.user_id] = json.loads(keyring().decrypt(row.credentials or ""))
            except (CryptoError, ValueError):
                _mark(session, row, "Stored calendar access could not be read. Please reconnect.")
    return out


def _mark(session: Session, row: Integration, reason: str) -> None:
    row.status, row.last_error, row.updated_at = "needs_reconnect", reason, utcnow()
    session.add(row)
    session.commit()


def _needs_reconnect(user_id: int, refresh_token: str) -> None:
    with session_scope() as session:
        row = _row(session, user_id)
        if row is None:
            return
        try:
            held = json.loads(keyring().decrypt(row.credentials or "")).get("refresh_token")
        except (CryptoError, ValueError):
            held = refresh_token
        if held == refresh_token:  # not reconnected meanwhile
            _mark(session, row, "Google no longer grants access to your calendar. Please reconnect.")
    log.info("calendar grant of user %s revoked: needs reconnect", user_id)


def _store(user_id: int, refresh_token: str, tokens: gcal.TokenSet) -> None:
    with session_scope() as session:
        row = _row(session, user_id)
        if row is None or row.status != "connected":
            return
        row.credentials, row.updated_at = _seal(tokens.refresh_token or refresh_token, tokens), utcnow()
        session.add(row)
        session.commit()


async def _access_token(user_id: int, creds: dict, cfg: CalendarConfig, *, force: bool = False) -> str:
    refresh = str(creds["refresh_token"])
    held = _access.get(user_id)
    if held and held[0] == refresh:
        creds.update(access_token=held[1], expires_at=held[2])
    if not force and creds.get("expires_at", 0) - REFRESH_MARGIN > time.time():
        return str(creds["access_token"])
    tokens = await gcal.refresh(
        http_client(user_id),
        await endpoints(cfg),
        client_id=cfg.client_id,
        client_secret=cfg.client_secret,
        refresh_token=refresh,
    )
    if tokens.refresh_token and tokens.refresh_token != refresh:  # rotated: keep the new one
        await offload.slow(_store, user_id, refresh, tokens)
        refresh = tokens.refresh_token
    _access[user_id] = (refresh, tokens.access_token, tokens.expires_at)
    creds.update(refresh_token=refresh, access_token=tokens.access_token, expires_at=tokens.expires_at)
    return tokens.access_token


async def fetch(
    user_id: int, now: datetime, cfg: CalendarConfig, creds: dict | None = None
) -> list[gcal.Busy] | None:
    """Read the user's busy blocks from Google (refreshing as needed); None when not connected.

    Raises:
        gcal.CalendarError: The calendar could not be read (``GrantRevoked`` also marks the row).
    """
    if creds is None:
        creds = (await offload.slow(_load_many, [user_id])).get(user_id)
    if creds is None:
        return None
    try:
        token = await _access_token(user_id, creds, cfg)
        try:
            return await gcal.free_busy(
                http_client(user_id), cfg.api_url, access_token=token, time_min=now, time_max=now + WINDOW
            )
        except gcal.AccessExpired:
            token = await _access_token(user_id, creds, cfg, force=True)
            return await gcal.free_busy(
                http_client(user_id), cfg.api_url, access_token=token, time_min=now, time_max=now + WINDOW
            )
    except gcal.GrantRevoked:
        await offload.slow(_needs_reconnect, user_id, str(creds["refresh_token"]))
        raise


async def busy(
    user_id: int, now: datetime | None = None, cfg: CalendarConfig | None = None, creds: dict | None = None
) -> list[gcal.Busy] | None:
    """The user's busy blocks for the next hours, cached; None when unknown (never raises)."""
    cfg = cfg or config()
    now = now or utcnow()
    if cfg is None:
        return None
    cached = _cache.get(user_id)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    try:
        blocks = await fetch(user_id, now, cfg, creds)
    except gcal.CalendarError as exc:
        log.warning("calendar of user %s unreadable: %s", user_id, exc)
        blocks = None
    except Exception:  # a calendar problem never stops a push round
        log.exception("calendar read failed for user %s", user_id)
        blocks = None
    _cache[user_id] = (time.monotonic() + cfg.cache_seconds, blocks)
    return blocks


async def busy_many(user_ids: list[int], now: datetime) -> dict[int, list[gcal.Busy] | None]:
    """Busy blocks of each user with a connected calendar (bounded concurrency)."""
    cfg = config()
    if cfg is None or not user_ids:
        return {}

    fresh = time.monotonic()
    cached = {u: c[1] for u in user_ids if (c := _cache.get(u)) and c[0] > fresh}
    wanted = [u for u in user_ids if u not in cached]
    creds = await offload.slow(_load_many, wanted) if wanted else {}
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(uid: int) -> list[gcal.Busy] | None:
        async with gate:
            return await busy(uid, now, cfg, creds[uid])

    ids = sorted(creds)
    read = dict(zip(ids, await asyncio.gather(*(one(u) for u in ids)), strict=True))
    return {**cached, **read}


async def disconnect(*, user_id: int) -> bool | None:
    """Revoke the grant at Google, then forget it.

    Returns:
        None when there was no calendar; else whether Google confirmed the revocation.
    """
    with session_scope() as session:
        row = _row(session, user_id)
        blob = row.credentials if row else None
    if row is None:
        return None
    revoked, cfg = False, config()
    try:
        creds = json.loads(keyring().decrypt(blob or ""))
        if cfg is not None:
            revoked = await gcal.revoke(
                http_client(),
                await endpoints(cfg),
                client_id=cfg.client_id,
                client_secret=cfg.client_secret,
                token=str(creds["refresh_token"]),
            )
    except (CryptoError, ValueError, KeyError, gcal.CalendarError) as exc:
        log.warning("calendar revocation failed for user %s: %s", user_id, exc)
    with session_scope() as session:
        session.exec(
            delete(Integration).where(
                col(Integration.user_id) == user_id, col(Integration.provider) == PROVIDER
            )
        )
        session.commit()
    _cache.pop(user_id, None)
    _access.pop(user_id, None)
    log.info("Google Calendar disconnected for user %s (revoked at Google: %s)", user_id, revoked)
    return revoked


def clear_cache() -> None:
    """Forget every cached busy list, access token and discovery document."""
    _cache.clear()
    _access.clear()
    _endpoints.clear()


singletons.on_reset("push.calendar", clear_cache)
