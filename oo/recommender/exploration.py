"""Stochastic selection with exact, clipped propensities: a softmax mixed with uniform.

A policy with `temperature` tau and `epsilon` picks candidate i with probability

    p_i = (1 - epsilon) * exp(s_i / tau) / sum_j exp(s_j / tau) + epsilon / n

over its (optimistic) scores s. The probability is exact, not estimated, so it can be logged
as the propensity for off-policy evaluation, and every candidate keeps at least epsilon / n:
no action is ever impossible, which inverse-propensity weights need (Personalized HeartSteps
clips its probabilities for the same reason). `tau` sets how far below the best score a
candidate still gets picked: with tau = 0.05, a candidate 0.1 reward below the best is picked
e^-2 ~ 14% as often.

Examples:
    >>> p = softmax_mix(np.array([1.0, 0.9, 0.0]), temperature=0.05, epsilon=0.3)
    >>> [round(v, 4) for v in p.tolist()]
    [0.7166, 0.1834, 0.1]
    >>> rng = np.random.default_rng(0)
    >>> sample(p, rng) in (0, 1, 2)
    True
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["check_exploration", "sample", "softmax_mix"]


def check_exploration(temperature: float | None, epsilon: float | None) -> tuple[float | None, float]:
    """Validate `temperature` (None: greedy) and `epsilon` (None or 0: no uniform part).

    Raises:
        ValueError: Temperature not positive finite, or epsilon outside [0, 1).
    """
    eps = 0.0 if epsilon is None else float(epsilon)
    if not (math.isfinite(eps) and 0.0 <= eps < 1.0):
        raise ValueError(f"epsilon must be in [0, 1), got {epsilon!r}")
    if temperature is None:
        if eps:
            raise ValueError("epsilon needs a temperature")
        return None, 0.0
    tau = float(temperature)
    if not (math.isfinite(tau) and tau > 0):
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
    return tau, eps


def softmax_mix(scores: np.ndarray, *, temperature: float, epsilon: float) -> np.ndarray:
    """The exact pick distribution over `scores` (a new array that sums to 1).

    Raises:
        ValueError: For zero candidates or non-finite scores.
    """
    n = scores.size
    if n == 0:
        raise ValueError("cannot pick from zero candidates")
    top = scores.max()
    if not math.isfinite(top):
        raise ValueError("scores contain NaN or inf")
    p = scores - top
    p *= 1.0 / temperature
    np.exp(p, out=p)
    p *= (1.0 - epsilon) / p.sum()
    p += epsilon / n
    return p


def sample(probs: np.ndarray, rng: np.random.Generator) -> int:
    """Draw one index from `probs` by inverse CDF (one uniform draw)."""
    cdf = np.cumsum(probs)
    i = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    return min(i, probs.size - 1)
