"""AdminRecommendationsState: the searchable R5 recommendation log (A9)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin.state.base import REFUSED, AdminPageMixin, PagedMixin, text_rows
from oo.db import session_scope
from oo.services.admin import recommendation_log as admin_reclog
from oo.services.admin.inputs import AdminInputError
from oo.state.auth import AuthState

FILTERS = ("user_id", "policy", "reaction", "channel", "fallback", "tip_id", "window")
DEFAULTS = {"reaction": "any", "channel": "any", "fallback": "any", "window": "7d"}


class AdminRecommendationsState(PagedMixin, AdminPageMixin, AuthState):
    """The /admin/recommendations log."""

    filters: dict[str, str] = DEFAULTS
    rows: list[dict[str, str]] = []

    def _load_page(self) -> None:
        self._search()

    def _search(self) -> None:
        self.error = ""
        try:
            with session_scope() as session:
                result = admin_reclog.search(session=session, page=self.page, **self.filters)
        except AdminInputError as exc:
            self.error = str(exc)
            return
        except Exception:
            self._failed("recommendation log")
            return
        self.rows, self.has_next = text_rows(result.rows), result.has_next

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then show the newest tips."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        self._search()
        return None

    @rx.event
    def search(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Filter the log (each filter is validated by the service)."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        form = form if isinstance(form, dict) else {}
        self.filters = {k: str(form.get(k) or DEFAULTS.get(k, ""))[:80] for k in FILTERS}
        self.page = 1
        self._search()
        return None
