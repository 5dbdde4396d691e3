"""Which kind of tip now, a task or a piece of advice: a per-user LinUCB with an exact probability.

Idea: two arms (``todo``, ``advice``) share one `LinUCBPolicy` whose features are the context
fully interacted with the kind (``advice:evening``, ``todo:bias``, ...). Since the two kinds'
features never co-occur, the posterior is block-diagonal: exactly a disjoint LinUCB per kind.
Each arm gets its upper confidence score u; the kind is then *drawn* with

    P(advice) = floor + (1 - 2·floor) · sigmoid((u_advice - u_todo) / temperature)

so every decision has an exact, logged propensity (for off-policy evaluation and shadow
comparison) and neither kind is ever ruled out (`FLOOR`). The cold-start prior favours tasks a
little (``todo:bias`` = 0.1: P(advice) is about 0.16 at first), so a new user with tasks mostly
sees tasks and some advice until their own reactions say otherwise. `ALPHA`, `TEMPERATURE` and the
prior were chosen on `bench/advice_mixing.py` with a tuning seed (1), not the reported one (7).

Examples:
    >>> import numpy as np
    >>> mixer = KindMixer()
    >>> ctx = context(hour=20, weekend=False, open_tasks=5, advice_recent=False)
    >>> round(mixer.probability(ctx), 3)
    0.157
    >>> for _ in range(30):
    ...     mixer.learn(arm_features("advice", ctx), 1.0)
    ...     mixer.learn(arm_features("todo", ctx), -0.5)
    >>> mixer.probability(ctx) > 0.9
    True
    >>> choice = mixer.choose(ctx, np.random.default_rng(0))
    >>> choice.kind, round(choice.propensity, 3) == round(mixer.probability(ctx), 3)
    ('advice', True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from oo.recommender.base import FeatureMatrix
from oo.recommender.linucb import LinUCBPolicy

__all__ = [
    "CONTEXT",
    "FEATURES",
    "FLOOR",
    "KINDS",
    "TEMPERATURE",
    "KindChoice",
    "KindMixer",
    "arm_features",
    "context",
    "time_of_day",
]

KINDS = ("todo", "advice")
TIMES = ("morning", "midday", "afternoon", "evening", "night")
CONTEXT = ("bias", *TIMES, "weekend", "open_tasks", "advice_recent")
FEATURES = tuple(f"{kind}:{name}" for kind in KINDS for name in CONTEXT)
ALPHA = 0.3
TEMPERATURE = 0.05
FLOOR = 0.05
PRIOR_MEAN = {"todo:bias": 0.1}
VERSION = 1


def time_of_day(hour: int) -> str:
    """The part of the day of a local hour (the same buckets as the advice tags).

    Examples:
        >>> [time_of_day(h) for h in (6, 12, 15, 19, 23, 3)]
        ['morning', 'midday', 'afternoon', 'evening', 'night', 'night']
    """
    if 5 <= hour < 11:
        return "morning"
    if 11 <= hour < 14:
        return "midday"
    if 14 <= hour < 18:
        return "afternoon"
    if 18 <= hour < 22:
        return "evening"
    return "night"


def context(*, hour: int, weekend: bool, open_tasks: int, advice_recent: bool) -> dict[str, float]:
    """The shared context of one decision (before interaction with the kind)."""
    part = time_of_day(hour)
    x = {"bias": 1.0, **{t: float(t == part) for t in TIMES}}
    x["weekend"] = float(weekend)
    x["open_tasks"] = min(1.0, math.log1p(max(0, open_tasks)) / math.log(51))  # 50+ open tasks = 1
    x["advice_recent"] = float(advice_recent)
    return x


def arm_features(kind: str, ctx: Mapping[str, float]) -> dict[str, float]:
    """The context interacted with one kind: the `x` the mixer learns from for that kind."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    return {
        f"{k}:{name}": (float(ctx.get(name, 0.0)) if k == kind else 0.0) for k in KINDS for name in CONTEXT
    }


@dataclass(frozen=True)
class KindChoice:
    """One drawn kind, its probability, P(advice), the arm scores and the features to learn from."""

    kind: str
    propensity: float
    p_advice: float
    scores: dict[str, float]
    x: dict[str, float]


class KindMixer:
    """The per-user kind learner (see the module docstring).

    Args:
        model: A restored model (`oo.recommender.store.loads`); a cold one when omitted.
        seed: Seed of a cold model's tie-breaking (unused by the kind draw, which takes an rng).
    """

    def __init__(self, model: LinUCBPolicy | None = None, seed: int | None = None) -> None:
        self.model = model or LinUCBPolicy(
            FEATURES, alpha=ALPHA, prior_mean=PRIOR_MEAN, version=VERSION, seed=seed
        )
        if self.model.features != FEATURES:
            raise ValueError("the stored kind model has other features than this build")

    def scores(self, ctx: Mapping[str, float]) -> dict[str, float]:
        """Upper confidence score of each kind."""
        row = [float(ctx.get(name, 0.0)) for name in CONTEXT]
        X = np.zeros((len(KINDS), len(FEATURES)))  # arm k's row: the context in block k (`arm_features`)
        for k in range(len(KINDS)):
            X[k, k * len(CONTEXT) : (k + 1) * len(CONTEXT)] = row
        return dict(zip(KINDS, self.model.score_array(FeatureMatrix(FEATURES, X)).tolist(), strict=True))

    def probability(self, ctx: Mapping[str, float], scores: Mapping[str, float] | None = None) -> float:
        """P(advice) in this context (exact; in [FLOOR, 1 - FLOOR])."""
        s = scores or self.scores(ctx)
        z = max(-60.0, min(60.0, (s["advice"] - s["todo"]) / TEMPERATURE))
        return FLOOR + (1 - 2 * FLOOR) / (1 + math.exp(-z))

    def choose(self, ctx: Mapping[str, float], rng: np.random.Generator) -> KindChoice:
        """Draw the kind; the propensity is the probability of the kind drawn."""
        s = self.scores(ctx)
        p = self.probability(ctx, s)
        kind = "advice" if rng.random() < p else "todo"
        return KindChoice(kind, p if kind == "advice" else 1 - p, p, s, arm_features(kind, ctx))

    def learn(self, x: Mapping[str, float], reward: float) -> None:
        """Learn the reward of the kind shown (``x`` from `arm_features`)."""
        self.model.learn(x, reward)
