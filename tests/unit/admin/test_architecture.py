"""The admin console's structure: allowed imports, and every handler re-checks the admin role first."""

from __future__ import annotations

import ast
import asyncio
import doctest
import importlib
import inspect
import typing
from pathlib import Path
from typing import Any

import pytest
import reflex as rx
from reflex.state import State
from reflex_base.event.processor.base_state_processor import _prepare_event_payload

import admin
from admin import routes
from admin.state import guard
from oo.state.auth import AuthState

ROOT = Path(__file__).resolve().parents[3]
ADMIN = ROOT / "admin"
ALLOWED_OO = (
    "oo.components",
    "oo.state.auth",
    "oo.state.guard",  # the shared handler guard (`guarded`)
    "oo.services",
    "oo.offload",  # slow calls off the event loop, on their own pool
    "oo.db",
    "oo.models",
    "oo.settings",
    "oo.bus",
    "oo.cookies",
    "oo.jobs.scheduler",
)


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def test_admin_imports_only_shared_layers_never_user_pages():
    for path in modules(ADMIN):
        for mod in imports(path):
            if mod == "oo" or mod.startswith("oo."):
                assert mod.startswith(ALLOWED_OO), f"{path.relative_to(ROOT)} imports {mod}"


def test_admin_services_stay_free_of_ui():
    paths = sorted((ROOT / "oo" / "services" / "admin").glob("*.py"))
    assert len(paths) > 10
    for path in paths:
        bad = {
            m
            for m in imports(path)
            if m.split(".")[0] in {"reflex", "admin"} or m.startswith(("oo.state", "oo.pages"))
        }
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def _decorators(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [ast.unparse(d) for d in fn.decorator_list]


def methods() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every method defined in a class body under admin/state/."""
    found = []
    for path in modules(ADMIN / "state"):
        for cls in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ClassDef)):
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                    found.append((f"{path.stem}.{cls.name}.{fn.name}", fn))
    return found


def test_there_are_handlers_to_check():
    assert sum(1 for _, fn in methods() if "admin_event" in _decorators(fn)) >= 40


def test_every_public_method_of_an_admin_state_is_an_admin_event():
    """Source level: a public method is a handler anyone can call, so it must carry the guard."""
    for name, fn in methods():
        if fn.name.startswith("_"):
            assert "admin_event" not in _decorators(fn), f"{name}: private methods are not handlers"
            continue
        assert _decorators(fn) == ["admin_event"], (
            f"{name} must be declared with @admin_event (the server-side role check), not {_decorators(fn)}"
        )


def test_no_admin_state_registers_a_plain_rx_event():
    for path in modules(ADMIN / "state"):
        if path.name != "guard.py":
            assert "rx.event\n" not in path.read_text().replace("@rx.event(", "@rx.event\n"), path.name


def registered() -> list[tuple[str, object]]:
    """Every handler Reflex registered on an admin page state, Reflex's own built-ins excluded."""
    builtin = set(rx.State.event_handlers)
    return [
        (f"{state.__name__}.{name}", handler)
        for state in admin.STATES
        for name, handler in state.event_handlers.items()
        if name not in builtin
    ]


def test_every_registered_admin_handler_is_guarded():
    """Runtime level: what Reflex will dispatch to is the guarded wrapper, for every handler."""
    found = registered()
    assert len(found) >= 45
    unguarded = [name for name, handler in found if not guard.is_guarded(handler.fn)]
    assert not unguarded


def test_reflex_sees_the_wrapped_handlers_own_arguments_and_types():
    """functools.wraps keeps the names and annotations Reflex uses to convert the payload."""
    for name, handler in registered():
        inner = handler.fn.__wrapped__
        assert list(handler.get_parameters()) == list(inspect.signature(inner).parameters), name
        assert handler._type_hints == typing.get_type_hints(inner), name
        assert inspect.iscoroutinefunction(handler.fn) == inspect.iscoroutinefunction(inner), name


def test_reflex_converts_a_guarded_handlers_arguments_by_their_annotations():
    handler = admin.AdminUsersState.event_handlers["open_user"]
    assert handler._type_hints["user_id"] is str
    probe = ProbeGuardState.event_handlers["count_to"]
    assert _prepare_event_payload(probe, {"n": "7", "form": {"a": "1"}}) == {"n": 7, "form": {"a": "1"}}


class ProbeGuardState(AuthState):
    """A throwaway state: shows that an int annotation still converts through the guard."""

    total: int = 0

    @guard.admin_event
    def count_to(self, n: int, form: dict[str, Any]) -> None:
        """Set ``total``."""
        self.total = n


def make(cls):
    return State(_reflex_internal_init=True).get_substate(cls.get_full_name().split(".")[1:])


@pytest.mark.parametrize(("name", "handler"), registered(), ids=[n for n, _ in registered()])
def test_a_caller_without_a_session_is_sent_to_sign_in_and_the_body_never_runs(name, handler, monkeypatch):
    ran = []
    monkeypatch.setattr(guard, "_ADMIN", _Recording(ran))
    state = make(handler.state)
    params = [p for p in handler.get_parameters() if p != "self"]
    result = handler.fn(state, *([{}] * len(params)))
    if inspect.isawaitable(result):
        result = asyncio.run(result)
    assert ran == [], f"{name} ran its body without a session"
    assert routes.SIGNIN in str(result), name


class _Recording:
    """Stands in for the context variable only to notice that the body was entered."""

    def __init__(self, log: list) -> None:
        self.log = log

    def set(self, value):
        self.log.append(value)
        return None

    def reset(self, token) -> None:
        pass

    def get(self):
        return None


@pytest.mark.parametrize(
    "module",
    [
        "admin.charts",
        "admin.http",
        "oo.services.admin.inputs",
        "oo.services.admin.quality",
        "oo.services.admin.rewards",
        "oo.services.admin.experiments",
        "oo.services.admin.features",
    ],
)
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
