"""AuthState: the one place that resolves the current user from the server-side session.

The HttpOnly session cookie is read from the websocket handshake headers (the browser's JS never
sees it) and validated against the sessions table on every call (remembered for a few seconds in
memory, `oo.services.session_cache`; sign-out, deletion and role changes revoke that at once, in
every worker). Identity lives only in underscore vars, which the client can neither read nor set.
Every handler of every state goes through ``_current_user`` / ``_require_user``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from typing import cast

import reflex as rx
from reflex.istate.data import RouterData
from reflex.state import BaseState

from oo import routes
from oo.cookies import read_cookie, session_cookie_name
from oo.services.accounts import session_cache
from oo.services.accounts import sessions as accounts
from oo.settings import get_settings

log = logging.getLogger("oo.auth")


def session_key(cookie_header: str | None) -> str:
    """A short hash of the session cookie in a Cookie header ("" without one): binds a tab to its session."""
    token = read_cookie(cookie_header, session_cookie_name(get_settings().secure_cookies))
    return _key(token) if token else ""


@functools.lru_cache(maxsize=8192)
def _key(token: str) -> str:
    return "s" + hashlib.sha256(token.encode()).hexdigest()[:24]


class NotSignedIn(Exception):
    """Raised by ``_require_user`` when the caller has no valid session."""


class NotAuthorized(Exception):
    """Raised by ``_require_admin`` when a signed-in caller lacks the admin role."""


class AuthState(rx.State):
    """The signed-in user, as far as the page needs to know."""

    signed_in: bool = False
    user_name: str = ""
    is_admin: bool = False
    _user_id: int = 0
    _tab_token: str = ""  # this tab's client token, so erasure finds every stored piece of the tab
    _session_key: str = ""  # which session cookie this tab's state belongs to (oo.state.ratelimit)

    def _current_user(self, fresh: bool = False) -> accounts.CurrentUser | None:
        settings = get_settings()
        token = read_cookie(self.router.headers.cookie, session_cookie_name(settings.secure_cookies))
        return session_cache.resolve(token, fresh=fresh)

    def _router_data(self) -> RouterData:
        """The tab's router data, read once from the state itself.

        Read through a background handler's state proxy, ``router`` wraps the root state in a
        new proxy on every access (tens of microseconds); the data is fixed for the event.
        """
        return cast("BaseState", getattr(self, "__wrapped__", self)).router

    async def _current_user_async(self, router: RouterData | None = None) -> accounts.CurrentUser | None:
        """`_current_user` for async handlers: a cache miss asks the database in a worker thread."""
        settings = get_settings()
        cookie = (router or self._router_data()).headers.cookie
        return await session_cache.resolve_async(
            read_cookie(cookie, session_cookie_name(settings.secure_cookies))
        )

    def _require_user(self, fresh: bool = False) -> accounts.CurrentUser:
        """The caller's user, re-validated from the session; raises NotSignedIn otherwise.

        The session lookup is remembered for `session_cache.TTL` seconds; revocations (sign-out,
        deletion, role change) reach every worker at once. ``fresh`` asks the database.
        """
        user = self._current_user(fresh)
        if user is None:
            self._forget()
            raise NotSignedIn
        self._remember(user)
        return user

    def _require_admin(self) -> accounts.CurrentUser:
        """The caller, who must hold the admin role now (re-read from the database on every call)."""
        user = self._require_user(fresh=True)
        if not user.is_admin:
            log.warning("admin handler refused for user %s", user.id)
            raise NotAuthorized
        return user

    def _remembers(self, user: accounts.CurrentUser, router: RouterData | None = None) -> bool:
        """Whether this tab's vars already name ``user`` under this session (nothing to set).

        Only reads: through a background handler's proxy it reads the state itself (no lock).
        """
        state = cast("AuthState", getattr(self, "__wrapped__", self))
        router = router or state.router
        return (
            (state._user_id, state.signed_in, state.user_name, state.is_admin)
            == (user.id, True, user.name, user.is_admin)
            and state._tab_token == router.session.client_token
            and state._session_key == session_key(router.headers.cookie)
        )

    def _remember(self, user: accounts.CurrentUser) -> None:
        if (self._user_id, self.signed_in, self.user_name, self.is_admin) != (
            user.id,
            True,
            user.name,
            user.is_admin,
        ):
            self._user_id, self.signed_in, self.user_name, self.is_admin = (
                user.id,
                True,
                user.name,
                user.is_admin,
            )
        if self._tab_token != self.router.session.client_token:
            self._tab_token = self.router.session.client_token
        key = session_key(self.router.headers.cookie)
        if self._session_key != key:
            self._session_key = key

    def _forget(self) -> None:
        if self.signed_in or self._user_id:  # unchanged vars are not re-sent to the browser
            self._user_id, self.signed_in, self.user_name, self.is_admin = 0, False, "", False

    @rx.event
    def check(self) -> rx.event.EventSpec | None:
        """Page guard (on_load): send visitors without a valid session to /signin."""
        try:
            self._require_user()
        except NotSignedIn:
            return rx.redirect(routes.SIGNIN, replace=True)
        return None
