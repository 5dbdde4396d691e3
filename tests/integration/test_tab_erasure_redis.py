"""Erasure with Redis leases: no worker's leased copy of a deleted person's tab survives (real Redis)."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from reflex.istate.manager.redis import StateManagerRedis

from oo.state import tab_erasure
from tests.support.loopback import scaleout_marks
from tests.support.tabs import fill_tab

REDIS_URL = "redis://127.0.0.1:6379/13"
pytestmark = [*scaleout_marks(REDIS_URL, 6379, "Redis"), pytest.mark.anyio]
HOLD_MS = 400  # a short lease, so that the test waits for two of them


def _worker() -> StateManagerRedis:
    """One worker's Redis state manager with Reflex's opportunistic lock on."""
    return StateManagerRedis(
        redis=Redis.from_url(REDIS_URL),
        lock_expiration=2000,
        lock_warning_threshold=1500,
        oplock_hold_time_ms=HOLD_MS,
    )


async def _stored() -> bytes:
    redis = Redis.from_url(REDIS_URL)
    try:
        keys = [k async for k in redis.scan_iter(count=1000)]
        values = [await redis.get(k) for k in keys if await redis.type(k) == b"string"]
        return b"".join(v for v in values if v)
    finally:
        await redis.aclose()


async def test_a_deleted_person_s_leased_tabs_are_gone_from_every_worker_after_the_leases(monkeypatch):
    monkeypatch.setenv("REFLEX_OPLOCK_ENABLED", "true")
    await Redis.from_url(REDIS_URL).flushdb()
    here, there = _worker(), _worker()  # two workers
    try:
        for manager in (here, there):  # the lease needs the lock-release subscription running
            await fill_tab(manager, f"warm-{id(manager)}", 9, "warm-up")
            await asyncio.wait_for(manager._lock_updates_subscribed.wait(), 5)
        await fill_tab(here, "tab-a1", 7, "SECRET-TASK-HERE")
        await fill_tab(there, "tab-a2", 7, "SECRET-TASK-THERE")
        await fill_tab(there, "tab-b", 8, "OTHER-PERSON-TASK")
        assert "tab-a1" in here._cached_states and "tab-a2" in there._cached_states  # leased: in memory
        await tab_erasure.erase_user_tabs(7, manager=here)
        assert "tab-a1" not in here._cached_states  # this worker's copy is dropped at once
        await asyncio.sleep(2 * (HOLD_MS / 1000 + tab_erasure.LEASE_MARGIN_SECONDS) + 0.5)
        stored = await _stored()
        assert b"OTHER-PERSON-TASK" in stored  # the other worker's leases did write back
        assert b"SECRET-TASK" not in stored and b"Name of 7" not in stored
    finally:
        await here.close()
        await there.close()
        await Redis.from_url(REDIS_URL).flushdb()
