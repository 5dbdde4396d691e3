"""Rate limits on the websocket: every event handler, per connection and per user, before it runs.

`EventRateLimit` is a Reflex event middleware (`app.add_middleware`): it sees each event after
the tab's state is loaded and before the handler runs, and counts it against shared limits
(`oo.services.platform.ratelimit`, Redis-backed when configured):

* **any event**: ``OO_RATE_EVENTS_PER_10S`` per connection (tab token), three times that per
  user (the session cookie, or the client address without one), counted per worker (a CPU
  guard; the row-creating limits below are shared through Redis). Over it, the event is not run
  and the page shows a calm "slow down" line (`LimitState.slow`), cleared by the next event
  that goes through.
* **a new pick on a tip load** (``TipState.load`` logs a ``tip_view`` row when it picks):
  ``OO_RATE_LOADS_PER_MINUTE`` (30) per user, counted by the handler itself through
  `allow_new_pick` (the `serving.show` gate), because only the handler knows whether the load
  shows the tip on screen again (`reshow`: no row, not counted) or makes a new pick. Over it,
  nothing is picked, what is on screen stays, with the same "slow down" line.
* **reactions** (Done, Snooze, Dismiss, Helpful, Not helpful): ``OO_RATE_REACTIONS_PER_MINUTE``
  per user. A reaction is never dropped for the rate alone: over the limit it is *deferred* —
  re-queued for the same tab once the window allows, with the "slow down" line showing
  meanwhile. Each reaction applies to the tab's current tip, so a person can mean at most one
  per kind and tip: at most `MAX_DEFERRED` wait per connection; anything beyond that is a
  script and is dropped (and logged).
* **tab binding**: before any of that, a tab's state filled under one session cookie is reset
  when the token arrives with another cookie or none (`_bind_to_session`).
* **frontend error reports** (``handle_frontend_exception``): only from a signed-in session, a
  few per user and minute (`oo.state.frontend_errors.gate`); others are dropped silently.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import reflex as rx
from reflex.istate.data import RouterData
from reflex.middleware import Middleware
from reflex.state import BaseState, StateUpdate
from reflex_base.event import Event, get_hydrate_event
from reflex_base.event.context import EventContext

from oo.cookies import read_cookie, session_cookie_name
from oo.services.platform import ratelimit
from oo.settings import get_settings
from oo.state import frontend_errors, tab_erasure
from oo.state.auth import AuthState, session_key

if TYPE_CHECKING:
    from reflex.app import App

log = logging.getLogger("oo.ratelimit.ws")
REACTIONS = frozenset({"done", "snooze", "dismiss", "helpful", "not_helpful"})
MAX_DEFERRED = 5
FRONTEND_ERROR = ".handle_frontend_exception"  # its own gate: oo.state.frontend_errors


class LimitState(rx.State):
    """Whether this tab was just asked to slow down (shown as one calm line)."""

    slow: bool = False


def _who(router: RouterData, cookie_key: str) -> tuple[str, str]:
    """(connection key, user key) of the tab whose event this is (``cookie_key``: its `session_key`)."""
    return router.session.client_token or "none", cookie_key or "a" + (router.session.client_ip or "unknown")


async def _bind_to_session(state: BaseState, cookie_key: str) -> None:
    """Reset a tab's state when it is used with another session than the one it was filled for.

    Anyone holding a tab's token could otherwise connect with it and ``hydrate`` that tab's
    public vars (an admin's SQL results, a user's name and tip). The tab's state remembers the
    hash of the session cookie it was filled under (`AuthState._session_key`); a connection
    with another cookie, or none, gets the defaults instead. Signing in or out changes the
    cookie, so the same reset happens then: the token's old contents never carry over.
    """
    root = state._get_root_state()
    auth = await root.get_state(AuthState)
    if auth._session_key and auth._session_key != cookie_key:
        log.warning("a tab token was used with another session: its state was reset")
        for cls in tab_erasure.state_classes():  # load the whole tree (Redis loads it in parts)
            if issubclass(cls, AuthState):
                await root.get_state(cls)
        tab_erasure.reset_tab(root)


class EventRateLimit(Middleware):
    """Counts every websocket event; refuses, defers or passes it (see the module docstring)."""

    def __init__(self) -> None:
        """No tab deferred or flagged yet."""
        self._deferred: dict[str, int] = {}

    async def preprocess(self, app: App, state: BaseState, event: Event) -> StateUpdate | None:
        """None to run the event; a "slow down" update when it is refused or deferred."""
        router = state.router  # each read of `router` assembles a new RouterData: once per event
        cookie_key = session_key(router.headers.cookie)
        await _bind_to_session(state, cookie_key)
        if event.name == get_hydrate_event(state):
            return None
        settings = get_settings()
        token, user = _who(router, cookie_key)
        if event.name.endswith(FRONTEND_ERROR):  # only signed-in sessions, a few a minute
            cookie = read_cookie(router.headers.cookie, session_cookie_name(settings.secure_cookies))
            return None if await frontend_errors.gate(cookie, user) else StateUpdate()
        handler = event.name.rpartition(".")[2]
        is_tip = event.name.rpartition(".")[0].endswith("tip_state")
        if is_tip and handler in REACTIONS:
            wait = await ratelimit.hit(
                f"ws:react:{user}",
                limit=settings.rate_reactions_per_minute,
                per=settings.rate_reactions_window_seconds,
            )
            if wait:
                return await self._defer(state, event, token, wait)
        else:
            # CPU guard, counted in this worker's memory (no Redis round trip on every event).
            per, local = settings.rate_events_per_10s, ratelimit.local()
            wait = local.hit_now(f"ws:conn:{token}", limit=per, per=10.0) or local.hit_now(
                f"ws:user:{user}", limit=per * 3, per=10.0
            )
            if wait:
                log.info("websocket event %s refused: rate limit", handler)
                return await self._slow(state, True)
        if token in _flagged:
            _flagged.discard(token)
            (await state.get_state(LimitState)).slow = False  # sent with the handler's own delta
        return None

    async def _slow(self, state: BaseState, slow: bool) -> StateUpdate:
        root = state._get_root_state()
        (await root.get_state(LimitState)).slow = slow
        _flagged.add(root.router.session.client_token)
        delta = await root._get_resolved_delta()
        root._clean()
        return StateUpdate(delta=delta)

    async def _defer(self, state: BaseState, event: Event, token: str, wait: float) -> StateUpdate:
        waiting = self._deferred.get(token, 0)
        if waiting >= MAX_DEFERRED:
            log.warning("reaction dropped: %s already deferred on one connection", MAX_DEFERRED)
            return await self._slow(state, True)
        self._deferred[token] = waiting + 1
        ctx = EventContext.get()

        async def later() -> None:
            try:
                await asyncio.sleep(min(wait, 60.0) + 0.05)
            finally:
                left = self._deferred.get(token, 1) - 1
                if left > 0:
                    self._deferred[token] = left
                else:
                    self._deferred.pop(token, None)
            await ctx.enqueue(event)  # runs through this middleware again

        task = asyncio.create_task(later())
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
        log.info("reaction deferred %.1f s: rate limit", wait)
        return await self._slow(state, True)


async def allow_new_pick(state: BaseState, user_id: int) -> bool:
    """The per-user load limit, asked by a tip load before a new pick; False flags the tab "slow".

    ``state`` is the background handler's state proxy: its lock is taken only to set the flag.
    """
    wait = await ratelimit.hit(f"ws:load:{user_id}", limit=get_settings().rate_loads_per_minute, per=60.0)
    if not wait:
        return True
    log.info("a new pick on a tip load refused: rate limit")
    async with state:  # a StateProxy (the handler runs in the background)
        (await state.get_state(LimitState)).slow = True
        _flagged.add(state.router.session.client_token)
    return False


_tasks: set[asyncio.Task] = set()
_flagged: set[str] = set()  # tabs shown "slow down": the next event that goes through clears it
