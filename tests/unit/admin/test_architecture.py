"""The admin console's structure: allowed imports, and every handler re-checks the admin role first."""

from __future__ import annotations

import ast
import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ADMIN = ROOT / "admin"
ALLOWED_OO = (
    "oo.components",
    "oo.state.auth",
    "oo.services",
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
    for path in sorted((ROOT / "oo" / "services").glob("admin_*.py")):
        bad = {
            m
            for m in imports(path)
            if m.split(".")[0] in {"reflex", "admin"} or m.startswith(("oo.state", "oo.pages"))
        }
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def _is_event(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(isinstance(d, ast.Attribute) and d.attr == "event" for d in fn.decorator_list)


def _first_statement(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.stmt:
    body = fn.body
    if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    return body[0]


def _guarded(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    first = _first_statement(fn)
    if not isinstance(first, ast.Try) or len(first.handlers) != 1:
        return False
    call = first.body[0].value if isinstance(first.body[0], ast.Expr | ast.Assign) else None
    calls_check = (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "_require_admin"
    )
    handler = first.handlers[0]
    refuses = (
        isinstance(handler.type, ast.Name)
        and handler.type.id == "REFUSED"
        and isinstance(handler.body[0], ast.Return)
        and ast.unparse(handler.body[0].value) == "self._refuse()"
    )
    return calls_check and refuses


def handlers() -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found = []
    for path in modules(ADMIN / "state"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _is_event(node):
                found.append((f"{path.stem}.{node.name}", node))
    return found


def test_there_are_handlers_to_check():
    assert len(handlers()) >= 40


@pytest.mark.parametrize(("name", "fn"), handlers(), ids=[n for n, _ in handlers()])
def test_every_admin_handler_starts_with_the_role_check(name, fn):
    assert _guarded(fn), (
        f"{name} must start with `try: self._require_admin()` / `except REFUSED: return self._refuse()`"
    )


def test_every_public_method_of_an_admin_state_is_a_guarded_event():
    for path in modules(ADMIN / "state"):
        for cls in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ClassDef)):
            for fn in cls.body:
                if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef) and not fn.name.startswith("_"):
                    assert _is_event(fn) and _guarded(fn), f"{path.stem}.{cls.name}.{fn.name}"


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
