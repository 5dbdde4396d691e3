"""AccountState: notification quiet hours and account deletion on /connect (U6, U7)."""

from __future__ import annotations

import logging

import reflex as rx

from oo import routes
from oo.db import session_scope
from oo.models import User
from oo.services.privacy import deletion
from oo.services.push import subscriptions as push
from oo.services.push.rules import QuietHoursError
from oo.settings import get_settings
from oo.state import tab_erasure
from oo.state.auth import AuthState
from oo.state.guard import signed_in_user, user_event

log = logging.getLogger("oo.account")


class AccountState(AuthState):
    """The account part of /connect."""

    quiet_hours: str = ""
    devices: int = 0
    account_message: str = ""
    confirming_delete: bool = False
    deleting: bool = False

    @user_event
    def load(self) -> rx.event.EventSpec | None:
        """Read the user's quiet hours and how many devices get pushes."""
        user = signed_in_user()
        with session_scope() as session:
            row = session.get(User, user.id)
            stored = row.quiet_hours if row else None
            self.devices = len(push.subscriptions(session=session, user_id=user.id))
        self.quiet_hours = (
            get_settings().default_quiet_hours if stored is None else ("" if stored == "none" else stored)
        )
        self.confirming_delete = self.deleting = False
        self.account_message = ""
        return None

    @user_event
    def save_quiet_hours(self, form: dict) -> rx.event.EventSpec | None:
        """Store quiet hours from the form (``22-8``, or empty for none)."""
        user = signed_in_user()
        value = form.get("quiet_hours", "") if isinstance(form, dict) else ""
        if not isinstance(value, str) or len(value) > 16:
            self.account_message = "Quiet hours must look like 22-8."
            return None
        try:
            with session_scope() as session:
                saved = push.set_quiet_hours(session=session, user_id=user.id, value=value)
        except QuietHoursError as exc:
            self.account_message = f"{str(exc).capitalize()}."
            return None
        self.quiet_hours = "" if saved == "none" else saved
        self.account_message = "No quiet hours." if saved == "none" else f"Quiet hours saved: {saved}."
        return None

    @user_event
    def ask_delete(self) -> rx.event.EventSpec | None:
        """Show the confirmation."""
        self.confirming_delete = True
        return None

    @user_event
    def cancel_delete(self) -> None:
        """Hide the confirmation; nothing happens."""
        self.confirming_delete = False

    @user_event
    async def delete_forever(self) -> rx.event.EventSpec | None:
        """Delete the caller's account (confirmed): revoke, purge, tombstone, sign out."""
        user = signed_in_user()
        if not self.confirming_delete:  # the confirmation step is part of the contract, also over the socket
            return None
        self.deleting = True
        await deletion.delete_account(user_id=user.id)
        # Every other tab's stored state goes; this tab's is reset (it is written back after us).
        await tab_erasure.erase_user_tabs(user.id, keep_token=self.router.session.client_token)
        tab_erasure.reset_tab(self._get_root_state())
        self._forget()
        self.confirming_delete = self.deleting = False
        return rx.redirect(f"{routes.SIGNIN}?deleted=1", replace=True)
