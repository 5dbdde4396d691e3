"""AdminOpsState: revoke a token, replay a signal, disable or promote a shadow policy (A12)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin.state.base import REFUSED, AdminPageMixin, text_rows
from admin.state.policies import ask_policy_change
from oo.db import session_scope
from oo.services.accounts.sessions import CurrentUser
from oo.services.admin import event_stream as admin_events
from oo.services.admin import policies as admin_policies
from oo.services.admin import users as admin_users
from oo.services.admin.inputs import AdminInputError, parse_int
from oo.services.sources import catalog as sources
from oo.state.auth import AuthState


class AdminOpsState(AdminPageMixin, AuthState):
    """The /admin/ops page."""

    policies: list[dict[str, str]] = []
    recent: list[dict[str, str]] = []

    def _reload(self, admin: CurrentUser | None = None) -> None:
        with session_scope() as session:
            rows = admin_policies.list_policies(session=session)
            recent = admin_events.history(session=session, since="all", page_size=10).rows
        self.policies = text_rows([r for r in rows if r["status"] != "archived"])
        self.recent = text_rows(recent)

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then list what the actions work on."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        try:
            self._reload()
        except Exception:
            self._failed("ops page")
        return None

    @rx.event
    def ask_revoke(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Ask before revoking a user's provider token."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        form = form if isinstance(form, dict) else {}
        provider = form.get("provider")
        try:
            user_id = parse_int(form.get("user_id"), "user id")
        except AdminInputError as exc:
            self.error = str(exc)
            return None
        if provider not in sources.LABELS:
            self.error = "Pick a provider."
            return None
        self._ask(
            f"Revoke user {user_id}'s {sources.LABELS[provider]} token and delete the integration?",
            action="integration.revoke",
            target=f"user:{user_id}",
            user_id=user_id,
            provider=provider,
        )
        return None

    @rx.event
    def ask_replay(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Ask before replaying a stored signal."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        event_id = form.get("event_id") if isinstance(form, dict) else None
        event_id = event_id.strip().lower() if isinstance(event_id, str) else ""
        if not admin_events.EVENT_ID.match(event_id):
            self.error = "An event id is 32 hexadecimal characters."
            return None
        self._ask(
            f"Replay event {event_id}? Its handlers run again (marked as a replay).",
            action="event.replay",
            target=f"event:{event_id}",
            event_id=event_id,
        )
        return None

    @rx.event
    def ask_policy(self, policy_id: str, status: str) -> rx.event.EventSpec | None:
        """Ask before promoting a shadow policy or disabling (archiving) one."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        ask_policy_change(self, policy_id, status)
        return None

    async def _execute(self, admin: CurrentUser, pending: dict[str, Any]) -> str:
        with session_scope() as session:
            if pending["action"] == "integration.revoke":
                remote = await admin_users.revoke_integration(
                    session=session,
                    admin_id=admin.id,
                    user_id=pending["user_id"],
                    provider=pending["provider"],
                )
                said = {True: "confirmed by the provider", False: "not confirmed by the provider"}.get(
                    remote, "local"
                )
                return f"Revoked user {pending['user_id']}'s {pending['provider']} integration ({said})."
            if pending["action"] == "event.replay":
                replay = await admin_events.replay(
                    session=session, admin_id=admin.id, event_id=pending["event_id"]
                )
                return f"Replayed {pending['event_id']} as {replay.id}."
            policy = admin_policies.set_status(
                session=session, admin_id=admin.id, policy_id=pending["policy_id"], status=pending["status"]
            )
            return f"{policy.name}@{policy.version} is now {policy.status}."
