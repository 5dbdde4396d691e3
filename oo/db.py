"""The database engine and sessions, shared by routes, state handlers, jobs and scripts.

SQLite (the embedded default) runs in WAL mode with a busy timeout so the web workers and the
scheduler can write concurrently; Postgres needs nothing special.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, create_engine

from oo import offload, singletons
from oo.settings import get_settings

log = logging.getLogger("oo.db")
# Checkpoint-on-commit made every ~25th commit ~6 ms slower (bench/recommend_e2e.py). The server
# checkpoints from a background task instead (`sqlite_checkpointer`); this large threshold is only
# the safety net for processes without one (scripts, tests).
AUTOCHECKPOINT_PAGES = 20_000
CHECKPOINT_EVERY_SECONDS = 0.5


def make_engine(url: str) -> sa.Engine:
    """An engine for ``url`` with oO's connection settings."""
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
            # Deleted rows are zeroed, not left in free pages: account deletion really deletes.
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@lru_cache
def get_engine() -> sa.Engine:
    """The process-wide engine for OO_DATABASE_URL."""
    return make_engine(get_settings().database_url)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that is closed afterwards (commit explicitly in services)."""
    with Session(get_engine(), expire_on_commit=False) as session:
        yield session


def checkpoint(engine: sa.Engine) -> None:
    """Fold the WAL back into the database without blocking readers or writers (PASSIVE)."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


@asynccontextmanager
async def sqlite_checkpointer(interval: float = CHECKPOINT_EVERY_SECONDS) -> AsyncIterator[None]:
    """Lifespan task: on SQLite, checkpoint the WAL from a worker thread, off every request's path."""
    engine = get_engine()
    if engine.dialect.name != "sqlite":
        yield
        return
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            try:
                await offload.slow(checkpoint, engine)
            except sa.exc.SQLAlchemyError as exc:  # a busy database: the next round catches up
                log.debug("checkpoint skipped: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        stop.set()
        await task


singletons.on_reset("db.engine", get_engine.cache_clear)
