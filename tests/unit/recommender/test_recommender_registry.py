"""Registry: every shipped version builds, with JSON-able params."""

import json

import pytest

from oo.recommender import POLICY_SPECS, LinUCBPolicy, RandomPolicy, build_policy, get_spec


def test_registry_lists_the_shipped_versions():
    assert [s.key for s in POLICY_SPECS] == [
        "random@1",
        "linucb@1",
        "linucb@2",
        "linucb@3",
        "linucb@4",
        "linucb@5",
        "linucb@6",
        "linucb@7",
    ]
    assert get_spec("linucb", 1).params == {
        "encoder": "textbook@1",
        "alpha": 1.0,
        "prior_precision": 1.0,
        "noise_precision": 1.0,
    }


@pytest.mark.parametrize("spec", POLICY_SPECS, ids=[s.key for s in POLICY_SPECS])
def test_every_spec_builds_with_json_params(spec):
    policy = build_policy(spec.name, spec.version, seed=0)
    assert policy.key == spec.key
    assert json.loads(json.dumps(spec.params)) == spec.params
    assert json.loads(json.dumps(policy.params)) == policy.params


def test_build_policy_applies_overrides_without_touching_the_spec():
    policy = build_policy("linucb", 3, {"alpha": 2.0})
    assert isinstance(policy, LinUCBPolicy) and policy.alpha == 2.0
    assert get_spec("linucb", 3).params["alpha"] != 2.0
    assert isinstance(build_policy("random", 1), RandomPolicy)


def test_build_policy_rejects_unknown_versions_and_params():
    with pytest.raises(KeyError, match="unknown policy linucb@9"):
        build_policy("linucb", 9)
    with pytest.raises(ValueError, match="invalid params"):
        build_policy("random", 1, {"alpha": 1.0})
