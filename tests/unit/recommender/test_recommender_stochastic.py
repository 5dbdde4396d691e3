"""linucb@4's stochastic pick (exact propensities, clipped), the discounted posterior, stable params."""

from __future__ import annotations

import json

import numpy as np
import pytest

from oo.recommender import FeatureMatrix, LinUCBPolicy, build_policy, dumps, get_spec, loads
from oo.recommender.exploration import softmax_mix
from oo.services.learning.policies import DEFAULT_ACTIVE


def _matrix(policy: LinUCBPolicy, n: int, seed: int = 0) -> FeatureMatrix:
    rng = np.random.default_rng(seed)
    return FeatureMatrix(policy.features, rng.normal(0, 1, (n, len(policy.features))))


def test_the_default_active_is_declared_once_and_is_stochastic():
    name, version = DEFAULT_ACTIVE.split("@")
    policy = build_policy(name, int(version), seed=0)
    assert isinstance(policy, LinUCBPolicy) and policy.temperature and policy.epsilon > 0


def test_pick_frequencies_match_the_logged_propensities():
    policy = build_policy("linucb", 4, seed=1)
    X = _matrix(policy, 6)
    probs = policy.probabilities(X)
    assert probs.sum() == pytest.approx(1.0) and (probs >= policy.epsilon / 6 - 1e-15).all()
    draws = [policy.choose(X) for _ in range(20_000)]
    counts = np.bincount([c.index for c in draws], minlength=6) / len(draws)
    assert np.abs(counts - probs).max() < 0.015
    for c in draws[:50]:
        assert c.probability == pytest.approx(probs[c.index], rel=1e-12)
    assert policy.pick(X).index in range(6)
    choice, dist = policy.choose_with_distribution(X)
    assert np.allclose(dist, probs) and choice.probability == pytest.approx(dist[choice.index])


def test_every_candidate_keeps_the_minimum_probability_even_far_below_the_best():
    p = softmax_mix(np.array([10.0, 0.0, -10.0]), temperature=0.02, epsilon=0.01)
    assert p[1] >= 0.01 / 3 and p[2] >= 0.01 / 3 and p.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        softmax_mix(np.array([np.nan, 1.0]), temperature=0.1, epsilon=0.1)
    with pytest.raises(ValueError, match="epsilon"):
        LinUCBPolicy(["a"], temperature=0.1, epsilon=1.0)
    with pytest.raises(ValueError, match="temperature"):
        LinUCBPolicy(["a"], temperature=0.0)


def test_deterministic_policies_report_propensity_one_or_the_tie_share():
    policy = build_policy("linucb", 3, seed=0)
    X = _matrix(policy, 5)
    choice = policy.choose(X)
    assert choice.probability == 1.0 and choice.index == policy.pick(X).index
    random = build_policy("random", 1, seed=0)
    assert random.choose(X).probability == pytest.approx(0.2)
    assert random.probabilities(X).tolist() == [0.2] * 5


def test_the_discounted_posterior_relearns_a_changed_taste_within_a_few_dozen_reactions():
    """Feature a was great for 300 reactions, then it is bad: gamma 0.99 flips the sign within 70."""
    rng = np.random.default_rng(0)

    def flip_after(policy: LinUCBPolicy) -> int:
        for _ in range(300):
            policy.learn({"bias": 1.0, "a": 1.0}, 1.0 + rng.normal(0, 0.3))
        for t in range(1, 400):
            policy.learn({"bias": 1.0, "a": 1.0}, -1.0 + rng.normal(0, 0.3))
            if policy.mean_and_std({"bias": 1.0, "a": 1.0})[0] < 0:
                return t
        return 400

    assert flip_after(LinUCBPolicy(["bias", "a"], discount=0.99)) <= 70
    assert flip_after(LinUCBPolicy(["bias", "a"])) > 250  # without forgetting it takes as long again


def test_the_prior_is_a_floor_so_unvisited_directions_stay_bounded():
    policy = LinUCBPolicy(["bias", "rare"], prior_precision=10.0, discount=0.9)
    for _ in range(2000):
        policy.learn({"bias": 1.0}, 0.5)
    _, std = policy.mean_and_std({"rare": 1.0})
    assert np.isfinite(std) and std <= 1 / np.sqrt(10.0) + 1e-9


def test_a_stored_stochastic_model_scores_and_samples_like_the_original():
    policy = build_policy("linucb", 4, seed=3)
    X = _matrix(policy, 8)
    for i in range(30):
        policy.learn(X.row(i % 8), float(i % 3) - 1.0)
    again = loads(dumps(policy))
    assert again.params == policy.params
    assert np.array_equal(again.score_array(X), policy.score_array(X))
    assert [again.choose(X) for _ in range(5)] == [policy.choose(X) for _ in range(5)]


def test_older_versions_keep_their_params_byte_for_byte():
    """New constructor arguments are omitted when unset, so linucb@1-3's stored params do not change."""
    params = build_policy("linucb", 3, seed=0).params
    assert set(params) == {
        "encoder",
        "features",
        "alpha",
        "prior_precision",
        "noise_precision",
        "smoothing",
        "prior_mean",
    }
    assert "discount" not in json.dumps(get_spec("linucb", 3).params)
