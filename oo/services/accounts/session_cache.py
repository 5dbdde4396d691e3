"""A brief in-memory cache of session lookups, with immediate revocation (every worker).

Every websocket event resolves its caller from the session cookie. Resolving hits the database
(`accounts.resolve_session`), so each process remembers the answer for `TTL` seconds, keyed
by the token's SHA-256 (a forged or unknown token is remembered as "nobody" too). Revocation
does not wait for the TTL: sign-out, account deletion and role changes call `forget_token` /
`forget_user`, which drop the entry here and, with ``OO_REDIS_URL`` set (the only way to run
several workers), publish the hash or user id on a Redis channel that every worker's
`listener` lifespan task applies at once. Admin handlers bypass the cache (``fresh=True``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from oo import singletons
from oo.crypto import sha256_hex
from oo.db import session_scope
from oo.services.accounts import sessions as accounts
from oo.services.accounts.sessions import CurrentUser
from oo.settings import get_settings

log = logging.getLogger("oo.session_cache")

TTL = 10.0  # seconds a resolved session is trusted without asking the database
MAX_ENTRIES = 50_000
CHANNEL = "oo:session-revoked"

_lock = threading.Lock()
_entries: OrderedDict[str, tuple[float, CurrentUser | None]] = OrderedDict()
_generation = 0  # bumped by every revocation: a lookup that raced one is not remembered


def resolve(token: str | None, *, fresh: bool = False) -> CurrentUser | None:
    """The user behind a session cookie value; from memory when resolved in the last `TTL` s.

    Args:
        token: The cookie value (None or empty: nobody).
        fresh: Ask the database whatever the cache says (admin handlers).
    """
    if not token or len(token) > 128:
        return None
    key = sha256_hex(token)
    now = time.monotonic()
    with _lock:
        hit, generation = _entries.get(key), _generation
    if hit is not None and hit[0] > now and not fresh:
        return hit[1]
    with session_scope() as session:
        user = accounts.resolve_session(
            session=session, token=token, idle_days=get_settings().session_idle_days
        )
    with _lock:
        if generation != _generation:
            return user  # a revocation ran meanwhile: answer, but do not remember
        _entries[key] = (now + TTL, user)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return user


async def resolve_async(token: str | None) -> CurrentUser | None:
    """`resolve` for the event loop: a hit answers at once, a miss asks the database in a thread."""
    if not token or len(token) > 128:
        return None
    hit = _cached(sha256_hex(token))
    if hit is not None:
        return hit[1]
    return await asyncio.to_thread(resolve, token)


def _cached(key: str) -> tuple[float, CurrentUser | None] | None:
    """The live cache entry for ``key`` (None: absent or expired)."""
    with _lock:
        hit = _entries.get(key)
    return hit if hit is not None and hit[0] > time.monotonic() else None


def _drop(message: str) -> None:
    global _generation
    kind, _, value = message.partition(":")
    with _lock:
        _generation += 1
        if kind == "t":
            _entries.pop(value, None)
        elif kind == "u" and value.isdigit():
            uid = int(value)
            for key in [k for k, (_, u) in _entries.items() if u is not None and u.id == uid]:
                del _entries[key]
        elif kind == "all":
            _entries.clear()


def _broadcast(message: str) -> None:
    _drop(message)
    url = get_settings().redis_url
    if not url:
        return
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=2)
        try:
            client.publish(CHANNEL, message)
        finally:
            client.close()
    except Exception:  # other workers fall back to the TTL; say so loudly
        log.exception("broadcasting a session revocation failed; other workers trust it for up to %s s", TTL)


def forget_token(token: str | None) -> None:
    """A session was revoked (sign-out): no worker may trust it from now on."""
    if token:
        _broadcast("t:" + sha256_hex(token))


def forget_user(user_id: int) -> None:
    """Every session of the user changed (deletion, role change): drop them everywhere."""
    _broadcast(f"u:{int(user_id)}")


def clear() -> None:
    """Forget everything in this process (tests)."""
    _drop("all")


singletons.on_reset("session_cache", clear)


@asynccontextmanager
async def listener() -> AsyncIterator[None]:
    """Lifespan task: apply other workers' revocations (with ``OO_REDIS_URL``; else nothing to do)."""
    url = get_settings().redis_url
    if not url:
        yield
        return
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    pubsub = client.pubsub()
    await pubsub.subscribe(CHANNEL)

    async def pump() -> None:
        while True:
            try:
                msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if msg and isinstance(msg.get("data"), bytes):
                    _drop(msg["data"].decode())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("session revocation listener failed; retrying")
                _drop("all")  # a missed message must not leave a revoked session trusted
                await asyncio.sleep(1.0)

    task = asyncio.create_task(pump(), name="session-revocations")
    try:
        yield
    finally:
        task.cancel()
        try:
            await pubsub.unsubscribe(CHANNEL)
            await client.aclose()
        except Exception:
            log.warning("closing the session revocation listener failed", exc_info=True)
