"""Unit-test fixtures: a fresh SQLite database per test (no network, no browser)."""

from collections.abc import Iterator

import pytest
from sqlmodel import Session, SQLModel

import oo.models  # noqa: F401  (registers the tables)
from oo.db import make_engine


@pytest.fixture
def session(tmp_path) -> Iterator[Session]:
    """A session on an empty database with every table."""
    engine = make_engine(f"sqlite:///{tmp_path / 'unit.db'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as s:
        yield s
    engine.dispose()


@pytest.fixture
def app_session(tmp_path, monkeypatch, generous_budget) -> Iterator[Session]:
    """A session on the app's own engine under a temp OO_DATA_DIR (for code that opens its own sessions)."""
    from oo import db, singletons

    monkeypatch.setenv("OO_DATA_DIR", str(tmp_path))  # the development secret and the database
    singletons.reset()  # settings and engine are read again for this directory
    SQLModel.metadata.create_all(db.get_engine())
    with Session(db.get_engine(), expire_on_commit=False) as s:
        yield s
