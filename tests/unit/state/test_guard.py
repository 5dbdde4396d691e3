"""`@user_event`: every handler of a signed-in page checks the session on the server before it runs."""

from __future__ import annotations

import inspect
import typing

import pytest
import reflex as rx

from oo import routes
from oo.services.accounts.sessions import CurrentUser
from oo.state import account, advice, connect, push, yours
from oo.state.auth import AuthState, NotSignedIn
from oo.state.guard import is_user_guarded, signed_in_user, user_only

# Every public handler on these pages needs a signed-in caller. (The tip page is covered by its own
# tests; sign-in, the frontend error sink and AuthState.check serve callers without a session.)
SIGNED_IN_STATES = [
    account.AccountState,
    advice.AdviceSwitchState,
    connect.ConnectState,
    push.PushState,
    yours.YoursState,
]


def registered() -> list[tuple[str, typing.Any]]:
    builtin = set(rx.State.event_handlers) | set(AuthState.event_handlers)
    return [
        (f"{state.__name__}.{name}", handler)
        for state in SIGNED_IN_STATES
        for name, handler in state.event_handlers.items()
        if name not in builtin
    ]


def test_every_handler_of_a_signed_in_page_is_guarded():
    found = registered()
    assert len(found) >= 15
    assert [name for name, handler in found if not is_user_guarded(handler.fn)] == []


def test_reflex_sees_the_wrapped_handlers_own_arguments_and_types():
    for name, handler in registered():
        inner = handler.fn.__wrapped__
        assert list(handler.get_parameters()) == list(inspect.signature(inner).parameters), name
        assert inspect.iscoroutinefunction(handler.fn) == inspect.iscoroutinefunction(inner), name


class _Probe:
    """Stands in for a state: `_require_user` answers as AuthState would for this caller."""

    def __init__(self, user: CurrentUser | None) -> None:
        self.user, self.ran = user, False

    def _require_user(self) -> CurrentUser:
        if self.user is None:
            raise NotSignedIn
        return self.user

    @user_only
    def act(self, n: int) -> int:
        self.ran = True
        return signed_in_user().id + n

    @user_only
    async def act_async(self) -> int:
        self.ran = True
        return signed_in_user().id


def _user(uid: int) -> CurrentUser:
    return CurrentUser(id=uid, role="user", name="A", email="a@example.test", is_demo=False, timezone="UTC")


def test_a_caller_without_a_session_is_sent_to_signin_and_the_body_never_runs():
    probe = _Probe(None)
    refused = probe.act(1)
    assert not probe.ran
    assert isinstance(refused, rx.event.EventSpec)
    assert routes.SIGNIN in str(refused.args)


def test_the_body_sees_the_checked_caller_and_nobody_after_it():
    assert _Probe(_user(41)).act(1) == 42
    with pytest.raises(RuntimeError):
        signed_in_user()


@pytest.mark.anyio
async def test_async_handlers_are_guarded_the_same_way():
    probe = _Probe(None)
    await probe.act_async()
    assert not probe.ran
    assert await _Probe(_user(7)).act_async() == 7


def test_generators_are_refused():
    with pytest.raises(TypeError):

        @user_only
        def streamed(self):
            yield None
