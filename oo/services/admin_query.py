"""Shared pieces of the admin services: input validation, pages of rows, portable SQL helpers.

Admin handlers receive whatever a client sends (Reflex does not enforce type hints), so every
admin service validates its own arguments with the `parse_*` helpers and raises `AdminInputError`
with a message fit to show. The SQL helpers compile to SQLite or PostgreSQL so one query serves
the embedded default and the scale-out database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from oo.models import utcnow

MAX_PAGE_SIZE = 200
WINDOWS = {"1d": 1, "7d": 7, "30d": 30}
SAMPLE_TIPS = 6000


class AdminInputError(ValueError):
    """An admin request with a bad argument; the message is safe to show to the admin."""


@dataclass(frozen=True)
class Page:
    """One page of table rows, newest first; ``has_next`` is known without counting every row."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    page: int = 1
    page_size: int = 50
    has_next: bool = False

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * self.page_size


def parse_int(value: Any, name: str, *, lo: int = 1, hi: int = 2**31 - 1) -> int:
    """An integer argument within [lo, hi].

    Examples:
        >>> parse_int("42", "user id")
        42
        >>> parse_int("x", "user id")
        Traceback (most recent call last):
        ...
        oo.services.admin_query.AdminInputError: user id must be a whole number
    """
    if isinstance(value, bool):
        raise AdminInputError(f"{name} must be a whole number")
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise AdminInputError(f"{name} must be a whole number") from None
    if not lo <= number <= hi:
        raise AdminInputError(f"{name} must be between {lo} and {hi}")
    return number


def parse_optional_int(value: Any, name: str) -> int | None:
    """An optional positive integer filter: blank means no filter."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_int(value, name)


def parse_text(value: Any, name: str, *, max_len: int = 200) -> str:
    """A short free-text argument (stripped); non-strings and over-long values are refused."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AdminInputError(f"{name} must be text")
    value = value.strip()
    if len(value) > max_len:
        raise AdminInputError(f"{name} is longer than {max_len} characters")
    return value


def parse_choice(value: Any, name: str, choices: tuple[str, ...] | set[str] | dict) -> str:
    """One of a fixed set of values."""
    if not isinstance(value, str) or value not in choices:
        raise AdminInputError(f"{name} must be one of: {', '.join(sorted(choices))}")
    return value


def parse_window(value: Any) -> int:
    """A time window name (``1d``, ``7d``, ``30d``) as a number of days."""
    return WINDOWS[parse_choice(value, "window", WINDOWS)]


def since_days(days: int, *, now: datetime | None = None) -> datetime:
    """The instant ``days`` days before now."""
    return (now or utcnow()) - timedelta(days=days)


def page_of(rows: list[dict[str, Any]], *, page: int, page_size: int) -> Page:
    """Wrap rows fetched with ``limit page_size + 1`` into a `Page`."""
    return Page(rows=rows[:page_size], page=page, page_size=page_size, has_next=len(rows) > page_size)


def parse_page(page: Any, page_size: Any = 50) -> tuple[int, int]:
    """Validated (page, page_size)."""
    return parse_int(page, "page", hi=100_000), parse_int(page_size, "page size", hi=MAX_PAGE_SIZE)


def sample_bound(total: int, target: int = SAMPLE_TIPS) -> str | None:
    """The tip-id prefix below which about ``target`` of ``total`` tips fall (None: take them all).

    Tip ids are random UUID hex, so ``id < bound`` is a uniform random sample that the primary
    key index reads directly, whatever the volume.

    Examples:
        >>> sample_bound(100_000), sample_bound(5_000)
        ('0f5c', None)
    """
    if total <= target:
        return None
    return f"{max(1, int(target / total * 0x10000)):04x}"


def mean_interval(n: int, total: float, total_sq: float, *, z: float = 1.96) -> tuple[float, float, float]:
    """Mean and a normal-approximation 95 % confidence interval from n, sum and sum of squares.

    Examples:
        >>> mean_interval(4, 2.0, 2.0)
        (0.5, -0.0658, 1.0658)
        >>> mean_interval(0, 0.0, 0.0)
        (0.0, 0.0, 0.0)
    """
    if n <= 0:
        return 0.0, 0.0, 0.0
    mean = total / n
    var = max(0.0, (total_sq - n * mean * mean) / (n - 1)) if n > 1 else 0.0
    half = z * math.sqrt(var / n)
    return round(mean, 4), round(mean - half, 4), round(mean + half, 4)


class day_of(FunctionElement):
    """``YYYY-MM-DD`` (UTC) of a timestamp column."""

    type = sa.String()
    inherit_cache = True


@compiles(day_of, "sqlite")
def _day_sqlite(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 10)"


@compiles(day_of, "postgresql")
def _day_pg(element: day_of, compiler: Any, **kw: Any) -> str:
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


class hour_bucket(FunctionElement):
    """``YYYY-MM-DD HH`` (UTC) of a timestamp column: an hour that sorts in time order."""

    type = sa.String()
    inherit_cache = True


@compiles(hour_bucket, "sqlite")
def _bucket_sqlite(element: hour_bucket, compiler: Any, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 13)"


@compiles(hour_bucket, "postgresql")
def _bucket_pg(element: hour_bucket, compiler: Any, **kw: Any) -> str:
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24')"


class json_field(FunctionElement):
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
