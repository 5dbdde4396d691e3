"""AdminPoliciesState: the policy registry and promote / shadow / archive (A7)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin.state.base import REFUSED, AdminPageMixin, text_rows
from oo.db import session_scope
from oo.services.accounts.sessions import CurrentUser
from oo.services.admin import model_cards
from oo.services.admin import policies as admin_policies
from oo.services.admin.inputs import AdminInputError, parse_text
from oo.state.auth import AuthState

VERBS = {
    "active": "Promote {key} to active (the current active policy becomes a shadow)?",
    "shadow": "Move {key} to shadow (scored on every request, never served)?",
    "archived": "Archive {key} (no longer scored)?",
}


def ask_policy_change(state: Any, policy_id: Any, status: Any, reason: str = "") -> None:
    """Validate a registry change against the current rows and open the confirmation."""
    if status not in VERBS:
        state.error = "Unknown status."
        return
    with session_scope() as session:
        rows = {str(r["id"]): r for r in admin_policies.list_policies(session=session)}
    row = rows.get(str(policy_id))
    if row is None:
        state.error = "Unknown policy."
        return
    text = VERBS[status].format(key=row["key"])
    if status == "active" and reason:
        text += f" If the off-policy gate refuses, override with the reason: “{reason}”."
    state._ask(
        text,
        action=admin_policies.ACTION_FOR[status],
        target=f"policy:{row['key']}",
        policy_id=row["id"],
        status=status,
        reason=reason,
    )


class AdminPoliciesState(AdminPageMixin, AuthState):
    """The /admin/policies registry."""

    rows: list[dict[str, str]] = []
    cards: list[dict[str, str]] = []
    override_reason: str = ""

    def _reload(self, admin: CurrentUser | None = None) -> None:
        with session_scope() as session:
            self.rows = text_rows(admin_policies.list_policies(session=session))
        self.cards = model_cards.cards_text()

    @rx.event
    def set_reason(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Remember an override reason for the next promotion (audit-logged if it is used)."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        try:
            reason = parse_text(form.get("reason") if isinstance(form, dict) else None, "reason", max_len=500)
        except AdminInputError as exc:
            self.error = str(exc)
            return None
        self.override_reason, self.error = reason, ""
        self.notice = f"Override reason set: {reason}" if reason else "Override reason cleared."
        return None

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then list the registry."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        try:
            self._reload()
        except Exception:
            self._failed("policy list")
        return None

    @rx.event
    def ask_status(self, policy_id: str, status: str) -> rx.event.EventSpec | None:
        """Ask before promoting, shadowing or archiving a policy."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        ask_policy_change(self, policy_id, status, self.override_reason)
        return None

    async def _execute(self, admin: CurrentUser, pending: dict[str, Any]) -> str:
        with session_scope() as session:
            policy = admin_policies.set_status(
                session=session,
                admin_id=admin.id,
                policy_id=pending["policy_id"],
                status=pending["status"],
                override_reason=pending.get("reason") or None,
            )
        self.override_reason = ""
        return f"{policy.name}@{policy.version} is now {policy.status}."
