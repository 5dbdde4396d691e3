"""Job: sync every connected Todoist user incrementally (I2).

Users are synced by `CONCURRENCY` lanes working off one list; one user's failure is logged and
never stops the others. A user whose sync is already running (a tip refresh, a webhook) is joined, not synced twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

import httpx

from oo import offload
from oo.db import session_scope
from oo.services.sources.todoist import connection as todoist
from oo.services.sources.todoist import sync as todoist_sync
from oo.settings import Settings

log = logging.getLogger("oo.jobs.sync_todoist")

JOB_ID = "sync_todoist"
CONCURRENCY = 8
LANE_LIMITS = httpx.Limits(max_connections=1, max_keepalive_connections=1)


def interval(settings: Settings) -> float:
    """Seconds between runs (``OO_SYNC_INTERVAL_SECONDS``)."""
    return float(settings.sync_interval_seconds)


def jitter(settings: Settings) -> float:
    """Random delay added to each run, so several servers do not hit Todoist in step."""
    return min(30.0, settings.sync_interval_seconds / 10)


async def run(*, concurrency: int = CONCURRENCY) -> dict[str, int]:
    """Sync every connected user once; returns how many synced and how many did not."""
    work = deque(await offload.slow(_work_list))
    total = len(work)
    outcome = {"synced": 0, "failed": 0}

    async def lane() -> None:
        # Each lane keeps one connection of its own: httpcore checks every pooled connection
        # (a syscall each) on every request, so a big shared pool costs more than it saves.
        async with todoist.new_http_client(LANE_LIMITS) as http:
            while work:
                creds = work.popleft()
                counts = await todoist_sync.sync_user(user_id=creds.user_id, creds=creds, http=http)
                outcome["synced" if counts is not None else "failed"] += 1

    await asyncio.gather(*(lane() for _ in range(max(1, min(concurrency, total)))))
    if outcome["failed"]:
        log.info("Todoist sync: %(synced)s users synced, %(failed)s not (see the warnings above)", outcome)
    return {"users": total, **outcome}


def _work_list() -> list[todoist.Credentials]:
    with session_scope() as session:
        return todoist.connected_credentials(session=session)
