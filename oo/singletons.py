"""The process's singletons (cached settings, engines, keyrings, model caches, the bus) behind one reset.

A module that keeps process-wide state registers how to forget it with `on_reset`; `reset()`
forgets all of it. The app itself never resets; tests do, around every test (``tests/conftest.py``),
so no test sees another's settings, database engine, learner models or event bus. This module
imports nothing from the app, so any module may register.

Examples:
    >>> calls = []
    >>> _ = on_reset("example", lambda: calls.append(1))
    >>> reset()
    >>> calls
    [1]
    >>> forget("example")
"""

from __future__ import annotations

from collections.abc import Callable

_resets: dict[str, Callable[[], None]] = {}


def on_reset(name: str, forget_state: Callable[[], None]) -> Callable[[], None]:
    """Register how to forget one singleton (a later registration under the same name replaces it)."""
    _resets[name] = forget_state
    return forget_state


def forget(name: str) -> None:
    """Unregister one singleton's reset (for tests of this module)."""
    _resets.pop(name, None)


def reset() -> None:
    """Forget every registered singleton (tests call this between tests)."""
    for forget_state in list(_resets.values()):
        forget_state()
