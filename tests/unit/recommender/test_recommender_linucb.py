"""LinUCBPolicy: River equivalence, the learn/score contract, and input validation."""

import math

import numpy as np
import pytest
from river.linear_model import BayesianLinearRegression

from oo.recommender import FeatureMatrix, LinUCBPolicy
from oo.recommender.linucb import _REFRESH_EVERY

NAMES = [f"f{i}" for i in range(6)]
REWARD_VALUES = [1.0, 0.5, 0.0, -0.5, -1.0]


def _stream(n: int, seed: int, sparse: bool = True):
    """Random (x, reward) pairs; some features are absent, as in real encodings."""
    rng = np.random.default_rng(seed)
    for _ in range(n):
        values = rng.normal(0.0, 1.5, len(NAMES))
        keep = rng.random(len(NAMES)) > (0.3 if sparse else 0.0)
        yield (
            {f: float(v) for f, v, k in zip(NAMES, values, keep, strict=True) if k},
            float(rng.choice(REWARD_VALUES)),
        )


def _probes(seed: int) -> list[dict[str, float]]:
    return [x for x, _ in _stream(20, seed + 1000)]


def _assert_matches_river(ours: LinUCBPolicy, river: BayesianLinearRegression, probes) -> None:
    beta = ours.noise_precision
    for x in probes:
        mean, std = ours.mean_and_std(x)
        dist = river.predict_one(x, with_dist=True)
        assert mean == pytest.approx(river.predict_one(x), abs=1e-6, rel=1e-6)
        assert mean == pytest.approx(dist.mu, abs=1e-6, rel=1e-6)
        # River's sigma is predictive: it adds the noise variance 1/beta, LinUCB's std does not.
        assert std == pytest.approx(math.sqrt(dist.sigma**2 - 1.0 / beta), abs=1e-6, rel=1e-6)
    expected = [
        river.predict_one(x)
        + ours.alpha * math.sqrt(river.predict_one(x, with_dist=True).sigma ** 2 - 1 / beta)
        for x in probes
    ]
    assert ours.score(probes) == pytest.approx(expected, abs=1e-6, rel=1e-6)


@pytest.mark.parametrize(("alpha0", "beta"), [(1.0, 1.0), (2.0, 0.5), (0.3, 4.0)])
def test_linucb_matches_river_blr(alpha0, beta):
    ours = LinUCBPolicy(NAMES, alpha=0.7, prior_precision=alpha0, noise_precision=beta)
    river = BayesianLinearRegression(alpha=alpha0, beta=beta)
    _assert_matches_river(ours, river, _probes(0))  # the prior already agrees
    for step, (x, y) in enumerate(_stream(_REFRESH_EVERY + 100, seed=1), start=1):
        assert ours.learn(x, y) is None
        river.learn_one(x, y)
        if step in (1, 10, 200, _REFRESH_EVERY + 100):  # the last one is past a re-inversion
            _assert_matches_river(ours, river, _probes(step))


def test_linucb_matches_river_blr_with_smoothing():
    # River 0.26.1's smoothed path starts from precision I/alpha and adds a fresh prior for
    # features first seen late, so the comparison uses alpha=1 and features all seen at once.
    ours = LinUCBPolicy(NAMES, prior_precision=1.0, noise_precision=2.0, smoothing=0.95)
    river = BayesianLinearRegression(alpha=1.0, beta=2.0, smoothing=0.95)
    for x, y in _stream(150, seed=2, sparse=False):
        ours.learn(x, y)
        river.learn_one(x, y)
    _assert_matches_river(ours, river, _probes(3))


def test_linucb_learn_returns_none_and_score_does_not_learn():
    model = LinUCBPolicy(NAMES, seed=0)
    for x, y in _stream(30, seed=4):
        assert model.learn(x, y) is None
    probes = _probes(5)
    state = model.get_state()
    first = model.score(probes)
    for _ in range(3):
        model.pick(probes)
    assert model.score(probes) == first
    assert model.get_state() == state


def test_linucb_learning_a_reward_raises_that_candidate():
    model = LinUCBPolicy(["bias", "overdue"], alpha=0.0)
    before = model.score([{"bias": 1.0, "overdue": 1.0}, {"bias": 1.0}])
    for _ in range(20):
        model.learn({"bias": 1.0, "overdue": 1.0}, 1.0)
        model.learn({"bias": 1.0}, -1.0)
    after = model.score([{"bias": 1.0, "overdue": 1.0}, {"bias": 1.0}])
    assert before == [0.0, 0.0]
    assert after[0] > 0.5 > after[1]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_linucb_rejects_non_finite_inputs_and_stays_unchanged(bad):
    model = LinUCBPolicy(NAMES)
    model.learn({"f0": 1.0}, 1.0)
    state = model.get_state()
    with pytest.raises(ValueError, match="finite"):
        model.learn({"f0": bad}, 1.0)
    with pytest.raises(ValueError, match="finite"):
        model.learn({"f0": 1.0}, bad)
    with pytest.raises(ValueError, match="finite"):
        model.score([{"f0": 1.0}, {"f1": bad}])
    assert model.get_state() == state


def test_linucb_rejects_unknown_features_and_zero_fills_missing_ones():
    model = LinUCBPolicy(["a", "b"])
    with pytest.raises(ValueError, match="unknown feature"):
        model.learn({"c": 1.0}, 1.0)
    with pytest.raises(ValueError, match="unknown features"):
        model.score([{"a": 1.0, "c": 2.0}])
    assert model.score([{"a": 1.0}]) == model.score([{"a": 1.0, "b": 0.0}])


def test_linucb_scores_dicts_matrices_and_context_alike():
    model = LinUCBPolicy(["task", "hour"], seed=0)
    for x, y in [({"task": 1.0, "hour": 9.0}, 1.0), ({"task": 0.0, "hour": 20.0}, -1.0)]:
        model.learn(x, y)
    dicts = [{"task": 1.0, "hour": 9.0}, {"task": 0.0, "hour": 9.0}]
    matrix = FeatureMatrix(["hour", "task"], np.array([[9.0, 1.0], [9.0, 0.0]]))  # other column order
    with_context = model.score([{"task": 1.0}, {"task": 0.0}], context={"hour": 9.0})
    assert model.score(dicts) == model.score(matrix) == with_context


def test_linucb_prior_mean_sets_the_cold_start_ranking():
    model = LinUCBPolicy(["bias", "overdue", "prio_4"], alpha=0.0, prior_mean={"overdue": 0.3, "prio_4": 0.2})
    scores = model.score([{"bias": 1.0}, {"bias": 1.0, "prio_4": 1.0}, {"bias": 1.0, "overdue": 1.0}])
    assert scores == pytest.approx([0.0, 0.2, 0.3])
    with pytest.raises(ValueError, match="unknown feature"):
        LinUCBPolicy(["bias"], prior_mean={"nope": 1.0})


def test_linucb_pick_breaks_ties_with_its_seed():
    candidates = [{"a": 1.0}] * 8
    picks = [LinUCBPolicy(["a"], seed=s).pick(candidates).index for s in range(20)]
    assert len(set(picks)) > 1
    assert picks == [LinUCBPolicy(["a"], seed=s).pick(candidates).index for s in range(20)]


def test_linucb_pick_rejects_an_empty_batch():
    with pytest.raises(ValueError, match="zero candidates"):
        LinUCBPolicy(["a"]).pick([])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"alpha": -1.0},
        {"prior_precision": 0.0},
        {"noise_precision": math.nan},
        {"smoothing": 1.0},
        {"smoothing": 0.0},
    ],
)
def test_linucb_rejects_invalid_hyperparameters(kwargs):
    with pytest.raises(ValueError):
        LinUCBPolicy(["a"], **kwargs)


def test_linucb_scores_large_batches_in_blocks_like_small_ones():
    model = LinUCBPolicy(NAMES)
    for x, y in _stream(50, seed=6):
        model.learn(x, y)
    X = FeatureMatrix(NAMES, np.random.default_rng(7).normal(size=(2500, len(NAMES))))
    small = np.concatenate(
        [model.score_array(FeatureMatrix(NAMES, X.values[i : i + 100])) for i in range(0, 2500, 100)]
    )
    np.testing.assert_allclose(model.score_array(X), small, rtol=1e-12, atol=1e-12)


def test_a_model_that_never_learned_holds_no_square_matrices_and_scores_the_same():
    names = ["bias", "priority", "is_overdue"]
    prior = {"prior_precision": 4.0, "prior_precisions": {"is_overdue": 0.5}, "prior_mean": {"priority": 0.2}}
    fresh, whole = (LinUCBPolicy(names, alpha=0.8, seed=3, **prior) for _ in range(2))
    whole._precision, whole._cov  # noqa: B018  # made whole, as after a learn
    rows = [{"bias": 1.0, "priority": p, "is_overdue": float(p > 2)} for p in (0.0, 1.0, 3.0, 4.0)]
    np.testing.assert_allclose(fresh.score_array(rows), whole.score_array(rows), rtol=1e-12, atol=1e-15)
    assert fresh._P is None and fresh._S is None  # scoring kept the diagonals
    assert fresh.get_state()["precision"] == whole.get_state()["precision"]
    for model in (fresh, whole):
        model.learn(rows[2], reward=1.0)
    assert fresh._S is not None and fresh.get_state() == whole.get_state()
