"""YoursState: "Your data" on /connect — what oO has learned, Download my data, Reset (U9).

The download itself is an HTTP route (oo/api_account.py) under the session cookie; this state
only knows where to post. Every handler re-derives the user from the server-side session.
"""

from __future__ import annotations

import logging

import reflex as rx

from oo import loopback, routes
from oo.db import session_scope
from oo.services.learning import learner
from oo.services.privacy import your_data
from oo.settings import get_settings
from oo.state.auth import AuthState
from oo.state.guard import signed_in_user, user_event

log = logging.getLogger("oo.yours")


class YoursState(AuthState):
    """The "Your data" part of /connect."""

    learned: list[str] = []
    my_data_url: str = ""
    confirming_reset: bool = False
    yours_message: str = ""

    def _read(self, user_id: int) -> None:
        with session_scope() as session:
            self.learned = your_data.learned(session=session, user_id=user_id).sentences

    @user_event
    def load(self) -> rx.event.EventSpec | None:
        """What oO has learned, and where the download posts."""
        user = signed_in_user()
        self.my_data_url = loopback.backend_link(get_settings(), self.router.headers.host, routes.MY_DATA)
        self.confirming_reset, self.yours_message = False, ""
        self._read(user.id)
        return None

    @user_event
    def ask_reset(self) -> rx.event.EventSpec | None:
        """Show the confirmation."""
        self.confirming_reset, self.yours_message = True, ""
        return None

    @user_event
    def cancel_reset(self) -> None:
        """Hide the confirmation; nothing happens."""
        self.confirming_reset = False

    @user_event
    def reset_learning(self) -> rx.event.EventSpec | None:
        """Delete the caller's models (confirmed): oO starts learning again from scratch."""
        user = signed_in_user()
        if not self.confirming_reset:  # the confirmation is part of the contract, also over the socket
            return None
        try:
            with session_scope() as session:
                learner.reset(session=session, user_id=user.id)
        except Exception:
            log.exception("resetting the models of user %s failed", user.id)
            self.yours_message = "That didn't go through. Try again."
            return None
        log.info("user %s reset what oO learned", user.id)
        self.confirming_reset = False
        self.yours_message = "Done. oO starts learning about you again from scratch."
        self._read(user.id)
        return None
