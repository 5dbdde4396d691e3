"""TipState: the one tip on /tip and the reactions to it (U3)."""

from __future__ import annotations

import logging

import reflex as rx

from oo import routes
from oo.db import session_scope
from oo.services import sources, tips
from oo.state.auth import AuthState, NotSignedIn

log = logging.getLogger("oo.tip")


class TipState(AuthState):
    """The /tip page."""

    text: str = ""
    loaded: bool = False
    revealed: bool = False
    has_source: bool = True
    _task_id: int = 0  # backend-only: which task the tip is; the client never names it

    def _show_next(self, user_id: int, exclude: int | None = None) -> None:
        with session_scope() as session:
            tip = tips.next_tip(session=session, user_id=user_id, exclude=exclude)
            self.has_source = sources.has_connected_source(session=session, user_id=user_id)
        self._task_id, self.text = (tip.task_id, tip.text) if tip else (0, "")
        self.revealed, self.loaded = False, True

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Show one tip."""
        try:
            user = self._require_user()
        except NotSignedIn:
            return rx.redirect(routes.SIGNIN, replace=True)
        self._show_next(user.id)
        return None

    @rx.event
    def toggle(self) -> None:
        """A tap on the tip shows (or hides) the reactions."""
        self.revealed = not self.revealed and self.text != ""

    def _react(self, reaction: tips.Reaction) -> rx.event.EventSpec | None:
        try:
            user = self._require_user()
        except NotSignedIn:
            return rx.redirect(routes.SIGNIN, replace=True)
        if not self._task_id:
            return None
        with session_scope() as session:
            tips.react(session=session, user_id=user.id, task_id=self._task_id, reaction=reaction)
        self._show_next(user.id, exclude=self._task_id)
        return None

    @rx.event
    def done(self) -> rx.event.EventSpec | None:
        """Done: the task is finished."""
        return self._react(tips.Reaction.DONE)

    @rx.event
    def snooze(self) -> rx.event.EventSpec | None:
        """Snooze: not now, later."""
        return self._react(tips.Reaction.SNOOZE)

    @rx.event
    def dismiss(self) -> rx.event.EventSpec | None:
        """Dismiss: not this one."""
        return self._react(tips.Reaction.DISMISS)
