"""Learning quality on the simulated population: normalized reward of each policy.

normalized = (policy - random) / (oracle - random), on expected rewards, pooled over users,
over the first 25 / 100 / 500 decisions of every user (and over decisions 401-500 alone).

    .venv/bin/python bench/learning_quality.py                # the table in bench/README.md
    .venv/bin/python bench/learning_quality.py --grid         # alpha / prior grid (tuning seed)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oo.recommender.base import Policy
from oo.recommender.registry import build_policy
from oo.recommender.simulation import replay

HORIZONS = (25, 100, 500)
TUNING_SEED = 1  # the grid never sees the reporting seed


def _factory(name: str, version: int, **params: object) -> Callable[[int], Policy]:
    return lambda seed: build_policy(name, version, params, seed=seed)


def report(policies: dict[str, Callable[[int], Policy]], users: int, decisions: int, seed: int) -> None:
    """Print the normalized-reward table for `policies`."""
    started = time.perf_counter()
    result = replay(policies, n_users=users, n_decisions=decisions, seed=seed)
    horizons = [h for h in HORIZONS if h <= decisions]
    head = "".join(f"{'first ' + str(h):>16}" for h in horizons)
    print(f"{users} users x {decisions} decisions, seed {seed}; mean ± s.e. across users")
    print(f"{'policy':<28}{head}{'last 100':>16}")
    for key in policies:
        cells = []
        for start, stop in [(0, h) for h in horizons] + [(max(0, decisions - 100), decisions)]:
            per_user = result.normalized_per_user(key, stop, start)
            se = per_user.std(ddof=1) / len(per_user) ** 0.5
            cells.append(f"{result.normalized(key, stop, start):>+9.3f} ±{se:.3f}")
        print(f"{key:<28}" + "".join(f"{c:>16}" for c in cells))
    print(f"({time.perf_counter() - started:.1f} s)")


def main() -> None:
    """Run the benchmark (or the tuning grid)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--decisions", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--grid", action="store_true", help="tune linucb@3 params on the tuning seed")
    args = parser.parse_args()
    if args.grid:
        grid: dict[str, Callable[[int], Policy]] = {}
        for alpha in (0.1, 0.3, 1.0):
            for precision in (1.0, 3.0, 10.0):
                label = f"linucb@3 a={alpha} prior={precision:g}"
                grid[label] = _factory("linucb", 3, alpha=alpha, prior_precision=precision)
        report(grid, min(args.users, 20), args.decisions, TUNING_SEED)
        return
    report(
        {
            "random@1": _factory("random", 1),
            "linucb@1 (textbook)": _factory("linucb", 1),
            "linucb@2": _factory("linucb", 2),
            "linucb@3 (best)": _factory("linucb", 3),
        },
        args.users,
        args.decisions,
        args.seed,
    )


if __name__ == "__main__":
    main()
