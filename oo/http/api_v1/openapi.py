"""The OpenAPI 3.1 document of the v1 API, built from the same pydantic models the routes validate with.

Served at ``GET /api/v1/openapi.json``; a test checks that every route is described and every
schema reference resolves.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from oo.http.api_v1 import admin_advice as aa
from oo.http.api_v1 import admin_models as am
from oo.http.api_v1 import models as m

VERSION = "1.0.0"
_MODELS: tuple[type[BaseModel], ...] = (
    m.RecommendRequest,
    m.RecommendationOut,
    m.FeedbackRequest,
    m.FeedbackOut,
    m.TokenCreate,
    m.TokenRotate,
    m.TokenCreated,
    m.TokenList,
    m.ErrorOut,
    m.PushSubscriptionIn,
    m.PushUnsubscribe,
    m.PushSubscribed,
    m.PushReaction,
    m.PushReacted,
    am.ScoreRequest,
    am.ScoreOut,
    am.RewardRequest,
    am.ResetRequest,
    am.ResetOut,
    am.StatsOut,
    am.FeaturesOut,
    am.OffPolicyOut,
    aa.AdviceCreate,
    aa.AdviceUpdate,
    aa.AdviceStatus,
    aa.LibraryPieceOut,
    aa.AdviceList,
    aa.AdvicePerformanceOut,
)
_ERRORS = {
    "401": "Not signed in and no valid API token.",
    "403": "Cross-site request with the session cookie, or not allowed.",
    "422": "Invalid request (per-field details).",
    "429": "Rate limited (see Retry-After).",
}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": _ref(model)}}}


def _op(
    summary: str,
    ok: tuple[str, str, type[BaseModel] | None],
    *,
    body: type[BaseModel] | None = None,
    extra: dict[str, str] | None = None,
    admin: bool = False,
    params: list[dict] | None = None,
) -> dict[str, Any]:
    status, text, model = ok
    responses: dict[str, Any] = {status: {"description": text, **(_json(model) if model else {})}}
    for code, why in {**_ERRORS, **(extra or {})}.items():
        responses[code] = {"description": why, **_json(m.ErrorOut)}
    op: dict[str, Any] = {
        "summary": summary,
        "responses": responses,
        "tags": ["learner ops" if admin else "tips"],
    }
    if body is not None:
        op["requestBody"] = {"required": True, **_json(body)}
    if params:
        op["parameters"] = params
    return op


def _query(name: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def _user_paths() -> dict[str, Any]:
    """Recommend, feedback and push: what a signed-in user or API token calls."""
    return {
        "/api/v1/recommend": {
            "post": _op(
                "The next tip (logged as a tip_view), with policy, score and explanation",
                ("200", "A tip, or kind=empty when nothing is open.", m.RecommendationOut),
                body=m.RecommendRequest,
            )
        },
        "/api/v1/feedback": {
            "post": _op(
                "React to one of your tips; the same idempotency key is recorded once",
                ("201", "Recorded.", m.FeedbackOut),
                body=m.FeedbackRequest,
                extra={
                    "200": "Already recorded under this key (nothing changed).",
                    "404": "No such tip of yours.",
                    "409": "The key was used for another tip or reaction.",
                },
            )
        },
        "/api/v1/push/subscribe": {
            "post": _op(
                "Subscribe this browser to pushed tips (PushSubscription.toJSON())",
                ("201", "Stored.", m.PushSubscribed),
                body=m.PushSubscriptionIn,
            )
        },
        "/api/v1/push/unsubscribe": {
            "post": _op(
                "Stop pushing to one of your subscriptions",
                ("204", "Forgotten.", None),
                body=m.PushUnsubscribe,
                extra={"404": "No such subscription of yours."},
            )
        },
        "/api/v1/push/react": {
            "post": _op(
                "Done or Snooze from a notification: recorded once on the pushed tip (channel push)",
                ("201", "Recorded.", m.PushReacted),
                body=m.PushReaction,
                extra={
                    "200": "Already recorded under this key (nothing changed).",
                    "404": "No such tip of yours.",
                    "409": "The key was used for another tip or reaction.",
                },
            )
        },
    }


def _token_paths() -> dict[str, Any]:
    """API tokens: list, create, rotate, revoke."""
    return {
        "/api/v1/tokens": {
            "get": _op("Your live API tokens (session cookie only)", ("200", "The tokens.", m.TokenList)),
            "post": _op(
                "Create an API token (session cookie only); the secret is shown once",
                ("201", "Created.", m.TokenCreated),
                body=m.TokenCreate,
            ),
        },
        "/api/v1/tokens/{token_id}": {
            "delete": {
                **_op(
                    "Revoke one of your API tokens (session cookie only)",
                    ("204", "Revoked.", None),
                    extra={"404": "No such token of yours."},
                ),
                "parameters": [
                    {"name": "token_id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
            }
        },
        "/api/v1/tokens/{token_id}/rotate": {
            "post": {
                **_op(
                    "Rotate one of your API tokens (session cookie only): a successor with the same "
                    "name; the old token keeps working for one day",
                    ("201", "The successor; its secret is shown once.", m.TokenCreated),
                    body=m.TokenRotate,
                    extra={"404": "No such live token of yours."},
                ),
                "parameters": [
                    {"name": "token_id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
            }
        },
    }


def _admin_learner_paths() -> dict[str, Any]:
    """Admin-only learner operations."""
    user_q = _query("user_id", {"type": "integer", "minimum": 1})
    policy_q = _query("policy", {"type": "string", "pattern": m.POLICY_KEY})
    limit_q = _query("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50})
    return {
        "/api/v1/admin/learner/score": {
            "post": _op(
                "Dry run: rank a user's open tasks with a policy",
                ("200", "Candidates, best first.", am.ScoreOut),
                body=am.ScoreRequest,
                admin=True,
                extra={"404": "Unknown user or policy."},
            )
        },
        "/api/v1/admin/learner/reward": {
            "post": _op(
                "Teach a reward on a user's tip (first reward wins; idempotent)",
                ("201", "Recorded.", m.FeedbackOut),
                body=am.RewardRequest,
                admin=True,
                extra={"404": "Unknown user or tip.", "409": "Key reused."},
            )
        },
        "/api/v1/admin/learner/reset": {
            "post": _op(
                "Reset a user's bandit (all policies or one)",
                ("200", "Models deleted.", am.ResetOut),
                body=am.ResetRequest,
                admin=True,
                extra={"404": "Unknown user."},
            )
        },
        "/api/v1/admin/learner/stats": {
            "get": _op(
                "Per-policy stats, for all users or one",
                ("200", "Stats.", am.StatsOut),
                admin=True,
                params=[user_q],
                extra={"404": "Unknown user."},
            )
        },
        "/api/v1/admin/learner/features": {
            "get": _op(
                "A user's feature log (per scoring call and policy)",
                ("200", "Rows, newest first.", am.FeaturesOut),
                admin=True,
                params=[{**user_q, "required": True}, policy_q, limit_q],
                extra={"404": "Unknown user."},
            )
        },
        "/api/v1/admin/learner/offpolicy": {
            "get": _op(
                "Off-policy estimates (IPS, SNIPS, DR with user-bootstrap intervals) of every shadow policy",
                ("200", "Estimates beside the observed mean of the tips as served.", am.OffPolicyOut),
                admin=True,
                params=[_query("window", {"type": "string", "enum": ["1d", "7d", "30d"], "default": "7d"})],
            )
        },
    }


def _admin_other_paths() -> dict[str, Any]:
    """Admin-only evaluation and advice library routes."""
    return {
        **_advice_paths(),
    }


def _paths() -> dict[str, Any]:
    return _user_paths() | _token_paths() | _admin_learner_paths() | _admin_other_paths()


def _advice_paths() -> dict[str, Any]:
    advice_id = {"name": "advice_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    status_q = _query("status", {"type": "string", "enum": ["", "active", "retired"]})
    days_q = _query("days", {"type": "integer", "minimum": 1, "maximum": 365, "default": 30})
    missing = {"404": "No such advice."}
    return {
        "/api/v1/admin/advice": {
            "get": _op(
                "The advice library", ("200", "Every piece.", aa.AdviceList), admin=True, params=[status_q]
            ),
            "post": _op(
                "Add a piece of advice (audit-logged)",
                ("201", "Created.", aa.LibraryPieceOut),
                body=aa.AdviceCreate,
                admin=True,
            ),
        },
        "/api/v1/admin/advice/performance": {
            "get": _op(
                "Per-piece and per-tag performance (shown, reactions, mean reward with a 95 % interval)",
                ("200", "Pieces worst first, tags.", aa.AdvicePerformanceOut),
                admin=True,
                params=[days_q],
            )
        },
        "/api/v1/admin/advice/{advice_id}": {
            "patch": {
                **_op(
                    "Edit a piece (audit-logged; an edited built-in piece is kept across upgrades)",
                    ("200", "Changed.", aa.LibraryPieceOut),
                    body=aa.AdviceUpdate,
                    admin=True,
                    extra=missing,
                ),
                "parameters": [advice_id],
            }
        },
        "/api/v1/admin/advice/{advice_id}/status": {
            "post": {
                **_op(
                    "Retire or restore a piece (audit-logged)",
                    ("200", "Changed.", aa.LibraryPieceOut),
                    body=aa.AdviceStatus,
                    admin=True,
                    extra=missing,
                ),
                "parameters": [advice_id],
            }
        },
    }


@lru_cache
def document() -> dict[str, Any]:
    """The OpenAPI document (built once)."""
    _, schemas = models_json_schema(
        [(model, "validation") for model in _MODELS], ref_template="#/components/schemas/{model}"
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "oO API",
            "version": VERSION,
            "description": "One tip, its reason, and your reactions. Authenticate with the session cookie "
            "(same-origin writes) or `Authorization: Bearer <api token>`.",
        },
        "servers": [{"url": "/"}],
        "paths": _paths(),
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "oo_session"},
            },
        },
        "security": [{"bearer": []}, {"session": []}],
    }
