"""Todoist sync: keep each user's cached tasks in step with Todoist (I2).

One sync per user at a time (single flight): a request while a sync runs joins it, or with
``fresh=True`` (a webhook, a close) asks for one more pass right after it. The first sync is full
(``sync_token="*"``), later ones incremental with the stored token; a token Todoist no longer
accepts falls back to a full sync. Completed and deleted tasks leave the cache. Every finished
sync publishes ``signals.task.synced``. Failures are logged and kept on the integration (shown on
/connect); a 401/403 marks it "needs reconnect". Nothing here raises into a caller.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlmodel import select

from oo import offload
from oo.bus import Event, SyncCounts, TaskSynced
from oo.db import session_scope
from oo.integrations.todoist import (
    SyncResult,
    TodoistAuthError,
    TodoistError,
    TodoistGoneError,
)
from oo.models import TODOIST, Integration, utcnow
from oo.services.platform.event_bus import publish
from oo.services.sources.todoist import connection as todoist
from oo.services.sources.todoist.cache import apply_sync

log = logging.getLogger("oo.todoist.sync")

STALE_SECONDS = 30.0
FIRST_SYNC_BUDGET = 5.0

_inflight: dict[int, asyncio.Task[SyncCounts | None]] = {}
_again: set[int] = set()


@dataclass(frozen=True)
class _Fetched:
    result: SyncResult
    full: bool


def request_sync(
    *,
    user_id: int,
    fresh: bool = False,
    creds: todoist.Credentials | None = None,
    http: httpx.AsyncClient | None = None,
) -> asyncio.Task[SyncCounts | None]:
    """Start a sync for the user, or return the one already running.

    Args:
        user_id: The user.
        fresh: Also sync once more after a sync already running (it may have started before
            the change that prompted this request).
        creds: The user's credentials if the caller already loaded them (the periodic job
            loads everyone's in one query); read from the database otherwise.
        http: The HTTP client for this sync's first pass; the shared pool by default.
    """
    running = _inflight.get(user_id)
    if running is not None and not running.done():
        if fresh:
            _again.add(user_id)
        return running
    task = asyncio.get_running_loop().create_task(_run(user_id, creds, http), name=f"todoist-sync-{user_id}")
    _inflight[user_id] = task
    task.add_done_callback(lambda t: _inflight.pop(user_id, None) if _inflight.get(user_id) is t else None)
    return task


async def sync_user(
    *, user_id: int, creds: todoist.Credentials | None = None, http: httpx.AsyncClient | None = None
) -> SyncCounts | None:
    """Sync one user now (joining a running sync); the counts, or None if nothing was synced."""
    return await asyncio.shield(request_sync(user_id=user_id, creds=creds, http=http))


async def refresh(*, user_id: int, budget: float) -> bool:
    """Sync the user, waiting at most ``budget`` seconds; the sync goes on in the background.

    Returns:
        True when the sync finished within the budget.
    """
    task = request_sync(user_id=user_id)
    try:
        await asyncio.wait_for(asyncio.shield(task), budget)
    except TimeoutError:
        log.info("Todoist sync for user %s exceeded %.1fs; serving cached tasks", user_id, budget)
        return False
    except Exception:  # the task logs its own failures; a caller never sees them
        return False
    return True


async def refresh_if_stale(*, user_id: int, max_age: float = STALE_SECONDS, budget: float = 1.5) -> None:
    """Before a tip: refresh the cached tasks if older than ``max_age`` seconds. Never raises.

    Stale tasks are served when Todoist is slower than ``budget`` (the sync finishes later).
    """
    try:
        row = await offload.slow(_last_sync, user_id)
        if row is None or (row[1] is not None and utcnow() - row[1] < timedelta(seconds=max_age)):
            return
        await refresh(user_id=user_id, budget=budget)
    except Exception:
        log.exception("refresh before a tip failed for user %s; serving cached tasks", user_id)


def _last_sync(user_id: int) -> tuple[int | None, datetime | None] | None:
    """(id, last_sync_at) of the user's connected Todoist integration, or None."""
    with session_scope() as session:
        return session.exec(
            select(Integration.id, Integration.last_sync_at).where(
                Integration.user_id == user_id,
                Integration.provider == TODOIST,
                Integration.status == "connected",
            )
        ).first()


async def _run(
    user_id: int, creds: todoist.Credentials | None, http: httpx.AsyncClient | None
) -> SyncCounts | None:
    counts = None
    while True:
        _again.discard(user_id)
        try:
            counts = await _sync_once(user_id, creds, http)
        except Exception:
            log.exception("Todoist sync for user %s failed unexpectedly", user_id)
        if user_id not in _again:
            return counts
        creds, http = None, None  # the next pass reads the newest sync token, on the shared pool


async def _sync_once(
    user_id: int, creds: todoist.Credentials | None, http: httpx.AsyncClient | None
) -> SyncCounts | None:
    started = time.perf_counter()
    if creds is None:
        creds = await offload.slow(_load, user_id)
    if creds is None:
        return None
    fetched = await _fetch(creds, http)
    if fetched is None:
        return None
    counts = await offload.slow(_store, creds, fetched)
    duration_ms = (time.perf_counter() - started) * 1000
    await publish(
        Event.of(TaskSynced(source=TODOIST, counts=counts, duration_ms=duration_ms), user_id=user_id)
    )
    return counts


def _load(user_id: int) -> todoist.Credentials | None:
    with session_scope() as session:
        return todoist.load_credentials(session=session, user_id=user_id)


async def _fetch(creds: todoist.Credentials, http: httpx.AsyncClient | None) -> _Fetched | None:
    """One /sync round trip (plus a full one if the stored token was refused); None on failure."""
    client = todoist.api_client(creds.token, http=http)
    try:
        try:
            return _Fetched(await client.sync(creds.sync_token), creds.sync_token is None)
        except TodoistError as exc:
            if exc.status != 400 or creds.sync_token is None:
                raise
            log.warning("Todoist refused the sync token of user %s; running a full sync", creds.user_id)
            return _Fetched(await client.sync(None), True)
    except TodoistAuthError:
        log.warning("Todoist rejected the token of user %s; marking needs reconnect", creds.user_id)
        await offload.slow(_needs_reconnect, creds.user_id, creds.token)
    except TodoistGoneError as exc:
        log.error("Todoist sync for user %s: %s", creds.user_id, exc)
        await offload.slow(_record, creds.user_id, "Todoist retired the API oO uses; an update is needed.")
    except (TodoistError, httpx.HTTPError) as exc:
        log.warning("Todoist sync for user %s failed: %s", creds.user_id, exc)
        await offload.slow(_record, creds.user_id, "Todoist could not be reached; showing your last sync.")
    return None


def _store(creds: todoist.Credentials, fetched: _Fetched) -> SyncCounts:
    with session_scope() as session:
        return apply_sync(
            session=session,
            user_id=creds.user_id,
            result=fetched.result,
            full=fetched.full,
            timezone=creds.timezone,
        )


def _needs_reconnect(user_id: int, token: str) -> None:
    with session_scope() as session:
        todoist.mark_needs_reconnect(
            session=session,
            user_id=user_id,
            reason="Todoist no longer accepts oO's access. Reconnect to resume.",
            refused_token=token,
        )


def _record(user_id: int, message: str) -> None:
    with session_scope() as session:
        todoist.record_error(session=session, user_id=user_id, message=message)
