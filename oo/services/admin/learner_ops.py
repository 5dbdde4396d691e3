"""Learner operations for admins (R6): dry-run scoring and the feature log.

`score` ranks a user's open tasks with any registered policy *without* serving or logging
anything (what would it pick, and why). `features` reads the feature log (``tip_score``): the
features each policy saw for its pick, per scoring call. Reset, reward and stats live in
`oo.services.learning.learner` and `oo.services.tips.feedback`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np
from sqlmodel import Session, col, select

from oo.models import Task, TipScore, User, utcnow
from oo.recommender import Context, LinUCBPolicy, get_encoder
from oo.services.learning import learner
from oo.services.learning.policies import PolicyRef, list_policies, serving_set
from oo.services.tips import candidates, explain


class UnknownPolicy(LookupError):
    """No registered policy has that key."""


def user_exists(*, session: Session, user_id: int) -> bool:
    """True for a live (not deleted) user."""
    user = session.get(User, user_id)
    return user is not None and user.deleted_at is None


def policy_ref(*, session: Session, key: str | None) -> PolicyRef:
    """The registered policy ``name@version`` (any status), or the active one for None.

    Raises:
        UnknownPolicy: For a key that is not registered.
    """
    if key is None:
        return serving_set(session=session).active
    for row in list_policies(session=session):
        if f"{row.name}@{row.version}" == key:
            return PolicyRef(row.name, row.version, row.status, json.loads(row.params or "{}"))
    raise UnknownPolicy(f"unknown policy {key!r}")


def score(
    *,
    session: Session,
    user_id: int,
    policy_key: str | None = None,
    now: datetime | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    """Rank the user's open tasks with one policy, best first; serves and logs nothing."""
    ref = policy_ref(session=session, key=policy_key)
    now = now or utcnow()
    ctx = Context(now.astimezone(candidates.user_zone(session=session, user_id=user_id)))
    ids, batch = candidates.load(session=session, user_id=user_id, now=now)
    result: dict[str, Any] = {"policy": ref.key, "status": ref.status, "candidates": len(ids), "items": []}
    if not ids:
        return result
    X = get_encoder(ref.encoder).encode_batch(batch, ctx)
    policy = learner.get_models(session=session, user_id=user_id, refs=[ref])[ref.key]
    scores = policy.score_array(X)
    order = np.argsort(-scores, kind="stable")[: max(1, min(limit, 100))]
    texts = dict(
        session.exec(select(Task.id, Task.content).where(col(Task.id).in_([ids[i] for i in order]))).all()
    )
    for i in order:
        x = X.row(int(i))
        why = (
            explain.from_policy(policy.explain(x), x)
            if isinstance(policy, LinUCBPolicy)
            else explain.random_pick(x)
        )
        result["items"].append(
            {"task_id": ids[i], "text": texts.get(ids[i], ""), "score": float(scores[i]), "explanation": why}
        )
    return result


def features(
    *, session: Session, user_id: int, limit: int = 50, policy_key: str | None = None
) -> list[dict[str, Any]]:
    """The newest feature-log rows of a user: per scoring call and policy, what it saw and picked."""
    query = select(TipScore).where(TipScore.user_id == user_id)
    if policy_key:
        name, _, version = policy_key.partition("@")
        query = query.where(TipScore.policy == name, TipScore.policy_version == int(version or 0))
    rows = session.exec(query.order_by(col(TipScore.id).desc()).limit(max(1, min(limit, 500)))).all()
    return [
        {
            "request_id": r.request_id,
            "tip_id": r.tip_id,
            "policy": f"{r.policy}@{r.policy_version}",
            "role": r.role,
            "task_id": r.task_id,
            "score": r.score,
            "candidates": r.candidates,
            "features": json.loads(r.features or "{}"),
            "latency_ms": r.latency_ms,
            "created_at": r.created_at,
        }
        for r in rows
    ]
