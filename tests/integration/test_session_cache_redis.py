"""Session revocation reaches every worker through Redis (real Redis on loopback)."""

from __future__ import annotations

import asyncio
import concurrent.futures

import pytest
import redis
from sqlmodel import Session, SQLModel

from oo import db, settings
from oo.crypto import sha256_hex
from oo.services.accounts import session_cache
from oo.services.accounts import sessions as accounts
from tests.support.loopback import scaleout_marks

REDIS_URL = "redis://127.0.0.1:6379/8"
pytestmark = scaleout_marks(REDIS_URL, 6379, "Redis")


@pytest.fixture
def engine(tmp_path, monkeypatch):
    monkeypatch.setenv("OO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OO_REDIS_URL", REDIS_URL)
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    SQLModel.metadata.create_all(db.get_engine())
    session_cache.clear()
    yield db.get_engine()
    session_cache.clear()
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()


def test_a_sign_out_in_another_worker_ends_trust_here_at_once(engine):
    with Session(engine) as s:
        user = accounts.create_demo_user(session=s)
        token = accounts.create_session(session=s, user_id=user.id, days=30)
        other = accounts.create_session(session=s, user_id=user.id, days=30)

    async def scenario() -> tuple[object, object, object]:
        async with session_cache.listener():
            await asyncio.sleep(0.2)  # subscribed
            assert session_cache.resolve(token) is not None and session_cache.resolve(other) is not None
            with Session(engine) as s:  # "another worker" signs out: its database write ...
                accounts.revoke_session(session=s, token=token)
            # ... and its broadcast (this process's local drop is not what is tested here)
            redis.Redis.from_url(REDIS_URL).publish(session_cache.CHANNEL, "t:" + sha256_hex(token))
            for _ in range(50):
                await asyncio.sleep(0.02)
                if sha256_hex(token) not in session_cache._entries:
                    break
            return session_cache.resolve(token), session_cache.resolve(other), None

    # Its own loop in a worker thread: correct beside Playwright's loop in the same process too.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        revoked, kept, _ = pool.submit(asyncio.run, scenario()).result(timeout=30)
    assert revoked is None and kept is not None
