"""One scheduler leader across workers, against the real Redis on loopback (D3).

Each test uses its own lock key, so runs never collide with the app's lock. Point
``OO_TEST_REDIS_URL`` elsewhere if needed.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from oo.jobs.leader import RedisLeader
from oo.jobs.scheduler import JobSpec, Scheduler
from oo.settings import Settings
from tests.support.loopback import scaleout_marks

REDIS_URL = os.environ.get("OO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


pytestmark = scaleout_marks(REDIS_URL, 6379, "Redis")


@pytest.fixture
def key() -> str:
    return f"oo:test:leader:{uuid.uuid4().hex}"


async def test_one_worker_holds_the_lock_until_it_releases_it(key):
    a, b = RedisLeader(REDIS_URL, key=key, ttl=5), RedisLeader(REDIS_URL, key=key, ttl=5)
    try:
        assert await a.tick() and not await b.tick()
        assert a.is_leader and not b.is_leader
        assert await a.tick() and not await b.tick()  # renewing keeps it
        await a.release()
        assert not a.is_leader and await b.tick() and b.is_leader
    finally:
        await b.release()


async def test_a_silent_leader_loses_the_lock_after_its_ttl(key):
    a, b = RedisLeader(REDIS_URL, key=key, ttl=0.6), RedisLeader(REDIS_URL, key=key, ttl=0.6)
    try:
        assert await a.tick()
        await asyncio.sleep(0.7)  # a stopped renewing (stuck or dead)
        assert not a.is_leader  # it knows its lease ran out before Redis dropped the key
        assert await b.tick() and not await a.tick()
    finally:
        await a.release()
        await b.release()


async def test_unreachable_redis_means_no_leader_and_no_crash():
    leader = RedisLeader("redis://127.0.0.1:1/0", key="oo:test:nowhere", ttl=1)
    assert not await leader.tick() and not leader.is_leader
    await leader.release()


async def test_jobs_run_on_exactly_one_of_two_workers_and_fail_over(key, tmp_path):
    counts = {"w1": 0, "w2": 0}

    def job(name: str) -> JobSpec:
        async def run() -> None:
            counts[name] += 1

        return JobSpec("count", run, lambda _settings: 0.05)

    settings = Settings(_env_file=None, data_dir=tmp_path)
    w1 = Scheduler(settings, jobs=[job("w1")], leader=RedisLeader(REDIS_URL, key=key, ttl=0.9))
    w2 = Scheduler(settings, jobs=[job("w2")], leader=RedisLeader(REDIS_URL, key=key, ttl=0.9))
    await w1.start()
    await w2.start()
    try:
        await asyncio.sleep(1.2)
        assert counts["w1"] > 3 and counts["w2"] == 0
        assert w1.status()["leader"] and not w2.status()["leader"]
        assert w2.status()["jobs"][0]["last_outcome"] == "skipped (not leader)"
        await w1.stop()  # the leader shuts down and hands over
        await asyncio.sleep(1.0)
        assert counts["w2"] > 3 and w2.status()["leader"]
    finally:
        await w1.stop()
        await w2.stop()
