"""Database tables (SQLModel). Every datetime is timezone-aware UTC; SQLite gets it back aware too."""

from __future__ import annotations

from datetime import UTC, date, datetime

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


def _ts(*, nullable: bool = False, index: bool = False, default: bool = False):
    column: sa.Column[datetime] = sa.Column(UTCDateTime(), nullable=nullable, index=index)
    if default:
        return Field(sa_column=column, default_factory=utcnow)
    return Field(sa_column=column, default=None)


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


def _json_text(default: str = "{}"):
    return Field(default=default, sa_column=sa.Column(sa.Text, nullable=False, server_default=default))


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
    features: str = _json_text()
    explanation: str = _json_text()
    latency_ms: float = 0.0
    served_at: datetime = _ts(default=True)
    reaction: str | None = Field(default=None, max_length=16)
    reacted_at: datetime | None = _ts(nullable=True)
    # Frozen at serve time for the console's slices and data quality (oo/services/tips/facts.py).
    task_priority: int | None = None  # the API's 1..4 (4 = Todoist's p1)
    local_hour: int | None = None  # hour of day in the user's time zone
    imputed: str = Field(default="", max_length=64)  # defaulted inputs: no_due,unknown_tz,stale_source
    # Probability the serving policy had of choosing this task (off-policy evaluation); None before it was logged.
    propensity: float | None = None

    __table_args__ = (
        sa.Index("ix_tip_view_user_served", "user_id", "served_at"),
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
    created_at: datetime = _ts(default=True)
    applied_at: datetime | None = _ts(nullable=True)  # outbox: the learner has absorbed it

    __table_args__ = (
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_feedback_key"),
        sa.Index("ix_tip_feedback_user_created", "user_id", "created_at"),
        sa.Index("ix_tip_feedback_pending", "applied_at"),
        # Covers the console's active-user counts (own reactions per window).
        sa.Index("ix_tip_feedback_created_origin", "created_at", "origin", "user_id"),
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
    features: str = _json_text()
    latency_ms: float = 0.0
    created_at: datetime = _ts(default=True)
    # This policy's probability of choosing the task that was served (its own pick is task_id).
    served_probability: float | None = None

    __table_args__ = (
        sa.Index("ix_tip_score_user_created", "user_id", "created_at"),
        sa.Index("ix_tip_score_created", "created_at"),
    )


class Policy(SQLModel, table=True):
    """The policy registry (R4): name@version, parameters, status active | shadow | archived."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64)
    version: int = 1
    params: str = _json_text()
    status: str = Field(default="shadow", max_length=16)
    description: str = Field(default="", max_length=500)
    created_at: datetime = _ts(default=True)
    updated_at: datetime = _ts(default=True)

    __table_args__ = (sa.UniqueConstraint("name", "version", name="uq_policy_name_version"),)


class ModelState(SQLModel, table=True):
    """A user's learner state for one policy, in the recommender's versioned JSON format (no pickle)."""

    __tablename__ = "model_state"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id")
    policy_key: str = Field(max_length=80)
    data: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    updates: int = 0
    updated_at: datetime = _ts(default=True)

    __table_args__ = (sa.UniqueConstraint("user_id", "policy_key", name="uq_model_state_user_policy"),)


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
    next_attempt_at: datetime = _ts(default=True)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _ts(default=True)

    __table_args__ = (sa.Index("ix_source_action_due", "status", "next_attempt_at"),)


class EventRecord(SQLModel, table=True):
    """A persisted bus event (R7), for replay and the admin stream; retention by ``occurred_at``."""

    __tablename__ = "event"

    id: str = Field(primary_key=True, max_length=32)
    subject: str = Field(max_length=100)
    user_id: int | None = Field(default=None, index=True)
    occurred_at: datetime = _ts(default=True, index=True)
    data: str = _json_text()
    replay_of: str | None = Field(default=None, max_length=32)

    __table_args__ = (sa.Index("ix_event_subject_time", "subject", "occurred_at"),)


class WebhookDelivery(SQLModel, table=True):
    """Webhook deliveries already processed (idempotency on the provider's delivery id)."""

    __tablename__ = "webhook_delivery"

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=32)
    delivery_id: str = Field(max_length=128)
    event_name: str = Field(default="", max_length=64)
    user_id: int | None = Field(default=None, index=True)
    received_at: datetime = _ts(default=True)

    __table_args__ = (sa.UniqueConstraint("provider", "delivery_id", name="uq_webhook_delivery"),)


class PushSubscription(SQLModel, table=True):
    """A browser's Web Push subscription; endpoint and keys encrypted (they are capabilities)."""

    __tablename__ = "push_subscription"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    endpoint_hash: str = Field(max_length=64, unique=True)
    data: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime = _ts(default=True)
    last_success_at: datetime | None = _ts(nullable=True)
    failures: int = 0


class ApiToken(SQLModel, table=True):
    """A per-user API token for the JSON API (only the hash is stored)."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    name: str = Field(default="", max_length=100)
    created_at: datetime = _ts(default=True)
    last_used_at: datetime | None = _ts(nullable=True)
    revoked_at: datetime | None = _ts(nullable=True)
    expires_at: datetime | None = _ts(nullable=True)  # NULL: made before expiry existed


class AdminAction(SQLModel, table=True):
    """Append-only audit log of admin writes (A2)."""

    __tablename__ = "admin_action"

    id: int | None = Field(default=None, primary_key=True)
    admin_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=64)
    target: str = Field(default="", max_length=200)
    params: str = _json_text()
    created_at: datetime = _ts(default=True, index=True)


class SavedQuery(SQLModel, table=True):
    """A saved read-only SQL query of the admin SQL runner (A13)."""

    __tablename__ = "saved_query"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    sql: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_by: int | None = None
    created_at: datetime = _ts(default=True)


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
    tags: str = _json_text()
    rationale: str = Field(default="", max_length=400)
    source: str = Field(default="operator", max_length=16)  # builtin | operator
    version: int = 0  # library version a built-in row was seeded from (0: an operator's piece)
    edited: bool = False
    status: str = Field(default="active", max_length=16)  # active | retired
    created_by: int | None = None  # admin id (no FK: the library outlives an admin account)
    created_at: datetime = _ts(default=True)
    updated_at: datetime = _ts(default=True)


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
    decided_at: datetime = _ts(default=True)
    policy: str = Field(default="timing@1", max_length=64)
    send: bool = False
    probability: float = 0.0
    reason: str = Field(default="model", max_length=16)
    local_hour: int = 0
    context: str = _json_text()
    tip_id: str | None = Field(default=None, max_length=32, index=True)
    delivered: bool | None = None
    opened_at: datetime | None = _ts(nullable=True)
    reaction: str | None = Field(default=None, max_length=16)
    reacted_via: str | None = Field(default=None, max_length=16)
    reacted_at: datetime | None = _ts(nullable=True)
    reward: float | None = None
    settled_at: datetime | None = _ts(nullable=True)

    __table_args__ = (
        sa.Index("ix_push_decision_user_time", "user_id", "decided_at"),
        sa.Index("ix_push_decision_time", "decided_at"),
        sa.Index("ix_push_decision_unsettled", "user_id", "settled_at"),
    )
