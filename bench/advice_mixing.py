"""Advice mixing on a simulated population: does the per-user kind learner find each user's taste?

Three user types (``--users`` of each), every decision at a random waking hour and weekday with
1-30 open tasks; the expected reward of each kind depends on the type and the moment:

- ``likes_advice``: advice +0.5, a task +0.1;
- ``task_only``: advice -0.6, a task +0.3;
- ``evening_advice``: advice +0.5 in the evening and at night (18-05 h), -0.5 by day; a task +0.2.

A reaction is drawn with that mean (+1 / -1 with probability |mean|, else 0: Done, Dismiss,
Snooze). The policy is the production `oo.recommender.kind_mix.KindMixer` (one per user, learning
from its own draws); the baselines always show a task or always advice. Scores are **normalized
rewards** on expected rewards, as in `bench/learning_quality.py`:
(policy - random kind) / (oracle kind - random kind), pooled over users.

Convergence: the first decision after which the type's mean P(advice) (the exact logged
probability, averaged over its users), taken over every following window of 25 decisions, stays
on the right side of its target — likes_advice ≥ 0.8, task_only ≤ 0.2, evening_advice ≥ 0.8 in
the evening and ≤ 0.2 by day.

Off-policy check: from the mixing policy's own log (kind drawn, propensity, reward), the IPS
estimates of "always task" and "always advice" against their true values.

    python bench/advice_mixing.py                  # 50 users per type, 500 decisions, seed 7
    python bench/advice_mixing.py --users 20 --decisions 300 --seed 1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from oo.recommender.kind_mix import KindMixer, context, time_of_day

TYPES = ("likes_advice", "task_only", "evening_advice")
WINDOW = 25
EVENING = ("evening", "night")


def expected(kind_type: str, kind: str, hour: int) -> float:
    """Expected reward of showing ``kind`` to a user of ``kind_type`` at ``hour``."""
    if kind == "todo":
        return {"likes_advice": 0.1, "task_only": 0.3, "evening_advice": 0.2}[kind_type]
    if kind_type == "likes_advice":
        return 0.5
    if kind_type == "task_only":
        return -0.6
    return 0.5 if time_of_day(hour) in EVENING else -0.5


def simulate(users: int, decisions: int, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Run every user; per type: expected reward of each policy, P(advice), evening flag, IPS terms."""
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, np.ndarray]] = {}
    for t in TYPES:
        shape = (users, decisions)
        res = {
            k: np.zeros(shape)
            for k in ("mix", "task", "advice", "random", "oracle", "p", "evening", "ips_t", "ips_a")
        }
        for u in range(users):
            mixer, last_advice = KindMixer(seed=int(rng.integers(1 << 31))), False
            for d in range(decisions):
                hour = int(rng.integers(7, 24)) if rng.random() < 0.9 else int(rng.integers(0, 7))
                ctx = context(
                    hour=hour,
                    weekend=bool(rng.random() < 2 / 7),
                    open_tasks=int(rng.integers(1, 31)),
                    advice_recent=last_advice,
                )
                choice = mixer.choose(ctx, rng)
                e_task, e_adv = expected(t, "todo", hour), expected(t, "advice", hour)
                mean = e_adv if choice.kind == "advice" else e_task
                reward = float(np.sign(mean)) if rng.random() < abs(mean) else 0.0
                mixer.learn(choice.x, reward)
                last_advice = choice.kind == "advice"
                res["mix"][u, d] = choice.p_advice * e_adv + (1 - choice.p_advice) * e_task
                res["task"][u, d], res["advice"][u, d] = e_task, e_adv
                res["random"][u, d], res["oracle"][u, d] = (e_task + e_adv) / 2, max(e_task, e_adv)
                res["p"][u, d], res["evening"][u, d] = choice.p_advice, time_of_day(hour) in EVENING
                res["ips_t"][u, d] = reward / choice.propensity if choice.kind == "todo" else 0.0
                res["ips_a"][u, d] = reward / choice.propensity if choice.kind == "advice" else 0.0
        out[t] = res
    return out  # fmt: skip


def normalized(res: dict[str, np.ndarray], key: str, stop: int) -> float:
    """(policy - random) / (oracle - random) over the first ``stop`` decisions, pooled."""
    sl = np.s_[:, :stop]
    gain = res["oracle"][sl].sum() - res["random"][sl].sum()
    return float((res[key][sl].sum() - res["random"][sl].sum()) / gain)


def converged_at(p: np.ndarray, ok: np.ndarray) -> int | None:
    """First decision from which every following window's mean P(advice) meets its target."""
    windows = len(p) - WINDOW + 1
    good = [bool(ok(p[i : i + WINDOW])) for i in range(windows)]
    for i in range(windows):
        if all(good[i:]):
            return i + WINDOW
    return None


def convergence(res: dict[str, np.ndarray], kind_type: str) -> dict[str, int | None]:
    """Decisions until the type's mean P(advice) stays on target (per part of the day where it matters)."""
    p, evening = res["p"], res["evening"].astype(bool)
    if kind_type == "likes_advice":
        return {"all": converged_at(p.mean(axis=0), lambda w: w.mean() >= 0.8)}
    if kind_type == "task_only":
        return {"all": converged_at(p.mean(axis=0), lambda w: w.mean() <= 0.2)}
    ev = np.where(evening, p, np.nan)
    day = np.where(~evening, p, np.nan)
    return {
        "evening": converged_at(np.nanmean(ev, axis=0), lambda w: np.nanmean(w) >= 0.8),
        "day": converged_at(np.nanmean(day, axis=0), lambda w: np.nanmean(w) <= 0.2),
    }


def main() -> None:
    """Print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--decisions", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    results = simulate(args.users, args.decisions, args.seed)
    stops = [s for s in (50, 100, 250, 500) if s <= args.decisions]
    print(f"{args.users} users per type, {args.decisions} decisions each, seed {args.seed}\n")
    print("normalized reward (0 = random kind, 1 = the best kind for each user and moment)")
    print(f"{'type':<16}{'policy':<15}" + "".join(f"{'≤' + str(s):>9}" for s in stops))
    for t, res in results.items():
        for key, label in (("mix", "mixing"), ("task", "always task"), ("advice", "always advice")):
            print(f"{t:<16}{label:<15}" + "".join(f"{normalized(res, key, s):>+9.3f}" for s in stops))
    pooled = {k: np.concatenate([r[k] for r in results.values()]) for k in next(iter(results.values()))}
    for key, label in (("mix", "mixing"), ("task", "always task"), ("advice", "always advice")):
        print(
            f"{'all types':<16}{label:<15}" + "".join(f"{normalized(pooled, key, s):>+9.3f}" for s in stops)
        )
    print("\nadvice share: mean P(advice) over the last 100 decisions; decisions until on target")
    for t, res in results.items():
        last = res["p"][:, -100:]
        ev = res["evening"][:, -100:].astype(bool)
        share = (
            f"{last.mean():.2f}"
            if t != "evening_advice"
            else f"evening {last[ev].mean():.2f}, day {last[~ev].mean():.2f}"
        )
        print(f"{t:<16}{share:<28}{convergence(res, t)}")
    print("\noff-policy (IPS from the mixing policy's own log) vs true mean reward, all decisions")
    for t, res in results.items():
        print(
            f"{t:<16}always task IPS {res['ips_t'].mean():+.3f} (true {res['task'].mean():+.3f})   "
            f"always advice IPS {res['ips_a'].mean():+.3f} (true {res['advice'].mean():+.3f})"
        )


if __name__ == "__main__":
    main()
