"""Tips and what was learned from them: the tip log, reactions, policy scores, the registry, models, advice."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from oo.models.columns import json_text_field, timestamp_field


class TipView(SQLModel, table=True):
    """One served tip (R5 explainability log; the ``tip_views`` metric). ``id`` is the public tip id."""

    __tablename__ = "tip_view"

    id: str = Field(primary_key=True, max_length=32)
    user_id: int = Field(foreign_key="user.id")
    task_id: int | None = Field(default=None)  # no FK: the log outlives a cached task
    source: str = Field(default="", max_length=32)
    external_id: str = Field(default="", max_length=64)
    kind: str = Field(default="todo", max_length=16)
    channel: str = Field(default="web", max_length=16)  # web | push | api
    policy: str = Field(max_length=64)
    policy_version: int = 1
    score: float = 0.0
    fallback: bool = False
    features: str = json_text_field()
    explanation: str = json_text_field()
    latency_ms: float = 0.0
    served_at: datetime = timestamp_field(default=True)
    reaction: str | None = Field(default=None, max_length=16)
    reacted_at: datetime | None = timestamp_field(nullable=True)
    # Frozen at serve time for the console's slices and data quality (oo/services/tips/facts.py).
    task_priority: int | None = None  # the API's 1..4 (4 = Todoist's p1)
    local_hour: int | None = None  # hour of day in the user's time zone
    imputed: str = Field(default="", max_length=64)  # defaulted inputs: no_due,unknown_tz,stale_source
    # Probability the serving policy had of choosing this task (off-policy evaluation); None before it was logged.
    propensity: float | None = None

    __table_args__ = (
        sa.Index("ix_tip_view_user_served", "user_id", "served_at"),
        # A pick reads the user's recent advice tips only (however many task tips they have).
        sa.Index("ix_tip_view_user_source_served", "user_id", "source", "served_at"),
        # Covers the admin console's time-window aggregations (overview, experiments, rewards).
        sa.Index(
            "ix_tip_view_served_cover",
            "served_at",
            "policy",
            "policy_version",
            "reaction",
            "user_id",
            "task_id",
            "channel",
            "fallback",
        ),
        # Covers the console's slices of reacted tips on the facts frozen at serve time (rewards).
        sa.Index(
            "ix_tip_view_reacted_facts",
            "served_at",
            "reaction",
            "user_id",
            "policy",
            "policy_version",
            "task_priority",
            "local_hour",
        ),
        # Covers the console's uniform samples (``id < bound``, ids are random): rewards' and
        # experiments' per-user rows and the shadow join read this index, never the wide rows.
        sa.Index(
            "ix_tip_view_id_cover",
            "id",
            "served_at",
            "reaction",
            "policy",
            "policy_version",
            "fallback",
            "user_id",
            "task_id",
            "task_priority",
            "local_hour",
        ),
        # The Experiments page's pulls per policy and reaction: its order is the GROUP BY's, so
        # SQLite counts while it scans (no temporary B-tree), over the retention window's tips.
        sa.Index("ix_tip_view_policy_group", "policy", "policy_version", "fallback", "reaction", "served_at"),
        # The activation funnel's per-person probes: ever served a tip on a channel, or from a source.
        sa.Index("ix_tip_view_user_channel", "user_id", "channel", "task_id"),
    )


class TipFeedback(SQLModel, table=True):
    """One reaction (the ``tip_feedback`` metric); once per (user, idempotency key), first reward wins."""

    __tablename__ = "tip_feedback"

    id: int | None = Field(default=None, primary_key=True)
    tip_id: str = Field(foreign_key="tip_view.id", max_length=32, index=True)
    user_id: int = Field(foreign_key="user.id")
    reaction: str = Field(max_length=16)
    reward: float
    idempotency_key: str = Field(max_length=64)
    origin: str = Field(default="user", max_length=16)  # user | webhook (delayed reward)
    created_at: datetime = timestamp_field(default=True)
    applied_at: datetime | None = timestamp_field(nullable=True)  # outbox: the learner has absorbed it

    __table_args__ = (
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_feedback_key"),
        sa.Index("ix_tip_feedback_user_created", "user_id", "created_at"),
        sa.Index("ix_tip_feedback_pending", "applied_at"),
        # Covers the console's active-user counts (own reactions per window).
        sa.Index("ix_tip_feedback_created_origin", "created_at", "origin", "user_id"),
        # The activation funnel's per-person probe: ever reacted themselves.
        sa.Index("ix_tip_feedback_user_origin", "user_id", "origin"),
    )


class TipScore(SQLModel, table=True):
    """Per scoring call and policy (active or shadow): features, pick, score, latency. 30-day retention."""

    __tablename__ = "tip_score"

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(max_length=32, index=True)
    tip_id: str | None = Field(default=None, max_length=32)
    user_id: int = Field(foreign_key="user.id")
    policy: str = Field(max_length=64)
    policy_version: int = 1
    role: str = Field(default="active", max_length=16)  # active | shadow | fallback
    task_id: int | None = None
    score: float = 0.0
    candidates: int = 0
    features: str = json_text_field()
    latency_ms: float = 0.0
    created_at: datetime = timestamp_field(default=True)
    # This policy's probability of choosing the task that was served (its own pick is task_id).
    served_probability: float | None = None

    __table_args__ = (
        sa.Index("ix_tip_score_user_created", "user_id", "created_at"),
        sa.Index("ix_tip_score_created", "created_at"),
        # Covers the Experiments page's shadow agreement (joined on request id), never the feature JSON.
        sa.Index("ix_tip_score_request_cover", "request_id", "role", "policy", "policy_version", "task_id"),
    )


class Policy(SQLModel, table=True):
    """The policy registry (R4): name@version, parameters, status active | shadow | archived."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    version: int = 1
    params: str = json_text_field()
    status: str = Field(default="shadow", max_length=16)
    description: str = Field(default="", max_length=500)
    created_at: datetime = timestamp_field(default=True)
    updated_at: datetime = timestamp_field(default=True)

    __table_args__ = (sa.UniqueConstraint("name", "version", name="uq_policy_name_version"),)


class ModelState(SQLModel, table=True):
    """A user's learner state for one policy, in the recommender's versioned JSON format (no pickle)."""

    __tablename__ = "model_state"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    policy_key: str = Field(max_length=80)
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    updates: int = 0
    updated_at: datetime = timestamp_field(default=True)

    __table_args__ = (sa.UniqueConstraint("user_id", "policy_key", name="uq_model_state_user_policy"),)


class Advice(SQLModel, table=True):
    """One piece of advice in the library (R10): built-in (seeded from ``oo/content``) or an operator's.

    ``key`` is stable across library versions; built-in rows carry the library ``version`` they
    were last written from, and ``edited`` once an admin changed them (the seed then leaves them
    alone). ``tags`` is JSON: ``time`` (list), ``energy``, ``minutes``, ``contexts`` (list).
    Rows are never deleted (tips refer to them): retiring sets ``status`` to ``retired``.
    """

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40, unique=True)
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    topic: str = Field(default="", max_length=32)
    tags: str = json_text_field()
    rationale: str = Field(default="", max_length=400)
    source: str = Field(default="operator", max_length=16)  # builtin | operator
    version: int = 0  # library version a built-in row was seeded from (0: an operator's piece)
    edited: bool = False
    status: str = Field(default="active", max_length=16)  # active | retired
    created_by: int | None = None  # admin id (no FK: the library outlives an admin account)
    created_at: datetime = timestamp_field(default=True)
    updated_at: datetime = timestamp_field(default=True)
