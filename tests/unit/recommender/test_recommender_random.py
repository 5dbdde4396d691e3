"""RandomPolicy and the shared Policy/FeatureMatrix behaviour."""

import numpy as np
import pytest

from oo.recommender import FeatureMatrix, RandomPolicy


def test_random_policy_is_uniform_and_seeded():
    candidates = [{"a": float(i)} for i in range(4)]
    picks = [RandomPolicy(seed=s).pick(candidates).index for s in range(400)]
    assert picks == [RandomPolicy(seed=s).pick(candidates).index for s in range(400)]
    assert np.bincount(picks, minlength=4).min() > 70  # ~100 each


def test_random_policy_learn_returns_none_and_checks_the_reward():
    policy = RandomPolicy(seed=0)
    assert policy.learn({"a": 1.0}, 1.0) is None
    with pytest.raises(ValueError, match="finite"):
        policy.learn({"a": 1.0}, float("nan"))


def test_feature_matrix_from_dicts_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown features"):
        FeatureMatrix.from_dicts([{"a": 1.0, "z": 1.0}], names=["a"])
    assert FeatureMatrix.from_dicts([{"b": 2.0}, {"a": 1.0}], names=["a", "b"]).values.tolist() == [
        [0.0, 2.0],
        [1.0, 0.0],
    ]


def test_feature_matrix_context_must_not_shadow_a_candidate_feature():
    with pytest.raises(ValueError, match="also candidate features"):
        FeatureMatrix.from_dicts([{"hour": 1.0}]).with_context({"hour": 9.0})
