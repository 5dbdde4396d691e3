"""Request and response models of the learner ops API (R6, admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from oo.http.api_v1.models import KEY, MAX_ID, POLICY_KEY, TIP_ID, ExplanationOut, Reaction, Request
from oo.services.learning.stats import PolicyStats, RewardSummary


class ScoreRequest(Request):
    """Rank a user's open tasks with a policy (the active one by default); serves nothing."""

    user_id: int = Field(gt=0, le=MAX_ID)
    policy: str | None = Field(default=None, pattern=POLICY_KEY)
    limit: int = Field(default=20, ge=1, le=100)


class ScoredTask(BaseModel):
    """One candidate and its score."""

    task_id: int
    text: str
    score: float
    explanation: ExplanationOut


class ScoreOut(BaseModel):
    """Candidates best first."""

    policy: str
    status: str
    candidates: int
    items: list[ScoredTask]


class RewardRequest(Request):
    """Teach a reward for one of a user's tips (recorded like a reaction; first reward wins)."""

    user_id: int = Field(gt=0, le=MAX_ID)
    tip_id: str = Field(pattern=TIP_ID)
    reaction: Reaction
    idempotency_key: str = Field(pattern=KEY)


class ResetRequest(Request):
    """Reset a user's bandit: every policy, or one."""

    user_id: int = Field(gt=0, le=MAX_ID)
    policy: str | None = Field(default=None, pattern=POLICY_KEY)


class ResetOut(BaseModel):
    """How many stored models were deleted."""

    user_id: int
    deleted: int


class UserQuery(BaseModel):
    """Query string of the read routes (values arrive as text)."""

    model_config = ConfigDict(extra="forbid")

    user_id: int | None = Field(default=None, gt=0, le=MAX_ID)
    policy: str | None = Field(default=None, pattern=POLICY_KEY)
    limit: int = Field(default=50, ge=1, le=500)


class RewardOut(BaseModel):
    """Mean reward with a 95 % half-interval."""

    n: int
    mean: float | None
    ci95: float | None

    @classmethod
    def of(cls, r: RewardSummary) -> RewardOut:
        """From the service's summary."""
        return cls(n=r.n, mean=r.mean, ci95=r.ci95)


class PolicyStatsOut(BaseModel):
    """One policy: served tips and their reward; for shadows, agreement and replayed reward."""

    key: str
    name: str
    version: int
    status: str
    alpha: float | None
    served: int
    fallbacks: int
    reward: RewardOut
    shadow_scored: int
    shadow_agreement: float | None
    shadow_reward: RewardOut
    models: int
    updates: int

    @classmethod
    def of(cls, s: PolicyStats) -> PolicyStatsOut:
        """From the service's stats."""
        return cls(
            key=s.key,
            name=s.name,
            version=s.version,
            status=s.status,
            alpha=s.alpha,
            served=s.served,
            fallbacks=s.fallbacks,
            reward=RewardOut.of(s.reward),
            shadow_scored=s.shadow_scored,
            shadow_agreement=s.shadow_agreement,
            shadow_reward=RewardOut.of(s.shadow_reward),
            models=s.models,
            updates=s.updates,
        )


class ModelOut(BaseModel):
    """One stored model of a user."""

    policy: str
    updates: int
    updated_at: datetime
    bytes: int


class StatsOut(BaseModel):
    """Per-policy stats (all users, or one) and, for one user, their stored models."""

    user_id: int | None
    policies: list[PolicyStatsOut]
    models: list[ModelOut]


class FeatureRow(BaseModel):
    """One scoring call of one policy: what it saw for its pick."""

    request_id: str
    tip_id: str | None
    policy: str
    role: str
    task_id: int | None
    score: float
    candidates: int
    features: dict[str, Any]
    latency_ms: float
    created_at: datetime


class FeaturesOut(BaseModel):
    """The newest feature-log rows, newest first."""

    user_id: int
    rows: list[FeatureRow]


class OffPolicyQuery(BaseModel):
    """Query string of the off-policy route."""

    model_config = ConfigDict(extra="forbid")

    window: Literal["1d", "7d", "30d"] = "7d"


class IntervalOut(BaseModel):
    """An estimate with its 95 % interval (bootstrap over users); null where undefined (no weight)."""

    value: float | None
    low: float | None
    high: float | None


class ShadowEstimateOut(BaseModel):
    """Off-policy estimates of one shadow policy's mean reward per tip (null below the minimum data)."""

    policy: str
    tips: int = Field(description="Logged tips this shadow was scored on.")
    users: int
    agreement: float = Field(description="Share of those tips it gave a non-zero probability.")
    ips: IntervalOut | None = None
    snips: IntervalOut | None = None
    dr: IntervalOut | None = None
    note: str | None = None


class OffPolicyOut(BaseModel):
    """IPS / SNIPS / DR per shadow policy beside the observed mean of the tips as served."""

    window: str
    tips: int = Field(description="Rewarded tips with a logged propensity in the window.")
    users: int
    served_by: list[str]
    active: IntervalOut | None = Field(description="Observed mean reward of the tips as served.")
    shadows: list[ShadowEstimateOut]
