"""Rate limits shared by every worker: Redis when ``OO_REDIS_URL`` is set, this process's memory otherwise.

One call, `hit(key, limit=, per=)`, counts an attempt and answers 0 when it is allowed or the
seconds to wait. The HTTP API, sign-in routes and websocket event handlers all go through it, so
a client cannot get around a limit by spreading its calls over workers.

* **Memory** (`MemoryLimiter`): an exact sliding window per key, bounded in keys.
* **Redis** (`RedisLimiter`): a fixed window per key (one ``INCR`` + ``PEXPIRE`` in a Lua script,
  so one round trip). When Redis cannot be reached the limiter falls back to memory for that
  call and logs once a minute: a Redis restart loosens limits to per-worker ones, never blocks.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections import OrderedDict, deque
from typing import Any

from oo import singletons
from oo.settings import get_settings

log = logging.getLogger("oo.ratelimit")
_INCR = (
    "local n = redis.call('incr', KEYS[1]) "
    "if n == 1 then redis.call('pexpire', KEYS[1], ARGV[1]) end "
    "return {n, redis.call('pttl', KEYS[1])}"
)
PREFIX = "oo:rl:"


class MemoryLimiter:
    """Sliding-window limits per key, in this process.

    Examples:
        >>> limiter = MemoryLimiter()
        >>> [limiter.hit_now("k", limit=2, per=60.0) > 0 for _ in range(3)]
        [False, False, True]
    """

    def __init__(self, max_keys: int = 50_000) -> None:
        """An empty limiter remembering at most ``max_keys`` keys."""
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()
        self.max_keys = max_keys

    def hit_now(self, key: str, *, limit: int, per: float) -> float:
        """Count one attempt; 0 if allowed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            self._hits.move_to_end(key)
            while hits and hits[0] <= now - per:
                hits.popleft()
            if len(hits) >= limit:
                return max(0.0, per - (now - hits[0])) or per
            hits.append(now)
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
            return 0.0

    async def hit(self, key: str, *, limit: int, per: float) -> float:
        """`hit_now` as a coroutine (the interface `RedisLimiter` shares)."""
        return self.hit_now(key, limit=limit, per=per)


class RedisLimiter:
    """Fixed-window limits per key in Redis, shared by every worker; memory when Redis is down."""

    def __init__(self, url: str, fallback: MemoryLimiter) -> None:
        """Remember the URL; clients are made per event loop on first use."""
        self.url, self.fallback = url, fallback
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        self._warned_at = 0.0

    def _client(self) -> Any:
        import redis.asyncio as redis  # lazily: only scale-out deployments need it

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = redis.from_url(self.url, socket_timeout=0.5, socket_connect_timeout=0.5)
            self._clients[loop] = client
        return client

    async def hit(self, key: str, *, limit: int, per: float) -> float:
        """Count one attempt; 0 if allowed, else the seconds to wait."""
        window = int(time.time() // per)
        try:
            count, ttl_ms = await self._client().eval(
                _INCR, 1, f"{PREFIX}{key}:{window}", int(per * 1000) + 1000
            )
        except Exception as exc:  # connection refused, timeout, restart in progress
            if time.monotonic() - self._warned_at > 60:
                self._warned_at = time.monotonic()
                log.warning(
                    "rate limits fall back to this worker's memory: Redis unreachable (%s)",
                    type(exc).__name__,
                )
            return self.fallback.hit_now(key, limit=limit, per=per)
        if int(count) <= limit:
            return 0.0
        return max(0.05, (window + 1) * per - time.time()) if int(ttl_ms) > 0 else per


_memory = MemoryLimiter()
_limiter: MemoryLimiter | RedisLimiter | None = None


def limiter() -> MemoryLimiter | RedisLimiter:
    """The process's limiter (Redis-backed when ``OO_REDIS_URL`` is set)."""
    global _limiter
    if _limiter is None:
        url = get_settings().redis_url
        _limiter = RedisLimiter(url, _memory) if url else _memory
    return _limiter


def local() -> MemoryLimiter:
    """This worker's in-memory limiter (for cheap per-worker guards that need no round trip)."""
    return _memory


async def hit(key: str, *, limit: int, per: float) -> float:
    """Count one attempt against ``key``: 0 when allowed, else the seconds until it would be."""
    return await limiter().hit(key, limit=limit, per=per)


def _reset() -> None:
    global _limiter, _memory
    _memory = MemoryLimiter()
    _limiter = None


singletons.on_reset("ratelimit", _reset)
