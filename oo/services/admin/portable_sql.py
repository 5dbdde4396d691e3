"""SQL expressions that compile to SQLite or PostgreSQL, so one admin query serves both databases.

Days and hours are UTC text that sorts in time order; JSON fields are read as text with their path
bound as parameters.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class day_of(FunctionElement[str]):
    """``YYYY-MM-DD`` (UTC) of a timestamp column."""

    type = sa.String()
    inherit_cache = True


@compiles(day_of, "sqlite")
def _day_sqlite(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@compiles(day_of, "postgresql")
def _day_pg(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


class hour_bucket(FunctionElement[str]):
    """``YYYY-MM-DD HH`` (UTC) of a timestamp column: an hour that sorts in time order."""

    type = sa.String()
    inherit_cache = True


@compiles(hour_bucket, "sqlite")
def _bucket_sqlite(element: hour_bucket, compiler: Any, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 13)"


@compiles(hour_bucket, "postgresql")
def _bucket_pg(element: hour_bucket, compiler: Any, **kw: Any) -> str:
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"


class json_field(FunctionElement[str]):
    """A field of a JSON text column, as text (NULL when absent); build it with `json_key`.

    The path travels as bound parameters (one per dialect's syntax), so compiled statements are
    cached safely and no key is ever pasted into SQL.
    """

    type = sa.String()
    inherit_cache = True


@compiles(json_field, "sqlite")
def _json_sqlite(element: json_field, compiler: Any, **kw: Any) -> str:
    column, path, _ = element.clauses
    col_sql, path_sql = compiler.process(column, **kw), compiler.process(path, **kw)
    # json_valid first: a malformed row counts as missing instead of aborting the whole query.
    return f"CASE WHEN json_valid({col_sql}) THEN json_extract({col_sql}, {path_sql}) END"


@compiles(json_field, "postgresql")
def _json_pg(element: json_field, compiler: Any, **kw: Any) -> str:
    column, _, path = element.clauses
    return f"(({compiler.process(column, **kw)})::jsonb #>> CAST({compiler.process(path, **kw)} AS text[]))"


def json_key(column: Any, *keys: str) -> json_field:
    """The text at ``column -> keys[0] -> keys[1] ...`` of a JSON text column.

    Examples:
        >>> from sqlalchemy.dialects import sqlite
        >>> expr = json_key(sa.column("features"), "textbook@1", "priority")
        >>> print(expr.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
        CASE WHEN json_valid(features) THEN json_extract(features, '$."textbook@1"."priority"') END
    """
    if not keys or any('"' in k or "\\" in k for k in keys):
        raise ValueError(f"bad JSON path {keys!r}")
    sqlite_path = "$" + "".join(f'."{k}"' for k in keys)
    pg_path = "{" + ",".join(f'"{k}"' for k in keys) + "}"
    return json_field(column, sa.literal(sqlite_path, sa.String()), sa.literal(pg_path, sa.String()))


def utc_days(
    since: datetime, until: datetime | None = None, *, now: datetime | None = None
) -> list[tuple[str, datetime, datetime | None]]:
    """``[since, until)`` cut at UTC midnights: (``YYYY-MM-DD``, start, end), the last end ``until``.

    Without ``until`` the days run to ``now`` (default: the clock) and the last one stays open.

    Counting each day as its own range on a time-ordered index needs no sort (``GROUP BY`` on
    the day of a timestamp does), so per-day figures are one range count per day.

    Examples:
        >>> t = datetime(2026, 1, 1, 22, tzinfo=UTC)
        >>> [(d, a.hour, b and b.day) for d, a, b in utc_days(t, t + timedelta(hours=4))]
        [('2026-01-01', 22, 2), ('2026-01-02', 0, 2)]
        >>> utc_days(t)[-1][2] is None  # no ``until``: the last day is open-ended
        True
    """
    out: list[tuple[str, datetime, datetime | None]] = []
    start, last = since.astimezone(UTC), (until or now or datetime.now(UTC)).astimezone(UTC)
    while start < last:
        midnight = (start + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        end = midnight if midnight < last else until
        out.append((start.strftime("%Y-%m-%d"), start, end))
        start = midnight
    return out
