"""`admin_event`: the one mechanism that makes an admin page method a role-checked event handler.

Any public Reflex event handler can be called by any client over the websocket with any
arguments, so every admin handler re-checks the admin role on the server before its body runs.
Instead of repeating ``try: self._require_admin() / except REFUSED: return self._refuse()`` in
each handler, a handler is declared with ``@admin_event`` (in place of ``@rx.event``):

- the wrapper calls ``self._require_admin()`` (`AuthState`: re-validates the HttpOnly session
  cookie and re-reads the role from the database on every call);
- a caller without a session, or without the admin role, gets ``self._refuse()`` (the page's vars
  are reset and the tab is sent to sign-in or the 403 page) and the body never runs;
- otherwise the body runs, and `acting_admin` returns the checked admin inside it.

The wrapper keeps the handler's name, signature and annotations (`functools.wraps`), which is
what Reflex 0.10 reads to register the handler and to convert the payload's arguments; its own
test checks that, and the architecture test fails for any admin handler that lacks the marker.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

import reflex as rx

from oo.services.accounts.sessions import CurrentUser
from oo.state.auth import NotAuthorized, NotSignedIn
from oo.state.guard import guarded

REFUSED = (NotSignedIn, NotAuthorized)
GUARD_MARKER = "__oo_admin_guard__"
_ADMIN: contextvars.ContextVar[CurrentUser | None] = contextvars.ContextVar("oo_admin", default=None)

F = TypeVar("F", bound=Callable[..., Any])


def acting_admin() -> CurrentUser:
    """The admin whose role the running `admin_event` handler checked.

    Raises:
        RuntimeError: Called outside an `admin_event` handler (a programming error).
    """
    admin = _ADMIN.get()
    if admin is None:
        raise RuntimeError("acting_admin() is only available inside an @admin_event handler")
    return admin


def admin_only(fn: F) -> F:
    """Wrap ``fn`` (a state method) so it runs only for a caller who holds the admin role now.

    Args:
        fn: A sync or async method of an admin page state (not a generator).

    Returns:
        The wrapper, with ``fn``'s name, signature and annotations, marked with `GUARD_MARKER`.
    """
    return guarded(
        fn,
        check=lambda state: state._require_admin(),
        refused=REFUSED,
        refuse=lambda state: state._refuse(),
        var=_ADMIN,
        marker=GUARD_MARKER,
    )


def admin_event(fn: F) -> F:
    """``@rx.event`` for admin pages: the role check of `admin_only`, then Reflex registration.

    Args:
        fn: The handler method.

    Returns:
        What ``rx.event`` returns for the guarded wrapper.
    """
    return rx.event(admin_only(fn))  # type: ignore[return-value]


def is_guarded(fn: Any) -> bool:
    """Whether ``fn`` (a handler's function) went through `admin_only`."""
    return bool(getattr(fn, GUARD_MARKER, False))
