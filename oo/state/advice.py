"""AdviceSwitchState: the **Advice** switch on /connect (R10)."""

from __future__ import annotations

import logging

import reflex as rx

from oo.db import session_scope
from oo.services.advice import preferences
from oo.state.auth import AuthState
from oo.state.guard import signed_in_user, user_event

log = logging.getLogger("oo.advice")


class AdviceSwitchState(AuthState):
    """The user's choice to get advice mixed in with tasks."""

    advice_on: bool = True
    advice_message: str = ""

    @user_event
    def load(self) -> rx.event.EventSpec | None:
        """Read the switch."""
        user = signed_in_user()
        with session_scope() as session:
            self.advice_on = preferences.is_enabled(session=session, user_id=user.id)
        self.advice_message = ""
        return None

    @user_event
    def set_advice(self, checked: bool) -> rx.event.EventSpec | None:
        """Store the switch for the signed-in user (never another's: the id comes from the session)."""
        user = signed_in_user()
        if not isinstance(checked, bool):
            self.advice_message = "That didn't go through. Try again."
            return None
        try:
            with session_scope() as session:
                self.advice_on = preferences.set_enabled(session=session, user_id=user.id, enabled=checked)
        except Exception:
            log.exception("saving the advice switch of user %s failed", user.id)
            self.advice_message = "That didn't go through. Try again."
            return None
        self.advice_message = "Advice on." if self.advice_on else "Advice off: only your tasks."
        return None
