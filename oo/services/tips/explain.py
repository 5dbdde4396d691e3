"""What a recommendation says about itself: the result type and its explanation (R1, R5).

`Recommendation` is the one result of `oo.services.tips.recommend.recommend`, shared by /tip, push
and the JSON API. Its `Explanation` lists every feature of the served task with its value and
its contribution to the score (weight x value of the policy's posterior mean), the exploration
bonus, and a short human summary built from the strongest positive contributions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Words for the features a person would recognise; interactions and clock terms stay unnamed.
# Priorities are named as Todoist shows them: p1 is the highest (the API's priority 4).
PHRASES = {
    "overdue": "overdue",
    "is_overdue": "overdue",
    "due_soon": "due soon",
    "prio_4": "priority 1",
    "prio_3": "priority 2",
    "prio_2": "priority 3",
    "priority": "priority",
    "age_log": "waiting a while",
    "task_age_days": "waiting a while",
    "has_due": "has a deadline",
    "weekend": "weekend",
}


@dataclass(frozen=True)
class FeatureContribution:
    """One feature of the served task: its value and what it added to the score."""

    name: str
    value: float
    contribution: float


@dataclass(frozen=True)
class Explanation:
    """Why this tip: a summary, the posterior mean, the exploration bonus and every feature."""

    summary: str
    mean: float = 0.0
    bonus: float = 0.0
    features: tuple[FeatureContribution, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form, as logged in ``tip_view.explanation``."""
        return {
            "summary": self.summary,
            "mean": self.mean,
            "bonus": self.bonus,
            "features": [[f.name, f.value, f.contribution] for f in self.features],
        }


@dataclass(frozen=True)
class Recommendation:
    """One tip (or none): what to show, which policy chose it, with what score, and why."""

    tip_id: str | None
    text: str
    kind: str  # "todo" | "empty"
    task_id: int | None = None
    source: str = ""
    external_id: str = ""
    url: str | None = None
    policy: str = ""
    policy_version: int = 0
    score: float = 0.0
    fallback: bool = False
    explanation: Explanation = field(default_factory=lambda: Explanation(""))
    served_at: datetime | None = None
    latency_ms: float = 0.0
    propensity: float | None = None  # probability the serving policy had of choosing this tip

    @property
    def empty(self) -> bool:
        """True when there is nothing to do (no open task)."""
        return self.tip_id is None

    @classmethod
    def nothing(cls) -> Recommendation:
        """The empty recommendation: the page shows "Nothing to do — enjoy."."""
        return cls(tip_id=None, text="", kind="empty", explanation=Explanation("No open tasks."))


def summarize(contributions: Mapping[str, float], x: Mapping[str, float]) -> str:
    """A short reason from the strongest positive, nameable contributions.

    Examples:
        >>> summarize({"overdue": 0.4, "prio_4": 0.3, "bias": 0.2}, {"overdue": 1.0, "prio_4": 1.0, "bias": 1.0})
        'Chosen because it is overdue and priority 1.'
        >>> summarize({"overdue": -0.1}, {"overdue": 1.0})
        'Exploring: still learning what suits you.'
    """
    words = [
        PHRASES[name]
        for name, c in sorted(contributions.items(), key=lambda kv: -kv[1])
        if c > 1e-9 and x.get(name) and name in PHRASES
    ][:2]
    if not words:
        return "Exploring: still learning what suits you."
    return "Chosen because it is " + " and ".join(dict.fromkeys(words)) + "."


def from_policy(detail: Mapping[str, Any], x: Mapping[str, float]) -> Explanation:
    """Build the explanation from `LinUCBPolicy.explain` output and the served features."""
    contributions: Mapping[str, float] = detail.get("contributions", {})
    ordered = sorted(x, key=lambda name: -abs(contributions.get(name, 0.0)))
    return Explanation(
        summary=summarize(contributions, x),
        mean=float(detail.get("mean", 0.0)),
        bonus=float(detail.get("bonus", 0.0)),
        features=tuple(
            FeatureContribution(n, float(x[n]), float(contributions.get(n, 0.0))) for n in ordered
        ),
    )


def random_pick(x: Mapping[str, float]) -> Explanation:
    """The explanation of a uniform random pick (the baseline policy, or the fallback)."""
    return Explanation(
        summary="Picked at random.",
        features=tuple(FeatureContribution(n, float(v), 0.0) for n, v in x.items()),
    )
