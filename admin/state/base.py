"""What every admin page state shares: the server-side role check, refusals, confirmations.

Every admin event handler starts with ``self._require_admin()`` (from `AuthState`), which
re-validates the HttpOnly session cookie and re-reads the role from the database on each call.
A caller without a session is sent to sign-in, a signed-in non-admin to the 403 page, and in
both cases the page's own vars are reset, so nothing an admin loaded stays in that tab.

Writes go through a confirmation: an ``ask_*`` handler validates and stores the pending action
server-side (``_pending``, never sent to the browser) and opens the dialog; `confirm` runs it
(the page's `_execute`), the service writes the audit row in the action's transaction, and a
``signals.admin.action`` event announces it on the bus.
"""

from __future__ import annotations

import logging
from typing import Any

import reflex as rx

from admin import routes
from oo.bus import AdminAction as AdminActionEvent
from oo.bus import Event
from oo.services.accounts.sessions import CurrentUser
from oo.services.admin.inputs import AdminInputError
from oo.services.platform import event_bus as events
from oo.state.auth import NotAuthorized, NotSignedIn

log = logging.getLogger("oo.admin")
REFUSED = (NotSignedIn, NotAuthorized)
FAILED = "That failed on the server and nothing was changed; the error is in the server log."


def text_rows(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Table rows with every cell as text (what the page renders)."""
    return [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]


class AdminPageMixin(rx.State, mixin=True):
    """Mixed into every admin page state (each page gets its own copy of these vars)."""

    notice: str = ""
    error: str = ""
    confirm_open: bool = False
    confirm_text: str = ""
    _pending: dict[str, Any] = {}

    def _refuse(self) -> rx.event.EventSpec:
        """Forget this page's data and send the caller to sign-in (no session) or the 403 page."""
        signed_in = self.signed_in  # type: ignore[attr-defined]  (AuthState, via the page state)
        self.reset()
        return rx.redirect(routes.FORBIDDEN if signed_in else routes.SIGNIN, replace=True)

    def _ask(self, text: str, **pending: Any) -> None:
        """Open the confirmation dialog for ``pending`` (must name an ``action``)."""
        self._pending, self.confirm_text, self.confirm_open = pending, text, True
        self.error = ""

    def _failed(self, what: str) -> None:
        log.exception("admin %s failed", what)
        self.error = FAILED

    async def _execute(self, admin: CurrentUser, pending: dict[str, Any]) -> str:
        """Run a confirmed action; return the notice to show. Pages override this."""
        raise AdminInputError("This page has no actions.")

    def _reload(self, admin: CurrentUser) -> None:
        """Refresh the page's data after an action. Pages override this."""

    @rx.event
    async def confirm(self) -> rx.event.EventSpec | None:
        """Run the action the admin was asked to confirm."""
        try:
            admin = self._require_admin()  # type: ignore[attr-defined]
        except REFUSED:
            return self._refuse()
        pending, self._pending = self._pending, {}
        self.confirm_open, self.confirm_text, self.notice, self.error = False, "", "", ""
        if not pending:
            self.error = "There is nothing to confirm."
            return None
        try:
            self.notice = await self._execute(admin, pending)
        except AdminInputError as exc:
            self.error = str(exc)
            return None
        except Exception:
            self._failed(str(pending.get("action")))
            return None
        await events.publish(
            Event.of(
                AdminActionEvent(action=pending["action"], target=str(pending.get("target", "")), params={}),
                user_id=admin.id,
            )
        )
        try:
            self._reload(admin)
        except Exception:
            self._failed("reload")
        return None

    @rx.event
    def cancel(self) -> rx.event.EventSpec | None:
        """Close the confirmation dialog without doing anything."""
        try:
            self._require_admin()  # type: ignore[attr-defined]
        except REFUSED:
            return self._refuse()
        self._pending, self.confirm_open, self.confirm_text = {}, False, ""
        return None


class PagedMixin(rx.State, mixin=True):
    """Server-side pagination of an admin table: ``page``, ``has_next`` and the two handlers.

    Mixed in before `AdminPageMixin`; the page state implements `_load_page` (load ``self.page``
    and set ``has_next``).
    """

    page: int = 1
    has_next: bool = False

    def _load_page(self) -> None:
        """Load ``self.page``. Pages override this."""

    @rx.event
    def next_page(self) -> rx.event.EventSpec | None:
        """The next (older) page."""
        try:
            self._require_admin()  # type: ignore[attr-defined]
        except REFUSED:
            return self._refuse()  # type: ignore[attr-defined]
        if self.has_next:
            self.page += 1
            self._load_page()
        return None

    @rx.event
    def prev_page(self) -> rx.event.EventSpec | None:
        """The previous (newer) page."""
        try:
            self._require_admin()  # type: ignore[attr-defined]
        except REFUSED:
            return self._refuse()  # type: ignore[attr-defined]
        self.page = max(1, self.page - 1)
        self._load_page()
        return None
