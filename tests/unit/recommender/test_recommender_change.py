"""Forgetting on a detected change: the CUSUM detector and LinUCB's `change` option."""

from __future__ import annotations

import numpy as np
import pytest

from oo.recommender import LinUCBPolicy, dumps, dumps_binary, get_spec, loads
from oo.recommender.change import ChangeDetector

CHANGE = {"threshold": 4.0, "drift": 0.5, "warmup": 30, "keep": 0.2}  # sharper than linucb@7, for short tests


def _shown(policy: LinUCBPolicy, x: dict[str, float], reward: float) -> None:
    """As in production: the task is scored (picked), then its reaction is learned."""
    policy.score([x])
    policy.learn(x, reward)


def _stationary(policy: LinUCBPolicy, n: int, seed: int = 1) -> None:
    """Noisy rewards from one fixed taste, rounded to the product's five reactions."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        x = {"bias": 1.0, "a": float(rng.integers(2)), "b": float(rng.normal())}
        utility = 0.3 * x["a"] - 0.2 * x["b"] + rng.normal(0, 0.7)
        _shown(policy, x, float(np.clip(np.round(2 * utility) / 2, -1, 1)))


def test_the_detector_fires_on_a_shift_and_rarely_on_noise():
    rng = np.random.default_rng(0)
    det = ChangeDetector(threshold=4.0, drift=0.5, warmup=30)
    false = sum(det.update(float(rng.normal(0, 0.7))) for _ in range(2000))
    assert false <= 10  # under one alarm per 200 reactions of pure noise
    det = ChangeDetector(threshold=4.0, drift=0.5, warmup=30)
    for _ in range(200):
        det.update(float(rng.normal(0, 0.7)))
    alarms_before = det.alarms
    delay = next(t for t in range(1, 200) if det.update(float(rng.normal(-0.7, 0.7))))
    assert delay <= 25 and det.alarms == alarms_before + 1


def test_no_alarm_during_warmup_even_on_a_large_misfit():
    det = ChangeDetector(threshold=2.0, drift=0.0, warmup=10)
    assert not any(det.update(-3.0) for _ in range(10))
    assert det.update(-3.0)


def test_a_long_memory_with_change_detection_relearns_a_reversed_taste_quickly():
    """Feature a was great for 300 reactions, then bad: the detector forgets, no-forgetting does not."""

    def flip_after(policy: LinUCBPolicy) -> int:
        rng = np.random.default_rng(0)
        for _ in range(300):
            _shown(policy, {"bias": 1.0, "a": 1.0}, float(np.clip(0.8 + rng.normal(0, 0.5), -1, 1)))
        for t in range(1, 400):
            _shown(policy, {"bias": 1.0, "a": 1.0}, float(np.clip(-0.8 + rng.normal(0, 0.5), -1, 1)))
            if policy.mean_and_std({"bias": 1.0, "a": 1.0})[0] < 0:
                return t
        return 400

    assert flip_after(LinUCBPolicy(["bias", "a"], change=CHANGE)) <= 40
    assert flip_after(LinUCBPolicy(["bias", "a"], discount=0.998, change=CHANGE)) <= 40
    assert flip_after(LinUCBPolicy(["bias", "a"], discount=0.998)) > 150  # the long memory alone is slow
    shipped = get_spec("linucb", 7).params  # linucb@7's own memory and detector
    with_change = LinUCBPolicy(["bias", "a"], discount=shipped["discount"], change=shipped["change"])
    assert (
        flip_after(with_change) <= 40 < flip_after(LinUCBPolicy(["bias", "a"], discount=shipped["discount"]))
    )


def test_on_stable_tastes_the_evidence_is_kept():
    """Few false alarms: the posterior stays nearly as sure as one that never forgets."""
    kept = LinUCBPolicy(["bias", "a", "b"], prior_precision=10.0, change=CHANGE)
    never = LinUCBPolicy(["bias", "a", "b"], prior_precision=10.0)
    constant = LinUCBPolicy(["bias", "a", "b"], prior_precision=10.0, discount=0.99)
    for policy in (kept, never, constant):
        _stationary(policy, 1000)
    assert kept._detector is not None and kept._detector.alarms <= 8
    x = {"bias": 1.0, "a": 1.0}
    std = {name: p.mean_and_std(x)[1] for name, p in (("kept", kept), ("never", never), ("gamma", constant))}
    assert std["kept"] < std["gamma"] and std["kept"] < 2.5 * std["never"]
    shipped = get_spec("linucb", 7).params
    policy = LinUCBPolicy(["bias", "a", "b"], prior_precision=10.0, discount=0.995, change=shipped["change"])
    _stationary(policy, 1000)
    assert policy._detector is not None and policy._detector.alarms <= 2


def test_the_detector_state_survives_storage_and_is_required():
    policy = LinUCBPolicy(["bias", "a", "b"], change=CHANGE, discount=0.998, seed=4)
    _stationary(policy, 120)
    for data in (dumps(policy), dumps_binary(policy)):
        again = loads(data)
        assert isinstance(again, LinUCBPolicy) and again.params == policy.params
        assert again._detector is not None and policy._detector is not None
        assert again._detector.get_state() == policy._detector.get_state()
    state = policy.get_state()
    del state["change"]
    with pytest.raises(ValueError, match="change"):
        LinUCBPolicy(["bias", "a", "b"], change=CHANGE, discount=0.998).set_state(state)


def test_change_params_are_validated():
    with pytest.raises(ValueError, match="keep"):
        LinUCBPolicy(["a"], change={**CHANGE, "keep": 1.0})
    with pytest.raises(ValueError, match="smoothing"):
        LinUCBPolicy(["a"], smoothing=0.9, change=CHANGE)
    with pytest.raises(ValueError):
        ChangeDetector(threshold=0.0, drift=0.5)
