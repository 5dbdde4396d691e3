"""Where tasks come from: integrations, the cached tasks, the close-at-source outbox, webhook deliveries."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from oo.models.columns import timestamp_field


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
    last_sync_at: datetime | None = timestamp_field(nullable=True)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = timestamp_field(default=True)
    updated_at: datetime = timestamp_field(default=True)

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
    added_at: datetime = timestamp_field(default=True)
    due_kind: str = Field(default="none", max_length=16)
    due_date: date | None = None
    due_at: datetime | None = timestamp_field(nullable=True)
    is_recurring: bool = False
    deadline: date | None = None
    url: str | None = Field(default=None, max_length=500)
    completed_at: datetime | None = timestamp_field(nullable=True)
    snoozed_until: datetime | None = timestamp_field(nullable=True)
    updated_at: datetime = timestamp_field(default=True)
    # Minutes the task takes: the source's duration, else `oo.recommender.task_length`'s estimate.
    length_minutes: float | None = None

    __table_args__ = (
        sa.UniqueConstraint("user_id", "source", "external_id", name="uq_task_source_id"),
        sa.Index("ix_task_user_open", "user_id", "completed_at"),
    )


class SourceAction(SQLModel, table=True):
    """Outbox of actions to carry out at a task's source (close on Done), retried until done."""

    __tablename__ = "source_action"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    task_id: int | None = None
    source: str = Field(max_length=32)
    external_id: str = Field(max_length=64)
    action: str = Field(default="close", max_length=16)
    status: str = Field(default="pending", max_length=16)  # pending | done | failed
    attempts: int = 0
    next_attempt_at: datetime = timestamp_field(default=True)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = timestamp_field(default=True)

    __table_args__ = (sa.Index("ix_source_action_due", "status", "next_attempt_at"),)


class WebhookDelivery(SQLModel, table=True):
    """Webhook deliveries already processed (idempotency on the provider's delivery id)."""

    __tablename__ = "webhook_delivery"

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=32)
    delivery_id: str = Field(max_length=128)
    event_name: str = Field(default="", max_length=64)
    user_id: int | None = Field(default=None, index=True)
    received_at: datetime = timestamp_field(default=True)

    __table_args__ = (sa.UniqueConstraint("provider", "delivery_id", name="uq_webhook_delivery"),)
