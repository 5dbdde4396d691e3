"""Policy versions as data: every shipped change is a new `name@version` with JSON-able params.

A version is immutable once shipped: stored per-user models record their own params (see
`oo.recommender.store`), and the admin registry (active / shadow / archived) refers to these
keys. To change a policy, append a new version; never edit an old one.

- `random@1`: uniform baseline and fallback.
- `linucb@1`: the textbook spec: five raw features, alpha 1.0, River's default prior.
- `linucb@2`: the same learner on the `improved@1` encoding.
- `linucb@3`: `improved@1` + alpha and prior precision tuned on the simulator (tuning seed,
  not the benchmark seed: `bench/learning_quality.py --grid`) + a cold-start prior mean that
  favours overdue, due-soon and urgent tasks until the user's own reactions outweigh it. The
  stronger prior precision (10, a ridge penalty) suits the 23-feature encoding: it keeps the
  interaction weights near the prior until the data supports them.
- `linucb@4`: stochastic: a softmax over the optimistic scores (temperature
  0.02) mixed with 1 % uniform, so every pick has an exact propensity and every candidate keeps
  at least 0.01 / n; a discounted posterior (gamma 0.99, about 100 reactions of memory) with the
  prior as floor, so changed tastes are relearned; a cold-start prior that wants urgent tasks in
  working hours but less so in the evening (hour cosine) and at weekends.
- `linucb@5` (the default active, `DEFAULT_ACTIVE` in `oo.services.learning.policies`):
  `linucb@4` on `improved@2` (an explicit evening flag) with an evening-aware prior. The best
  worst case over the simulated population family (`bench/learning_family.py`) on the tuning
  seeds 1-2 and on the reporting seed 100; linucb@4 stays a shadow.
- `linucb@6` (shipped as a shadow): `linucb@5` on `improved@3`, which adds the free/busy calendar
  (busy now, a short free slot before the next busy block) and the task's length
  (`oo.recommender.task_length`) with their interactions. Same cold start as linucb@5: the
  calendar weights start at zero and are learned from the user's reactions only, so with the
  calendar unknown it ranks exactly like linucb@5 until data says otherwise.
- `linucb@7`: `linucb@5` with a longer memory that forgets on a detected change: gamma 0.995
  (about 200 reactions) plus a CUSUM on the prediction residuals (`oo.recommender.change`) that
  keeps only a share of the evidence when the user's reactions stop matching the model. A
  shadow: on the family its worst case ties linucb@5's (better after 500 decisions, worse right
  after a change of taste).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from oo.recommender.base import Policy
from oo.recommender.features import get_encoder
from oo.recommender.linucb import LinUCBPolicy
from oo.recommender.random_policy import RandomPolicy

__all__ = ["POLICY_CLASSES", "POLICY_SPECS", "PolicySpec", "build_policy", "get_spec"]

POLICY_CLASSES: dict[str, type[Policy]] = {"random": RandomPolicy, "linucb": LinUCBPolicy}


@dataclass(frozen=True)
class PolicySpec:
    """One registered policy version.

    Examples:
        >>> get_spec("linucb", 1).params["alpha"]
        1.0
        >>> [spec.key for spec in POLICY_SPECS]
        ['random@1', 'linucb@1', 'linucb@2', 'linucb@3', 'linucb@4', 'linucb@5', 'linucb@6', 'linucb@7']
    """

    name: str
    version: int
    description: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Registry key, `name@version`."""
        return f"{self.name}@{self.version}"


#: Cold start for linucb@3, on the `improved@1` features: until data arrives, overdue and
#: due-soon tasks first, then by priority; weights stay small so a few reactions override them.
COLD_START_PRIOR = {"overdue": 0.3, "due_soon": 0.2, "prio_4": 0.3, "prio_3": 0.2, "prio_2": 0.1}

#: linucb@4's cold start on `improved@1`: linucb@3's urgency preference, but urgency counts less
#: at weekends and in the evening (hour_cos > 0 late in the day, < 0 in the working day).
TIME_AWARE_PRIOR = {
    **COLD_START_PRIOR,
    "prio*weekend": -0.3,
    "overdue*weekend": -0.3,
    "due_soon*weekend": -0.2,
    "prio*hour_cos": -0.2,
    "overdue*hour_cos": -0.2,
    "due_soon*hour_cos": -0.15,
}
#: linucb@5's cold start on `improved@2`: the same, with the explicit evening flag.
EVENING_PRIOR = {
    **COLD_START_PRIOR,
    "prio*weekend": -0.3,
    "overdue*weekend": -0.3,
    "due_soon*weekend": -0.2,
    "prio*evening": -0.3,
    "overdue*evening": -0.3,
    "due_soon*evening": -0.2,
    "prio*hour_cos": -0.1,
    "overdue*hour_cos": -0.1,
    "due_soon*hour_cos": -0.075,
}
#: Exploration and forgetting shared by linucb@4 and @5.
STOCHASTIC = {"discount": 0.99, "temperature": 0.02, "epsilon": 0.01}
#: linucb@7: a longer memory, and forgetting when the residuals show a change (CUSUM, in residual
#: sds: alarm above `threshold`, `drift` allowed per reaction, none in the first `warmup`); an
#: alarm keeps a share `keep` of the evidence.
FORGET_ON_CHANGE = {
    "discount": 0.995,
    "change": {"threshold": 5.0, "drift": 0.5, "warmup": 50.0, "keep": 0.2},
}

POLICY_SPECS: tuple[PolicySpec, ...] = (
    PolicySpec("random", 1, "Uniform random pick; baseline and fallback.", {"encoder": "textbook@1"}),
    PolicySpec(
        "linucb",
        1,
        "Textbook LinUCB: raw is_overdue, task_age_days, priority, hour_of_day, day_of_week.",
        {"encoder": "textbook@1", "alpha": 1.0, "prior_precision": 1.0, "noise_precision": 1.0},
    ),
    PolicySpec(
        "linucb",
        2,
        "LinUCB on the improved encoding (intercept, log age, cyclical hour, interactions).",
        {"encoder": "improved@1", "alpha": 1.0, "prior_precision": 1.0, "noise_precision": 1.0},
    ),
    PolicySpec(
        "linucb",
        3,
        "LinUCB, improved encoding, tuned alpha, cold-start prior favouring overdue/urgent tasks.",
        {
            "encoder": "improved@1",
            "alpha": 0.1,
            "prior_precision": 10.0,
            "noise_precision": 1.0,
            "prior_mean": COLD_START_PRIOR,
        },
    ),
    PolicySpec(
        "linucb",
        4,
        "Stochastic LinUCB (softmax-mix, exact propensities), discounted posterior, time-aware cold start.",
        {
            "encoder": "improved@1",
            "alpha": 0.1,
            "prior_precision": 10.0,
            "noise_precision": 1.0,
            "prior_mean": TIME_AWARE_PRIOR,
            **STOCHASTIC,
        },
    ),
    PolicySpec(
        "linucb",
        5,
        "linucb@4 on improved@2 (explicit evening flag) with an evening-aware cold start.",
        {
            "encoder": "improved@2",
            "alpha": 0.1,
            "prior_precision": 10.0,
            "noise_precision": 1.0,
            "prior_mean": EVENING_PRIOR,
            **STOCHASTIC,
        },
    ),
    PolicySpec(
        "linucb",
        6,
        "linucb@5 on improved@3: + calendar (busy now, short free slot) and task length; shadow first.",
        {
            "encoder": "improved@3",
            "alpha": 0.1,
            "prior_precision": 10.0,
            "noise_precision": 1.0,
            "prior_mean": EVENING_PRIOR,
            **STOCHASTIC,
        },
    ),
    PolicySpec(
        "linucb",
        7,
        "linucb@5 with a longer memory (gamma 0.995) that forgets on a detected change (CUSUM on residuals).",
        {
            "encoder": "improved@2",
            "alpha": 0.1,
            "prior_precision": 10.0,
            "noise_precision": 1.0,
            "prior_mean": EVENING_PRIOR,
            **STOCHASTIC,
            **FORGET_ON_CHANGE,
        },
    ),
)


def get_spec(name: str, version: int) -> PolicySpec:
    """Return the spec registered as `name@version`.

    Raises:
        KeyError: For an unknown policy version.
    """
    for spec in POLICY_SPECS:
        if spec.name == name and spec.version == version:
            return spec
    raise KeyError(f"unknown policy {name}@{version}; known: {[s.key for s in POLICY_SPECS]}")


def build_policy(
    name: str, version: int, params: Mapping[str, Any] | None = None, *, seed: int | None = None
) -> Policy:
    """Build a fresh (untrained) policy from the registry.

    Args:
        name: Policy name (`random`, `linucb`).
        version: Policy version.
        params: Overrides of the spec's params (e.g. a stored policy's own params).
        seed: Seed for the policy's randomness.

    Returns:
        The policy.

    Raises:
        KeyError: For an unknown policy version or encoder.
        ValueError: For invalid params.

    Examples:
        >>> policy = build_policy("linucb", 3, seed=0)
        >>> policy.key, policy.encoder, policy.alpha
        ('linucb@3', 'improved@1', 0.1)
    """
    merged = {**copy.deepcopy(dict(get_spec(name, version).params)), **copy.deepcopy(dict(params or {}))}
    return make_policy(name, version, merged, seed=seed)


def make_policy(name: str, version: int, params: Mapping[str, Any], *, seed: int | None = None) -> Policy:
    """Instantiate a policy class from complete params (what `Policy.params` returns).

    Raises:
        KeyError: For an unknown policy name or encoder.
        ValueError: For invalid params.
    """
    cls = POLICY_CLASSES.get(name)
    if cls is None:
        raise KeyError(f"unknown policy name {name!r}; known: {sorted(POLICY_CLASSES)}")
    kwargs = dict(params)
    encoder = kwargs.get("encoder")
    if cls is LinUCBPolicy and isinstance(encoder, str):
        # Encoders are immutable per version, so features that disagree mean corrupt params.
        names = list(get_encoder(encoder).feature_names)
        if list(kwargs.setdefault("features", names)) != names:
            raise ValueError(f"features do not match encoder {encoder!r}")
    elif cls is LinUCBPolicy and "features" not in kwargs:
        raise ValueError("linucb params need an 'encoder' key or an explicit 'features' list")
    try:
        return cls(version=version, seed=seed, **kwargs)
    except TypeError as exc:  # an unexpected keyword in params
        raise ValueError(f"invalid params for {name}@{version}: {exc}") from exc
