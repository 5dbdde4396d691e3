"""Model cards: one per registered policy version, generated from the registry and stored results.

A card says what the policy sees (its encoder and features), its priors and hyperparameters
(the registry params), how it was evaluated (the simulated population family, from the results
file `bench/learning_family.py --json` writes, and where the off-policy estimates on real
traffic live) and its known limits. Nothing on a card is typed by hand except the limits.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from oo.recommender import POLICY_SPECS, get_encoder

EVALUATION_FILE = Path(__file__).resolve().parents[1] / "recommender" / "evaluation.json"

LIMITS = {
    "random": "Learns nothing; the baseline and the fallback.",
    "linucb@1": "Raw features on different scales share one prior; cannot represent time-of-day tastes.",
    "linucb@2": "No cold-start preference: the first dozens of tips are close to random.",
    "linucb@3": "Deterministic (no logged exploration, propensity 1); never forgets, so a change of taste "
    "is relearned slowly; its prior favours urgent tasks at every hour.",
    "linucb@4": "Linear in the improved@1 features: a task's own appeal is invisible; the prior assumes "
    "urgency matters less in the evening and at weekends, which fits most people in the simulated family "
    "but not everyone; forgetting (about 100 reactions of memory) costs a little where tastes never change.",
    "linucb@5": "As linucb@4, with an explicit evening step at 18:00 (28 features: a slower start on our own "
    "simulator's population, where evenings are not special); forgetting costs a little where tastes never "
    "change.",
    "linucb@6": "As linucb@5 plus the calendar and the task's length (40 features): the calendar weights start "
    "at zero and need reactions given in busy and short-slot moments; a task's length is often an estimate "
    "from its text; with no calendar connected it ranks like linucb@5. Not evaluated on the simulated family "
    "(no simulated calendar yet): off-policy estimates on real traffic decide.",
    "linucb@7": "As linucb@5 with a longer memory (gamma 0.995) and forgetting when a change is detected: a "
    "change hidden in sparse or noisy reactions is detected late, so right after a change of taste it "
    "trails linucb@5; a false alarm throws away 80 % of the evidence.",
}


@lru_cache(maxsize=1)
def _evaluation() -> dict[str, Any]:
    try:
        data = json.loads(EVALUATION_FILE.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _evaluation_text(key: str) -> str:
    data = _evaluation()
    pops = data.get("results", {}).get(key)
    if not pops:
        return "Simulated family: not evaluated yet (run bench/learning_family.py --json)."
    lines = [
        f"Simulated family, {data.get('users')} users x {data.get('decisions')} decisions per population, "
        f"seeds {data.get('seeds')} (normalized reward, first 25 / 100 / 500 decisions, then the 50 after half-way):"
    ]
    for pop, cells in pops.items():
        lines.append(f"  {pop:<16} " + " ".join(f"{c:+.2f}" for c in cells))
    worst = [min(c[j] for c in pops.values()) for j in range(len(next(iter(pops.values()))))]
    lines.append(f"  {'worst case':<16} " + " ".join(f"{c:+.2f}" for c in worst))
    return "\n".join(lines)


def cards() -> list[dict[str, Any]]:
    """Every registered version's card as data."""
    out = []
    for spec in POLICY_SPECS:
        params = dict(spec.params)
        encoder = str(params.get("encoder") or "textbook@1")
        out.append(
            {
                "key": spec.key,
                "summary": spec.description,
                "sees": f"{encoder}: {', '.join(get_encoder(encoder).feature_names)}",
                "params": params,
                "evaluation": _evaluation_text(spec.key),
                "offpolicy": "On real traffic: IPS / SNIPS / DR on the Experiments page "
                "(while it is a shadow) and GET /api/v1/admin/learner/offpolicy.",
                "limits": LIMITS.get(spec.key, LIMITS.get(spec.name, "")),
            }
        )
    return out


def cards_text() -> list[dict[str, str]]:
    """Cards as text for the Policies page (key, summary, body)."""
    return [
        {
            "key": c["key"],
            "summary": c["summary"],
            "body": "\n".join(
                [
                    f"Sees: {c['sees']}",
                    f"Priors and hyperparameters: {json.dumps(c['params'], sort_keys=True)}",
                    c["evaluation"],
                    c["offpolicy"],
                    f"Known limits: {c['limits']}",
                ]
            ),
        }
        for c in cards()
    ]
