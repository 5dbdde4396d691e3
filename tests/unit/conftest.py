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
