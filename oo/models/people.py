"""People and their access: users, sessions, consents, sign-in flows, API tokens."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from oo.models.columns import timestamp_field


class User(SQLModel, table=True):
    """A person. After deletion only the tombstone (id, deleted_at) remains."""

    id: int | None = Field(default=None, primary_key=True)
    email: str | None = Field(default=None, max_length=320, index=True)
    name: str | None = Field(default=None, max_length=200)
    role: str = Field(default="user", max_length=16)
    is_demo: bool = False
    timezone: str = Field(default="UTC", max_length=64)
    quiet_hours: str | None = Field(default=None, max_length=16)  # "22-8"; None = server default
    advice_enabled: bool | None = None  # the Advice switch; None = the server default (OO_ADVICE_DEFAULT)
    oidc_issuer: str | None = Field(default=None, max_length=300)
    oidc_subject: str | None = Field(default=None, max_length=300)
    created_at: datetime = timestamp_field(default=True)
    deleted_at: datetime | None = timestamp_field(nullable=True)

    __table_args__ = (sa.UniqueConstraint("oidc_issuer", "oidc_subject", name="uq_user_identity"),)


class UserSession(SQLModel, table=True):
    """A server-side sign-in session; the cookie holds a random id, the table only its SHA-256."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = timestamp_field(default=True)
    last_seen_at: datetime = timestamp_field(default=True)
    expires_at: datetime = timestamp_field()
    revoked_at: datetime | None = timestamp_field(nullable=True)


class Consent(SQLModel, table=True):
    """Which version of which legal document a user accepted, and when."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    document: str = Field(max_length=32)
    version: str = Field(max_length=32)
    accepted_at: datetime = timestamp_field(default=True)


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
    created_at: datetime = timestamp_field(default=True)
    expires_at: datetime = timestamp_field()


class ApiToken(SQLModel, table=True):
    """A per-user API token for the JSON API (only the hash is stored)."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=100)
    created_at: datetime = timestamp_field(default=True)
    last_used_at: datetime | None = timestamp_field(nullable=True)
    revoked_at: datetime | None = timestamp_field(nullable=True)
    expires_at: datetime | None = timestamp_field(nullable=True)  # NULL: made before expiry existed
