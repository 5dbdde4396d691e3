"""TipState: the one tip on /tip and the reactions to it (U3).

Each served tip reaches the page with its server-issued reference (``view_key``,
`oo.services.tip_refs`); a reaction sends that reference back and the server applies it to the
tip the reference names, after checking it was issued to the caller. The tab's saved state is
never the authority on which tip was on screen, so a lost or stale state save (a Redis lock
expiry, two workers) cannot move a reaction to another tip. The page sends
``<view_key>-<reaction>`` as the idempotency key, so a double tap or a resent event is recorded
once and does not skip the next tip; a reaction sent with that key and no reference names its
tip by the reference inside the key (`oo.services.tips.refs.in_key`), checked the same way. Each
handler is thin: resolve the user, make one service call (`tips.show`, `tips.react` or
`tips.take_back`), set the vars.

Those handlers run as background events when several workers share the tabs' state through
Redis (``OO_REDIS_URL``): the tab's state lock, which expires there, is then taken only to read or
set the vars, never across the service call. With one worker (Reflex's disk state, the default)
they run as ordinary events: its lock is an in-process one that cannot expire, and an ordinary
event passes through the state manager once where a background event passes twice (a closed loop
of loads served 1,312 to 1,407 ev/s against 1,000; bench/README.md). The handler code is the same
either way: ``async with state`` is a no-op on an ordinary event's state.
"""

from __future__ import annotations

import logging

import reflex as rx
from reflex.istate.data import RouterData

from oo import routes
from oo.services.accounts.sessions import CurrentUser
from oo.services.push import opened as pushed
from oo.services.tips import feedback, undo
from oo.services.tips import refs as tip_refs
from oo.services.tips import serving as tips
from oo.settings import get_settings
from oo.state import ratelimit
from oo.state.auth import AuthState

log = logging.getLogger("oo.tip")
# Background events only where the state lock can expire (Redis with several workers).
SERVICE_EVENTS_IN_BACKGROUND = bool(get_settings().redis_url)
service_event = rx.event(background=SERVICE_EVENTS_IN_BACKGROUND)
LONG_PRESS_MS = 500
SAVE_FAILED = "That didn't go through. Try again."
FOCUS_TIP = "document.querySelector('[data-testid=tip]')?.focus()"
UNDO_SECONDS = undo.UNDO_SECONDS  # the page hides Undo after this (the server allows a little more)
# A short, calm acknowledgement of each reaction.
ACK = {
    "done": "Done.",
    "snooze": "Snoozed for {hours} hours.",
    "dismiss": "Dismissed for today.",
    "helpful": "Noted: helpful.",
    "not_helpful": "Noted: not helpful.",
}


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
    kind: str = ""  # "todo" | "advice" | "empty": Done reads "I did it" on advice
    ack: str = ""  # "Done." after a reaction, "Undone." after an Undo
    ack_id: int = 0  # changes with every acknowledgement (restarts its fade-out)
    can_undo: bool = False
    _undo: dict[str, str] = {}  # backend-only: the reaction to take back and the tip to restore
    _press_at: float = -1.0  # pointer-down timeStamp (ms, browser clock) of the press in progress
    _tip_id: str = ""  # backend-only: the tip last served to this tab (never used to record a reaction)

    def _set(self, shown: tips.Shown) -> None:
        rec = shown.tip
        why = "" if rec.empty else rec.explanation.summary
        if rec.kind == "advice" and rec.rationale:
            why = rec.rationale  # the evidence behind the piece says more than the pick's reason
        wanted = {
            "_tip_id": rec.tip_id or "",  # for display-only uses; reactions name their tip by view_key
            "text": rec.text,
            "why": why,
            "kind": rec.kind,
            "has_source": shown.sources.has_source,
            "needs_reconnect": shown.sources.needs_reconnect,
            "revealed": False,
            "more": False,
            "loaded": True,
            "notice": "",
        }
        _assign_changed(self, wanted)
        self.view_key = shown.ref  # always sent: the answer to a load names the tip it shows

    @service_event
    async def load(self) -> rx.event.EventSpec | None:
        """Show one tip (Todoist tasks older than 30 s are refreshed first), or the pushed one."""
        return await _load(self)

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
    def escape(self, key: str) -> rx.event.EventSpec | None:
        """Escape (anywhere in the tip, buttons included) closes the reaction buttons."""
        if key != "Escape" or not (self.revealed or self.more):
            return None
        self.revealed = self.more = False
        return rx.call_script(FOCUS_TIP)  # the focused button is gone: focus goes back to the tip

    @rx.event
    def key_press(self, key: str) -> None:
        """Keyboard: Enter or Space on the focused tip acts like a tap."""
        if key in ("Enter", " "):
            self.toggle()

    def _acknowledge(self, text: str, undo: dict[str, str] | None = None) -> None:
        if not (text or undo or self.ack or self.can_undo or self._undo):
            return  # nothing shown, nothing to clear (a reload): no delta
        self.ack, self.ack_id = text, self.ack_id + 1
        self._undo, self.can_undo = undo or {}, bool(undo)

    @service_event
    async def take_back(self) -> rx.event.EventSpec | None:
        """Undo: withdraw the last reaction (while its window is open) and show its tip again."""
        return await _take_back(self)

    @service_event
    async def done(self, key: str = "", ref: str = "") -> rx.event.EventSpec | None:
        """Done: the task is finished. ``ref`` is the served tip's reference (``view_key``)."""
        return await _react(self, "done", key, ref)

    @service_event
    async def snooze(self, key: str = "", ref: str = "") -> rx.event.EventSpec | None:
        """Snooze: not now, later. ``ref`` is the served tip's reference (``view_key``)."""
        return await _react(self, "snooze", key, ref)

    @service_event
    async def dismiss(self, key: str = "", ref: str = "") -> rx.event.EventSpec | None:
        """Dismiss: not this one (hidden for a day). ``ref`` is the served tip's reference (``view_key``)."""
        return await _react(self, "dismiss", key, ref)

    @service_event
    async def helpful(self, key: str = "", ref: str = "") -> rx.event.EventSpec | None:
        """Helpful: a good tip. ``ref`` is the served tip's reference (``view_key``)."""
        return await _react(self, "helpful", key, ref)

    @service_event
    async def not_helpful(self, key: str = "", ref: str = "") -> rx.event.EventSpec | None:
        """Not helpful: a poor tip. ``ref`` is the served tip's reference (``view_key``)."""
        return await _react(self, "not_helpful", key, ref)


# The handlers that call a service (`service_event`) read and set vars only inside ``async with
# state``. As background events (Redis with several workers) ``state`` is the handler's StateProxy:
# the block takes the tab's state lock and the helpers called inside it act on the fresh state. As
# ordinary events (one worker) the lock is held for the whole event and the block does nothing.


def _assign_changed(state: TipState, wanted: dict[str, object]) -> None:
    """Set only the vars whose value changes (reads go to the state itself, not the proxy).

    A var that is set is sent to the browser even when its value is equal, so a reload of the
    tip on screen sends only its reference (``view_key``), not the whole tip again.
    """
    current = getattr(state, "__wrapped__", state)
    for name, value in wanted.items():
        if getattr(current, name) != value:
            setattr(state, name, value)


async def _signed_in(state: TipState, router: RouterData | None = None) -> CurrentUser | None:
    """The caller (cookie from the handshake, session cache; a miss is read in a worker thread)."""
    router = router or state._router_data()
    user = await state._current_user_async(router)
    if user is None:
        async with state:
            state._forget()
    elif not state._remembers(user, router):  # usually nothing to set: no lock taken
        async with state:
            state._remember(user)
    return user


async def _show(state: TipState, user: CurrentUser, pushed_tip: str = "", clear_ack: bool = False) -> None:
    # A load (clear_ack) shows the tip on screen again while it is current (`reshow`); only a new
    # pick counts against the per-user load limit.
    gate = (lambda: ratelimit.allow_new_pick(state, user.id)) if clear_ack else None
    try:
        if pushed_tip:  # opened from a notification: that tip while it is open and the caller's
            shown = await pushed.open_tip(
                user_id=user.id, tip_id=pushed_tip, timezone=user.timezone, gate=gate
            )
        else:
            shown = await tips.show(user_id=user.id, timezone=user.timezone, again=clear_ack, gate=gate)
    except tips.Throttled:  # what is on screen stays; the tab shows "slow down"
        async with state:
            if clear_ack:
                state._acknowledge("")
            state.loaded = True
        return
    except Exception:  # the database is down: keep what is on screen, say so quietly
        log.exception("loading a tip for user %s failed", user.id)
        async with state:
            if clear_ack:
                state._acknowledge("")
            state.notice, state.loaded = "Can't reach your tips right now.", True
        return
    async with state:  # one delta: the tip (and, on a load, the cleared acknowledgement)
        if clear_ack:
            state._acknowledge("")
        state._set(shown)


async def _load(state: TipState) -> rx.event.EventSpec | None:
    router = state._router_data()
    user = await _signed_in(state, router)
    if user is None:
        return rx.redirect(routes.SIGNIN, replace=True)
    pushed_tip = router.url.query_parameters.get("tip", "")  # read-only: no lock needed
    await _show(state, user, pushed_tip, clear_ack=True)
    return None


async def _react(state: TipState, reaction: str, key: object, ref: object) -> rx.event.EventSpec | None:
    user = await _signed_in(state)
    if user is None:
        return rx.redirect(routes.SIGNIN, replace=True)
    # No ``ref``: the reference the page put in the key (``<view_key>-<reaction>``), checked the same way.
    ref = ref if isinstance(ref, str) and ref else tip_refs.in_key(key, reaction)
    try:
        reacted = await tips.react(
            user_id=user.id,
            tip_ref=ref,
            reaction=reaction,
            key=key if isinstance(key, str) else "",
            timezone=user.timezone,
            undoable=True,
        )
    except feedback.IdempotencyConflict:
        return None  # a repeat of an earlier tap on an earlier tip: already recorded
    except feedback.TipNotFound:
        log.warning("user %s reacted to a tip that is gone or not theirs", user.id)
        await _show(state, user)
        return None
    except Exception as exc:
        if isinstance(exc, feedback.FeedbackError):
            log.warning("reaction refused for user %s: %s", user.id, exc)
        else:
            log.exception("saving a reaction of user %s failed", user.id)
        async with state:
            state.notice = SAVE_FAILED
        return None
    if reacted.next is not None:  # None: the same tap twice; the next tip is already showing
        async with state:
            previous = {"ref": ref, "key": str(key), "text": state.text, "why": state.why}
            state._set(reacted.next)
            text = ACK.get(reaction, "Noted.").format(hours=get_settings().snooze_hours)
            state._acknowledge(text, undo=previous)
    return None


async def _take_back(state: TipState) -> rx.event.EventSpec | None:
    user = await _signed_in(state)
    if user is None:
        return rx.redirect(routes.SIGNIN, replace=True)
    async with state:
        last, state._undo, state.can_undo = dict(state._undo), {}, False  # a second tap finds nothing
    if not last:
        return None
    try:
        await tips.take_back(user_id=user.id, tip_ref=last["ref"], key=last["key"])
    except undo.TooLateToUndo:
        async with state:
            state._acknowledge("Too late to undo — it counts.")
        return None
    except feedback.FeedbackError as exc:
        log.warning("undo refused for user %s: %s", user.id, exc)
        async with state:
            state._acknowledge("")
        return None
    except Exception:
        log.exception("undo for user %s failed", user.id)
        async with state:
            state.notice = SAVE_FAILED
        return None
    async with state:
        state.text, state.why, state.view_key = last["text"], last["why"], last["ref"]
        state._tip_id = last["ref"][:32]
        state.revealed = state.more = False
        state._acknowledge("Undone.")
    return None
