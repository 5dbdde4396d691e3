"""Shared pytest fixtures for every layer."""

from collections.abc import Iterator

import pytest

from oo import singletons


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the loop Reflex and the app use)."""
    return "asyncio"


@pytest.fixture(autouse=True)
def _fresh_singletons() -> Iterator[None]:
    """Every test starts and ends with no cached settings, engine, keyring, models or bus."""
    singletons.reset()
    yield
    singletons.reset()


@pytest.fixture
def generous_budget(monkeypatch) -> None:
    """A generous pick budget: tests about what is logged must not fall back on a busy CI machine."""
    from oo.services.tips import recommend

    monkeypatch.setattr(recommend, "BUDGET_SECONDS", 5.0)
