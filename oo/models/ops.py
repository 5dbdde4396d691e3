"""Operations: stored events, the activity rollup, push subscriptions and timing decisions, the admin audit log, saved queries."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from oo.models.columns import json_text_field, timestamp_field


class EventRecord(SQLModel, table=True):
    """A persisted bus event (R7), for replay and the admin stream; retention by ``occurred_at``."""

    __tablename__ = "event"

    id: str = Field(primary_key=True, max_length=32)
    subject: str = Field(max_length=100)
    user_id: int | None = Field(default=None, index=True)
    occurred_at: datetime = timestamp_field(default=True, index=True)
    data: str = json_text_field()
    replay_of: str | None = Field(default=None, max_length=32)

    __table_args__ = (sa.Index("ix_event_subject_time", "subject", "occurred_at"),)


class PushSubscription(SQLModel, table=True):
    """A browser's Web Push subscription; endpoint and keys encrypted (they are capabilities)."""

    __tablename__ = "push_subscription"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    endpoint_hash: str = Field(max_length=64, unique=True)
    data: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = timestamp_field(default=True)
    last_success_at: datetime | None = timestamp_field(nullable=True)
    failures: int = 0


class PushDecision(SQLModel, table=True):
    """One push-timing decision (send or not) with its probability, context and outcome (push funnel).

    ``probability`` is the clipped P(send) the timing model used, so the probability of the action
    taken is ``probability`` for a send and ``1 - probability`` for a not-send (off-policy
    evaluation). ``reason``: ``model`` (sampled), ``first`` (a user's first push, always sent) or
    ``nothing`` (the model said send, there was no tip). A send's outcome fills in later:
    ``delivered``, ``opened_at`` (the notification opened the tip), the reaction (on the pushed
    tip, ``reacted_via`` notification or page) and, once known, the ``reward`` the model learned.
    """

    __tablename__ = "push_decision"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    decided_at: datetime = timestamp_field(default=True)
    policy: str = Field(default="timing@1", max_length=64)
    send: bool = False
    probability: float = 0.0
    reason: str = Field(default="model", max_length=16)
    local_hour: int = 0
    context: str = json_text_field()
    tip_id: str | None = Field(default=None, max_length=32, index=True)
    delivered: bool | None = None
    opened_at: datetime | None = timestamp_field(nullable=True)
    reaction: str | None = Field(default=None, max_length=16)
    reacted_via: str | None = Field(default=None, max_length=16)
    reacted_at: datetime | None = timestamp_field(nullable=True)
    reward: float | None = None
    settled_at: datetime | None = timestamp_field(nullable=True)

    __table_args__ = (
        sa.Index("ix_push_decision_user_time", "user_id", "decided_at"),
        sa.Index("ix_push_decision_time", "decided_at"),
        sa.Index("ix_push_decision_unsettled", "user_id", "settled_at"),
    )


class ActiveDay(SQLModel, table=True):
    """A person active on a UTC day: the console's activity rollup (`services/admin/activity.py`).

    Written only for days that are over (`ActiveDayRollup` marks them), from the tip log and the
    reactions; ``last_at`` is the day's last activity, so "active since t" is ``last_at >= t``.
    Keyed by the user, so account deletion removes it with the rest.
    """

    __tablename__ = "active_day"

    day: str = Field(primary_key=True, max_length=10)  # YYYY-MM-DD, UTC
    user_id: int = Field(primary_key=True, foreign_key="user.id")
    last_at: datetime = timestamp_field()


class ActiveDayRollup(SQLModel, table=True):
    """A UTC day whose active users are in `ActiveDay` (the marker is inserted once, first)."""

    __tablename__ = "active_day_rollup"

    day: str = Field(primary_key=True, max_length=10)
    rolled_at: datetime = timestamp_field(default=True)


class AdminAction(SQLModel, table=True):
    """Append-only audit log of admin writes (A2)."""

    __tablename__ = "admin_action"

    id: int | None = Field(default=None, primary_key=True)
    admin_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=64)
    target: str = Field(default="", max_length=200)
    params: str = json_text_field()
    created_at: datetime = timestamp_field(default=True, index=True)


class SavedQuery(SQLModel, table=True):
    """A saved read-only SQL query of the admin SQL runner (A13)."""

    __tablename__ = "saved_query"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    sql: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_by: int | None = None
    created_at: datetime = timestamp_field(default=True)
