"""The database engine and sessions, shared by routes, state handlers, jobs and scripts.

SQLite (the embedded default) runs in WAL mode with a busy timeout so the web workers and the
scheduler can write concurrently; Postgres needs nothing special.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, create_engine

from oo.settings import get_settings


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
