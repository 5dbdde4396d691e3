"""`user_event`: the one mechanism that makes a page method a signed-in event handler.

Any public Reflex event handler can be called by any client over the websocket with any
arguments, so every handler of a signed-in page resolves its caller from the server-side session
before its body runs. Instead of repeating ``try: user = self._require_user() / except
NotSignedIn: return rx.redirect(...)`` in each handler, a handler is declared with
``@user_event`` (in place of ``@rx.event``):

- the wrapper calls ``self._require_user()`` (`AuthState`: the HttpOnly session cookie,
  validated against the sessions table, remembered a few seconds with revocation at once);
- a caller without a valid session is sent to sign-in and the body never runs;
- otherwise the body runs, and `signed_in_user` returns the checked user inside it.

`guarded` is the shared wrapper builder; the console's ``@admin_event`` (``admin/state/guard.py``)
is the same wrapper with the admin role check. The wrapper keeps the handler's name, signature and
annotations (`functools.wraps`), which is what Reflex 0.10 reads to register the handler and to
convert the payload's arguments.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import reflex as rx

from oo import routes
from oo.services.accounts.sessions import CurrentUser
from oo.state.auth import NotSignedIn

USER_MARKER = "__oo_user_guard__"
_USER: contextvars.ContextVar[CurrentUser | None] = contextvars.ContextVar("oo_user", default=None)

F = TypeVar("F", bound=Callable[..., Any])


def guarded(
    fn: F,
    *,
    check: Callable[[Any], CurrentUser],
    refused: tuple[type[Exception], ...],
    refuse: Callable[[Any], Any],
    var: contextvars.ContextVar[CurrentUser | None],
    marker: str,
) -> F:
    """Wrap a state method so that its body runs only after ``check(self)`` passed.

    Args:
        fn: A sync or async method of a page state (not a generator).
        check: Returns the caller (re-validated on the server) or raises one of ``refused``.
        refused: The exceptions that mean "not allowed".
        refuse: What the handler returns instead of running, given the state.
        var: Holds the checked caller while the body runs.
        marker: Attribute set on the wrapper (the architecture test looks for it).

    Returns:
        The wrapper, with ``fn``'s name, signature and annotations.

    Raises:
        TypeError: ``fn`` is a generator (a refusal must be a return value).
    """
    if inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
        raise TypeError(f"{fn.__qualname__}: guarded handlers must return, not yield")

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def guarded_async(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                caller = check(self)
            except refused:
                return refuse(self)
            token = var.set(caller)
            try:
                return await fn(self, *args, **kwargs)
            finally:
                var.reset(token)

        wrapper: Any = guarded_async
    else:

        @functools.wraps(fn)
        def guarded_sync(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                caller = check(self)
            except refused:
                return refuse(self)
            token = var.set(caller)
            try:
                return fn(self, *args, **kwargs)
            finally:
                var.reset(token)

        wrapper = guarded_sync
    setattr(wrapper, marker, True)
    return wrapper


def signed_in_user() -> CurrentUser:
    """The caller whose session the running `user_event` handler checked.

    Raises:
        RuntimeError: Called outside a `user_event` handler (a programming error).
    """
    user = _USER.get()
    if user is None:
        raise RuntimeError("signed_in_user() is only available inside a @user_event handler")
    return user


def _to_signin(_state: Any) -> Any:
    return rx.redirect(routes.SIGNIN, replace=True)


def user_only(fn: F) -> F:
    """Wrap ``fn`` so it runs only for a caller with a valid session (others go to sign-in)."""
    return guarded(
        fn,
        check=lambda state: state._require_user(),
        refused=(NotSignedIn,),
        refuse=_to_signin,
        var=_USER,
        marker=USER_MARKER,
    )


def user_event(fn: F) -> F:
    """``@rx.event`` for signed-in pages: the session check of `user_only`, then Reflex registration.

    Args:
        fn: The handler method.

    Returns:
        What ``rx.event`` returns for the guarded wrapper.
    """
    return rx.event(user_only(fn))  # type: ignore[return-value]


def is_user_guarded(fn: Any) -> bool:
    """Whether ``fn`` (a handler's function) went through `user_only`."""
    return bool(getattr(fn, USER_MARKER, False))
