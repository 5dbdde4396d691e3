"""TipState: the one tip on /tip and the reactions to it (U3).

The tip's id lives in a backend-only var: a reaction always applies to the tip this tab was
served, never to an id the client names. Each served tip gets a random public ``view_key``;
the page sends ``<view_key>-<reaction>`` as the idempotency key, so a double tap or a resent
event is recorded once and does not skip the next tip.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Collection

import reflex as rx

from oo import routes
from oo.db import session_scope
from oo.services.accounts.sessions import CurrentUser
from oo.services.sources.todoist import sync as todoist_sync
from oo.services.tips import feedback
from oo.services.tips import serving as tips
from oo.state.auth import AuthState, NotSignedIn

log = logging.getLogger("oo.tip")
LONG_PRESS_MS = 500
SAVE_FAILED = "That didn't go through. Try again."


def _sources(user_id: int) -> tips.SourceState:
    with session_scope() as session:
        return tips.source_state(session=session, user_id=user_id)


class TipState(AuthState):
    """The /tip page."""

    text: str = ""
    why: str = ""
    view_key: str = ""
    notice: str = ""
    loaded: bool = False
    revealed: bool = False
    has_source: bool = True
    needs_reconnect: bool = False
    more: bool = False
    _press_at: float = -1.0  # pointer-down timeStamp (ms, browser clock) of the press in progress
    _tip_id: str = ""  # backend-only: the served tip; the client never names it
    _task_id: int = 0

    async def _show_next(self, user: CurrentUser, exclude: Collection[int] = ()) -> None:
        try:
            rec = await tips.next_tip(user_id=user.id, timezone=user.timezone, exclude_task_ids=exclude)
            sources = await asyncio.to_thread(_sources, user.id)
        except Exception:  # the database is down: keep what is on screen, say so quietly
            log.exception("loading a tip for user %s failed", user.id)
            self.notice, self.loaded = "Can't reach your tips right now.", True
            return
        self._tip_id, self._task_id = rec.tip_id or "", rec.task_id or 0
        self.text, self.why = rec.text, "" if rec.empty else rec.explanation.summary
        self.view_key = secrets.token_urlsafe(9) if rec.tip_id else ""
        self.has_source, self.needs_reconnect = sources.has_source, sources.needs_reconnect
        self.revealed, self.more, self.loaded, self.notice = False, False, True, ""

    @rx.event
    async def load(self) -> rx.event.EventSpec | None:
        """Show one tip."""
        try:
            user = self._require_user()
        except NotSignedIn:
            return rx.redirect(routes.SIGNIN, replace=True)
        await todoist_sync.refresh_if_stale(user_id=user.id)  # Todoist tasks older than 30 s; never raises
        await self._show_next(user)
        return None

    @rx.event
    def toggle(self) -> None:
        """A tap on the tip shows (or hides) Done / Snooze / Dismiss."""
        self.revealed, self.more = not self.revealed and self.text != "", False

    @rx.event
    def toggle_more(self) -> None:
        """A long-press, or the visible More control: Helpful / Not helpful."""
        self.more, self.revealed = not self.more and self.text != "", False

    @rx.event
    def press_start(self, stamp: float) -> None:
        """Pointer down on the tip (touch or mouse)."""
        self._press_at = float(stamp) if isinstance(stamp, int | float) and stamp >= 0 else -1.0

    @rx.event
    def press_end(self, stamp: float) -> None:
        """Pointer up: a hold of at least LONG_PRESS_MS is a long-press, anything shorter a tap."""
        started, self._press_at = self._press_at, -1.0
        if started < 0 or not isinstance(stamp, int | float) or not self.text:
            return
        if stamp - started >= LONG_PRESS_MS:
            self.more, self.revealed = True, False
        else:
            self.toggle()

    @rx.event
    def press_cancel(self, stamp: float) -> None:
        """The pointer left or the browser took the gesture (scroll): no tap, no long-press."""
        self._press_at = -1.0

    @rx.event
    def key_press(self, key: str) -> None:
        """Keyboard: Enter or Space on the focused tip acts like a tap."""
        if key in ("Enter", " "):
            self.toggle()

    async def _react(self, reaction: str, key: object) -> rx.event.EventSpec | None:
        try:
            user = self._require_user()
        except NotSignedIn:
            return rx.redirect(routes.SIGNIN, replace=True)
        try:
            key = feedback.check_key(key)
        except feedback.FeedbackError:
            log.warning("reaction refused for user %s: malformed idempotency key", user.id)
            self.notice = SAVE_FAILED
            return None
        if not self._tip_id:
            return None
        try:
            result = await tips.react(
                user_id=user.id, tip_id=self._tip_id, reaction=reaction, idempotency_key=key
            )
        except feedback.IdempotencyConflict:
            return None  # a repeat of an earlier tap on an earlier tip: already recorded
        except feedback.TipNotFound:
            log.warning("user %s reacted to a tip that is gone", user.id)
        except Exception:
            log.exception("saving a reaction of user %s failed", user.id)
            self.notice = SAVE_FAILED
            return None
        else:
            if result.duplicate:
                return None  # the same tap twice: the next tip is already showing
        await self._show_next(user, exclude=(self._task_id,))
        return None

    @rx.event
    async def done(self, key: str = "") -> rx.event.EventSpec | None:
        """Done: the task is finished."""
        return await self._react("done", key)

    @rx.event
    async def snooze(self, key: str = "") -> rx.event.EventSpec | None:
        """Snooze: not now, later."""
        return await self._react("snooze", key)

    @rx.event
    async def dismiss(self, key: str = "") -> rx.event.EventSpec | None:
        """Dismiss: not this one (hidden for a day)."""
        return await self._react("dismiss", key)

    @rx.event
    async def helpful(self, key: str = "") -> rx.event.EventSpec | None:
        """Helpful: a good tip."""
        return await self._react("helpful", key)

    @rx.event
    async def not_helpful(self, key: str = "") -> rx.event.EventSpec | None:
        """Not helpful: a poor tip."""
        return await self._react("not_helpful", key)
