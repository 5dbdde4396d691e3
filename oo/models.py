"""Database tables (SQLModel). Every datetime is timezone-aware UTC; SQLite gets it back aware too."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


class UTCDateTime(sa.types.TypeDecorator):
    """A DateTime column that always stores UTC and always returns an aware datetime."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current instant, timezone-aware."""
    return datetime.now(UTC)


def _ts(*, nullable: bool = False, index: bool = False, default: bool = False):  # noqa: ANN202
    kwargs = {"default_factory": utcnow} if default else {"default": None}
    return Field(sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index), **kwargs)


class User(SQLModel, table=True):
    """A person. After deletion only the tombstone (id, deleted_at) remains."""

    id: int | None = Field(default=None, primary_key=True)
    email: str | None = Field(default=None, max_length=320, index=True)
    name: str | None = Field(default=None, max_length=200)
    role: str = Field(default="user", max_length=16)
    is_demo: bool = False
    timezone: str = Field(default="UTC", max_length=64)
    oidc_issuer: str | None = Field(default=None, max_length=300)
    oidc_subject: str | None = Field(default=None, max_length=300)
    created_at: datetime = _ts(default=True)
    deleted_at: datetime | None = _ts(nullable=True)

    __table_args__ = (sa.UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_user_identity"),)


class UserSession(SQLModel, table=True):
    """A server-side sign-in session; the cookie holds a random id, the table only its SHA-256."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _ts(default=True)
    last_seen_at: datetime = _ts(default=True)
    expires_at: datetime = _ts()
    revoked_at: datetime | None = _ts(nullable=True)


class Consent(SQLModel, table=True):
    """Which version of which legal document a user accepted, and when."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    document: str = Field(max_length=32)
    version: str = Field(max_length=32)
    accepted_at: datetime = _ts(default=True)


class LoginFlow(SQLModel, table=True):
    """One pending OAuth/OIDC redirect: single-use state bound to the browser that started it."""

    __tablename__ = "login_flow"

    id: int | None = Field(default=None, primary_key=True)
    state_hash: str = Field(max_length=64, unique=True)
    browser_hash: str = Field(max_length=64)
    provider: str = Field(max_length=32)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    nonce: str = Field(default="", max_length=128)
    code_verifier: str = Field(default="", max_length=128)
    next_path: str = Field(default="/tip", max_length=200)
    created_at: datetime = _ts(default=True)
    expires_at: datetime = _ts()


class Integration(SQLModel, table=True):
    """A connected task source for one user; credentials are AEAD-encrypted (see oo.crypto)."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    provider: str = Field(max_length=32)
    status: str = Field(default="connected", max_length=32)
    credentials: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    scopes: str = Field(default="", max_length=200)
    external_user_id: str | None = Field(default=None, max_length=64, index=True)
    sync_token: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    last_sync_at: datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _ts(default=True)
    updated_at: datetime = _ts(default=True)

    __table_args__ = (sa.UniqueConstraint("user_id", "provider", name="uq_integration_user_provider"),)


class Task(SQLModel, table=True):
    """A normalized open task from one source, cached per user."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    source: str = Field(max_length=32)
    external_id: str = Field(max_length=64)
    content: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    project_id: str | None = Field(default=None, max_length=64)
    priority: int = Field(default=1, ge=1, le=4)
    labels: str = Field(default="", max_length=1000)
    added_at: datetime = _ts(default=True)
    due_kind: str = Field(default="none", max_length=16)
    due_date: date | None = None
    due_at: datetime | None = _ts(nullable=True)
    is_recurring: bool = False
    deadline: date | None = None
    url: str | None = Field(default=None, max_length=500)
    completed_at: datetime | None = _ts(nullable=True)
    snoozed_until: datetime | None = _ts(nullable=True)
    updated_at: datetime = _ts(default=True)

    __table_args__ = (
        sa.UniqueConstraint("user_id", "source", "external_id", name="uq_task_source_id"),
        sa.Index("ix_task_user_open", "user_id", "completed_at"),
    )
