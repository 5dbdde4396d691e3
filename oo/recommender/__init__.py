"""Recommender: a contextual bandit that picks one task and learns from the reaction.

Pure library code (River, numpy, the standard library): services encode tasks, call
`policy.pick`, persist `store.dumps(policy)` and call `policy.learn(x, reward)` later.

    encoder = get_encoder(policy.encoder)
    X = encoder.encode_batch(tasks, Context(now))     # FeatureMatrix, one row per task
    index, score = policy.pick(X)
    x = X.row(index)                                  # log it; learn from it on the reaction
    policy.learn(x, REWARDS["done"])
    index, score, propensity = policy.choose(X)       # the pick and its exact probability
    probs = policy.probabilities(X)                   # the whole pick distribution

`oo.recommender.ope` (off-policy estimators) and `oo.recommender.populations` (the simulated
population family) are not re-exported either.

`oo.recommender.simulation` (a simulated population for offline evaluation) is not
re-exported: the app does not need it.
"""

from .base import REWARDS, Candidates, Choice, FeatureMatrix, Pick, Policy
from .features import ENCODERS, IMPROVED, TEXTBOOK, Context, Encoder, TaskBatch, TaskView, get_encoder
from .features_calendar import IMPROVED_CALENDAR
from .features_evening import IMPROVED_EVENING
from .linucb import LinUCBPolicy
from .random_policy import RandomPolicy
from .registry import POLICY_SPECS, PolicySpec, build_policy, get_spec
from .store import StoreError, dumps, dumps_binary, loads

__all__ = [
    "ENCODERS",
    "IMPROVED",
    "IMPROVED_CALENDAR",
    "IMPROVED_EVENING",
    "POLICY_SPECS",
    "REWARDS",
    "TEXTBOOK",
    "Candidates",
    "Choice",
    "Context",
    "Encoder",
    "FeatureMatrix",
    "LinUCBPolicy",
    "Pick",
    "Policy",
    "PolicySpec",
    "RandomPolicy",
    "StoreError",
    "TaskBatch",
    "TaskView",
    "build_policy",
    "dumps",
    "dumps_binary",
    "get_encoder",
    "get_spec",
    "loads",
]
