"""Helpers for the Todoist integration tests: point oO at the loopback fake and connect users.

Not a test module; the test files import these functions and build their own fixtures.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlmodel import Session, select

from oo import db, singletons
from oo.models import EventRecord, User
from oo.services.platform import event_bus as events
from oo.services.platform.keyring import keyring
from oo.services.sources.todoist import connection as todoist
from tests.fakes.todoist import FakeTodoistServer

CLIENT_ID, CLIENT_SECRET = "oo-todoist-test", "oo-todoist-secret-0123456789"


def configure(monkeypatch, server: FakeTodoistServer) -> None:
    """OO_TODOIST_* pointing at the fake; settings and engine caches reset."""
    monkeypatch.setenv("OO_TODOIST_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("OO_TODOIST_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("OO_TODOIST_AUTH_URL", server.auth_url)
    monkeypatch.setenv("OO_TODOIST_API_URL", server.api_url)
    singletons.reset()
    events._bus = None


def new_user(name: str = "Ada") -> int:
    """A user row (as sign-in would create)."""
    with Session(db.get_engine()) as session:
        user = User(name=name, email=f"{name.lower()}-{secrets.token_hex(3)}@example.test")
        session.add(user)
        session.commit()
        assert user.id is not None
        return user.id


def connect(server: FakeTodoistServer, *, tasks: int = 0, tz: str = "Europe/Berlin") -> tuple[int, str]:
    """A user connected to a fresh fake Todoist account (token stored encrypted, as OAuth would)."""
    token = f"tok-{secrets.token_hex(12)}"
    fake_user = server.fake.add_user(token, tz=tz)
    if tasks:
        server.fake.seed_tasks(token, tasks, seed=7)
    user_id = new_user()
    with Session(db.get_engine()) as session:
        todoist.save_connection(
            session=session,
            user_id=user_id,
            credentials=keyring().encrypt(token),
            external_user_id=fake_user.id,
            timezone=tz,
            scopes=todoist.SCOPE,
        )
    return user_id, token


def rows(model: Any, *where: Any) -> list[Any]:
    """Every row of a table matching the conditions."""
    with Session(db.get_engine()) as session:
        return list(session.exec(select(model).where(*where)).all())


def events_of(subject: str, user_id: int | None = None) -> list[EventRecord]:
    """Persisted bus events of one subject (and user)."""
    conditions = [EventRecord.subject == subject]
    if user_id is not None:
        conditions.append(EventRecord.user_id == user_id)
    return rows(EventRecord, *conditions)
