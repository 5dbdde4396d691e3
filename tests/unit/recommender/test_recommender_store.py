"""Store: versioned JSON round-trips exactly and rejects anything else clearly."""

import json

import numpy as np
import pytest

from oo.recommender import POLICY_SPECS, StoreError, build_policy, dumps, get_encoder, loads
from oo.recommender.simulation import make_population, make_rounds

ROUNDS = make_rounds(make_population(1, seed=5)[0], 60, seed=5)


def _trained(name: str, version: int):
    policy = build_policy(name, version, seed=11)
    encoder = get_encoder(policy.encoder)
    rng = np.random.default_rng(0)
    for r in ROUNDS[:40]:
        X = encoder.encode_batch(r.tasks, r.context)
        policy.learn(X.row(policy.pick(X).index), float(rng.choice([1.0, 0.5, 0.0, -0.5, -1.0])))
    return policy


@pytest.mark.parametrize("spec", POLICY_SPECS, ids=[s.key for s in POLICY_SPECS])
def test_store_round_trip_reproduces_scores_exactly(spec):
    policy = _trained(spec.name, spec.version)
    clone = loads(dumps(policy))
    assert (clone.key, clone.params) == (policy.key, policy.params)
    encoder = get_encoder(policy.encoder)
    for r in ROUNDS[40:]:  # scores, picks and further learning stay identical
        X = encoder.encode_batch(r.tasks, r.context)
        assert clone.score(X) == policy.score(X)
        a, b = clone.pick(X), policy.pick(X)
        assert a == b
        clone.learn(X.row(a.index), 0.5)
        policy.learn(X.row(b.index), 0.5)
    assert dumps(clone) == dumps(policy)


def test_store_format_is_plain_versioned_json():
    doc = json.loads(dumps(build_policy("linucb", 3)))
    assert doc["format"] == "oo.recommender.policy" and doc["format_version"] == 1
    assert doc["policy"]["name"] == "linucb" and doc["policy"]["version"] == 3
    assert doc["policy"]["params"]["encoder"] == "improved@1"


def _doc() -> dict:
    return json.loads(dumps(_trained("linucb", 1)))


def _mutated(path: list, value) -> bytes:
    doc = _doc()
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_mutated(["format_version"], 2), "unsupported format_version 2"),
        (_mutated(["format_version"], "1"), "unsupported format_version"),
        (_mutated(["format"], "pickle"), "not a stored policy"),
        (b"\x80\x04\x95 not json", "not valid JSON"),
        (b"[1, 2, 3]", "not a stored policy"),
        (_mutated(["policy", "name"], "thompson"), "unknown policy name"),
        (_mutated(["policy", "version"], None), "'version' is missing"),
        (_mutated(["policy", "params", "alpha"], -1), "alpha must be"),
        (_mutated(["policy", "params", "surprise"], 1), "invalid params"),
        (_mutated(["policy", "params", "features"], ["a"]), "do not match encoder"),
        (_mutated(["state", "eta"], [1.0, 2.0]), "state.eta must be"),
        (_mutated(["state", "covariance"], "lots"), "state.covariance"),
        (_mutated(["state", "n_updates"], -3), "n_updates"),
        (_mutated(["state", "rng"], {"bit_generator": "MT19937"}), "PCG64"),
        (dumps(build_policy("linucb", 1)).replace(b'"eta":[0.0', b'"eta":[NaN'), "non-finite"),
    ],
)
def test_store_rejects_malformed_or_unknown_data(data, message):
    with pytest.raises(StoreError, match=message):
        loads(data)


def test_store_error_is_a_value_error_and_size_is_capped():
    assert issubclass(StoreError, ValueError)
    with pytest.raises(StoreError, match="bytes"):
        loads(b" " * 5_000_000)
