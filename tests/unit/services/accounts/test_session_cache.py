"""The session cache: brief, and revoked at once by sign-out, deletion and role changes."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlmodel import Session, SQLModel, select

from oo import db, settings
from oo.models import UserSession, utcnow
from oo.services.accounts import session_cache
from oo.services.accounts import sessions as accounts
from oo.services.privacy import deletion


@pytest.fixture
def engine(tmp_path, monkeypatch):
    monkeypatch.setenv("OO_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OO_REDIS_URL", raising=False)
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()
    SQLModel.metadata.create_all(db.get_engine())
    session_cache.clear()
    yield db.get_engine()
    session_cache.clear()
    settings.get_settings.cache_clear()
    db.get_engine.cache_clear()


def sign_in(engine) -> tuple[int, str]:
    with Session(engine) as s:
        user = accounts.create_demo_user(session=s)
        return user.id, accounts.create_session(session=s, user_id=user.id, days=30)


def statements(engine, fn) -> int:
    n = [0]

    def count(*_a):
        n[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return n[0]


def revoke_in_db(engine, token: str) -> None:
    with Session(engine) as s:
        accounts.revoke_session(session=s, token=token)


def test_a_resolved_session_is_remembered_without_a_query(engine):
    uid, token = sign_in(engine)
    assert session_cache.resolve(token).id == uid
    assert statements(engine, lambda: session_cache.resolve(token)) == 0
    assert statements(engine, lambda: session_cache.resolve(token, fresh=True)) >= 1
    assert session_cache.resolve("forged") is None and session_cache.resolve(None) is None


def test_sign_out_is_immediate(engine):
    _, token = sign_in(engine)
    assert session_cache.resolve(token) is not None
    revoke_in_db(engine, token)
    assert session_cache.resolve(token) is not None  # the cache alone would trust it for TTL s ...
    session_cache.forget_token(token)  # ... which is why sign-out calls this
    assert session_cache.resolve(token) is None


def test_deletion_and_the_ttl_end_trust(engine, monkeypatch):
    uid, token = sign_in(engine)
    _, other = sign_in(engine)
    session_cache.resolve(token), session_cache.resolve(other)
    with Session(engine) as s:
        deletion.purge(session=s, user_id=uid)
    assert session_cache.resolve(token) is None
    assert session_cache.resolve(other) is not None
    revoke_in_db(engine, other)
    monkeypatch.setattr(session_cache, "TTL", 0.0)  # expired entries are looked up again
    session_cache.clear()
    session_cache.resolve(other)
    assert session_cache.resolve(other) is None


def test_a_lookup_that_raced_a_revocation_is_not_remembered(engine, monkeypatch):
    uid, token = sign_in(engine)
    real = accounts.resolve_session

    def racing(**kw):
        user = real(**kw)  # read before the sign-out commits ...
        session_cache.forget_user(uid)  # ... the sign-out lands meanwhile
        return user

    monkeypatch.setattr(accounts, "resolve_session", racing)
    session_cache.resolve(token)
    monkeypatch.setattr(accounts, "resolve_session", real)
    revoke_in_db(engine, token)
    assert session_cache.resolve(token) is None


def test_idle_sessions_still_expire_through_the_cache(engine):
    _, token = sign_in(engine)
    with Session(engine) as s:
        row = s.exec(select(UserSession)).one()
        row.expires_at = utcnow()
        s.add(row)
        s.commit()
    assert session_cache.resolve(token) is None


def test_the_async_lookup_asks_the_database_off_the_event_loop_and_only_on_a_miss(engine):
    import asyncio
    import threading

    uid, token = sign_in(engine)
    threads: list[int] = []

    def note(*_a):
        threads.append(threading.get_ident())

    async def twice() -> tuple[int, int, int]:
        loop_thread = threading.get_ident()
        first = await session_cache.resolve_async(token)  # a miss: the database, in a worker thread
        second = await session_cache.resolve_async(token)  # a hit: no query
        assert first is not None and second is not None
        return first.id, second.id, loop_thread

    event.listen(engine, "before_cursor_execute", note)
    try:
        first, second, loop_thread = asyncio.run(twice())
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert first == second == uid
    assert threads and loop_thread not in threads  # never a blocking query on the event loop
    assert (
        len(set(threads)) == 1
        and statements(engine, lambda: asyncio.run(session_cache.resolve_async(token))) == 0
    )
    session_cache.forget_token(token)
    revoke_in_db(engine, token)
    assert asyncio.run(session_cache.resolve_async(token)) is None  # revocation still immediate
