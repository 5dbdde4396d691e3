"""AdminUsersState: search users, one user's detail, and the actions on that user (A1, A4)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin import charts
from admin.state.base import REFUSED, AdminPageMixin, PagedMixin, text_rows
from oo.db import session_scope
from oo.services.accounts.sessions import CurrentUser
from oo.services.admin import users as admin_users
from oo.services.admin.inputs import AdminInputError
from oo.services.sources import catalog as sources
from oo.state.auth import AuthState


class AdminUsersState(PagedMixin, AdminPageMixin, AuthState):
    """The /admin/users explorer."""

    query: str = ""
    rows: list[dict[str, str]] = []
    identity: dict[str, str] = {}
    consents: list[dict[str, str]] = []
    integrations: list[dict[str, str]] = []
    last_tip: dict[str, str] = {}
    rewards: list[dict[str, str]] = []
    reward_fig: dict[str, Any] = {}
    _selected: int = 0

    def _load_page(self) -> None:
        self._run("user list", self._list)

    def _list(self) -> None:
        with session_scope() as session:
            result = admin_users.search_users(session=session, query=self.query, page=self.page)
        self.rows, self.has_next = text_rows(result.rows), result.has_next

    def _detail(self, user_id: Any) -> None:
        with session_scope() as session:
            detail = admin_users.user_detail(session=session, user_id=user_id)
        self._selected = int(detail["identity"]["id"])
        self.identity, self.last_tip = detail["identity"], detail["last_tip"]
        self.consents, self.integrations = detail["consents"], detail["integrations"]
        self.rewards = text_rows(detail["rewards"][-20:][::-1])
        running, points = 0.0, []
        for r in detail["rewards"]:
            running += r["reward"]
            points.append({"when": r["when"], "cumulative reward": round(running, 2)})
        self.reward_fig = charts.as_json(
            charts.lines(points, x="when", series=["cumulative reward"], title="Reward history")
        )

    def _reload(self, admin: CurrentUser) -> None:
        self._list()
        if self._selected:
            self._detail(self._selected)

    def _run(self, what: str, fn: Any, *args: Any) -> None:
        self.error = ""
        try:
            fn(*args)
        except AdminInputError as exc:
            self.error = str(exc)
        except Exception:
            self._failed(what)

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then list the newest users."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        self._run("user list", self._list)
        return None

    @rx.event
    def search(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Search by id, email or name (first page)."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        query = form.get("query", "") if isinstance(form, dict) else ""
        self.query, self.page = query if isinstance(query, str) else "", 1
        self._run("user search", self._list)
        return None

    @rx.event
    def open_user(self, user_id: str) -> rx.event.EventSpec | None:
        """Show one user's detail."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        self._run("user detail", self._detail, user_id)
        return None

    @rx.event
    def ask_reset(self) -> rx.event.EventSpec | None:
        """Ask before resetting the selected user's bandit."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        if not self._selected:
            self.error = "Open a user first."
            return None
        self._ask(
            f"Reset every learned model of user {self._selected}? Their next tips start cold.",
            action="bandit.reset",
            target=f"user:{self._selected}",
        )
        return None

    @rx.event
    def ask_revoke(self, provider: str) -> rx.event.EventSpec | None:
        """Ask before revoking one of the selected user's integrations."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        if not self._selected or provider not in sources.LABELS:
            self.error = "Open a user and pick one of their integrations."
            return None
        self._ask(
            f"Revoke user {self._selected}'s {sources.LABELS[provider]} access and delete its cached tasks?",
            action="integration.revoke",
            target=f"user:{self._selected}",
            provider=provider,
        )
        return None

    @rx.event
    def ask_role(self, role: str) -> rx.event.EventSpec | None:
        """Ask before granting or revoking the admin role of the selected user."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        if not self._selected or role not in admin_users.ROLES:
            self.error = "Open a user first."
            return None
        verb = "Grant the admin role to" if role == "admin" else "Revoke the admin role of"
        self._ask(
            f"{verb} user {self._selected}?",
            action="role.grant" if role == "admin" else "role.revoke",
            target=f"user:{self._selected}",
            role=role,
        )
        return None

    async def _execute(self, admin: CurrentUser, pending: dict[str, Any]) -> str:
        user_id = int(pending["target"].split(":", 1)[1])
        with session_scope() as session:
            if pending["action"] == "bandit.reset":
                n = admin_users.reset_bandit(session=session, admin_id=admin.id, user_id=user_id)
                return f"Reset user {user_id}'s bandit ({n} stored models deleted)."
            if pending["action"] == "integration.revoke":
                remote = await admin_users.revoke_integration(
                    session=session, admin_id=admin.id, user_id=user_id, provider=pending["provider"]
                )
                said = {True: "confirmed by the provider", False: "not confirmed by the provider"}.get(
                    remote, "local"
                )
                return f"Revoked user {user_id}'s {pending['provider']} integration ({said})."
            admin_users.set_role(session=session, admin_id=admin.id, user_id=user_id, role=pending["role"])
            return f"User {user_id} now has the {pending['role']} role."
