"""Seeded replay on the simulated population: learners must clearly beat Random."""

import numpy as np

from oo.recommender import build_policy
from oo.recommender.simulation import replay

POLICIES = {
    "random@1": lambda s: build_policy("random", 1, seed=s),
    "linucb@1": lambda s: build_policy("linucb", 1, seed=s),
    "linucb@3": lambda s: build_policy("linucb", 3, seed=s),
}


def test_seeded_replay_linucb_beats_random_by_a_clear_margin():
    result = replay(POLICIES, n_users=8, n_decisions=150, seed=7)
    random = result.normalized("random@1", 150)
    assert abs(random) < 0.1
    assert result.normalized("linucb@1", 150) > random + 0.3
    assert result.normalized("linucb@3", 150) > random + 0.5
    assert result.normalized("linucb@3", 25) > result.normalized("linucb@1", 25)  # the cold start helps


def test_replay_is_deterministic_for_a_seed():
    a = replay(POLICIES, n_users=2, n_decisions=30, seed=3)
    b = replay(POLICIES, n_users=2, n_decisions=30, seed=3)
    for key in POLICIES:
        np.testing.assert_array_equal(a.rewards[key], b.rewards[key])
