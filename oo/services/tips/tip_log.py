"""The tip log of one pick: the served tip's ``tip_view`` row and every policy's ``tip_score`` row.

`oo.services.tips.recommend` scores the candidates; this module writes what was served, with its
explanation, its propensity (times the task-or-advice draw's factor), the facts frozen at serve
time (`oo.services.tips.facts`) and each policy's probability of the served tip, in the request's
transaction, and returns the `Recommendation`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from time import perf_counter
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from oo.models import TipScore, TipView, table
from oo.recommender import Context, FeatureMatrix, TaskBatch, get_encoder
from oo.services.learning import signals
from oo.services.learning.policies import PolicyRef
from oo.services.platform import jsontext
from oo.services.tips import advice, explain, facts
from oo.services.tips.explain import Recommendation

log = logging.getLogger("oo.recommend")
_INSERT_VIEW = sa.insert(table(TipView))
INSERT_SCORE = sa.insert(table(TipScore))


@dataclass
class Outcome:
    """One policy's pick in one request (index None: it failed)."""

    ref: PolicyRef
    role: str
    index: int | None = None
    score: float = 0.0
    latency_ms: float = 0.0
    detail: dict[str, Any] | None = None
    error: str = ""
    probs: np.ndarray | None = None  # the whole pick distribution (shadows)
    propensity: float | None = None  # the chosen candidate's probability (active, fallback)

    def served_probability(self, served: int) -> float | None:
        """This policy's probability of choosing candidate `served`."""
        if self.probs is not None:
            return float(self.probs[served])
        return self.propensity if self.index == served else None


def features_of(
    i: int, views: TaskBatch, ctx: Context, matrices: dict[str, FeatureMatrix | Exception]
) -> dict[str, dict[str, float]]:
    """The served candidate's features under every encoder (encoded alone where the batch failed)."""
    out = {}
    for key, X in matrices.items():
        if isinstance(X, FeatureMatrix):
            out[key] = X.row(i)
            continue
        try:  # the batch path failed; the one served task may still encode
            out[key] = get_encoder(key).encode(views.view(i), ctx)
        except Exception:
            log.warning("cannot encode the served task with %s", key)
    return out


@dataclass(frozen=True)
class Deferred:
    """A shadow policy's pick left for after serving: its outcome to fill, its model and matrix then."""

    outcome: Outcome
    policy: Any  # the cached model object at serve time (learning replaces it, never mutates it)
    X: FeatureMatrix


@dataclass(frozen=True)
class ShadowJob:
    """The shadow picks of one served tip, scored and logged after serving (`oo.services.tips.shadows`)."""

    pick: Pick
    tip_id: str
    served: int
    kind_p: float


@dataclass(frozen=True)
class Pick:
    """One request's scoring, as the tip log needs it."""

    user_id: int
    ids: list[int]
    views: TaskBatch
    ctx: Context
    matrices: dict[str, FeatureMatrix | Exception]
    outcomes: list[Outcome]
    started: float
    now: datetime
    zone_ok: bool = True
    mix: advice.Decision | None = None
    deferred: list[Deferred] = field(default_factory=list)
    integrations: tuple[tuple[str, str, datetime | None], ...] | None = None  # as read for the page, if read


def write(
    session: Session,
    pick: Pick,
    served: Outcome,
    task: Any,
    *,
    channel: str,
    later: list[ShadowJob] | None = None,
) -> Recommendation:
    """Log the served task (``tip_view``) and every policy's pick (``tip_score``); commit; say why.

    The picks in ``pick.deferred`` (shadows not scored yet) are left to ``later`` as one `ShadowJob`.
    """
    assert served.index is not None
    xs = features_of(served.index, pick.views, pick.ctx, pick.matrices)
    kind_p = advice.task_factor(pick.mix, xs)  # the kind draw's factor in every logged probability
    propensity = None if served.propensity is None else served.propensity * kind_p
    encoder_key = served.ref.encoder
    x = xs.get(encoder_key, {})
    why = explain.from_policy(served.detail, x) if served.detail else explain.random_pick(x)
    logged = why.as_dict() | {"policy": served.ref.key, "encoder": encoder_key, "propensity": propensity}
    logged |= pick.mix.logged() if pick.mix is not None else {}
    if served.role == "fallback":
        failed = pick.outcomes[0]
        logged |= {"fallback_from": failed.ref.key, "error": failed.error[:200]}
    tip_id = uuid.uuid4().hex
    latency = (perf_counter() - pick.started) * 1000
    conn = session.connection()  # Core inserts of prebuilt statements: no ORM unit of work
    view = view_row(tip_id, pick.user_id, task, channel, served, xs, logged, latency, pick.now)
    view |= facts_of(session, pick, task.source, served.index)
    view["propensity"] = propensity  # with the kind draw's factor
    scores = [score_row(o, tip_id, pick, served.index, kind_p) for o in pick.outcomes if o.index is not None]
    conn.execute(_INSERT_VIEW, view)  # SQLite's write lock is held from here to the commit: rows are ready
    conn.execute(INSERT_SCORE, scores)
    session.commit()
    if pick.deferred and later is not None:
        later.append(ShadowJob(pick, tip_id, served.index, kind_p))
    signals.note_served(pick.user_id, tip_id, channel, pick.now)
    return Recommendation(
        tip_id=tip_id,
        text=task.content,
        kind="todo",
        task_id=task.id,
        source=task.source,
        external_id=task.external_id,
        url=task.url,
        policy=served.ref.name,
        policy_version=served.ref.version,
        score=served.score,
        fallback=served.role == "fallback",
        explanation=why,
        served_at=pick.now,
        latency_ms=latency,
        propensity=propensity,
    )


def facts_of(session: Session, pick: Pick, source: str, i: int) -> dict[str, Any]:
    """What the tip log freezes about this pick (see `oo.services.tips.facts`)."""
    views, ctx = pick.views, pick.ctx
    has_due = not (np.isnan(views.due_at[i]) and np.isnan(views.due_date[i]))
    stale = facts.source_stale(
        session=session, user_id=pick.user_id, source=source, now=ctx.now, integrations=pick.integrations
    )
    return {
        "task_priority": int(views.priority[i]),
        "local_hour": ctx.now.hour,
        "imputed": facts.imputed(has_due=has_due, zone_ok=pick.zone_ok, stale=stale),
    }


def view_row(
    tip_id: str,
    user_id: int,
    task: Any,
    channel: str,
    served: Outcome,
    xs: dict[str, dict[str, float]],
    logged: dict[str, Any],
    latency: float,
    now: datetime,
) -> dict[str, Any]:
    """The ``tip_view`` row of a served tip (propensity: the serving policy's probability of it)."""
    return {
        "id": tip_id,
        "user_id": user_id,
        "task_id": task.id,
        "source": task.source,
        "external_id": task.external_id,
        "kind": "todo",
        "channel": channel,
        "policy": served.ref.name,
        "policy_version": served.ref.version,
        "score": served.score,
        "fallback": served.role == "fallback",
        "features": jsontext.dumps(xs),
        "explanation": jsontext.dumps(logged),
        "latency_ms": latency,
        "served_at": now,
        "reaction": None,
        "reacted_at": None,
        "propensity": served.propensity,
    }


def score_row(o: Outcome, tip_id: str, pick: Pick, served: int, kind_p: float = 1.0) -> dict[str, Any]:
    """The ``tip_score`` row of one policy's pick in this request (its probability of the served tip)."""
    assert o.index is not None
    ids, user_id, now = pick.ids, pick.user_id, pick.now
    p = o.served_probability(served)
    X = pick.matrices.get(o.ref.encoder)
    return {
        "request_id": tip_id,
        "tip_id": tip_id,
        "user_id": user_id,
        "policy": o.ref.name,
        "policy_version": o.ref.version,
        "role": o.role,
        "task_id": ids[o.index],
        "score": o.score,
        "candidates": len(ids),
        "features": jsontext.dumps(X.row(o.index) if isinstance(X, FeatureMatrix) else {}),
        "latency_ms": o.latency_ms,
        "created_at": now,
        "served_probability": None if p is None else p * kind_p,
    }
