"""Pick and update latency of the LinUCB policies, median and p99, in microseconds.

Per candidate count it times `choose` (the pick with its propensity; for linucb@4/@5/@7 also the
softmax-mix and the draw) on a pre-encoded `FeatureMatrix` (the fast path), on a
pre-encoded list of feature dicts, and end to end from `TaskView`s (batch encoding + pick);
River's own per-item `predict_one(with_dist=True)` is timed for comparison at <= 1,000.

    .venv/bin/python bench/pick_latency.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from river import linear_model

from oo.recommender.features import Context, TaskView, get_encoder
from oo.recommender.registry import build_policy

SIZES = (10, 100, 1_000, 10_000)


def _timeit(fn: Callable[[], object], budget_s: float, max_runs: int = 2_000) -> tuple[float, float]:
    """Median and p99 of `fn()` in microseconds, within a time budget (>= 20 runs)."""
    fn()  # warm-up
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < max_runs and (len(times) < 20 or time.perf_counter() < deadline):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times) * 1e6, times[min(len(times) - 1, int(0.99 * len(times)))] * 1e6


def _tasks(n: int, now: datetime, rng: np.random.Generator) -> list[TaskView]:
    out = []
    for i in range(n):
        due = now + timedelta(hours=float(rng.normal(0, 48))) if rng.random() < 0.4 else None
        added = now - timedelta(days=float(rng.exponential(10)))
        out.append(TaskView(f"t{i}", int(rng.integers(1, 5)), added, due_at=due))
    return out


def _trained(key: str, context: Context, rng: np.random.Generator):
    """The policy and River's BLR, both after the same 200 updates."""
    name, version = key.split("@")
    policy = build_policy(name, int(version), seed=0)
    river = linear_model.BayesianLinearRegression()
    X = get_encoder(policy.encoder).encode_batch(_tasks(200, context.now, rng), context)
    for i in range(len(X)):
        reward = float(rng.choice([1.0, 0.5, 0.0, -0.5, -1.0]))
        policy.learn(X.row(i), reward)
        river.learn_one(X.row(i), reward)
    return policy, river


def main() -> None:
    """Print the latency table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=0.4, help="seconds per measurement")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    context = Context(datetime(2025, 3, 14, 9, 30, tzinfo=UTC))
    print(f"{'policy':<10}{'n':>7}  {'matrix':>15}  {'dicts':>17}  {'encode+pick':>17}  {'river':>17}")
    print(
        f"{'':<10}{'':>7}  {'median / p99 µs':>15}  {'median / p99 µs':>17}  {'median / p99 µs':>17}  {'median / p99 µs':>17}"
    )
    for key in ("linucb@1", "linucb@3", "linucb@4", "linucb@5", "linucb@7"):
        _rows(key, context, rng, args.budget)


def _rows(key: str, context: Context, rng: np.random.Generator, budget: float) -> None:
    """Print the rows of one policy."""
    policy, river = _trained(key, context, rng)
    encoder = get_encoder(policy.encoder)
    for n in SIZES:
        tasks = _tasks(n, context.now, rng)
        X = encoder.encode_batch(tasks, context)
        dicts = [X.row(i) for i in range(n)]
        cells = [
            _timeit(lambda X=X: policy.choose(X), budget),
            _timeit(lambda d=dicts: policy.pick(d), budget),
            _timeit(lambda t=tasks: policy.pick(encoder.encode_batch(t, context)), budget),
        ]
        if n <= 1_000:
            cells.append(
                _timeit(lambda d=dicts: [river.predict_one(x, with_dist=True) for x in d], budget, 50)
            )
        row = "".join(f"  {m:>7.1f} / {p:>7.1f}" for m, p in cells)
        print(f"{key:<10}{n:>7}{row}")
    x = X.row(0)
    med, p99 = _timeit(lambda: policy.learn(x, 0.5), budget, 20_000)
    print(f"{key:<10}{'learn':>7}  {med:>7.1f} / {p99:>7.1f}  (one update, d={len(policy.features)})")
    if getattr(policy, "discount", None):  # learn is lazy: the next pick re-inverts the precision
        X = encoder.encode_batch(_tasks(1_000, context.now, rng), context)
        med, p99 = _timeit(lambda: (policy.learn(x, 0.5), policy.choose(X)), budget, 20_000)
        print(
            f"{key:<10}{'l+pick':>7}  {med:>7.1f} / {p99:>7.1f}  (learn, then choose at 1,000: includes the re-inversion)"
        )


if __name__ == "__main__":
    main()
