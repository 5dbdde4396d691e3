"""Off-policy evaluation speed: IPS, SNIPS and DR of 3 shadow policies over 100,000 logged tips.

Times what the admin route and the Experiments page compute once the rows are read: for each
shadow, the cross-fitted ridge reward model (23 features), its predictions for the served tips
and the shadow's picks, the three estimators and 400 user-bootstrap resamples. Target: <= 2 s
for all three shadows.

    .venv/bin/python bench/offpolicy.py                 # 100,000 tips, 2,000 users, 3 shadows
    .venv/bin/python bench/offpolicy.py --tips 300000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oo.recommender import ope


def logged(n: int, users: int, d: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A synthetic log: features, user ids, propensities and rewards in {-1, ..., 1}."""
    X = rng.normal(size=(n, d))
    theta = rng.normal(0, 0.3, d)
    reward = np.clip(np.round((X @ theta + rng.normal(0, 0.5, n)) * 2) / 2, -1, 1)
    return {
        "X": X,
        "users": rng.integers(0, users, n),
        "reward": reward,
        "pscore": rng.uniform(0.05, 1.0, n),
    }


def run_once(log: dict[str, np.ndarray], shadows: int, rng: np.random.Generator, n_boot: int) -> float:
    """Seconds to estimate every shadow."""
    n, d = log["X"].shape
    targets = [
        (rng.uniform(0, 1, n) * (rng.random(n) < 0.5), rng.normal(size=(n, d))) for _ in range(shadows)
    ]
    start = time.perf_counter()
    for target, picks in targets:
        W = ope.fit_reward_model(log["X"], log["reward"], log["users"])
        q_served = ope.predict(W, log["X"], log["users"])
        q_target = ope.predict(W, picks, log["users"])
        ope.evaluate(
            users=log["users"],
            reward=log["reward"],
            pscore=log["pscore"],
            target=target,
            q_served=q_served,
            q_target=q_target,
            n_boot=n_boot,
        )
    return time.perf_counter() - start


def main() -> None:
    """Print median and max of a few runs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tips", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--shadows", type=int, default=3)
    parser.add_argument("--boot", type=int, default=400)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    log = logged(args.tips, args.users, 23, rng)
    times = [run_once(log, args.shadows, rng, args.boot) for _ in range(args.runs)]
    print(
        f"{args.shadows} shadows x {args.tips:,} tips ({args.users:,} users, {args.boot} bootstrap resamples): "
        f"median {statistics.median(times):.3f} s, max {max(times):.3f} s over {args.runs} runs"
    )


if __name__ == "__main__":
    main()
