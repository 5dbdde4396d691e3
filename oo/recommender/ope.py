"""Off-policy evaluation: IPS, self-normalised IPS and doubly robust, with user-clustered bootstrap.

Pure numpy. Each logged tip t was served by the active (logging) policy with propensity
`pscore[t]` = pi_b(a_t | x_t) and got reward `reward[t]`; a shadow (target) policy e had
probability `target[t]` = pi_e(a_t | x_t) of choosing the same candidate. With the importance
weight w_t = target[t] / pscore[t]:

    IPS    V = mean(w · r)
    SNIPS  V = sum(w · r) / sum(w)
    DR     V = mean(q_e + w · (r - q_a))

where q_a = q_hat(x_t, a_t) is a direct-method reward model's prediction for the served tip and
q_e = sum_a pi_e(a | x_t) · q_hat(x_t, a) its expectation under the target policy. These are the
formulas of the Open Bandit Pipeline (`obp.ope.InverseProbabilityWeighting`,
`SelfNormalizedInverseProbabilityWeighting`, `DoublyRobust`, no clipping, one position); a unit
test checks them on a shared fixture. When only the target policy's own sampled pick is logged,
q_hat of that pick is an unbiased one-sample estimate of q_e (exact for a deterministic target).

Rewards cluster by user (the same person reacts to many tips), so intervals come from a
bootstrap that resamples *users* with replacement and recomputes each estimator on every
resample (percentile interval). `fit_reward_model` is the direct method: ridge regression of the
reward on the served tip's features, cross-fitted across two folds of users so no tip's q_hat
was fitted on its own reward.

Examples:
    >>> r = np.array([1.0, 0.0, 1.0, 0.0]); pb = np.array([0.5, 0.5, 0.25, 0.25])
    >>> pe = np.array([1.0, 0.0, 1.0, 0.0])
    >>> ips(r, pb, pe), snips(r, pb, pe)
    (1.5, 1.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ESTIMATORS",
    "Estimate",
    "check_inputs",
    "cluster_bootstrap",
    "dr",
    "evaluate",
    "fit_reward_model",
    "ips",
    "observed",
    "predict",
    "snips",
]

ESTIMATORS = ("ips", "snips", "dr")


def check_inputs(reward: np.ndarray, pscore: np.ndarray, target: np.ndarray) -> None:
    """Raise `ValueError` unless the arrays are 1-d, equally long, finite, with 0 < pscore <= 1.

    Examples:
        >>> check_inputs(np.array([1.0]), np.array([0.0]), np.array([1.0]))
        Traceback (most recent call last):
        ...
        ValueError: pscore must be in (0, 1]
    """
    arrays = {"reward": reward, "pscore": pscore, "target": target}
    n = reward.shape[0] if reward.ndim == 1 else -1
    for name, a in arrays.items():
        if a.ndim != 1 or a.shape[0] != n:
            raise ValueError(f"{name} must be a 1-d array of the same length as reward")
        if not np.isfinite(a).all():
            raise ValueError(f"{name} must be finite")
    if n and not ((pscore > 0).all() and (pscore <= 1).all()):
        raise ValueError("pscore must be in (0, 1]")
    if n and not ((target >= 0).all() and (target <= 1).all()):
        raise ValueError("target must be in [0, 1]")


def ips(reward: np.ndarray, pscore: np.ndarray, target: np.ndarray) -> float:
    """Inverse propensity scoring: mean of w · r."""
    return float(np.mean(reward * (target / pscore)))


def snips(reward: np.ndarray, pscore: np.ndarray, target: np.ndarray) -> float:
    """Self-normalised IPS: sum(w · r) / sum(w); NaN when every weight is 0."""
    w = target / pscore
    total = w.sum()
    return float((reward * w).sum() / total) if total > 0 else float("nan")


def dr(
    reward: np.ndarray, pscore: np.ndarray, target: np.ndarray, q_served: np.ndarray, q_target: np.ndarray
) -> float:
    """Doubly robust: mean of q_e + w · (r - q_a)."""
    return float(np.mean(q_target + (target / pscore) * (reward - q_served)))


def fit_reward_model(X: np.ndarray, reward: np.ndarray, users: np.ndarray, *, l2: float = 1.0) -> np.ndarray:
    """Cross-fitted ridge weights: row k of the result was fitted on the other fold of users.

    Args:
        X: Served tips' features, shape (n, d).
        reward: Their rewards, shape (n,).
        users: Their user ids, shape (n,): folds are by user (hash parity).
        l2: Ridge penalty.

    Returns:
        Weights of shape (2, d); predict tip t with `X[t] @ W[1 - fold[t]]`, see `predict`.
    """
    fold = _folds(users)
    W = np.zeros((2, X.shape[1]))
    for k in (0, 1):
        rows = fold == k
        if not rows.any():
            rows = np.ones_like(rows)
        A = X[rows].T @ X[rows] + l2 * np.eye(X.shape[1])
        W[k] = np.linalg.solve(A, X[rows].T @ reward[rows])
    return W


def predict(W: np.ndarray, X: np.ndarray, users: np.ndarray) -> np.ndarray:
    """q_hat of each row of `X` from the fold model its user was *not* fitted on."""
    fold = _folds(users)
    return np.where(fold == 0, X @ W[1], X @ W[0])


def _folds(users: np.ndarray) -> np.ndarray:
    return (np.asarray(users, dtype=np.int64) * 2654435761 % 2**32 >> 7) & 1


@dataclass(frozen=True)
class Estimate:
    """One estimator's value and its bootstrap interval."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float | None]:
        """JSON-able: non-finite numbers (an undefined SNIPS) become None."""
        return {
            k: (v if np.isfinite(v) else None)
            for k, v in (("value", self.value), ("low", self.low), ("high", self.high))
        }


def cluster_bootstrap(
    users: np.ndarray,
    columns: Mapping[str, np.ndarray],
    *,
    n_boot: int = 400,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """Percentile intervals of ratio statistics under resampling users with replacement.

    Every statistic here is a ratio of sums over tips (`num / den`), so per-user sums are enough:
    a resample of users is a vector of counts, and each statistic is (counts @ num_u) /
    (counts @ den_u). `columns` maps a name to a (2, n) array: its numerator and denominator terms.

    Returns:
        name -> (low, high).
    """
    ids, inverse = np.unique(users, return_inverse=True)
    u = ids.size
    sums = {
        k: np.stack(
            [np.bincount(inverse, weights=c[0], minlength=u), np.bincount(inverse, weights=c[1], minlength=u)]
        )
        for k, c in columns.items()
    }
    rng = np.random.default_rng(seed)
    draws = {k: [] for k in columns}  # type: dict[str, list[np.ndarray]]
    for start in range(0, n_boot, 100):
        b = min(100, n_boot - start)
        counts = rng.multinomial(u, np.full(u, 1.0 / u), size=b).astype(np.float64)
        for k, (num, den) in sums.items():
            with np.errstate(invalid="ignore", divide="ignore"):
                draws[k].append((counts @ num) / (counts @ den))
    out = {}
    for k, parts in draws.items():
        vals = np.concatenate(parts)
        vals = vals[np.isfinite(vals)]
        if vals.size == 0:
            out[k] = (float("nan"), float("nan"))
        else:
            out[k] = (float(np.quantile(vals, alpha / 2)), float(np.quantile(vals, 1 - alpha / 2)))
    return out


def evaluate(
    *,
    users: np.ndarray,
    reward: np.ndarray,
    pscore: np.ndarray,
    target: np.ndarray,
    q_served: np.ndarray,
    q_target: np.ndarray,
    n_boot: int = 400,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, Estimate]:
    """IPS, SNIPS and DR of one target policy with user-clustered bootstrap intervals.

    Raises:
        ValueError: On malformed inputs (see `check_inputs`) or no logged tips.
    """
    check_inputs(reward, pscore, target)
    if reward.size == 0:
        raise ValueError("no logged tips to evaluate")
    w = target / pscore
    ones = np.ones_like(reward)
    columns = {
        "ips": np.stack([w * reward, ones]),
        "snips": np.stack([w * reward, w]),
        "dr": np.stack([q_target + w * (reward - q_served), ones]),
    }
    values = {
        "ips": ips(reward, pscore, target),
        "snips": snips(reward, pscore, target),
        "dr": dr(reward, pscore, target, q_served, q_target),
    }
    bounds = cluster_bootstrap(users, columns, n_boot=n_boot, alpha=alpha, seed=seed)
    return {k: Estimate(values[k], *bounds[k]) for k in ESTIMATORS}


def observed(
    users: np.ndarray, reward: np.ndarray, *, n_boot: int = 400, alpha: float = 0.05, seed: int = 0
) -> Estimate:
    """The logging policy's observed mean reward with a user-clustered bootstrap interval."""
    if reward.size == 0:
        raise ValueError("no logged tips")
    low, high = cluster_bootstrap(
        users, {"m": np.stack([reward, np.ones_like(reward)])}, n_boot=n_boot, alpha=alpha, seed=seed
    )["m"]
    return Estimate(float(reward.mean()), low, high)
