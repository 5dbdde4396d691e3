"""Dependency direction (STYLE.md §2), checked by walking imports."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def files(pkg: str) -> list[Path]:
    return sorted((ROOT / pkg).rglob("*.py"))


def test_integrations_and_recommender_stay_pure():
    banned = ("reflex", "oo.state", "oo.pages", "oo.services", "admin")
    for path in files("oo/integrations") + files("oo/recommender") + files("oo/bus"):
        bad = {m for m in imports(path) if m.split(".")[0] == "reflex" or m.startswith(banned[1:])}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_recommender_imports_only_river_numpy_stdlib():
    for path in files("oo/recommender"):
        for mod in imports(path):
            top = mod.split(".")[0]
            assert (
                top in {"river", "numpy", "oo", "__future__"} or top in __import__("sys").stdlib_module_names
            ), f"{path.relative_to(ROOT)} imports {mod}"
            if top == "oo":
                assert mod.startswith("oo.recommender"), f"{path.relative_to(ROOT)} imports {mod}"


def test_services_do_not_import_reflex_or_ui():
    for path in files("oo/services"):
        bad = {
            m
            for m in imports(path)
            if m.split(".")[0] in {"reflex", "admin"} or m.startswith(("oo.state", "oo.pages"))
        }
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_only_the_composition_root_imports_admin():
    for path in files("oo"):
        if path.name == "oo.py" and path.parent.name == "oo":
            continue
        assert not {m for m in imports(path) if m.split(".")[0] == "admin"}, path
