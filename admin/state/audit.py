"""AdminAuditState: the append-only audit log, filterable (A2)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin.state.base import REFUSED, AdminPageMixin, PagedMixin, text_rows
from oo.db import session_scope
from oo.services.admin import audit as admin_audit
from oo.services.admin.inputs import AdminInputError
from oo.state.auth import AuthState


class AdminAuditState(PagedMixin, AdminPageMixin, AuthState):
    """The /admin/audit log."""

    action: str = ""
    admin_id: str = ""
    target: str = ""
    rows: list[dict[str, str]] = []

    def _load_page(self) -> None:
        self._list()

    def _list(self) -> None:
        self.error = ""
        try:
            with session_scope() as session:
                result = admin_audit.list_actions(
                    session=session,
                    action=self.action,
                    admin_id=self.admin_id,
                    target=self.target,
                    page=self.page,
                )
        except AdminInputError as exc:
            self.error = str(exc)
            return
        except Exception:
            self._failed("audit log")
            return
        self.rows, self.has_next = text_rows(result.rows), result.has_next

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then show the newest entries."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        self._list()
        return None

    @rx.event
    def filter(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Filter by action, admin id and target."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        form = form if isinstance(form, dict) else {}
        self.action, self.admin_id, self.target = (
            str(form.get(k) or "")[:200] for k in ("action", "admin_id", "target")
        )
        self.page = 1
        self._list()
        return None
