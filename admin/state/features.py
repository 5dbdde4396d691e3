"""AdminFeaturesState: features per scoring call and their diff over time for one user (A6)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin import charts
from admin.state.base import REFUSED, AdminPageMixin, PagedMixin, text_rows
from oo.db import session_scope
from oo.services.admin import features as admin_features
from oo.services.admin.inputs import AdminInputError
from oo.state.auth import AuthState


class AdminFeaturesState(PagedMixin, AdminPageMixin, AuthState):
    """The /admin/features browser."""

    user_id: str = ""
    rows: list[dict[str, str]] = []
    series_fig: dict[str, Any] = {}

    def _load_page(self) -> None:
        self._show()

    def _show(self) -> None:
        self.error = ""
        try:
            with session_scope() as session:
                if not self.user_id:
                    latest = admin_features.latest_user(session=session)
                    self.user_id = str(latest) if latest else ""
                if not self.user_id:
                    self.rows, self.has_next = [], False
                    self.series_fig = charts.as_json(
                        charts.empty("Features over time", "No scoring calls yet")
                    )
                    return
                result = admin_features.scoring_calls(session=session, user_id=self.user_id, page=self.page)
                series = admin_features.feature_series(session=session, user_id=self.user_id, limit=100)
        except AdminInputError as exc:
            self.error = str(exc)
            return
        except Exception:
            self._failed("feature browser")
            return
        self.rows, self.has_next = text_rows(result.rows), result.has_next
        self.series_fig = charts.as_json(
            charts.feature_lines(series, title=f"Most variable features of user {self.user_id}")
        )

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then show the most recently scored user."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        self._show()
        return None

    @rx.event
    def choose(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Show another user's scoring calls."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        value = form.get("user_id", "") if isinstance(form, dict) else ""
        self.user_id, self.page = (value.strip() if isinstance(value, str) else "")[:12], 1
        self._show()
        return None
