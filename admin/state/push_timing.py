"""AdminPushState: the push funnel by local hour, and one user's timing model and last decisions."""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin import charts
from admin.state.base import AdminPageMixin
from admin.state.guard import admin_event
from oo.db import session_scope
from oo.services.admin import push_timing as admin_push
from oo.state.auth import AuthState

WINDOWS = (7, 30, 90)


class AdminPushState(AdminPageMixin, AuthState):
    """The /admin/push page."""

    days: int = 30
    funnel_fig: dict[str, Any] = {}
    funnel_rows: list[dict[str, str]] = []
    user_id: str = ""
    model_fig: dict[str, Any] = {}
    decisions: list[dict[str, str]] = []

    def _show(self) -> None:
        self.error = ""
        uid = int(self.user_id) if self.user_id.isdigit() else None
        try:
            with session_scope() as session:
                funnel = admin_push.funnel_by_hour(session=session, days=self.days)
                model = admin_push.send_probability_by_hour(session=session, user_id=uid) if uid else []
                self.decisions = admin_push.last_decisions(session=session, user_id=uid) if uid else []
        except Exception:
            self._failed("push funnel")
            return
        self.funnel_rows = [{k: str(v) for k, v in r.items()} for r in funnel if r["decided"]]
        self.funnel_fig = charts.as_json(
            charts.lines(
                funnel,
                x="hour",
                series=list(admin_push.STAGES),
                title=f"Push funnel by local hour, {self.days} days",
            )
        )
        self.model_fig = charts.as_json(
            charts.bars(
                model, x="hour", y="p_send", title=f"User {self.user_id}: P(send) by local hour", percent=True
            )
            if model
            else charts.empty("Timing model", "Enter a user id")
        )

    @admin_event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then count."""
        self._show()
        return None

    @admin_event
    def set_window(self, days: str) -> rx.event.EventSpec | None:
        """7, 30 or 90 days."""
        self.days = int(days) if isinstance(days, str) and days.isdigit() and int(days) in WINDOWS else 30
        self._show()
        return None

    @admin_event
    def choose(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Show one user's timing model and last decisions."""
        value = form.get("user_id", "") if isinstance(form, dict) else ""
        value = value.strip()[:12] if isinstance(value, str) else ""
        self.user_id = value if value.isdigit() else ""
        self._show()
        if value and not self.user_id:
            self.error = "A user id is a number."
        return None
