"""The SQL runner on the real local PostgreSQL: a SELECT-only role on ro_* views refuses every write.

Runs against a throwaway database that is dropped afterwards (marker scaleout).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from oo.db import make_engine
from oo.models import Integration, LoginFlow, PushSubscription, User, UserSession, utcnow
from oo.services.admin import sql_runner_pg as admin_sql_pg
from oo.services.admin.sql_runner import SqlRefused, run_query

pytestmark = pytest.mark.scaleout
SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
SECRET = "test-secret-for-the-readonly-role"


@pytest.fixture(scope="module")
def pg() -> Iterator[str]:
    name = f"oo_admin_sql_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(SERVER, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    engine = make_engine(url)
    try:
        SQLModel.metadata.create_all(engine)
        now = utcnow()
        with Session(engine) as s:
            s.add_all([User(email=f"u{i}@example.test", name=f"U{i}") for i in range(1, 4)])
            s.commit()
            s.add(
                Integration(user_id=1, provider="todoist", credentials="v1.k.SECRET-TOKEN", sync_token="SYNC")
            )
            s.add(UserSession(user_id=1, token_hash="HASH" * 16, expires_at=now))
            s.add(PushSubscription(user_id=1, endpoint_hash="E" * 64, data="v1.k.PUSH-ENDPOINT"))
            s.add(
                LoginFlow(
                    state_hash="S" * 64,
                    browser_hash="B" * 64,
                    provider="google",
                    nonce="NONCE",
                    expires_at=now,
                )
            )
            s.commit()
        views = admin_sql_pg.ensure_readonly_role(engine=engine, secret=SECRET, time_limit=1.0)
        assert "ro_user" in views and "ro_login_flow" not in views
        yield url
    finally:
        engine.dispose()
        admin_sql_pg._ready.discard(url)
        with psycopg.connect(SERVER, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(url: str, sql: str, **kw):
    admin_sql_pg._ready.add(url)  # the fixture already set the role up (with a 1 s statement timeout)
    return run_query(database_url=url, sql=sql, secret=SECRET, time_limit=kw.pop("time_limit", 1.0), **kw)


def fingerprint(url: str) -> tuple:
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        users = conn.execute('SELECT id, email, role FROM "user" ORDER BY id').fetchall()
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
        ).fetchall()
        integrations = conn.execute("SELECT count(*) FROM integration").fetchone()
    return tuple(users), tuple(tables), integrations


WRITES = [
    "UPDATE ro_user SET role = 'admin'",
    "UPDATE \"user\" SET role = 'admin'",
    "DELETE FROM ro_user",
    'DELETE FROM "user"',
    "INSERT INTO ro_user (email) VALUES ('x')",
    'DROP TABLE "user"',
    "DROP VIEW ro_user",
    "CREATE TABLE evil (x int)",
    "CREATE TEMP TABLE evil (x int)",
    'ALTER TABLE "user" ADD COLUMN evil text',
    'TRUNCATE "user"',
    'SELECT 1; DELETE FROM "user"',
    'SET TRANSACTION READ WRITE; DELETE FROM "user"',
    "SET ROLE postgres",
    'RESET ROLE; DELETE FROM "user"',
    'WITH doomed AS (DELETE FROM "user" RETURNING id) SELECT count(*) FROM doomed',
    "WITH x AS (SELECT 1) UPDATE ro_user SET role = 'admin'",
    "WITH x AS (INSERT INTO \"user\" (email) VALUES ('x') RETURNING id) SELECT * FROM x",
    "SELECT * FROM ro_user FOR UPDATE",
    "COPY (SELECT 1) TO PROGRAM 'touch /tmp/oo-evil'",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT lo_import('/etc/passwd')",
    "SELECT * FROM integration",
    "SELECT token_hash FROM user_session",
    "SELECT * FROM login_flow",
    "SELECT set_config('default_transaction_read_only', 'off', false); DELETE FROM \"user\"",
]


@pytest.mark.parametrize("sql", WRITES)
def test_every_write_or_secret_read_is_refused_and_nothing_changes(pg, sql):
    before = fingerprint(pg)
    with pytest.raises(SqlRefused) as refused:
        run(pg, sql)
    assert str(refused.value).startswith(("Refused:", "Query failed:")), refused.value
    assert fingerprint(pg) == before


def test_refusals_say_why(pg):
    with pytest.raises(SqlRefused, match="read-only"):
        run(pg, "DELETE FROM ro_user")
    with pytest.raises(SqlRefused, match="one statement"):
        run(pg, "SELECT 1; SELECT 2")
    with pytest.raises(SqlRefused, match="longer than"):
        run(pg, "SELECT pg_sleep(5)", time_limit=1.0)


def test_views_answer_without_secret_columns(pg):
    result = run(pg, "SELECT id, email FROM ro_user ORDER BY id")
    assert result.rows == [["1", "u1@example.test"], ["2", "u2@example.test"], ["3", "u3@example.test"]]
    shown = [run(pg, f"SELECT * FROM ro_{t}") for t in ("integration", "user_session", "push_subscription")]
    everything = json.dumps([[*r.rows, r.columns] for r in shown])
    for secret in ("SECRET-TOKEN", "SYNC", "HASH", "PUSH-ENDPOINT", "credentials", "token_hash", "EEEE"):
        assert secret not in everything


def test_row_cap(pg):
    result = run(pg, "SELECT g FROM generate_series(1, 2000) AS g", row_cap=500)
    assert len(result.rows) == 500 and result.truncated


def test_setup_is_idempotent_and_views_can_be_dropped_for_migrations(pg):
    engine = make_engine(pg)
    try:
        again = admin_sql_pg.ensure_readonly_role(engine=engine, secret=SECRET, time_limit=1.0)
        assert "ro_tip_view" in again
        assert admin_sql_pg.drop_readonly_views(engine=engine) == len(again)
        with engine.begin() as conn:  # a migration may now drop a column a view used to show
            conn.execute(sa.text('ALTER TABLE "user" DROP COLUMN quiet_hours'))
        assert "ro_user" in admin_sql_pg.ensure_readonly_role(engine=engine, secret=SECRET, time_limit=1.0)
    finally:
        engine.dispose()
    assert run(pg, "SELECT count(*) FROM ro_user").rows == [["3"]]


@pytest.mark.parametrize(
    "sql",
    [
        'DELETE FROM "user"',
        "DELETE FROM ro_user",
        "UPDATE ro_user SET role = 'admin'",
        "CREATE TABLE evil (x int)",
        "SELECT * FROM integration",
    ],
)
def test_the_role_itself_cannot_write_even_in_a_read_write_transaction(pg, sql):
    """Read-only transactions are only a second fence: the role's privileges are the real one (Q3)."""
    info = admin_sql_pg._conninfo(pg, SECRET)
    with psycopg.connect(**info, autocommit=True) as conn:
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
        conn.execute("SET default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(sql)
    assert fingerprint(pg)[0][0] == (1, "u1@example.test", "user")


def test_memory_and_time_are_bounded_per_query(pg):
    def role_defaults() -> list[str]:
        with psycopg.connect(pg.replace("+psycopg", "")) as conn:
            return [
                r[0]
                for r in conn.execute(
                    "SELECT unnest(setconfig) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole "
                    "WHERE r.rolname = 'oo_readonly'"
                )
            ]

    with psycopg.connect(pg.replace("+psycopg", ""), autocommit=True) as conn:  # roles are cluster-wide
        conn.execute("ALTER ROLE oo_readonly RESET work_mem")
    assert "work_mem=4MB" not in role_defaults()
    shown = run(pg, "SELECT current_setting('work_mem'), current_setting('statement_timeout')")
    assert shown.rows == [["4MB", "1s"]]  # set on the runner's own connection
    engine = make_engine(pg)
    try:
        admin_sql_pg.ensure_readonly_role(engine=engine, secret=SECRET, time_limit=1.0)
    finally:
        engine.dispose()
    assert "work_mem=4MB" in role_defaults()  # and the role's default, for any other client
