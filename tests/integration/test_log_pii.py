"""Our logs never name a person: a whole journey at DEBUG, and no oO logger wrote the e-mail,
name, subject, task text or Todoist token (issue 16, "logs we write free of personal data").

The journey: sign in with the loopback OpenID provider (and one refused callback), connect the
fake Todoist, sync a task only this person has (and a sync through a 5xx storm), get it as the
tip, Done (the close runs at Todoist), Snooze, and delete the account. Every record of an
``oo.*`` logger is formatted with its traceback, as a handler would write it.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from sqlmodel import Session, select

from oo import db
from oo.http.app import create_api
from oo.jobs import run_source_actions
from oo.models import Task, User
from oo.services.platform.keyring import keyring
from oo.services.privacy import deletion
from oo.services.sources.todoist import connection as todoist
from oo.services.sources.todoist import sync as todoist_sync
from oo.services.tips import feedback
from oo.services.tips.recommend import recommend
from tests.integration.todoist_env import configure
from tests.support.oidc import OidcProvider, complete_login, expected_email, expected_name, expected_sub

pytestmark = pytest.mark.anyio
CLIENT_ID, CLIENT_SECRET = "oo-logpii", "oo-logpii-secret-0123456789"
LOGIN = "wilhelmina-logpii@example.test"
TASK = "Pick up the HIV test results from Dr Okafor"


@pytest.fixture(scope="module")
def idp():
    with OidcProvider(CLIENT_ID, CLIENT_SECRET, ["http://testserver/auth/google/callback"]) as provider:
        yield provider


@pytest.fixture
def client(idp, server, app_env, make_tables, monkeypatch):
    from starlette.testclient import TestClient

    configure(monkeypatch, server)
    monkeypatch.setenv("OO_GOOGLE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("OO_GOOGLE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("OO_GOOGLE_DISCOVERY_URL", idp.discovery_url)
    monkeypatch.setattr("oo.integrations.todoist.client.BACKOFF_BASE", 0.001)
    make_tables()
    with TestClient(create_api(), base_url="http://testserver", follow_redirects=False) as c:
        yield c


def sign_in(client, login: str) -> int:
    authorize = client.get("/auth/google/start").headers["location"]
    callback = urlsplit(complete_login(authorize, login))
    forged = client.get(f"{callback.path}?{callback.query}".replace("state=", "state=x"))
    assert forged.headers["location"].endswith("error=bad_state")  # a refused callback logs a warning
    authorize = client.get("/auth/google/start").headers["location"]
    callback = urlsplit(complete_login(authorize, login))
    assert client.get(f"{callback.path}?{callback.query}").headers["location"].endswith("/tip")
    with Session(db.get_engine()) as s:
        return s.exec(select(User.id).where(User.email == expected_email(login))).one()


async def journey(client, server, token: str) -> int:
    uid = sign_in(client, LOGIN)
    fake_user = server.fake.add_user(token, tz="Europe/Berlin")
    server.fake.add_task(token, content=TASK, priority=4, due_date="2030-01-01")
    server.fake.add_task(token, content=TASK + " (second copy)", priority=4, due_date="2030-01-02")
    with Session(db.get_engine()) as s:
        todoist.save_connection(
            session=s,
            user_id=uid,
            credentials=keyring().encrypt(token),
            external_user_id=fake_user.id,
            timezone="Europe/Berlin",
            scopes=todoist.SCOPE,
        )
    await todoist_sync.sync_user(user_id=uid)
    server.fake.fail_next(8, 503)  # a 5xx storm: the sync gives up and says so in the log
    await todoist_sync.sync_user(user_id=uid)
    server.fake.clear_faults()
    with Session(db.get_engine()) as s:
        for reaction in ("done", "snooze"):
            tip = recommend(session=s, user_id=uid)
            assert tip.text.startswith(TASK), tip
            feedback.record(
                session=s, user_id=uid, tip_id=tip.tip_id, reaction=reaction, idempotency_key=reaction
            )
    await run_source_actions.run()
    await deletion.delete_account(user_id=uid)
    with Session(db.get_engine()) as s:
        assert not s.exec(select(Task).where(Task.user_id == uid)).all()
    return uid


async def test_no_oo_log_line_names_the_person(client, server, caplog):
    token = "tok-logpii-0123456789abcdef"
    caplog.set_level(logging.DEBUG)
    await journey(client, server, token)
    await todoist.close_http()
    handler = logging.Handler()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    ours = [r for r in caplog.records if r.name == "oo" or r.name.startswith("oo.")]
    assert len(ours) >= 5, [r.getMessage() for r in ours]  # the journey did log (warnings, deletion)
    assert any(r.levelno >= logging.WARNING for r in ours)
    needles = {
        "e-mail": expected_email(LOGIN),
        "e-mail local part": LOGIN.split("@")[0],
        "name": expected_name(LOGIN),
        "subject": expected_sub(LOGIN),
        "task text": TASK,
        "Todoist token": token,
    }
    leaks = []
    for record in ours:
        line = handler.format(record)
        leaks += [
            f"{label} in {line[:300]!r}" for label, text in needles.items() if text.lower() in line.lower()
        ]
    assert not leaks, "\n".join(leaks)
