"""Todoist connection lifecycle: OAuth connect, the encrypted token, needs-reconnect, disconnect.

The access token is stored only as Keyring ciphertext (`oo.services.platform.keyring`) in
``Integration.credentials``; it is decrypted just before a request and never logged. Network
calls are async and run outside any database transaction; database work is short and sync.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import ssl
import weakref
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache

import certifi
import httpx
import sqlalchemy as sa
from sqlmodel import Session, col, delete, select, update

from oo.crypto import CryptoError
from oo.db import session_scope
from oo.integrations.todoist import TodoistAuthError, TodoistClient, TodoistError
from oo.integrations.todoist.oauth import authorize_url, exchange_code_grant, revoke_token
from oo.models import TODOIST, Integration, SourceAction, Task, User, table, utcnow
from oo.services.accounts import sessions as accounts
from oo.services.platform.keyring import keyring
from oo.settings import Settings, get_settings

log = logging.getLogger("oo.todoist")

# Reading tasks needs data:read; closing them on Done needs data:read_write (the least that can write).
SCOPE = "data:read_write"
CALLBACK_PATH = "/auth/todoist/callback"
# One pooled client per event loop: connections to Todoist are reused across users and jobs.
POOL_LIMITS = httpx.Limits(max_connections=64, max_keepalive_connections=32)
# Built once (statement construction costs more than the query): read before every sync and close.
_integrations, _users = table(Integration), table(User)
_CREDENTIALS = (
    sa.select(
        _integrations.c.user_id, _integrations.c.credentials, _integrations.c.sync_token, _users.c.timezone
    )
    .join(_users, _users.c.id == _integrations.c.user_id)
    .where(_integrations.c.provider == TODOIST, _integrations.c.status == "connected")
)
_ONE_CREDENTIALS = _CREDENTIALS.where(_integrations.c.user_id == sa.bindparam("b_user_id"))
_http: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


class ConnectResult(StrEnum):
    """How a connect callback ended; the value is the ``?todoist=`` code shown on /connect."""

    CONNECTED = "connected"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"
    NOT_CONFIGURED = "not_configured"


@dataclass(frozen=True)
class TodoistConfig:
    """The OAuth app and endpoints from the settings."""

    client_id: str
    client_secret: str
    auth_url: str
    api_url: str
    redirect_uri: str


@dataclass(frozen=True)
class Credentials:
    """What a request for one user needs (the token is plaintext only in memory)."""

    user_id: int
    token: str = field(repr=False)
    sync_token: str | None = None
    timezone: str = "UTC"


def config(settings: Settings | None = None) -> TodoistConfig | None:
    """The Todoist app configuration, or None when ``OO_TODOIST_CLIENT_ID`` is not set."""
    settings = settings or get_settings()
    if not settings.todoist_client_id:
        return None
    return TodoistConfig(
        client_id=settings.todoist_client_id,
        client_secret=settings.todoist_client_secret.get_secret_value(),
        auth_url=settings.todoist_auth_url,
        api_url=settings.todoist_api_url,
        redirect_uri=f"{settings.backend_url}{CALLBACK_PATH}",
    )


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client (loading the CA bundle takes ~20 ms per client otherwise)."""
    return ssl.create_default_context(cafile=certifi.where())


def new_http_client(limits: httpx.Limits = POOL_LIMITS) -> httpx.AsyncClient:
    """An HTTP client for Todoist calls (the caller closes it)."""
    return httpx.AsyncClient(limits=limits, verify=tls_context())


def http_client() -> httpx.AsyncClient:
    """The shared HTTP client of the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    client = _http.get(loop)
    if client is None or client.is_closed:
        client = _http[loop] = new_http_client()
    return client


async def close_http() -> None:
    """Close the shared client of the running loop (lifespan shutdown)."""
    client = _http.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


def api_client(token: str, *, http: httpx.AsyncClient | None = None, max_attempts: int = 4) -> TodoistClient:
    """A Todoist API client for one user's token on the shared connection pool."""
    cfg = config()
    base = cfg.api_url if cfg else get_settings().todoist_api_url
    return TodoistClient(token, http or http_client(), base_url=base, max_attempts=max_attempts)


def start_connect(*, session: Session, user_id: int, cfg: TodoistConfig) -> tuple[str, str]:
    """Begin OAuth for a signed-in user.

    Returns:
        ``(authorize_url, browser_binding)``: the binding goes into the short-lived HttpOnly flow
        cookie; the state is stored hashed, single-use, and bound to this user and browser.
    """
    state = secrets.token_urlsafe(32)
    binding = accounts.start_flow(
        session=session, provider=TODOIST, state=state, user_id=user_id, next_path="/connect"
    )
    return authorize_url(cfg.auth_url, cfg.client_id, SCOPE, state, cfg.redirect_uri), binding


async def finish_connect(
    *, user_id: int, code: str, cfg: TodoistConfig, http: httpx.AsyncClient | None = None
) -> ConnectResult:
    """Exchange the code, read the Todoist user, and store the encrypted token."""
    http = http or http_client()
    try:
        grant = await exchange_code_grant(http, cfg.auth_url, cfg.client_id, cfg.client_secret, code)
        user = await TodoistClient(grant.access_token, http, base_url=cfg.api_url).get_user()
        ciphertext = keyring().encrypt(grant.access_token)
    except TodoistAuthError as exc:
        log.warning("Todoist connect refused for user %s: %s", user_id, exc)
        return ConnectResult.FAILED
    except TodoistError as exc:
        log.warning("Todoist connect failed for user %s: %s", user_id, exc)
        return ConnectResult.UNAVAILABLE
    except CryptoError as exc:
        log.error("Todoist connect impossible: %s", exc)
        return ConnectResult.NOT_CONFIGURED
    with session_scope() as session:
        save_connection(
            session=session,
            user_id=user_id,
            credentials=ciphertext,
            external_user_id=user.id,
            timezone=user.timezone,
            scopes=grant.scope or SCOPE,
        )
    log.info("Todoist connected for user %s", user_id)
    return ConnectResult.CONNECTED


def save_connection(
    *, session: Session, user_id: int, credentials: str, external_user_id: str, timezone: str, scopes: str
) -> Integration:
    """Create or refresh the user's Todoist integration as connected (connect and reconnect).

    A different Todoist account than before starts from a clean cache and a full sync. Close
    actions that waited for a reconnect become due at once.
    """
    now = utcnow()
    row = _integration(session, user_id)
    if row is None:
        row = Integration(user_id=user_id, provider=TODOIST, created_at=now)
    elif row.external_user_id != external_user_id:
        row.sync_token = None
        session.exec(delete(Task).where(col(Task.user_id) == user_id, col(Task.source) == TODOIST))
    row.status, row.credentials, row.scopes = "connected", credentials, scopes
    row.external_user_id, row.last_error, row.updated_at = external_user_id, None, now
    session.add(row)
    user = session.get(User, user_id)
    if user is not None and timezone and user.timezone != timezone:
        user.timezone = timezone
        session.add(user)
    session.exec(
        update(SourceAction)
        .where(col(SourceAction.user_id) == user_id, col(SourceAction.source) == TODOIST)
        .where(col(SourceAction.status) == "pending")
        .values(next_attempt_at=now)
    )
    session.commit()
    return row


def load_credentials(*, session: Session, user_id: int) -> Credentials | None:
    """The decrypted token and sync state of a connected integration, else None.

    A token that no longer decrypts (its key was retired too early) marks the integration as
    needing a reconnect instead of failing every sync.
    """
    row = session.connection().execute(_ONE_CREDENTIALS, {"b_user_id": user_id}).first()
    return _decrypted(session, row) if row else None


def connected_credentials(*, session: Session) -> list[Credentials]:
    """Every connected user's credentials in one query (the periodic sync's work list)."""
    rows = session.connection().execute(_CREDENTIALS.order_by(_integrations.c.user_id)).all()
    return [c for c in (_decrypted(session, r) for r in rows) if c is not None]


def _decrypted(session: Session, row: tuple[int, str | None, str | None, str | None]) -> Credentials | None:
    user_id, ciphertext, sync_token, tz = row
    try:
        token = keyring().decrypt(ciphertext or "")
    except CryptoError:
        log.error("Todoist token of user %s cannot be decrypted; asking for a reconnect", user_id)
        mark_needs_reconnect(session=session, user_id=user_id, reason="Stored access could not be read.")
        return None
    return Credentials(user_id=user_id, token=token, sync_token=sync_token, timezone=tz or "UTC")


def mark_needs_reconnect(
    *, session: Session, user_id: int, reason: str, refused_token: str | None = None
) -> None:
    """Todoist refused the token (401/403): keep the row, ask the user to reconnect.

    With ``refused_token``, nothing changes if the stored token is another one by now (the user
    reconnected while a request with the old token was in flight).
    """
    row = _integration(session, user_id)
    if row is None or (refused_token is not None and not _holds(row, refused_token)):
        return
    row.status, row.last_error, row.updated_at = "needs_reconnect", reason[:500], utcnow()
    session.add(row)
    session.commit()


def record_error(*, session: Session, user_id: int, message: str | None) -> None:
    """Remember (or clear, with None) the last sync problem shown on /connect."""
    row = _integration(session, user_id)
    if row is None or row.last_error == message:
        return
    row.last_error, row.updated_at = (message[:500] if message else None), utcnow()
    session.add(row)
    session.commit()


async def disconnect(*, user_id: int, http: httpx.AsyncClient | None = None) -> bool | None:
    """Revoke the token at Todoist, then delete it, the cached tasks and pending close actions.

    Returns:
        None when there was no Todoist integration; otherwise whether Todoist confirmed the
        revocation. The local copy is deleted either way: the user asked us to forget it.
    """
    with session_scope() as session:
        row = _integration(session, user_id)
        ciphertext = row.credentials if row else None
    if row is None:
        return None
    revoked = await revoke_remote(user_id=user_id, ciphertext=ciphertext, http=http)
    with session_scope() as session:
        forget(session=session, user_id=user_id)
    log.info("Todoist disconnected for user %s (revoked at Todoist: %s)", user_id, revoked)
    return revoked


def forget(*, session: Session, user_id: int) -> None:
    """Delete the integration and cached tasks; pending close actions fail with a reason."""
    session.exec(delete(Task).where(col(Task.user_id) == user_id, col(Task.source) == TODOIST))
    session.exec(
        update(SourceAction)
        .where(col(SourceAction.user_id) == user_id, col(SourceAction.source) == TODOIST)
        .where(col(SourceAction.status) == "pending")
        .values(status="failed", last_error="Todoist was disconnected before the task was closed.")
    )
    session.exec(
        delete(Integration).where(col(Integration.user_id) == user_id, col(Integration.provider) == TODOIST)
    )
    session.commit()


async def revoke_remote(
    *, user_id: int, ciphertext: str | None, http: httpx.AsyncClient | None = None
) -> bool:
    """Ask Todoist to revoke the (encrypted) token; False when it cannot confirm (logged, never raises)."""
    cfg = config()
    if cfg is None or not ciphertext:
        return False
    try:
        token = keyring().decrypt(ciphertext)
        await revoke_token(http or http_client(), cfg.api_url, cfg.client_id, cfg.client_secret, token)
    except (CryptoError, TodoistError) as exc:
        log.warning("Todoist revocation failed for user %s: %s", user_id, exc)
        return False
    return True


def _holds(row: Integration, token: str) -> bool:
    try:
        return secrets.compare_digest(keyring().decrypt(row.credentials or ""), token)
    except CryptoError:
        return True  # unreadable either way: the user must reconnect


def _integration(session: Session, user_id: int) -> Integration | None:
    return session.exec(
        select(Integration).where(Integration.user_id == user_id, Integration.provider == TODOIST)
    ).first()
