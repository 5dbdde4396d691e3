"""Learning quality of every policy version on every population of the simulated family.

normalized = (policy - random) / (oracle - random) on expected rewards, pooled over users,
after 25 / 100 / 500 decisions per user, per population (`oo.recommender.populations`), and
the worst case over the family. Tuning runs use the tuning seeds; reports use another seed.

    .venv/bin/python bench/learning_family.py                  # report: every version, seed 100
    .venv/bin/python bench/learning_family.py --tune           # candidate params, seeds 1-2
    .venv/bin/python bench/learning_family.py --users 8 --decisions 300 --policies linucb@3,linucb@4
    .venv/bin/python bench/learning_family.py --tune '[["linucb@7", {}]]' --populations ours,hard
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oo.recommender.base import Policy
from oo.recommender.populations import POPULATIONS, replay_family
from oo.recommender.registry import POLICY_SPECS, build_policy

HORIZONS = (25, 100, 500)
TUNING_SEEDS = (1, 2)
REPORT_SEED = 100


def _factory(key: str, **params: Any) -> Callable[[int], Policy]:
    name, version = key.split("@")
    return lambda seed: build_policy(name, int(version), params, seed=seed)


def windows(decisions: int) -> list[tuple[int, int]]:
    """Decision windows reported: the first 25 / 100 / 500 (or all), and the 50 after half-way
    (in `taste_change` and `hard`, right after the tastes changed)."""
    horizons = sorted({h for h in HORIZONS if h <= decisions} | {decisions})
    return [(0, h) for h in horizons] + [(decisions // 2, min(decisions, decisions // 2 + 50))]


def evaluate(
    policies: Mapping[str, Callable[[int], Policy]],
    users: int,
    decisions: int,
    seeds: tuple[int, ...],
    populations: tuple[str, ...] = tuple(POPULATIONS),
) -> dict[str, dict[str, list[float]]]:
    """Normalized reward per policy, population and window (mean over `seeds`)."""
    spans = windows(decisions)
    out: dict[str, dict[str, list[float]]] = {k: {} for k in policies}
    for pop in (POPULATIONS[name] for name in populations):
        sums = {k: [0.0] * len(spans) for k in policies}
        for seed in seeds:
            res = replay_family(pop, policies, n_users=users, n_decisions=decisions, seed=seed)
            for k in policies:
                for j, (start, stop) in enumerate(spans):
                    sums[k][j] += res.normalized(k, stop, start) / len(seeds)
        for k in policies:
            out[k][pop.name] = sums[k]
    return out


def print_table(results: dict[str, dict[str, list[float]]], decisions: int) -> None:
    """One row per policy and population, plus the worst case over the family."""
    spans = windows(decisions)
    head = "".join(f"{'first ' + str(b) if a == 0 else f'{a + 1}-{b}':>11}" for a, b in spans)
    print(f"{'policy':<34}{'population':<17}{head}")
    for key, pops in results.items():
        for pop, cells in pops.items():
            print(f"{key:<34}{pop:<17}" + "".join(f"{c:>+11.3f}" for c in cells))
        worst = [min(cells[j] for cells in pops.values()) for j in range(len(spans))]
        print(f"{key:<34}{'WORST':<17}" + "".join(f"{c:>+11.3f}" for c in worst))


def main() -> None:
    """Run the report (or the tuning candidates)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument("--decisions", type=int, default=500)
    parser.add_argument("--seed", type=int, default=REPORT_SEED)
    parser.add_argument("--policies", default="", help="comma-separated keys (default: every version)")
    parser.add_argument("--populations", default="", help="comma-separated names (default: all six)")
    parser.add_argument("--tune", default="", help="JSON list of [key, params] candidates, tuning seeds")
    parser.add_argument(
        "--json", default="", help="also write the results to this file (model cards read it)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    if args.tune:
        cands = json.loads(args.tune)
        policies = {f"{k} {json.dumps(p, separators=(',', ':'))}": _factory(k, **p) for k, p in cands}
        seeds: tuple[int, ...] = TUNING_SEEDS
    else:
        keys = args.policies.split(",") if args.policies else [s.key for s in POLICY_SPECS]
        policies = {k: _factory(k) for k in keys}
        seeds = (args.seed,)
    pops = tuple(args.populations.split(",")) if args.populations else tuple(POPULATIONS)
    results = evaluate(policies, args.users, args.decisions, seeds, pops)
    print(f"{args.users} users x {args.decisions} decisions per population, seeds {list(seeds)}")
    print_table(results, args.decisions)
    print(f"({time.perf_counter() - started:.0f} s)")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"users": args.users, "decisions": args.decisions, "seeds": list(seeds), "results": results},
                indent=1,
            )
        )


if __name__ == "__main__":
    main()
