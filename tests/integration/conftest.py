"""Integration fixtures: a configured app environment on a temporary database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import SQLModel

import oo.models  # noqa: F401
from oo import db, singletons
from tests.fakes.todoist import FakeTodoistServer
from tests.integration.todoist_env import CLIENT_ID, CLIENT_SECRET


@pytest.fixture
def app_env(tmp_path, monkeypatch) -> Iterator[dict[str, str]]:
    """OO_ environment on a temp data dir; settings and engine caches are reset around the test."""
    env = {"OO_DATA_DIR": str(tmp_path), "OO_BASE_URL": "http://testserver", "OO_DEMO": "true"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    def reset() -> None:
        singletons.reset()

    reset()
    yield env
    reset()


@pytest.fixture
def make_tables():
    """Create every table on the current engine (migrations are tested separately)."""

    def make() -> None:
        SQLModel.metadata.create_all(db.get_engine())

    return make


@pytest.fixture(scope="module")
def server() -> Iterator[FakeTodoistServer]:
    """The faithful fake Todoist on loopback, one per test module (tests/fakes/todoist.py)."""
    with FakeTodoistServer(CLIENT_ID, CLIENT_SECRET) as running:
        yield running
