"""The compact binary model format: exact round trip, and every malformed byte string refused."""

from __future__ import annotations

import json
import random
import struct

import numpy as np
import pytest

from oo.recommender import StoreError, build_policy, dumps, dumps_binary, loads


def learned(version: int = 3):
    policy = build_policy("linucb", version, seed=1)
    rng = random.Random(0)
    for _ in range(20):
        policy.learn({f: rng.random() for f in policy.features}, reward=rng.choice([1.0, -0.5]))
    return policy


def test_binary_round_trips_bit_for_bit_and_is_smaller():
    policy = learned()
    data = dumps_binary(policy)
    clone = loads(data)
    xs = [{f: random.random() for f in policy.features} for _ in range(8)]
    assert clone.score(xs) == policy.score(xs) and clone.key == policy.key
    assert dumps_binary(clone) == data
    assert len(data) < len(dumps(policy)) / 2
    assert loads(dumps(policy)).score(xs) == policy.score(xs)  # the JSON form still loads


def _header(data: bytes) -> tuple[int, dict]:
    (size,) = struct.unpack_from(">I", data, 4)
    return size, json.loads(data[8 : 8 + size])


def _with_header(data: bytes, doc: dict) -> bytes:
    size, _ = _header(data)
    header = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return data[:4] + struct.pack(">I", len(header)) + header + data[8 + size :]


def test_malformed_binary_is_refused():
    data = dumps_binary(learned())
    size, doc = _header(data)
    nan = bytearray(data)
    nan[8 + size : 8 + size + 8] = np.array([np.nan], dtype="<f8").tobytes()
    wrong_shape = json.loads(json.dumps(doc))
    wrong_shape["state"]["eta"] = {"$array": [5]}
    huge = json.loads(json.dumps(doc))
    huge["state"]["eta"] = {"$array": [10**6]}
    cases = [
        data[:6],  # truncated before the header length
        data[:4] + struct.pack(">I", len(data)) + data[8:],  # header longer than the data
        data[:-8],  # an array runs past the end
        data + b"\0" * 8,  # trailing bytes
        bytes(nan),  # a non-finite number
        _with_header(data, wrong_shape),  # shapes no longer add up
        _with_header(data, huge),  # absurd shape
        data[:8] + b"[" + data[9:],  # a broken header
    ]
    for bad in cases:
        with pytest.raises(StoreError):
            loads(bad)


@pytest.mark.parametrize("version", [1, 3, 4, 5])
def test_binary_writes_the_arrays_without_a_list_round_trip_and_the_same_bytes(version, monkeypatch):
    policy = learned(version)
    direct = dumps_binary(policy)
    calls: list[bool] = []
    real = type(policy).get_state

    def via_lists(self, arrays=False):  # what the format was defined by: the JSON-able lists
        calls.append(arrays)
        return real(self)

    monkeypatch.setattr(type(policy), "get_state", via_lists)
    assert dumps_binary(policy) == direct  # byte for byte (Fortran-ordered covariance included)
    assert calls == [True]  # the store asks for arrays
    assert isinstance(real(policy, arrays=True)["covariance"], np.ndarray)


def test_the_binary_header_is_the_sorted_compact_json_of_the_whole_document():
    """The header spelled out piecewise (params' text kept per version) is byte for byte the one-shot dump."""
    import json
    import struct

    from oo.recommender import POLICY_SPECS, build_policy, dumps_binary
    from oo.recommender.kind_mix import KindMixer, arm_features, context
    from oo.recommender.store import BINARY_VERSION, FORMAT, MAGIC

    policies = [build_policy(s.name, s.version, s.params, seed=1) for s in POLICY_SPECS]
    policies += [build_policy("linucb", 3, {"alpha": 0.7}, seed=2), KindMixer(seed=3).model]
    for step in range(3):
        for p in policies:
            data = dumps_binary(p)
            (size,) = struct.Struct(">I").unpack(data[4:8])
            header = json.loads(data[8 : 8 + size])
            doc = {
                "format": FORMAT,
                "format_version": BINARY_VERSION,
                "policy": {"name": p.name, "version": p.version, "params": p.params},
                "state": header["state"],
            }
            assert data[:4] == MAGIC
            assert data[8 : 8 + size] == json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
            if p.name == "linucb" and p is not policies[-1]:
                p.learn({f: float(step + 1) for f in p.features[:4]}, 1.0)
        ctx = context(hour=9 + step, weekend=False, open_tasks=4, advice_recent=bool(step))
        policies[-1].learn(arm_features("advice", ctx), 1.0)
