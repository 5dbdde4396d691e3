"""The SQL runner on PostgreSQL: a SELECT-only role on ``ro_*`` views without secret columns.

`ensure_readonly_role` (idempotent, safe to run from several workers at once) creates or updates:

- the login role ``oo_readonly``: no superuser, no CREATEDB/CREATEROLE, no inheritance, a
  connection limit, a password derived from the app secret, and role defaults
  ``statement_timeout``, ``work_mem``, ``default_transaction_read_only`` and
  ``idle_in_transaction_session_timeout``;
- one view ``ro_<table>`` per table of the public schema except ``login_flow``, leaving out the
  secret columns of `oo.services.admin.sql_runner.SECRET_COLUMNS`; the role gets SELECT on those views
  and nothing on the tables.

`run_postgres` connects *as* that role (it is the session user, so ``SET ROLE``/``RESET ROLE``
cannot escalate) and runs the query through the extended protocol (``prepare=True``), which
takes exactly one statement. ``statement_timeout`` and ``work_mem`` are also set on the connection, and a client-side
timer cancels the query just past the time limit should the server not.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from oo.services.admin.sql_results import (
    ROW_CAP,
    SECRET_COLUMNS,
    SECRET_TABLES,
    TIME_LIMIT,
    QueryResult,
    SqlRefused,
    cell,
)

log = logging.getLogger("oo.admin.sql")
ROLE = "oo_readonly"
WORK_MEM = "4MB"  # per sort/hash node: a hungry query spills to disk instead of growing
LOCK_KEY = 0x6F6F_5244  # "ooRD": serialises concurrent setups
_ready: set[str] = set()
_ready_lock = threading.Lock()


def role_password(secret: str) -> str:
    """The read-only role's password, derived from the app secret (hex, safe to inline in DDL)."""
    return hmac.new(secret.encode(), b"oo-sql-runner-readonly-role", hashlib.sha256).hexdigest()


def _conninfo(database_url: str, secret: str) -> dict[str, Any]:
    url = make_url(database_url)
    return {
        "host": url.host or "localhost",
        "port": url.port or 5432,
        "dbname": url.database,
        "user": ROLE,
        "password": role_password(secret),
        "connect_timeout": 5,
    }


def ensure_readonly_role(*, engine: sa.Engine, secret: str, time_limit: float = TIME_LIMIT) -> list[str]:
    """Create or refresh the ``oo_readonly`` role and the ``ro_*`` views; returns the view names.

    Runs with the application's own database user, which must be allowed to create roles.
    """
    quote = engine.dialect.identifier_preparer.quote
    views: list[str] = []
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
        conn.execute(
            sa.text(
                f"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}') "
                f"THEN CREATE ROLE {ROLE} LOGIN; END IF; END$$"
            )
        )
        conn.execute(
            sa.text(
                f"ALTER ROLE {ROLE} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
                f"NOINHERIT CONNECTION LIMIT 10 PASSWORD '{role_password(secret)}'"
            )
        )
        ms = int(time_limit * 1000)
        for setting in (
            f"statement_timeout = {ms}",
            "default_transaction_read_only = on",
            "idle_in_transaction_session_timeout = 10000",
            "lock_timeout = 2000",
            f"work_mem = '{WORK_MEM}'",
        ):
            conn.execute(sa.text(f"ALTER ROLE {ROLE} SET {setting}"))
        database: str = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        conn.execute(sa.text(f"GRANT CONNECT ON DATABASE {quote(database)} TO {ROLE}"))
        conn.execute(sa.text(f"GRANT USAGE ON SCHEMA public TO {ROLE}"))
        conn.execute(sa.text(f"REVOKE CREATE ON SCHEMA public FROM {ROLE}"))
        conn.execute(sa.text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {ROLE}"))
        conn.execute(sa.text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {ROLE}"))
        columns: dict[str, list[str]] = {}
        for table, column in conn.execute(
            sa.text(
                "SELECT c.table_name, c.column_name FROM information_schema.columns c "
                "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
                "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position"
            )
        ):
            columns.setdefault(str(table), []).append(str(column))
        for table, cols in columns.items():
            if table in SECRET_TABLES or table.startswith("alembic_"):
                continue
            keep = [c for c in cols if c not in SECRET_COLUMNS.get(table, set())]
            view = quote(f"ro_{table}")
            conn.execute(sa.text(f"DROP VIEW IF EXISTS {view}"))
            conn.execute(
                sa.text(
                    f"CREATE VIEW {view} AS SELECT {', '.join(quote(c) for c in keep)} FROM {quote(table)}"
                )
            )
            conn.execute(sa.text(f"GRANT SELECT ON {view} TO {ROLE}"))
            views.append(f"ro_{table}")
    return views


def _message(exc: psycopg.Error, time_limit: float) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return f"Refused: the query ran longer than {time_limit:g} s and was stopped."
    if "multiple commands" in text:
        return "Refused: run one statement at a time."
    if isinstance(exc, psycopg.errors.InsufficientPrivilege | psycopg.errors.ReadOnlySqlTransaction):
        return f"Refused: the SQL runner is read-only ({text}). Query the ro_* views."
    return f"Query failed: {text}"


def _prepared(database_url: str, secret: str) -> None:
    with _ready_lock:
        if database_url in _ready:
            return
        from oo.db import get_engine

        ensure_readonly_role(engine=get_engine(), secret=secret)
        _ready.add(database_url)


def run_postgres(
    database_url: str, sql: str, *, secret: str, row_cap: int = ROW_CAP, time_limit: float = TIME_LIMIT
) -> QueryResult:
    """Run one query as ``oo_readonly`` (set up on first use in this process).

    Raises:
        SqlRefused: Refused by the database, failed, or stopped by the time limit.
    """
    for attempt in (1, 2):
        try:
            _prepared(database_url, secret)
        except sa.exc.SQLAlchemyError as exc:
            log.error("could not set up the %s role: %s", ROLE, exc)
            raise SqlRefused(
                f"The read-only role {ROLE} could not be set up; see admin/RUNBOOK.md."
            ) from None
        try:
            return _execute(database_url, sql, secret=secret, row_cap=row_cap, time_limit=time_limit)
        except psycopg.OperationalError as exc:
            if attempt == 2 or "authentication failed" not in str(exc):
                raise SqlRefused(_message(exc, time_limit)) from None
            _ready.discard(database_url)  # the role's password changed elsewhere: set it up again
    raise AssertionError("unreachable")


def _execute(database_url: str, sql: str, *, secret: str, row_cap: int, time_limit: float) -> QueryResult:
    start = time.monotonic()
    options = (
        f"-c statement_timeout={int(time_limit * 1000)} -c default_transaction_read_only=on"
        f" -c work_mem={WORK_MEM}"
    )
    try:
        with psycopg.connect(**_conninfo(database_url, secret), options=options) as conn:
            conn.read_only = True
            # statement_timeout is the server's limit; the timer cancels from the client too.
            timer = threading.Timer(time_limit + 0.5, conn.cancel_safe)
            timer.daemon = True
            timer.start()
            try:
                with conn.cursor() as cur:
                    cur.execute(sql, prepare=True)  # one statement only
                    columns = [d.name for d in cur.description or []]
                    fetched = cur.fetchmany(row_cap + 1) if cur.description else []
            finally:
                timer.cancel()
            conn.rollback()
    except psycopg.OperationalError:
        raise
    except psycopg.Error as exc:
        raise SqlRefused(_message(exc, time_limit)) from None
    return QueryResult(
        columns=columns,
        rows=[[cell(v) for v in r] for r in fetched[:row_cap]],
        truncated=len(fetched) > row_cap,
        elapsed_ms=round((time.monotonic() - start) * 1000, 1),
    )


def drop_readonly_views(*, engine: sa.Engine) -> int:
    """Drop every ``ro_*`` view (they block migrations that alter or drop a column they show).

    The next query of the SQL runner in a fresh process recreates them from the migrated tables.
    """
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
        names: Sequence[str] = (
            conn.execute(
                sa.text(
                    "SELECT table_name FROM information_schema.views WHERE table_schema = 'public' AND table_name LIKE 'ro\\_%'"
                )
            )
            .scalars()
            .all()
        )
        for name in names:
            conn.execute(sa.text(f"DROP VIEW IF EXISTS {engine.dialect.identifier_preparer.quote(name)}"))
    _ready.clear()
    return len(names)
