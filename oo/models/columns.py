"""Column types and helpers every table uses: aware UTC datetimes, JSON text, source names."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# Task sources (``Integration.provider``, ``Task.source``, ``TipView.source``): each name is defined here only.
TODOIST = "todoist"


DEMO = "demo"


class UTCDateTime(sa.types.TypeDecorator):
    """A DateTime column that always stores UTC and always returns an aware datetime."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Store as naive UTC on SQLite, aware elsewhere; refuse naive datetimes."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Read back as an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current instant, timezone-aware."""
    return datetime.now(UTC)


def table(model: type[SQLModel]) -> sa.Table:
    """The Core table behind a table model (SQLModel leaves ``__table__`` untyped)."""
    found = sa.inspect(model).local_table
    if not isinstance(found, sa.Table):
        raise TypeError(f"{model.__name__} is not a table model")
    return found


def timestamp_field(*, nullable: bool = False, index: bool = False, default: bool = False):
    """An aware-UTC datetime column (``default``: now at insert)."""
    column: sa.Column[datetime] = sa.Column(UTCDateTime(), nullable=nullable, index=index)
    if default:
        return Field(sa_column=column, default_factory=utcnow)
    return Field(sa_column=column, default=None)


def json_text_field(default: str = "{}"):
    """A JSON document stored as text, never NULL."""
    return Field(default=default, sa_column=sa.Column(sa.Text, nullable=False, server_default=default))
