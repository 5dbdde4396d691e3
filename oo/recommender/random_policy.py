"""Uniform random policy: the baseline every learner must beat, and the safe fallback."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from oo.recommender.base import Candidates, Choice, Policy, check_reward

__all__ = ["RandomPolicy"]


class RandomPolicy(Policy):
    """Score each candidate with an independent uniform draw, so `pick` is uniform.

    It ignores features (they are not even validated or converted, so it stays fast and
    cannot fail on a bad encoding) and learns nothing; the seed makes it replayable.

    Args:
        version: Registry version.
        encoder: Encoder key recorded for logging; Random itself ignores features.
        seed: Random seed.

    Examples:
        >>> policy = RandomPolicy(seed=42)
        >>> candidates = [{"priority": 1.0}, {"priority": 4.0}, {"priority": 2.0}]
        >>> policy.pick(candidates).index
        2
        >>> RandomPolicy(seed=42).pick(candidates).index  # same seed, same pick
        2
        >>> policy.learn({"priority": 4.0}, reward=1.0) is None
        True
    """

    name = "random"

    @property
    def params(self) -> dict[str, Any]:
        """JSON-able constructor arguments."""
        return {"encoder": self.encoder}

    def score_array(self, candidates: Candidates, context: Mapping[str, float] | None = None) -> np.ndarray:
        """One uniform draw in [0, 1) per candidate."""
        return self._rng.random(len(candidates))

    def probabilities(self, candidates: Candidates, context: Mapping[str, float] | None = None) -> np.ndarray:
        """Exactly uniform: 1 / n for each candidate.

        Raises:
            ValueError: If there are no candidates.
        """
        n = len(candidates)
        if n == 0:
            raise ValueError("cannot pick from zero candidates")
        return np.full(n, 1.0 / n)

    def choose_with_distribution(
        self, candidates: Candidates, context: Mapping[str, float] | None = None
    ) -> tuple[Choice, np.ndarray]:
        """Pick as `pick` does; the propensity is 1 / n, the distribution uniform."""
        index, score = self.pick(candidates, context)
        return Choice(index, score, 1.0 / len(candidates)), self.probabilities(candidates, context)

    def learn(self, x: Mapping[str, float], reward: float) -> None:
        """Learn nothing (the reward is still validated, for a uniform contract)."""
        check_reward(reward)
