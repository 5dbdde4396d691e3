"""The versioned JSON API (``/api/v1``): recommend, feedback, API tokens, learner ops, OpenAPI.

`ROUTES` is mounted in `oo.http.app.create_api` (Starlette, matched before Reflex). See
``docs/recommender.md`` for the contract and curl examples.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from oo.http.api_v1 import admin, admin_advice, openapi, push
from oo.http.api_v1.routes import (
    create_token,
    guarded,
    list_tokens,
    post_feedback,
    recommend,
    revoke_token,
    rotate_token,
)


async def openapi_json(request: Request) -> Response:
    """The OpenAPI document of this API."""
    return JSONResponse(openapi.document())


ROUTES = [
    Route("/api/v1/openapi.json", openapi_json, methods=["GET"]),
    Route("/api/v1/recommend", guarded(recommend), methods=["POST"]),
    Route("/api/v1/feedback", guarded(post_feedback), methods=["POST"]),
    Route("/api/v1/push/subscribe", guarded(push.subscribe), methods=["POST"]),
    Route("/api/v1/push/unsubscribe", guarded(push.unsubscribe), methods=["POST"]),
    Route("/api/v1/push/react", guarded(push.react), methods=["POST"]),
    Route("/api/v1/tokens", guarded(list_tokens), methods=["GET"]),
    Route("/api/v1/tokens", guarded(create_token), methods=["POST"]),
    Route("/api/v1/tokens/{token_id}", guarded(revoke_token), methods=["DELETE"]),
    Route("/api/v1/tokens/{token_id}/rotate", guarded(rotate_token), methods=["POST"]),
    Route("/api/v1/admin/learner/score", guarded(admin.score), methods=["POST"]),
    Route("/api/v1/admin/learner/reward", guarded(admin.reward), methods=["POST"]),
    Route("/api/v1/admin/learner/reset", guarded(admin.reset), methods=["POST"]),
    Route("/api/v1/admin/learner/stats", guarded(admin.stats), methods=["GET"]),
    Route("/api/v1/admin/learner/features", guarded(admin.features), methods=["GET"]),
    Route("/api/v1/admin/learner/offpolicy", guarded(admin.offpolicy), methods=["GET"]),
    Route("/api/v1/admin/advice", guarded(admin_advice.list_advice), methods=["GET"]),
    Route("/api/v1/admin/advice", guarded(admin_advice.create_advice), methods=["POST"]),
    Route("/api/v1/admin/advice/performance", guarded(admin_advice.advice_performance), methods=["GET"]),
    Route("/api/v1/admin/advice/{advice_id}", guarded(admin_advice.update_advice), methods=["PATCH"]),
    Route(
        "/api/v1/admin/advice/{advice_id}/status",
        guarded(admin_advice.set_advice_status),
        methods=["POST"],
    ),
]
