"""The admin & ML-ops console under /admin (only `oo.oo` imports this package).

`register` adds every admin page to the app, each with an ``on_load`` that re-checks the admin
role on the server; `AdminGate` answers 403 to non-admins loading an admin URL directly.
"""

from __future__ import annotations

import reflex as rx

from admin import pages, routes
from admin.http import AdminGate
from admin.layout import forbidden_page
from admin.state.advice import AdminAdviceState
from admin.state.audit import AdminAuditState
from admin.state.events import AdminEventsState
from admin.state.experiments import AdminExperimentsState
from admin.state.features import AdminFeaturesState
from admin.state.glossary import AdminGlossaryState
from admin.state.health import AdminHealthState
from admin.state.ops import AdminOpsState
from admin.state.overview import AdminOverviewState
from admin.state.policies import AdminPoliciesState
from admin.state.push_timing import AdminPushState
from admin.state.quality import AdminQualityState
from admin.state.recommendations import AdminRecommendationsState
from admin.state.rewards import AdminRewardsState
from admin.state.sql import AdminSqlState
from admin.state.users import AdminUsersState

__all__ = ["STATES", "AdminGate", "register"]

PAGES = (
    (pages.overview_page, routes.OVERVIEW, "Overview", AdminOverviewState),
    (pages.users_page, routes.USERS, "Users", AdminUsersState),
    (pages.events_page, routes.EVENTS, "Event stream", AdminEventsState),
    (pages.features_page, routes.FEATURES, "Features", AdminFeaturesState),
    (pages.policies_page, routes.POLICIES, "Policies", AdminPoliciesState),
    (pages.experiments_page, routes.EXPERIMENTS, "Experiments", AdminExperimentsState),
    (pages.recommendations_page, routes.RECOMMENDATIONS, "Recommendations", AdminRecommendationsState),
    (pages.rewards_page, routes.REWARDS, "Rewards", AdminRewardsState),
    (pages.push_page, routes.PUSH, "Push timing", AdminPushState),
    (pages.quality_page, routes.QUALITY, "Data quality", AdminQualityState),
    (pages.ops_page, routes.OPS, "Ops", AdminOpsState),
    (pages.sql_page, routes.SQL, "SQL", AdminSqlState),
    (pages.health_page, routes.HEALTH, "Health", AdminHealthState),
    (pages.audit_page, routes.AUDIT, "Audit log", AdminAuditState),
    (pages.glossary_page, routes.GLOSSARY, "Glossary", AdminGlossaryState),
    (pages.advice_page, routes.ADVICE, "Advice", AdminAdviceState),
)
STATES = tuple(state for *_, state in PAGES)


def register(app: rx.App) -> None:
    """Add the admin pages (and the 403 page) to ``app``."""
    for page, route, title, state in PAGES:
        app.add_page(page, route=route, title=f"{title} · oO admin", on_load=state.load)
    app.add_page(forbidden_page, route=routes.FORBIDDEN, title="403 · oO admin")
