"""The Starlette sub-app mounted in front of Reflex: every HTTP route of oO, in match order."""

from __future__ import annotations

from starlette.applications import Starlette

from oo.http import account_routes, api_v1, signin_routes, todoist_routes


def create_api() -> Starlette:
    """The Starlette sub-app mounted in front of Reflex (its routes match first)."""
    return Starlette(
        routes=[
            *signin_routes.ROUTES,
            *account_routes.ROUTES,
            *todoist_routes.ROUTES,  # before the generic /auth/{provider}/... routes
            *api_v1.ROUTES,
            *signin_routes.PROVIDER_ROUTES,
        ]
    )
