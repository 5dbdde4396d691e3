"""Policy interface: score a batch of candidate feature dicts, learn from one reaction.

The shape follows River's `bandit/base.py`, with two differences that suit oO. The arms are
not fixed ids but whatever tasks are open right now, so a policy scores *candidate feature
dicts* `x`. And one model is shared by all candidates, so `learn(x, reward)` needs only the
features of the candidate that was shown.

Context design: the feature encoders in `oo.recommender.features` fold the context (time of
day, weekday, ...) into every candidate's `x`, because the useful context features are
interactions with task features. `context` in `score`/`pick` is therefore optional: a
mapping of *shared* features that is broadcast to every candidate (added as columns). The
`x` to learn from is then the full row, which `FeatureMatrix.row` returns.

Candidates arrive either as a list of dicts (convenient) or as a `FeatureMatrix` (a dense
array plus column names, what the batch encoders produce). Policies score the matrix with
numpy; a list of dicts is converted first, which costs far more than the scoring itself.

Non-finite values (NaN, inf) in features or rewards are rejected with `ValueError` rather
than sanitized: a NaN is an encoder bug, and a model poisoned by one silently scores NaN.
"""

from __future__ import annotations

import abc
import copy
import itertools
import math
import sys
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, ClassVar, NamedTuple, Self, TypeAlias

import numpy as np

__all__ = [
    "REWARDS",
    "Candidates",
    "Choice",
    "FeatureMatrix",
    "Pick",
    "Policy",
    "as_matrix",
    "check_reward",
    "feature_index",
    "greedy_probabilities",
]

#: Reward of each reaction (PRODUCT.md R3).
REWARDS: Mapping[str, float] = {
    "done": 1.0,
    "helpful": 0.5,
    "snooze": 0.0,
    "not_helpful": -0.5,
    "dismiss": -1.0,
}


class Pick(NamedTuple):
    """The chosen candidate: its position in the batch and its score."""

    index: int  # type: ignore[assignment]  # shadows tuple.index on purpose: `pick.index` is the position
    score: float


class Choice(NamedTuple):
    """A pick with its propensity: the exact probability the policy had of choosing it."""

    index: int  # type: ignore[assignment]  # shadows tuple.index, as Pick's does
    score: float
    probability: float


def greedy_probabilities(scores: np.ndarray) -> np.ndarray:
    """The pick distribution of argmax with uniform random tie-breaking (a deterministic policy).

    Examples:
        >>> greedy_probabilities(np.array([1.0, 3.0, 3.0])).tolist()
        [0.0, 0.5, 0.5]
    """
    if scores.size == 0:
        raise ValueError("cannot pick from zero candidates")
    best = scores == scores.max()
    n_best = int(best.sum())
    if n_best == 0:
        raise ValueError("scores contain NaN")
    return best / float(n_best)


class FeatureMatrix:
    """A batch of feature dicts as a dense float64 array with named columns.

    Args:
        names: Column (feature) names, unique.
        values: Array of shape `(n_candidates, len(names))`.

    Raises:
        ValueError: If the shapes disagree or the names repeat.

    Examples:
        >>> X = FeatureMatrix.from_dicts([{"a": 1.0, "b": 2.0}, {"b": 3.0}])
        >>> X.names, X.values.tolist()
        (('a', 'b'), [[1.0, 2.0], [0.0, 3.0]])
        >>> X.row(1)
        {'a': 0.0, 'b': 3.0}
        >>> X.with_context({"hour": 9.0}).row(0)
        {'a': 1.0, 'b': 2.0, 'hour': 9.0}
    """

    __slots__ = ("names", "values")

    def __init__(self, names: Sequence[str], values: np.ndarray) -> None:
        self.names = tuple(names)
        self.values = np.asarray(values, dtype=np.float64)
        if self.values.ndim != 2 or self.values.shape[1] != len(self.names):
            raise ValueError(f"values must have shape (n, {len(self.names)}), got {self.values.shape}")
        if len(set(self.names)) != len(self.names):
            raise ValueError("feature names must be unique")

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __repr__(self) -> str:
        return f"FeatureMatrix(n={len(self)}, names={list(self.names)})"

    @classmethod
    def from_dicts(
        cls, rows: Sequence[Mapping[str, float]], names: Sequence[str] | None = None
    ) -> FeatureMatrix:
        """Stack feature dicts; a feature missing from a dict counts as 0 (as in River).

        Args:
            rows: The feature dicts.
            names: Column order. When given, a key outside it raises `ValueError`;
                when omitted, the union of the keys in first-seen order.

        Returns:
            The matrix.
        """
        if names is None:
            names = list(dict.fromkeys(itertools.chain.from_iterable(rows)))
        cols = tuple(names)
        n, d = len(rows), len(cols)
        # Fast path: encoders emit every key in the same order, so the values can be
        # streamed straight into the array without per-key lookups.
        if all(tuple(x) == cols for x in rows):
            flat = itertools.chain.from_iterable(x.values() for x in rows)
            return cls(cols, np.fromiter(flat, dtype=np.float64, count=n * d).reshape(n, d))
        known = set(cols)
        for x in rows:
            unknown = x.keys() - known
            if unknown:
                raise ValueError(f"unknown features {sorted(unknown)}; expected a subset of {list(cols)}")
        return cls(
            cols,
            np.array([[float(x.get(k, 0.0)) for k in cols] for x in rows], dtype=np.float64).reshape(n, d),
        )

    def row(self, i: int) -> dict[str, float]:
        """Return candidate `i` as a feature dict (the `x` to learn from)."""
        return dict(zip(self.names, self.values[i].tolist(), strict=True))

    def with_context(self, context: Mapping[str, float]) -> FeatureMatrix:
        """Append shared context features as constant columns.

        Raises:
            ValueError: If a context feature is also a candidate feature.
        """
        clash = set(context) & set(self.names)
        if clash:
            raise ValueError(f"context features {sorted(clash)} are also candidate features")
        if not context:
            return self
        extra = np.broadcast_to(
            np.fromiter(context.values(), np.float64, len(context)), (len(self), len(context))
        )
        return FeatureMatrix(self.names + tuple(context), np.hstack([self.values, extra]))

    def select(self, names: Sequence[str]) -> np.ndarray:
        """Return the values in the column order `names`; absent columns are 0.

        Raises:
            ValueError: If this matrix has a column outside `names`.
        """
        cols = tuple(names)
        if cols == self.names:
            return self.values
        where = {name: i for i, name in enumerate(cols)}
        unknown = [name for name in self.names if name not in where]
        if unknown:
            raise ValueError(f"unknown features {unknown}; expected a subset of {list(cols)}")
        out = np.zeros((len(self), len(cols)), dtype=np.float64)
        out[:, [where[name] for name in self.names]] = self.values
        return out


Candidates: TypeAlias = Sequence[Mapping[str, float]] | FeatureMatrix


def as_matrix(
    candidates: Candidates, context: Mapping[str, float] | None = None, names: Sequence[str] | None = None
) -> FeatureMatrix:
    """Turn candidates (+ shared context) into a `FeatureMatrix` with columns `names`."""
    if isinstance(candidates, FeatureMatrix):
        X = candidates
    else:
        # Context keys are legitimate columns too, so they must not be flagged as unknown here.
        cols = None if names is None else [n for n in names if not context or n not in context]
        X = FeatureMatrix.from_dicts(candidates, cols)
    if context:
        X = X.with_context(context)
    if names is not None and X.names != tuple(names):
        X = FeatureMatrix(names, X.select(names))
    return X


def check_reward(reward: float) -> float:
    """Return `reward` as a float, or raise `ValueError` if it is not finite."""
    value = float(reward)
    if not math.isfinite(value):
        raise ValueError(f"reward must be finite, got {reward!r}")
    return value


def check_positive(value: float, field: str) -> float:
    """Return `value` as a float, or raise `ValueError` naming `field` unless it is positive and finite."""
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{field} must be a positive finite number, got {value!r}")
    return value


class Policy(abc.ABC):
    """A policy scores candidates, picks the best one and learns from the reaction.

    Subclasses implement `score_array` (pure: it never learns) and `learn` (mutates and
    returns `None`), like River's `predict_one`/`learn_one`. Randomness (Random's scores,
    tie-breaking) comes from a numpy `Generator` seeded with `seed`, so runs replay exactly.

    Args:
        version: Policy version in the registry (`linucb@3` has version 3).
        encoder: Key of the feature encoder that produces `x` (e.g. `"improved@1"`).
        seed: Seed for the policy's random generator.
    """

    name: ClassVar[str]

    def __init__(self, *, version: int = 1, encoder: str | None = None, seed: int | None = None) -> None:
        self.version = int(version)
        self.encoder = encoder
        self._rng = np.random.default_rng(seed)

    @property
    def key(self) -> str:
        """Registry key, `name@version`."""
        return f"{self.name}@{self.version}"

    @property
    @abc.abstractmethod
    def params(self) -> dict[str, Any]:
        """JSON-able keyword arguments that rebuild this policy (without its learned state)."""

    @abc.abstractmethod
    def score_array(self, candidates: Candidates, context: Mapping[str, float] | None = None) -> np.ndarray:
        """Score every candidate (higher is better) without learning."""

    @abc.abstractmethod
    def learn(self, x: Mapping[str, float], reward: float) -> None:
        """Update the policy with the reward obtained by showing the candidate `x`."""

    #: Attributes that `learn` and `set_state` never change: a `learning_copy` shares them.
    SHARED: ClassVar[frozenset[str]] = frozenset()

    def learning_copy(self) -> Self:
        """A copy to learn on, so that readers of this one never see a half-taught model.

        Arrays are copied (in their memory order) and containers or objects holding learning state
        (a change detector) deep-copied; `SHARED` attributes, immutable values and the random
        generator are shared, which makes it several times faster than a deep copy.
        """
        twin = copy.copy(self)
        for name, value in vars(self).items():
            if name in self.SHARED:
                continue
            if isinstance(value, np.ndarray):
                setattr(twin, name, value.copy(order="K"))  # keeps Fortran order for in-place updates
            elif isinstance(value, list | dict | set) or (
                hasattr(value, "__dict__") and not isinstance(value, np.random.Generator)
            ):
                setattr(twin, name, copy.deepcopy(value))
        return twin

    def score(self, candidates: Candidates, context: Mapping[str, float] | None = None) -> list[float]:
        """Score every candidate (higher is better) without learning.

        Args:
            candidates: Feature dicts, or a `FeatureMatrix`.
            context: Shared features broadcast to every candidate (see the module docstring).

        Returns:
            One score per candidate, in order.
        """
        return self.score_array(candidates, context).tolist()

    def pick(self, candidates: Candidates, context: Mapping[str, float] | None = None) -> Pick:
        """Pick the best-scoring candidate; ties are broken at random (seeded).

        Raises:
            ValueError: If there are no candidates.
        """
        scores = self.score_array(candidates, context)
        if scores.size == 0:
            raise ValueError("cannot pick from zero candidates")
        best = np.flatnonzero(scores == scores.max())
        if best.size == 0:  # only NaN compares unequal to the max; inputs are checked, so a bug
            raise ValueError("scores contain NaN")
        i = int(best[0]) if best.size == 1 else int(self._rng.choice(best))
        return Pick(i, float(scores[i]))

    def probabilities(self, candidates: Candidates, context: Mapping[str, float] | None = None) -> np.ndarray:
        """The exact probability of `pick` choosing each candidate (sums to 1).

        Deterministic policies put everything on the best score (split evenly between ties);
        stochastic ones override this and `pick` together.

        Raises:
            ValueError: If there are no candidates.
        """
        return greedy_probabilities(self.score_array(candidates, context))

    def choose(self, candidates: Candidates, context: Mapping[str, float] | None = None) -> Choice:
        """Pick as `pick` does and return the chosen candidate's propensity too.

        Raises:
            ValueError: If there are no candidates.
        """
        return self.choose_with_distribution(candidates, context)[0]

    def choose_with_distribution(
        self, candidates: Candidates, context: Mapping[str, float] | None = None
    ) -> tuple[Choice, np.ndarray]:
        """`choose` plus the whole pick distribution, from one scoring pass (what a shadow logs).

        Raises:
            ValueError: If there are no candidates.
        """
        scores = self.score_array(candidates, context)
        probs = greedy_probabilities(scores)
        best = np.flatnonzero(probs)
        i = int(best[0]) if best.size == 1 else int(self._rng.choice(best))
        return Choice(i, float(scores[i]), float(probs[i])), probs

    def get_state(self, arrays: bool = False) -> dict[str, Any]:
        """Return the learned state as JSON-able data (used by `oo.recommender.store`).

        With ``arrays``, numeric state may come as numpy arrays instead of lists (the binary store
        writes their bytes as they are, without a round trip through Python lists).
        """
        return {"rng": self._rng.bit_generator.state}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restore what `get_state` returned.

        Raises:
            ValueError: If the state is malformed.
        """
        rng_state = state.get("rng")
        if not isinstance(rng_state, dict) or rng_state.get("bit_generator") != "PCG64":
            raise ValueError("state.rng must be a PCG64 bit generator state")
        rng = np.random.default_rng()
        try:
            rng.bit_generator.state = rng_state
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(f"invalid state.rng: {exc}") from exc
        self._rng = rng


@lru_cache(maxsize=256)
def feature_index(features: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, int]]:
    """Feature names (interned) and their column index, shared read-only by every model of one set.

    Examples:
        >>> names, index = feature_index(("bias", "priority"))
        >>> index["priority"], feature_index(("bias", "priority"))[1] is index
        (1, True)
    """
    if not features or len(set(features)) != len(features):
        raise ValueError("features must be a non-empty sequence of unique names")
    names = tuple(sys.intern(f) for f in features)
    return names, {f: i for i, f in enumerate(names)}
