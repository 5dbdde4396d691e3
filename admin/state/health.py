"""AdminHealthState: app, learner, database, bus, scheduler and push, refreshed every 15 s (A14)."""

from __future__ import annotations

import reflex as rx

from admin.state.base import REFUSED, AdminPageMixin
from oo.db import session_scope
from oo.jobs.scheduler import status as scheduler_status
from oo.models import utcnow
from oo.services.admin import health as admin_health
from oo.services.platform import event_bus as events
from oo.state.auth import AuthState


class AdminHealthState(AdminPageMixin, AuthState):
    """The /admin/health page."""

    checks: list[dict[str, str]] = []
    checked_at: str = ""

    def _check(self) -> None:
        try:
            with session_scope() as session:
                found = admin_health.checks(
                    session=session, bus=events.bus(), scheduler_status=scheduler_status()
                )
        except Exception:
            self._failed("health")
            found = [admin_health.Check("database", "down", "no session could be opened")]
        self.checks = [
            {"name": c.name, "status": c.status, "detail": c.detail, "ms": f"{c.ms:.1f}"} for c in found
        ]
        self.checked_at = utcnow().strftime("%H:%M:%S UTC")

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then every component."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        self._check()
        return None

    @rx.event
    def refresh(self) -> rx.event.EventSpec | None:
        """Re-check (the page calls this every 15 s)."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        self._check()
        return None
