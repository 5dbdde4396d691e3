"""Account deletion: nothing of the user survives anywhere — not in a row, not in the database file."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from oo import db
from oo.models import Integration, Task, User
from oo.services.accounts import api_tokens
from oo.services.accounts import sessions as accounts
from oo.services.platform.keyring import keyring
from oo.services.privacy import deletion
from oo.services.push import subscriptions as push
from oo.services.sources import catalog as sources
from oo.services.tips import feedback, recommend
from tests.support.push import browser_subscription

pytestmark = pytest.mark.anyio

EMAIL, NAME, TOKEN = "grace.hopper@example.test", "Grace Hopper", "todoist-secret-token-0123456789"


def full_user(session: Session) -> tuple[int, list[str]]:
    user = accounts.sign_in_oidc(
        session=session,
        issuer="https://issuer.test",
        subject="sub-grace",
        email=EMAIL,
        name=NAME,
        email_verified=True,
        admin_seed_email="",
    )
    uid = user.id
    accounts.create_session(session=session, user_id=uid, days=30)
    sources.connect_demo(session=session, user_id=uid)
    session.add(Integration(user_id=uid, provider="todoist", credentials=keyring().encrypt(TOKEN)))
    session.add(
        Task(user_id=uid, source="todoist", external_id="t1", content="Call the cardiologist about results")
    )
    session.commit()
    # Demo texts are shared by every demo user; the Todoist task's text is this user's alone.
    texts = [
        t.content for t in session.exec(select(Task).where(Task.user_id == uid, Task.source == "todoist"))
    ]
    for _ in range(3):
        rec = recommend.recommend(session=session, user_id=uid)
        feedback.record(
            session=session,
            user_id=uid,
            tip_id=rec.tip_id,
            reaction="done",
            idempotency_key=f"k-{rec.tip_id}",
        )
    push.subscribe(session=session, user_id=uid, data=browser_subscription())
    api_tokens.create(session=session, user_id=uid, name="cli")
    return uid, texts


def every_row(session: Session):
    for table in SQLModel.metadata.sorted_tables:
        for row in session.execute(sa.select(table)).mappings():
            yield table.name, dict(row)


async def test_deletion_leaves_only_a_tombstone(app_env, make_tables, tmp_path):
    make_tables()
    with Session(db.get_engine()) as s:
        uid, texts = full_user(s)
    with Session(db.get_engine()) as s:
        other = accounts.create_demo_user(session=s).id
        sources.connect_demo(session=s, user_id=other)
    report = await deletion.delete_account(user_id=uid)
    # No Todoist app is configured in this test, so the revocation cannot be confirmed; the token is gone anyway.
    assert report.revoked == {"todoist": "not_revoked", "demo": "done"}
    needles = [EMAIL, NAME, TOKEN, "sub-grace", *texts]
    with Session(db.get_engine()) as s:
        for table, row in every_row(s):
            blob = json.dumps(row, default=str)
            for needle in needles:
                assert needle not in blob, f"{needle!r} survives in {table}: {blob[:200]}"
            if table == "user" and row["id"] == uid:
                assert row["deleted_at"] is not None and row["email"] is None and row["name"] is None
            elif "user_id" in row:
                assert row["user_id"] != uid, f"{table} still references the deleted user"
        assert s.exec(select(Task).where(Task.user_id == other)).all(), "other users keep their data"
        assert s.get(User, other).deleted_at is None
    raw = (tmp_path / "oo.db").read_bytes()
    for needle in (EMAIL, NAME, TOKEN, texts[0]):
        assert needle.encode() not in raw, f"{needle!r} still in the database file"


async def test_deleted_user_signs_in_fresh_with_a_cold_model(app_env, make_tables):
    make_tables()
    with Session(db.get_engine()) as s:
        uid, _ = full_user(s)
    await deletion.delete_account(user_id=uid)
    with Session(db.get_engine()) as s:
        again = accounts.sign_in_oidc(
            session=s,
            issuer="https://issuer.test",
            subject="sub-grace",
            email=EMAIL,
            name=NAME,
            email_verified=True,
            admin_seed_email="",
        )
        assert again.id != uid
        from oo.models import ModelState

        assert not s.exec(select(ModelState).where(ModelState.user_id == again.id)).all()


async def test_free_text_naming_the_person_is_pseudonymised_everywhere(app_env, make_tables, tmp_path):
    """An admin's SQL naming the user (audit row, saved query) keeps only a pseudonym after deletion."""
    from oo.models import AdminAction, SavedQuery

    make_tables()
    with Session(db.get_engine()) as s:
        uid, _ = full_user(s)
        admin = accounts.create_demo_user(session=s).id
        sql = "SELECT * FROM ro_user WHERE email = 'Grace.Hopper@Example.test' OR name LIKE 'grace hopper%'"
        s.add(AdminAction(admin_id=admin, action="sql.run", target="sql", params=json.dumps({"sql": sql})))
        s.add(
            AdminAction(
                admin_id=admin, action="sql.run", target="sql", params=json.dumps({"sql": "SELECT 1"})
            )
        )
        s.add(
            AdminAction(
                admin_id=admin, action="note", target="x", params=json.dumps({"who": "Grace Hopper\u00e9"})
            )
        )
        s.add(SavedQuery(name="find grace", sql=sql, created_by=admin))
        s.commit()
    report = await deletion.delete_account(user_id=uid)
    assert report.rows["scrubbed"] == 3
    with Session(db.get_engine()) as s:
        texts = [a.params for a in s.exec(select(AdminAction))] + [q.sql for q in s.exec(select(SavedQuery))]
    blob = "\n".join(texts).lower()
    for needle in ("grace.hopper", "grace hopper", "sub-grace"):
        assert needle not in blob
    assert blob.count(f"<erased user {uid}>") >= 4 and '{"sql": "select 1"}' in blob
    raw = (tmp_path / "oo.db").read_bytes().lower()
    assert b"grace.hopper" not in raw and b"grace hopper" not in raw
