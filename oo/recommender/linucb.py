"""LinUCB on River's Bayesian linear regression posterior, vectorized with numpy.

Idea: one linear model of the reward shared by all candidates, r = w·x + noise. Its
posterior is River's `linear_model.BayesianLinearRegression` (Bishop §3.3): with prior
precision `alpha_0` and noise precision `beta`,

    P = alpha_0·I + beta·Σ x xᵀ      (precision)       eta = P_0·m_0 + beta·Σ r·x
    S = P⁻¹                          (covariance)      m   = S·eta   (posterior mean)

A candidate scores `m·x + alpha·sqrt(xᵀ S x)`: the posterior mean plus `alpha` times the
standard deviation *of that mean*. River's `predict_one(x, with_dist=True)` returns the
predictive sigma, sqrt(1/beta + xᵀ S x), which adds the noise term; LinUCB's bonus must
not, since noise never shrinks with data and would make the bonus a constant offset.

Why not River's model itself: `predict_one` walks one dict at a time (~20 ms for 1,000
candidates). This class keeps River's semantics (same parameters, River's `sherman_morrison`
rank-1 update of S, the mean recomputed from eta) over numpy arrays on a *fixed* feature index,
so a batch is scored with two matrix products; a unit test checks it against River to 1e-6.
P and S are kept as the prior's diagonals until the first learn (2·d floats, not 2·d²).

Differences from River, on purpose:
- the feature index is fixed at construction (the encoder's names): an unknown feature is
  an error, not a new weight; a missing feature counts as 0, as in River;
- `prior_mean` (default 0, River's only option) gives an informative cold start;
- `smoothing` (River's forgetting s: P <- s·P + (1 - s)·beta·x xᵀ, eta likewise), by an exact
  rank-1 update, not River's re-inversion; the prior decays too, so unvisited directions regain
  uncertainty. The prior is `alpha_0·I` in both paths (River 0.26.1 starts at I/alpha_0: equal
  only for alpha_0 = 1, and a feature first seen late gets an undecayed prior).
- `prior_precisions` sets the prior precision per feature (the rest keep `prior_precision`),
  so main effects can move fast while interaction weights stay near the prior;
- `discount` gamma is a discounted posterior that keeps its prior as a floor:

      P <- gamma·P + (1 - gamma)·P_0 + beta·x xᵀ      eta <- gamma·eta + (1 - gamma)·P_0·m_0 + beta·r·x

  Old evidence fades with weight gamma^age (an effective memory of 1 / (1 - gamma) reactions),
  while the prior never decays below P_0, so unvisited directions keep a bounded uncertainty.
  The full-rank prior term rules out Sherman-Morrison, so `learn` only accumulates P and eta
  (O(d²)) and the next score re-inverts P once (d = 23: ~10 µs);
- `temperature` / `epsilon` make `pick` stochastic: a softmax over the optimistic scores mixed
  with uniform, with exact propensities (`oo.recommender.exploration`);
- `change` forgets on a detected change (`oo.recommender.change`): each reaction's residual
  feeds a CUSUM, and an alarm keeps only a share `keep` of the evidence at once,
  P <- keep·P + (1 - keep)·P_0 (eta likewise), so a long memory can still relearn a changed taste.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from river.utils.math import sherman_morrison

from oo.recommender import base
from oo.recommender.base import Candidates, Choice, Pick, Policy, as_matrix, feature_index
from oo.recommender.change import detector_for
from oo.recommender.exploration import check_exploration, sample, softmax_mix

__all__ = ["LinUCBPolicy"]

# Sherman-Morrison accumulates rounding with every update; re-inverting the exactly
# accumulated precision now and then keeps S within a few ulps of P⁻¹ (~20 µs, rarely).
_REFRESH_EVERY = 1024
# Products over more rows than this make OpenBLAS spawn threads, which on a busy 2-core
# host made 10,000 candidates 30x slower (15 ms instead of 0.5 ms); blocks stay serial.
_CHUNK = 1024


class LinUCBPolicy(Policy):
    """LinUCB over candidate feature dicts: posterior mean + alpha * std of the mean.

    Args:
        features: The fixed feature index (names of the columns of `x`).
        alpha: Exploration weight on the std of the posterior mean (LinUCB's alpha).
        prior_precision: River's `alpha`: the prior on the weights is N(m_0, I / alpha_0).
        noise_precision: River's `beta`: the inverse variance of the reward noise.
        smoothing: River's `smoothing` in (0, 1), to forget the past; `None` to keep it all.
        prior_mean: Prior mean m_0 of some weights (others 0): the cold-start preference.
        prior_precisions: Prior precision of some weights (others `prior_precision`).
        discount: Discount gamma in (0, 1) of a posterior with its prior as floor; None keeps all.
        temperature: Softmax temperature of a stochastic pick; None picks the best score.
        epsilon: Uniform share mixed into the stochastic pick (each candidate >= epsilon / n).
        change: Forget on a detected change: `threshold`, `drift`, `warmup` and `keep` in (0, 1).
        version: Registry version.
        encoder: Key of the encoder that produces `x`.
        seed: Seed for tie-breaking.

    Examples:
        >>> model = LinUCBPolicy(["priority", "is_overdue"], alpha=1.0)
        >>> model.learn({"priority": 4.0, "is_overdue": 1.0}, reward=1.0)
        >>> s = model.score([{"priority": 4.0, "is_overdue": 1.0}, {"priority": 1.0, "is_overdue": 0.0}])
        >>> s[0] > s[1]
        True
        >>> index, score = model.pick([{"priority": 1.0}, {"priority": 4.0, "is_overdue": 1.0}])
        >>> index, round(score, 3)
        (1, 1.916)
        >>> model.learn({"priority": float("nan")}, reward=1.0)
        Traceback (most recent call last):
        ...
        ValueError: features must be finite, got nan for 'priority'
    """

    name = "linucb"
    # Set in __init__, never changed by `learn` or `set_state`: a `learning_copy` shares them.
    SHARED = frozenset({"features", "_index", "prior_mean", "prior_precisions", "change", "_p0", "_p0_m0"})

    def __init__(
        self,
        features: Sequence[str],
        *,
        alpha: float = 1.0,
        prior_precision: float = 1.0,
        noise_precision: float = 1.0,
        smoothing: float | None = None,
        prior_mean: Mapping[str, float] | None = None,
        prior_precisions: Mapping[str, float] | None = None,
        discount: float | None = None,
        temperature: float | None = None,
        epsilon: float | None = None,
        change: Mapping[str, float] | None = None,
        version: int = 1,
        encoder: str | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(version=version, encoder=encoder, seed=seed)
        self.features, self._index = feature_index(tuple(features))
        self.alpha = float(alpha)
        if not (math.isfinite(self.alpha) and self.alpha >= 0):
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
        self.prior_precision = base.check_positive(prior_precision, "prior_precision")
        self.noise_precision = base.check_positive(noise_precision, "noise_precision")
        if smoothing is not None and not 0.0 < float(smoothing) < 1.0:
            raise ValueError(f"smoothing must be in (0, 1) or None, got {smoothing!r}")
        self.smoothing = None if smoothing is None else float(smoothing)
        if discount is not None and not 0.0 < float(discount) < 1.0:
            raise ValueError(f"discount must be in (0, 1) or None, got {discount!r}")
        if discount is not None and smoothing is not None:
            raise ValueError("use either smoothing or discount, not both")
        self.discount = None if discount is None else float(discount)
        self.temperature, self.epsilon = check_exploration(temperature, epsilon)
        self.prior_mean = dict(prior_mean or {})
        self.prior_precisions = {
            f: base.check_positive(v, f"prior_precisions[{f!r}]") for f, v in (prior_precisions or {}).items()
        }
        m0 = self._vector(self.prior_mean)
        p0 = np.full(len(self.features), self.prior_precision)
        for f, v in self.prior_precisions.items():
            p0[self._require(f)] = v
        self._p0, self._p0_m0 = p0, p0 * m0
        self._P: np.ndarray | None = None  # P and S: None while still diag(p0) and diag(1 / p0)
        self._S: np.ndarray | None = None
        self._eta = p0 * m0
        self._mean = m0
        self._stale = False  # discount: P and eta changed since S and m were computed
        self.n_updates = 0
        self.change, self._detector = detector_for(change, smoothing)

    @property
    def _precision(self) -> np.ndarray:
        self._P = np.diag(self._p0) if self._P is None else self._P
        return self._P

    @_precision.setter
    def _precision(self, value: np.ndarray) -> None:
        self._P = value

    @property
    def _cov(self) -> np.ndarray:  # Fortran order: River's `sherman_morrison` updates it in place
        self._S = np.asfortranarray(np.diag(1.0 / self._p0)) if self._S is None else self._S
        return self._S

    @_cov.setter
    def _cov(self, value: np.ndarray) -> None:
        self._S = value

    @property
    def params(self) -> dict[str, Any]:
        """JSON-able constructor arguments."""
        return {
            "encoder": self.encoder,
            "features": list(self.features),
            "alpha": self.alpha,
            "prior_precision": self.prior_precision,
            "noise_precision": self.noise_precision,
            "smoothing": self.smoothing,
            "prior_mean": dict(self.prior_mean),
            **{k: v for k, v in self._extra_params().items() if v not in (None, {}, 0.0)},
        }

    def _extra_params(self) -> dict[str, Any]:
        """Params added after version 3; omitted when unset so older params stay byte-identical."""
        return {
            "prior_precisions": dict(self.prior_precisions),
            "discount": self.discount,
            "temperature": self.temperature,
            "epsilon": self.epsilon,
            "change": dict(self.change),
        }

    def _require(self, f: str) -> int:
        i = self._index.get(f)
        if i is None:
            raise ValueError(f"unknown feature {f!r}; this policy knows {list(self.features)}")
        return i

    def _vector(self, x: Mapping[str, float]) -> np.ndarray:
        v = np.zeros(len(self.features))
        for f, value in x.items():
            i = self._index.get(f)
            if i is None:
                raise ValueError(f"unknown feature {f!r}; this policy knows {list(self.features)}")
            v[i] = value
            if not math.isfinite(v[i]):
                raise ValueError(f"features must be finite, got {value!r} for {f!r}")
        return v

    def score_array(self, candidates: Candidates, context: Mapping[str, float] | None = None) -> np.ndarray:
        """Posterior mean + alpha * std of the mean for every candidate (no learning).

        Raises:
            ValueError: On an unknown feature or a non-finite value.
        """
        X = as_matrix(candidates, context, self.features).values
        if not np.isfinite(X).all():
            raise ValueError("candidate features must be finite (no NaN or inf)")
        self._refresh()
        # S, in C order for row-major X; while it is still diag(1 / p0), only that diagonal.
        cov = 1.0 / self._p0 if self._S is None else np.ascontiguousarray(self._S)
        var, mean = np.empty(len(X)), np.empty(len(X))
        for start in range(0, len(X), _CHUNK):
            block = X[start : start + _CHUNK]
            if cov.ndim == 1:  # xᵀ S x is then a weighted sum of squares
                np.dot(block * block, cov, out=var[start : start + _CHUNK])
            else:
                var[start : start + _CHUNK] = np.einsum("ij,ij->i", block @ cov, block)
            np.dot(block, self._mean, out=mean[start : start + _CHUNK])
        np.maximum(var, 0.0, out=var)  # rounding can make a tiny variance negative
        np.sqrt(var, out=var)
        var *= self.alpha
        var += mean
        return var

    def probabilities(self, candidates: Candidates, context: Mapping[str, float] | None = None) -> np.ndarray:
        """The exact pick distribution: softmax-mix when stochastic, else the greedy one."""
        if self.temperature is None:
            return super().probabilities(candidates, context)
        return softmax_mix(
            self.score_array(candidates, context), temperature=self.temperature, epsilon=self.epsilon
        )

    def choose_with_distribution(
        self, candidates: Candidates, context: Mapping[str, float] | None = None
    ) -> tuple[Choice, np.ndarray]:
        """Pick (stochastically when a temperature is set); the propensity and the distribution too.

        Raises:
            ValueError: If there are no candidates.
        """
        if self.temperature is None:
            return super().choose_with_distribution(candidates, context)
        scores = self.score_array(candidates, context)
        probs = softmax_mix(scores, temperature=self.temperature, epsilon=self.epsilon)
        i = sample(probs, self._rng)
        return Choice(i, float(scores[i]), float(probs[i])), probs

    def pick(self, candidates: Candidates, context: Mapping[str, float] | None = None) -> Pick:
        """Pick the best score, or sample the softmax-mix when a temperature is set."""
        if self.temperature is None:
            return super().pick(candidates, context)
        index, score, _ = self.choose(candidates, context)
        return Pick(index, score)

    def _refresh(self) -> None:
        """Recompute S and m after discounted updates (a no-op otherwise)."""
        if self._stale:
            self._cov = np.asfortranarray(np.linalg.inv(self._precision))
            self._mean = self._cov @ self._eta
            self._stale = False

    def mean_and_std(self, x: Mapping[str, float]) -> tuple[float, float]:
        """Posterior mean of the reward of `x` and the std of that mean (no noise term)."""
        self._refresh()
        v = self._vector(x)
        return float(v @ self._mean), math.sqrt(max(0.0, float(v @ self._cov @ v)))

    def explain(self, x: Mapping[str, float]) -> dict[str, Any]:
        """Why `x` scores what it does: mean, exploration bonus and per-feature contributions.

        Examples:
            >>> model = LinUCBPolicy(["bias", "overdue"], alpha=0.0, prior_mean={"overdue": 0.5})
            >>> model.explain({"bias": 1.0, "overdue": 1.0})["contributions"]
            {'overdue': 0.5, 'bias': 0.0}
        """
        mean, std = self.mean_and_std(x)  # refreshes S and m
        v = self._vector(x)
        contrib = {f: float(self._mean[self._index[f]] * v[self._index[f]]) for f in x}
        ordered = dict(sorted(contrib.items(), key=lambda kv: -abs(kv[1])))
        return {
            "mean": mean,
            "std": std,
            "bonus": self.alpha * std,
            "score": mean + self.alpha * std,
            "contributions": ordered,
        }

    def learn(self, x: Mapping[str, float], reward: float) -> None:
        """Bayesian update with one (x, reward) pair, O(d²).

        Raises:
            ValueError: On an unknown feature or a non-finite value; the model is unchanged.
        """
        y = base.check_reward(reward)
        v = self._vector(x)
        beta = self.noise_precision
        # The residual uses the mean as of the last score (no re-inversion here).
        if self._detector is not None and self._detector.update(y - float(v @ self._mean)):
            self._forget(self.change["keep"])
        if self.discount is not None:
            g = self.discount
            self._precision *= g
            self._precision += np.outer(beta * v, v)
            self._precision.flat[:: len(v) + 1] += (1.0 - g) * self._p0
            self._eta *= g
            self._eta += (beta * y) * v + (1.0 - g) * self._p0_m0
            self._stale = True
            self.n_updates += 1
            return
        if self.smoothing is None:
            self._precision += np.outer(beta * v, v)
            sherman_morrison(A=self._cov, u=beta * v, v=v)  # River's in-place rank-1 update
            self._eta += (beta * y) * v
        else:
            # inv(s·P + c·v vᵀ) = inv(P + (c/s)·v vᵀ) / s, so Sherman-Morrison still applies.
            s = self.smoothing
            c = (1.0 - s) * beta
            self._precision *= s
            self._precision += c * np.outer(v, v)
            sherman_morrison(A=self._cov, u=(c / s) * v, v=v)
            self._cov /= s
            self._eta *= s
            self._eta += (c * y) * v
        self.n_updates += 1
        if self.smoothing is None and self.n_updates % _REFRESH_EVERY == 0:
            self._cov = np.asfortranarray(np.linalg.inv(self._precision))
        self._mean = self._cov @ self._eta

    def _forget(self, keep: float) -> None:
        """Keep a share `keep` of the evidence (the prior stays the floor); S and m recomputed."""
        self._precision *= keep
        self._precision.flat[:: len(self._p0) + 1] += (1.0 - keep) * self._p0
        self._eta *= keep
        self._eta += (1.0 - keep) * self._p0_m0
        self._cov = np.asfortranarray(np.linalg.inv(self._precision))
        self._mean = self._cov @ self._eta
        self._stale = False

    def get_state(self, arrays: bool = False) -> dict[str, Any]:
        """Learned state as JSON-able lists (``arrays``: the numpy arrays themselves, for the binary store)."""
        self._refresh()
        out = (lambda a: a) if arrays else (lambda a: a.tolist())
        return {
            **super().get_state(),
            **({"change": self._detector.get_state()} if self._detector is not None else {}),
            "n_updates": self.n_updates,
            "precision": out(self._precision),
            "covariance": out(self._cov),
            "eta": out(self._eta),
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore `get_state()` output.

        Raises:
            ValueError: On missing keys, wrong shapes or non-finite numbers.
        """
        d = len(self.features)
        arrays = {}
        for key, shape in (("precision", (d, d)), ("covariance", (d, d)), ("eta", (d,))):
            try:
                arr = np.asarray(state[key], dtype=np.float64)
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"state.{key} is missing or not numeric") from exc
            if arr.shape != shape or not np.isfinite(arr).all():
                raise ValueError(f"state.{key} must be a finite array of shape {shape}")
            arrays[key] = arr
        n = state.get("n_updates")
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError("state.n_updates must be a non-negative integer")
        if self._detector is not None:
            self._detector.set_state(state.get("change") or {})
        super().set_state(state)
        self._precision, self._eta = arrays["precision"], arrays["eta"]
        self._cov = np.asfortranarray(arrays["covariance"])
        self._mean = self._cov @ self._eta
        self._stale = False
        self.n_updates = n
