"""AdminOverviewState: DAU/WAU, tips served, reactions and the activation funnel (A3)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin import charts
from admin.state.base import REFUSED, AdminPageMixin
from oo.db import session_scope
from oo.services.accounts.sessions import CurrentUser
from oo.services.admin import overview as admin_overview
from oo.state.auth import AuthState

KPI_LABELS = {
    "dau": "Active users (24 h)",
    "wau": "Active users (7 days)",
    "tips_24h": "Tips served (24 h)",
    "tips_7d": "Tips served (7 days)",
    "users": "People signed up",
    "new_users_7d": "New sign-ups (7 days)",
}


class AdminOverviewState(AdminPageMixin, AuthState):
    """The /admin overview."""

    kpis: dict[str, str] = {}
    funnel_fig: dict[str, Any] = {}
    reactions_fig: dict[str, Any] = {}
    daily_fig: dict[str, Any] = {}

    def _reload(self, admin: CurrentUser) -> None:
        with session_scope() as session:
            data = admin_overview.overview(session=session)
        self.kpis = {k: f"{v:,}" for k, v in data.kpis.items()}
        self.funnel_fig = charts.as_json(
            charts.bars(data.funnel, x="users", y="step", title="Activation funnel", horizontal=True)
        )
        self.reactions_fig = charts.as_json(
            charts.pie(data.reactions, label="reaction", value="count", title="Reactions (7 days)")
        )
        self.daily_fig = charts.as_json(
            charts.lines(data.daily, x="day", series=["tips", "users"], title="Tips and users per day")
        )

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then load the numbers."""
        try:
            admin = self._require_admin()
        except REFUSED:
            return self._refuse()
        try:
            self._reload(admin)
        except Exception:
            self._failed("overview load")
        return None
