"""The learner ops routes (R6): score, reward, reset, stats, features — admins only.

The role is re-read from the database on every request (`caller(..., admin=True)`); writes
(reward, reset) are audit-logged in the same transaction as the change.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response

from oo import offload
from oo.db import session_scope
from oo.http.api_v1.admin_models import (
    FeatureRow,
    FeaturesOut,
    ModelOut,
    OffPolicyOut,
    OffPolicyQuery,
    PolicyStatsOut,
    ResetOut,
    ResetRequest,
    RewardRequest,
    ScoredTask,
    ScoreOut,
    ScoreRequest,
    StatsOut,
    UserQuery,
)
from oo.http.api_v1.common import ApiError, body, caller, feedback_errors, limit, ok, validate
from oo.http.api_v1.models import ExplanationOut, FeedbackOut
from oo.models import AdminAction
from oo.services.accounts.sessions import CurrentUser
from oo.services.admin import audit as admin_audit
from oo.services.admin import learner_ops
from oo.services.admin import offpolicy as admin_offpolicy
from oo.services.learning import learner
from oo.services.learning import stats as learner_stats
from oo.services.tips import feedback

ADMIN_PER_MINUTE = 120


async def _admin(request: Request, *, write: bool) -> CurrentUser:
    user = await caller(request, write=write, admin=True)
    await limit(user, "admin", per_minute=ADMIN_PER_MINUTE)
    return user


def _known_user(session: Session, user_id: int) -> None:
    if not learner_ops.user_exists(session=session, user_id=user_id):
        raise ApiError(404, "user_not_found", "no such user")


async def score(request: Request) -> Response:
    """Dry run: rank a user's open tasks with a policy, with each score's explanation."""
    await _admin(request, write=False)
    req = await body(request, ScoreRequest)

    def run() -> dict[str, Any]:
        with session_scope() as session:
            _known_user(session, req.user_id)
            try:
                return learner_ops.score(
                    session=session, user_id=req.user_id, policy_key=req.policy, limit=req.limit
                )
            except learner_ops.UnknownPolicy as exc:
                raise ApiError(404, "policy_not_found", str(exc)) from None

    result = await offload.slow(run)
    items = [
        ScoredTask(
            task_id=i["task_id"],
            text=i["text"],
            score=i["score"],
            explanation=ExplanationOut.of(i["explanation"]),
        )
        for i in result["items"]
    ]
    return ok(
        ScoreOut(
            policy=result["policy"], status=result["status"], candidates=result["candidates"], items=items
        )
    )


async def reward(request: Request) -> Response:
    """Teach a reward on one of a user's tips, like a reaction (first reward wins; idempotent)."""
    admin = await _admin(request, write=True)
    req = await body(request, RewardRequest)

    def run() -> feedback.FeedbackResult:
        with session_scope() as session:
            _known_user(session, req.user_id)
            # Not in admin_audit.ACTIONS (yet), so the row is written here; it commits with the reward.
            session.add(
                AdminAction(
                    admin_id=admin.id,
                    action="learner.reward",
                    target=f"user:{req.user_id}",
                    params=json.dumps({"tip_id": req.tip_id, "reaction": req.reaction}),
                )
            )
            return feedback.record(
                session=session,
                user_id=req.user_id,
                tip_id=req.tip_id,
                reaction=req.reaction,
                idempotency_key=req.idempotency_key,
                origin="admin",
            )

    with feedback_errors("no such tip for that user"):
        result = await offload.slow(run)
    return ok(FeedbackOut.of(result), 200 if result.duplicate else 201)


async def reset(request: Request) -> Response:
    """Reset a user's bandit (every policy, or one); audit-logged."""
    admin = await _admin(request, write=True)
    req = await body(request, ResetRequest)

    def run() -> int:
        with session_scope() as session:
            _known_user(session, req.user_id)
            admin_audit.record(
                session=session,
                admin_id=admin.id,
                action="bandit.reset",
                target=f"user:{req.user_id}",
                params={"policy": req.policy} if req.policy else {},
            )
            return learner.reset(session=session, user_id=req.user_id, policy_key=req.policy)

    return ok(ResetOut(user_id=req.user_id, deleted=await offload.slow(run)))


async def stats(request: Request) -> Response:
    """Per-policy stats over all users (or ``?user_id=``, with that user's stored models)."""
    await _admin(request, write=False)
    query = validate(UserQuery, dict(request.query_params))

    def run() -> StatsOut:
        with session_scope() as session:
            if query.user_id is not None:
                _known_user(session, query.user_id)
            rows = learner.stats(session=session, user_id=query.user_id)
            models = (
                learner_stats.model_summaries(session=session, user_id=query.user_id) if query.user_id else []
            )
            return StatsOut(
                user_id=query.user_id,
                policies=[PolicyStatsOut.of(s) for s in rows],
                models=[ModelOut(**m) for m in models],
            )

    return ok(await offload.slow(run))


async def features(request: Request) -> Response:
    """The feature log of one user (``?user_id=``, optional ``policy`` and ``limit``), newest first."""
    await _admin(request, write=False)
    query = validate(UserQuery, dict(request.query_params))
    if query.user_id is None:
        raise ApiError(
            422,
            "validation_error",
            "user_id is required",
            [{"field": "user_id", "message": "Field required", "type": "missing"}],
        )
    user_id = query.user_id

    def run() -> FeaturesOut:
        with session_scope() as session:
            _known_user(session, user_id)
            rows = learner_ops.features(
                session=session, user_id=user_id, limit=query.limit, policy_key=query.policy
            )
            return FeaturesOut(user_id=user_id, rows=[FeatureRow(**r) for r in rows])

    return ok(await offload.slow(run))


async def offpolicy(request: Request) -> Response:
    """IPS / SNIPS / DR of every shadow policy over a window (``?window=1d|7d|30d``)."""
    await _admin(request, write=False)
    query = validate(OffPolicyQuery, dict(request.query_params))

    def run() -> OffPolicyOut:
        with session_scope() as session:
            return OffPolicyOut.model_validate(
                admin_offpolicy.evaluate_shadows(session=session, window=query.window)
            )

    return ok(await offload.slow(run))
