"""When to push: a per-user Bayesian model of the value of sending now, sampled with clipped probabilities.

Modelled on Personalized HeartSteps (Liao et al., 2020): at each decision point the model
estimates the *advantage* of sending over not sending, ``x·θ``, with a Gaussian posterior on θ
(Bayesian linear regression, known noise). Thompson sampling sends when a posterior draw is
positive, so the probability of sending is exactly ``Φ(x·μ / sqrt(xᵀΣx))``; it is clipped to
[`P_MIN`, `P_MAX`] so that every context keeps some exploration of both actions, and the logged
probability is the one actually used — timing policies can be evaluated off-policy.

Not sending is the reference action with reward 0 (action-centring): only sent pushes teach the
model, with the reward of what happened to the pushed tip (`reward`), minus a burden that grows
with the pushes of the previous 24 h.

Pure (numpy only, no I/O); the state is a small JSON-able dict.

Examples:
    >>> model = TimingModel.new()
    >>> ctx = TimingContext(hour=10.0, weekday=2, calendar_known=True, minutes_to_busy=None,
    ...     minutes_since_push=None, minutes_since_visit=None, minutes_since_reaction=None,
    ...     pushes_today=0, daily_cap=3)
    >>> p = model.send_probability(ctx.features())
    >>> P_MIN <= p <= P_MAX and p > 0.5
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .base import REWARDS

NAME, VERSION = "timing", 1
KEY = f"{NAME}@{VERSION}"
P_MIN, P_MAX = 0.05, 0.9
FEATURES = (
    "bias",
    "hour_sin",
    "hour_cos",
    "hour_sin2",
    "hour_cos2",
    "weekend",
    "calendar_known",
    "busy_soon",
    "since_push",
    "since_visit",
    "since_reaction",
    "pushes_today",
)
DIM = len(FEATURES)
PRIOR_MEAN = np.array([0.3, 0, 0, 0, 0, 0, 0, -0.3, 0.1, 0, 0, -0.2])
PRIOR_PRECISION = 4.0  # λ: a prior worth a few pushes
NOISE = 0.5  # σ² of a reward around its mean
OPEN_REWARD = 0.25  # opened from the notification, no reaction before it expired
IGNORE_COST = -0.1  # never opened before it expired
BURDEN = 0.05  # per push already sent in the 24 h before this one


@dataclass(frozen=True)
class TimingContext:
    """What the model sees at a decision point (all in the user's local time)."""

    hour: float  # local hour with minutes, 0 ≤ hour < 24
    weekday: int  # Monday = 0
    calendar_known: bool
    minutes_to_busy: float | None  # to the next busy block; None when none (or unknown)
    minutes_since_push: float | None
    minutes_since_visit: float | None
    minutes_since_reaction: float | None
    pushes_today: int
    daily_cap: int

    def features(self) -> list[float]:
        """The feature vector, in `FEATURES` order, each roughly in [-1, 1]."""
        angle = 2 * math.pi * self.hour / 24

        def since(minutes: float | None, scale: float) -> float:
            return 1.0 if minutes is None else min(1.0, max(0.0, minutes) / scale)

        soon = 0.0 if self.minutes_to_busy is None else max(0.0, 1.0 - max(0.0, self.minutes_to_busy) / 120)
        return [
            1.0,
            math.sin(angle),
            math.cos(angle),
            math.sin(2 * angle),
            math.cos(2 * angle),
            1.0 if self.weekday >= 5 else 0.0,
            1.0 if self.calendar_known else 0.0,
            soon,
            since(self.minutes_since_push, 720),
            since(self.minutes_since_visit, 1440),
            since(self.minutes_since_reaction, 1440),
            min(1.0, self.pushes_today / max(1, self.daily_cap)),
        ]


def reward(*, reaction: str | None, opened: bool, recent_pushes: int) -> float:
    """The reward of one sent push once its outcome is known.

    Examples:
        >>> reward(reaction="done", opened=True, recent_pushes=0)
        1.0
        >>> reward(reaction=None, opened=True, recent_pushes=2), reward(reaction=None, opened=False, recent_pushes=0)
        (0.15, -0.1)
    """
    outcome = OPEN_REWARD if opened else IGNORE_COST
    base = REWARDS.get(reaction, 0.0) if reaction is not None else outcome
    return round(base - BURDEN * max(0, recent_pushes), 6)


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


@dataclass
class TimingModel:
    """Posterior precision ``A`` and vector ``b`` (θ ~ N(A⁻¹b, A⁻¹))."""

    a: np.ndarray
    b: np.ndarray
    updates: int = 0

    @classmethod
    def new(cls) -> TimingModel:
        """The prior: N(PRIOR_MEAN, I/λ)."""
        a = np.eye(DIM) * PRIOR_PRECISION
        return cls(a=a, b=a @ PRIOR_MEAN)

    def mean(self) -> np.ndarray:
        """The posterior mean of θ."""
        return np.linalg.solve(self.a, self.b)

    def send_probability(self, x: Sequence[float]) -> float:
        """P(a posterior draw prefers sending) in context ``x``, clipped to [P_MIN, P_MAX]."""
        v = np.asarray(x, dtype=float)
        mean = float(v @ self.mean())
        spread = math.sqrt(max(float(v @ np.linalg.solve(self.a, v)), 1e-12))
        return min(P_MAX, max(P_MIN, _phi(mean / spread)))

    def decide(self, x: Sequence[float], u: float) -> tuple[bool, float]:
        """Send when ``u`` (uniform in [0, 1)) falls below the clipped probability."""
        p = self.send_probability(x)
        return u < p, p

    def learn(self, x: Sequence[float], r: float) -> None:
        """Absorb the reward of one sent push."""
        v = np.asarray(x, dtype=float)
        self.a += np.outer(v, v) / NOISE
        self.b += v * (float(r) / NOISE)
        self.updates += 1

    def to_dict(self) -> dict[str, object]:
        """A JSON-able state (versioned)."""
        return {
            "key": KEY,
            "a": self.a.round(9).tolist(),
            "b": self.b.round(9).tolist(),
            "updates": self.updates,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> TimingModel:
        """Rebuild from `to_dict`; another version or a malformed state gives the prior.

        Examples:
            >>> m = TimingModel.new(); m.learn([1.0] * DIM, 1.0)
            >>> TimingModel.from_dict(m.to_dict()).updates
            1
            >>> TimingModel.from_dict({"key": "timing@0"}).updates
            0
        """
        try:
            if data.get("key") != KEY:
                raise ValueError("other version")
            a = np.asarray(data["a"], dtype=float)
            b = np.asarray(data["b"], dtype=float)
            if a.shape != (DIM, DIM) or b.shape != (DIM,) or not np.all(np.isfinite(a)):
                raise ValueError("bad shape")
            updates = data.get("updates", 0)
            return cls(a=a, b=b, updates=int(updates) if isinstance(updates, int | float) else 0)
        except (KeyError, TypeError, ValueError):
            return cls.new()
