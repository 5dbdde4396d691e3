"""Read-only SQL runner (A13): the database itself refuses writes; a row cap and a time limit.

Nothing here parses the SQL to decide whether it is safe. The guarantees come from the
connection:

- **SQLite**: the file is opened ``mode=ro`` (the OS-level open is read-only), ``PRAGMA
  query_only`` is on, and an authorizer allows only reads (SELECT, reads, functions, recursive
  CTEs, allow-listed functions and a short list of read-only pragmas): ATTACH, writes, DDL,
  transactions, pragma writes and every other function are denied, and secret columns read as
  NULL. Per-connection limits (``SQLITE_LIMIT_LENGTH`` 1 MB and more) and a small page cache
  bound memory; a progress handler and a timer calling ``interrupt()`` stop a query at its
  time limit. Temporary ``ro_*`` views mirror the Postgres ones, so saved queries run
  on both.
- **PostgreSQL**: a separate login role ``oo_readonly`` with SELECT only on ``ro_*`` views that
  leave out secret columns (`oo.services.admin.sql_runner_pg`), ``statement_timeout`` and a read-only
  transaction, and the extended query protocol, which accepts exactly one statement.

`run` executes one query for an admin and writes one audit row (query text, row count, outcome).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any
from urllib.parse import quote

from sqlmodel import Session

from oo.services.admin import audit as admin_audit
from oo.services.admin.inputs import AdminInputError
from oo.services.admin.sql_results import (
    MAX_SQL,
    ROW_CAP,
    SECRET_COLUMNS,
    SECRET_TABLES,
    TIME_LIMIT,
    QueryResult,
    SqlRefused,
    cell,
)

log = logging.getLogger("oo.admin.sql")
READ_PRAGMAS = {
    "table_info",
    "table_xinfo",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "database_list",
    "collation_list",
    "function_list",
    "table_list",
}


# SQL functions a query may call: plain scalar, aggregate, date and JSON functions. Everything
# else is denied by the authorizer — printf/format, zeroblob/randomblob (huge values from tiny
# text), fts3_tokenizer (returns a native pointer), load_extension, and whatever a build adds.
ALLOWED_FUNCTIONS = frozenset(
    [
        "abs",
        "avg",
        "changes",
        "char",
        "coalesce",
        "count",
        "date",
        "datetime",
        "group_concat",
        "hex",
        "ifnull",
        "iif",
        "instr",
        "julianday",
        "length",
        "like",
        "glob",
        "lower",
        "ltrim",
        "max",
        "min",
        "nullif",
        "octet_length",
        "quote",
        "random",
        "round",
        "rtrim",
        "sign",
        "string_agg",
        "strftime",
        "substr",
        "substring",
        "sum",
        "time",
        "total",
        "trim",
        "typeof",
        "unhex",
        "unicode",
        "unixepoch",
        "upper",
        "ceil",
        "ceiling",
        "floor",
        "ln",
        "log",
        "log10",
        "log2",
        "mod",
        "pow",
        "power",
        "sqrt",
        "exp",
        "json",
        "json_array",
        "json_array_length",
        "json_extract",
        "json_object",
        "json_quote",
        "json_type",
        "json_valid",
        "json_each",
        "json_tree",
        "json_group_array",
        "json_group_object",
        "row_number",
        "rank",
        "dense_rank",
        "percent_rank",
        "cume_dist",
        "ntile",
        "lag",
        "lead",
        "first_value",
        "last_value",
        "nth_value",
    ]
)
# Per-connection SQLite limits (sqlite3_limit): one value at most 1 MB, short SQL, shallow
# expressions. A value past SQLITE_LIMIT_LENGTH fails with "string or blob too big" instead of
# growing to gigabytes. Memory is further bounded by a small page cache; temp data goes to files.
SQLITE_LIMITS = {
    sqlite3.SQLITE_LIMIT_LENGTH: 1_000_000,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: MAX_SQL * 4,
    sqlite3.SQLITE_LIMIT_COLUMN: 200,
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 100,
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 20,
    sqlite3.SQLITE_LIMIT_FUNCTION_ARG: 16,
    sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: 1_000,
    sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER: 0,
    sqlite3.SQLITE_LIMIT_TRIGGER_DEPTH: 1,
    sqlite3.SQLITE_LIMIT_ATTACHED: 0,
}
CACHE_KIB = 8_192


def _authorizer(
    action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None
) -> int:
    if action == sqlite3.SQLITE_READ:
        if arg1 in SECRET_TABLES or (arg1 in SECRET_COLUMNS and arg2 in SECRET_COLUMNS[arg1]):
            return sqlite3.SQLITE_IGNORE  # the column reads as NULL
        return sqlite3.SQLITE_OK
    if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_RECURSIVE):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:  # arg2 is the function's name
        return sqlite3.SQLITE_OK if arg2 and arg2.lower() in ALLOWED_FUNCTIONS else sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and arg1 and arg1.lower() in READ_PRAGMAS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _sqlite_views(conn: sqlite3.Connection) -> None:
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        if table in SECRET_TABLES or table.startswith(("sqlite_", "alembic_")):
            continue
        cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
        keep = [c for c in cols if c not in SECRET_COLUMNS.get(table, set())]
        column_list = ", ".join(f'"{c}"' for c in keep)
        conn.execute(f'CREATE TEMP VIEW "ro_{table}" AS SELECT {column_list} FROM main."{table}"')


def _lock_down(conn: sqlite3.Connection) -> None:
    """Read-only, per-connection limits, the authorizer last."""
    conn.execute("PRAGMA query_only = ON")
    for category, value in SQLITE_LIMITS.items():
        conn.setlimit(category, value)
    conn.set_authorizer(_authorizer)


def run_sqlite(path: str, sql: str, *, row_cap: int = ROW_CAP, time_limit: float = TIME_LIMIT) -> QueryResult:
    """Run one query on a SQLite file through a read-only connection.

    Raises:
        SqlRefused: The database refused it (a write, several statements, a syntax error) or
            it ran past ``time_limit``.
    """
    start = time.monotonic()
    conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=5, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")  # small page cache
        conn.execute("PRAGMA temp_store = FILE")  # sorts spill to files (resets temp objects: first)
        _sqlite_views(conn)  # temp objects, created before the connection is locked down
        _lock_down(conn)
        deadline = start + time_limit
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 1000)
        # The progress handler only runs between VM steps; the timer also stops one long step.
        timer = threading.Timer(max(0.0, deadline - time.monotonic()), conn.interrupt)
        timer.daemon = True
        timer.start()
        try:
            cur = conn.execute(sql)
            columns = [d[0] for d in cur.description or []]
            fetched = cur.fetchmany(row_cap + 1)
        finally:
            timer.cancel()
    except (sqlite3.Error, sqlite3.Warning) as exc:
        raise SqlRefused(_sqlite_message(exc, time_limit)) from None
    finally:
        conn.close()
    return QueryResult(
        columns=columns,
        rows=[[cell(v) for v in r] for r in fetched[:row_cap]],
        truncated=len(fetched) > row_cap,
        elapsed_ms=round((time.monotonic() - start) * 1000, 1),
    )


def _sqlite_message(exc: Exception, time_limit: float) -> str:
    text = str(exc)
    if "interrupted" in text:
        return f"Refused: the query ran longer than {time_limit:g} s and was stopped."
    if "not authorized" in text or "readonly" in text or "read-only" in text:
        return f"Refused: the SQL runner is read-only ({text})."
    if "too big" in text or "too long" in text or "too many" in text or "too large" in text:
        return f"Refused: the query went past a size limit ({text})."
    if "one statement" in text:
        return "Refused: run one statement at a time."
    return f"Query failed: {text}"


def check_sql(sql: Any) -> str:
    """The query text, if it is non-empty text within the length limit.

    Raises:
        AdminInputError: Empty, not text, or over-long.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise AdminInputError("Type a query first.")
    if len(sql) > MAX_SQL:
        raise AdminInputError(f"Queries are limited to {MAX_SQL} characters.")
    return sql


def run_query(
    *, database_url: str, sql: str, secret: str, row_cap: int = ROW_CAP, time_limit: float = TIME_LIMIT
) -> QueryResult:
    """Run one read-only query on the app database (SQLite file or Postgres through ``oo_readonly``).

    Raises:
        SqlRefused: Refused, failed or timed out.
        AdminInputError: Empty or over-long SQL.
    """
    sql = check_sql(sql)
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[-1]
        if not path or path == ":memory:":
            raise SqlRefused("The SQL runner needs a file database.")
        return run_sqlite(path, sql, row_cap=row_cap, time_limit=time_limit)
    if database_url.startswith("postgresql"):
        from oo.services.admin import sql_runner_pg as admin_sql_pg  # psycopg only where Postgres is used

        return admin_sql_pg.run_postgres(
            database_url, sql, secret=secret, row_cap=row_cap, time_limit=time_limit
        )
    raise SqlRefused("The SQL runner supports SQLite and PostgreSQL.")


def run(*, session: Session, admin_id: int, sql: Any, database_url: str, secret: str) -> QueryResult:
    """Run a query for an admin and audit it (text, row count, outcome), refused ones included.

    Raises:
        SqlRefused: Refused, failed or timed out (the audit row is still written).
        AdminInputError: Empty or over-long SQL (nothing ran, nothing is logged).
    """
    sql = check_sql(sql)
    params: dict[str, Any] = {"sql": sql}
    try:
        result = run_query(database_url=database_url, sql=sql, secret=secret)
    except SqlRefused as exc:
        params.update(ok=False, error=str(exc))
        admin_audit.record(session=session, admin_id=admin_id, action="sql.run", target="sql", params=params)
        session.commit()
        log.info("admin %s: SQL refused: %s", admin_id, exc)
        raise
    params.update(ok=True, rows=len(result.rows), truncated=result.truncated, ms=result.elapsed_ms)
    admin_audit.record(session=session, admin_id=admin_id, action="sql.run", target="sql", params=params)
    session.commit()
    return result
