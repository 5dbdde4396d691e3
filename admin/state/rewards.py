"""AdminRewardsState: rewards over time, per policy, by hour, priority and cohort (A10)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin import charts
from admin.state.base import REFUSED, AdminPageMixin
from oo.db import session_scope
from oo.services.admin import rewards as admin_rewards
from oo.services.admin.inputs import WINDOWS
from oo.state.auth import AuthState


class AdminRewardsState(AdminPageMixin, AuthState):
    """The /admin/rewards analytics."""

    window: str = "7d"
    daily_fig: dict[str, Any] = {}
    mean_fig: dict[str, Any] = {}
    policy_fig: dict[str, Any] = {}
    hour_fig: dict[str, Any] = {}
    priority_fig: dict[str, Any] = {}
    cohort_fig: dict[str, Any] = {}

    def _compute(self) -> None:
        try:
            with session_scope() as session:
                data = admin_rewards.analytics(session=session, window=self.window)
        except Exception:
            self._failed("reward analytics")
            return
        w = self.window
        self.daily_fig = charts.as_json(
            charts.stacked(
                data["daily"], x="day", stack="reaction", value="count", title=f"Reactions per day ({w})"
            )
        )
        self.mean_fig = charts.as_json(
            charts.mean_ci(data["daily_mean"], x="day", title="Mean reward per day (95 % CI)")
        )
        self.policy_fig = charts.as_json(
            charts.mean_ci(data["policy"], x="policy", title="Mean reward per policy")
        )
        self.hour_fig = charts.as_json(
            charts.mean_ci(data["hour"], x="hour", title="Mean reward by hour served (UTC)")
        )
        self.priority_fig = charts.as_json(
            charts.mean_ci(data["priority"], x="priority", title="Mean reward by task priority")
        )
        self.cohort_fig = charts.as_json(
            charts.mean_ci(data["cohort"], x="cohort", title="Mean reward by signup cohort")
        )

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then compute the analytics."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        self._compute()
        return None

    @rx.event
    def set_window(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Recompute over another time window."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        window = form.get("window") if isinstance(form, dict) else None
        if window not in WINDOWS:
            self.error = f"Window must be one of {', '.join(WINDOWS)}."
            return None
        self.window, self.error = window, ""
        self._compute()
        return None
