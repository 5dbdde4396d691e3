"""Request and response models of the v1 JSON API (pydantic; also the OpenAPI schemas).

Requests forbid unknown fields and use strict types, so a typo or a wrong type is a clear
422 rather than a silent default.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from oo.services.tips.explain import Explanation, Recommendation
from oo.services.tips.feedback import FeedbackResult

Reaction = Literal["done", "helpful", "snooze", "not_helpful", "dismiss"]
TIP_ID = r"^[0-9a-f]{32}$"
KEY = r"^[A-Za-z0-9_-]{1,64}$"
POLICY_KEY = r"^[a-z0-9_]{1,40}@[0-9]{1,6}$"
MAX_ID = 2**63 - 1  # a database BIGINT: a larger id is a 422, never an OverflowError
Id = Annotated[int, Field(gt=0, le=MAX_ID)]


class Request(BaseModel):
    """Base of request bodies: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)


class RecommendRequest(Request):
    """Ask for the next tip."""

    exclude_task_ids: list[Id] = Field(
        default_factory=list,
        max_length=100,
        description="Task ids not to pick this time (e.g. the last one).",
    )


class FeedbackRequest(Request):
    """A reaction to a tip; the idempotency key is made by the client, once per user action."""

    tip_id: str = Field(pattern=TIP_ID, description="The tip_id returned by /api/v1/recommend.")
    reaction: Reaction
    idempotency_key: str = Field(pattern=KEY, description="Retries of one action reuse the same key.")


class FeatureOut(BaseModel):
    """One feature of the served task and its contribution to the score."""

    name: str
    value: float
    contribution: float


class ExplanationOut(BaseModel):
    """Why this tip: posterior mean + exploration bonus = score, per feature."""

    summary: str
    mean: float
    bonus: float
    features: list[FeatureOut]

    @classmethod
    def of(cls, why: Explanation) -> ExplanationOut:
        """From the service's explanation."""
        return cls(
            summary=why.summary,
            mean=why.mean,
            bonus=why.bonus,
            features=[
                FeatureOut(name=f.name, value=f.value, contribution=f.contribution) for f in why.features
            ],
        )


class TaskOut(BaseModel):
    """The source task behind a tip."""

    id: int
    source: str
    external_id: str
    url: str | None = None


class PolicyOut(BaseModel):
    """The policy that picked the tip."""

    name: str
    version: int


class AdviceOut(BaseModel):
    """The library piece behind an advice tip."""

    key: str
    rationale: str = Field(description="The evidence behind the piece, when there is some.")


class RecommendationOut(BaseModel):
    """One tip — a task (``todo``) or a piece of advice — or ``kind: "empty"`` (tip_id null)."""

    tip_id: str | None
    kind: Literal["todo", "advice", "empty"]
    text: str
    task: TaskOut | None
    advice: AdviceOut | None = None
    policy: PolicyOut | None
    score: float | None
    fallback: bool
    explanation: ExplanationOut
    served_at: datetime | None
    propensity: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="The probability the serving policies had of choosing this tip (exact; for off-policy "
        "evaluation): the kind draw (task or advice) times the pick within the kind. Null when nothing is open.",
    )

    @classmethod
    def of(cls, rec: Recommendation) -> RecommendationOut:
        """From the service's recommendation."""
        if rec.empty:
            return cls(
                tip_id=None,
                kind="empty",
                text="",
                task=None,
                policy=None,
                score=None,
                fallback=False,
                explanation=ExplanationOut.of(rec.explanation),
                served_at=None,
            )
        if rec.kind == "advice":
            return cls(
                tip_id=rec.tip_id,
                kind="advice",
                text=rec.text,
                task=None,
                advice=AdviceOut(key=rec.advice_key, rationale=rec.rationale),
                propensity=rec.propensity,
                policy=PolicyOut(name=rec.policy, version=rec.policy_version),
                score=rec.score,
                fallback=False,
                explanation=ExplanationOut.of(rec.explanation),
                served_at=rec.served_at,
            )
        assert rec.task_id is not None
        return cls(
            tip_id=rec.tip_id,
            kind="todo",
            text=rec.text,
            task=TaskOut(id=rec.task_id, source=rec.source, external_id=rec.external_id, url=rec.url),
            policy=PolicyOut(name=rec.policy, version=rec.policy_version),
            score=rec.score,
            fallback=rec.fallback,
            explanation=ExplanationOut.of(rec.explanation),
            served_at=rec.served_at,
            propensity=rec.propensity,
        )


class FeedbackOut(BaseModel):
    """What became of a reaction. 201 when recorded now, 200 when the key was already recorded."""

    feedback_id: int
    tip_id: str
    reaction: Reaction
    reward: float
    first: bool = Field(description="The first reaction to this tip: the one the learner learns from.")
    learned: bool = Field(description="The learner has absorbed it (false for later reactions).")
    duplicate: bool = Field(description="This idempotency key was recorded before; nothing changed.")
    created_at: datetime

    @classmethod
    def of(cls, result: FeedbackResult) -> FeedbackOut:
        """The answer for a recorded (or already recorded) reaction."""
        return cls(
            feedback_id=result.feedback_id,
            tip_id=result.tip_id,
            reaction=result.reaction,  # type: ignore[arg-type]
            reward=result.reward,
            first=result.first,
            learned=result.learned,
            duplicate=result.duplicate,
            created_at=result.created_at,
        )


class TokenCreate(Request):
    """Create an API token."""

    name: str = Field(min_length=1, max_length=100)
    days: int = Field(default=90, ge=1, le=365, description="Days until the token expires.")


class TokenRotate(Request):
    """Rotate an API token: the successor's lifetime."""

    days: int = Field(default=90, ge=1, le=365, description="Days until the new token expires.")


class TokenOut(BaseModel):
    """An API token (without its secret)."""

    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None = None


class TokenCreated(TokenOut):
    """A new token: ``token`` is shown this once."""

    token: str


class TokenList(BaseModel):
    """The caller's live tokens."""

    tokens: list[TokenOut]


class ErrorBody(BaseModel):
    """A stable code, a readable message, and per-field details for validation errors."""

    code: str
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorOut(BaseModel):
    """Every error response."""

    error: ErrorBody


class PushKeys(BaseModel):
    """The browser's keys of a push subscription (base64url)."""

    model_config = ConfigDict(extra="forbid")

    p256dh: str = Field(min_length=80, max_length=100)
    auth: str = Field(min_length=16, max_length=32)


class PushSubscriptionIn(BaseModel):
    """``PushSubscription.toJSON()`` as the browser returns it."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(min_length=8, max_length=2048)
    keys: PushKeys
    expirationTime: int | None = Field(default=None, ge=0, le=MAX_ID)


class PushUnsubscribe(BaseModel):
    """Which subscription to forget."""

    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(min_length=8, max_length=2048)


class PushReaction(BaseModel):
    """Done or Snooze pressed on a notification: the pushed tip's reference and an idempotency key."""

    model_config = ConfigDict(extra="forbid")

    ref: str = Field(min_length=48, max_length=48, description="the `ref` of the push payload")
    reaction: Literal["done", "snooze"]
    idempotency_key: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class PushReacted(BaseModel):
    """The reaction is recorded on the pushed tip (channel push)."""

    tip_id: str
    reaction: str
    duplicate: bool


class PushSubscribed(BaseModel):
    """The subscription is stored."""

    subscribed: bool
    devices: int
