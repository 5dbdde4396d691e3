"""Shared pytest fixtures for every layer."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the loop Reflex and the app use)."""
    return "asyncio"
