"""Which worker runs the jobs: every worker runs the scheduler, only the leader runs jobs (D3).

Without Redis there is one worker, so it always leads (`LocalLeader`). With ``OO_REDIS_URL`` the
leader is whoever holds a Redis key taken with ``SET NX PX`` and renewed (compare-and-extend)
well before it expires (`RedisLeader`). A worker that cannot reach Redis stops leading once its
last renewal is too old, so two workers never both believe they lead for longer than the TTL.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Awaitable
from typing import Protocol, cast

log = logging.getLogger("oo.jobs.leader")

KEY = "oo:scheduler:leader"
TTL_SECONDS = 30.0

# Extend the TTL only if we still own the key (another worker may have taken it after expiry).
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class Leader(Protocol):
    """Leader election as the scheduler sees it."""

    worker_id: str

    @property
    def is_leader(self) -> bool:
        """Whether this worker may run jobs right now."""
        ...

    async def tick(self) -> bool:
        """Take or renew leadership; returns `is_leader`."""
        ...

    async def release(self) -> None:
        """Give leadership up (shutdown)."""
        ...


def worker_id() -> str:
    """A name for this process, unique across hosts and restarts."""
    return f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LocalLeader:
    """A single worker always leads."""

    def __init__(self) -> None:
        """Name this worker."""
        self.worker_id = worker_id()

    @property
    def is_leader(self) -> bool:
        """Always."""
        return True

    async def tick(self) -> bool:
        """Nothing to renew."""
        return True

    async def release(self) -> None:
        """Nothing to release."""


class RedisLeader:
    """Leadership held as a Redis key with a TTL, renewed by `tick` (call it every TTL/3).

    Args:
        url: Redis URL (``OO_REDIS_URL``).
        key: The lock key.
        ttl: Seconds the key lives without renewal.
    """

    def __init__(self, url: str, *, key: str = KEY, ttl: float = TTL_SECONDS) -> None:
        """Create the client (no connection is made until the first tick)."""
        import redis.asyncio as redis  # lazily: only scale-out deployments need it

        self.worker_id = worker_id()
        self.key = key
        self.ttl = ttl
        self._redis = redis.from_url(
            url, socket_timeout=min(5.0, ttl / 3), socket_connect_timeout=min(5.0, ttl / 3)
        )
        self._valid_until = 0.0

    @property
    def is_leader(self) -> bool:
        """True while the last successful take/renew is recent enough to still hold the key."""
        return time.monotonic() < self._valid_until

    async def tick(self) -> bool:
        """Renew the key if it is ours, else try to take it."""
        started = time.monotonic()
        ttl_ms = int(self.ttl * 1000)
        try:
            held = bool(
                await cast("Awaitable[object]", self._redis.eval(_RENEW, 1, self.key, self.worker_id, ttl_ms))
            )
            if not held:
                held = bool(await self._redis.set(self.key, self.worker_id, nx=True, px=ttl_ms))
                if held:
                    log.info("scheduler leadership taken by %s", self.worker_id)
        except Exception as exc:  # redis errors, timeouts, connection refused
            if self.is_leader:
                log.warning("scheduler leader lock unreachable (%s); stepping down", exc)
            self._valid_until = 0.0
            return False
        # Count from before the round trip, and keep a margin below the TTL for clock drift.
        self._valid_until = started + self.ttl * 0.8 if held else 0.0
        return held

    async def release(self) -> None:
        """Delete the key if it is ours, so another worker takes over without waiting for the TTL."""
        self._valid_until = 0.0
        try:
            await cast("Awaitable[object]", self._redis.eval(_RELEASE, 1, self.key, self.worker_id))
        except Exception as exc:
            log.warning("could not release the scheduler leader lock: %s", exc)
        finally:
            await self._redis.aclose()
