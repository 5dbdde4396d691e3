"""Admin writes: each one changes what it says, writes exactly one audit row, and bad input changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from oo.models import AdminAction, Integration, ModelState, Policy, SavedQuery, Task, User, utcnow
from oo.services.admin import audit as admin_audit
from oo.services.admin import policies as admin_policies
from oo.services.admin import saved_queries as admin_saved_queries
from oo.services.admin import users as admin_users
from oo.services.admin.inputs import AdminInputError
from oo.services.learning import policies
from oo.services.sources import catalog as sources


def audit_rows(session) -> list[AdminAction]:
    return list(session.exec(select(AdminAction).order_by(AdminAction.id)).all())


def make_user(session, *, role: str = "user", demo: bool = False, email: str | None = None) -> User:
    user = User(email=email, name="x", role=role, is_demo=demo)
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


@pytest.fixture
def admin(session) -> User:
    return make_user(session, role="admin", email="admin@example.test")


def test_grant_and_revoke_admin_write_one_audit_row_each(session, admin):
    bob = make_user(session, email="bob@example.test")
    admin_users.set_role(session=session, admin_id=admin.id, user_id=str(bob.id), role="admin")
    assert session.get(User, bob.id).role == "admin"
    admin_users.set_role(session=session, admin_id=admin.id, user_id=bob.id, role="user")
    assert session.get(User, bob.id).role == "user"
    rows = audit_rows(session)
    assert [(r.admin_id, r.action, r.target) for r in rows] == [
        (admin.id, "role.grant", f"user:{bob.id}"),
        (admin.id, "role.revoke", f"user:{bob.id}"),
    ]
    assert json.loads(rows[0].params) == {"from": "user", "to": "admin"}


@pytest.mark.parametrize(
    ("target", "role", "message"),
    [
        ("self", "user", "cannot revoke your own"),
        ("demo", "admin", "Demo and deleted"),
        ("bob", "user", "already has"),
        ("bob", "root", "role must be one of"),
        ("999", "admin", "no user 999"),
        ("x;drop", "admin", "whole number"),
    ],
)
def test_refused_role_changes_change_nothing(session, admin, target, role, message):
    bob = make_user(session)
    demo = make_user(session, demo=True)
    user_id = {"self": admin.id, "demo": demo.id, "bob": bob.id}.get(target, target)
    with pytest.raises(AdminInputError, match=message):
        admin_users.set_role(session=session, admin_id=admin.id, user_id=user_id, role=role)
    session.rollback()
    assert audit_rows(session) == []
    assert session.get(User, admin.id).role == "admin"
    assert session.get(User, bob.id).role == "user"


def test_promote_demotes_the_active_policy_in_the_same_commit(session, admin):
    rows = {f"{p.name}@{p.version}": p for p in policies.list_policies(session=session)}
    active = next(k for k, p in rows.items() if p.status == "active")
    shadow = next(k for k, p in rows.items() if p.status == "shadow")
    with pytest.raises(AdminInputError, match="override reason"):  # no off-policy evidence yet
        admin_policies.set_status(
            session=session, admin_id=admin.id, policy_id=rows[shadow].id, status="active"
        )
    session.rollback()
    assert audit_rows(session) == []
    admin_policies.set_status(
        session=session,
        admin_id=admin.id,
        policy_id=rows[shadow].id,
        status="active",
        override_reason="canary",
    )
    statuses = {f"{p.name}@{p.version}": p.status for p in session.exec(select(Policy)).all()}
    assert statuses[shadow] == "active" and statuses[active] == "shadow"
    assert sum(s == "active" for s in statuses.values()) == 1
    [row] = audit_rows(session)
    assert (row.action, row.target) == ("policy.promote", f"policy:{shadow}")
    assert json.loads(row.params)["demoted"] == active
    assert json.loads(row.params)["override_reason"] == "canary"
    assert "no off-policy estimate" in json.loads(row.params)["gate"]


def test_the_active_policy_cannot_be_archived_or_shadowed(session, admin):
    active = next(p for p in policies.list_policies(session=session) if p.status == "active")
    for status in ("archived", "shadow", "active"):
        with pytest.raises(AdminInputError):
            admin_policies.set_status(session=session, admin_id=admin.id, policy_id=active.id, status=status)
        session.rollback()
    with pytest.raises(AdminInputError, match="status must be one of"):
        admin_policies.set_status(session=session, admin_id=admin.id, policy_id=active.id, status="deleted")
    assert audit_rows(session) == []
    assert session.get(Policy, active.id).status == "active"


def test_archive_then_shadow_a_policy(session, admin):
    shadow = next(p for p in policies.list_policies(session=session) if p.status == "shadow")
    admin_policies.set_status(session=session, admin_id=admin.id, policy_id=shadow.id, status="archived")
    assert session.get(Policy, shadow.id).status == "archived"
    admin_policies.set_status(session=session, admin_id=admin.id, policy_id=shadow.id, status="shadow")
    assert [r.action for r in audit_rows(session)] == ["policy.archive", "policy.shadow"]


def test_reset_bandit_deletes_the_users_models_with_one_audit_row(session, admin):
    bob, other = make_user(session), make_user(session)
    for uid, key in ((bob.id, "linucb@3"), (bob.id, "linucb@1"), (other.id, "linucb@3")):
        session.add(ModelState(user_id=uid, policy_key=key, data=b"{}", updates=3))
    session.commit()
    assert admin_users.reset_bandit(session=session, admin_id=admin.id, user_id=bob.id) == 2
    left = session.exec(select(ModelState.user_id)).all()
    assert left == [other.id]
    [row] = audit_rows(session)
    assert (row.action, row.target) == ("bandit.reset", f"user:{bob.id}")


@pytest.mark.anyio
async def test_revoke_demo_integration_deletes_it_and_its_tasks_with_one_audit_row(session, admin):
    bob = make_user(session)
    sources.connect_demo(session=session, user_id=bob.id)
    assert session.exec(select(sa.func.count()).select_from(Task).where(Task.user_id == bob.id)).one() > 0
    remote = await admin_users.revoke_integration(
        session=session, admin_id=admin.id, user_id=bob.id, provider="demo"
    )
    assert remote is None  # the built-in source has no provider to ask
    assert session.exec(select(Integration).where(Integration.user_id == bob.id)).all() == []
    assert session.exec(select(Task).where(Task.user_id == bob.id)).all() == []
    [row] = audit_rows(session)
    assert (row.action, json.loads(row.params)["provider"]) == ("integration.revoke", "demo")


@pytest.mark.anyio
async def test_revoking_a_missing_integration_is_refused(session, admin):
    bob = make_user(session)
    for provider in ("demo", "github"):
        with pytest.raises(AdminInputError):
            await admin_users.revoke_integration(
                session=session, admin_id=admin.id, user_id=bob.id, provider=provider
            )
    assert audit_rows(session) == []


def test_saved_queries_save_replace_delete_each_audited(session, admin):
    first = admin_saved_queries.save(session=session, admin_id=admin.id, name=" Reactions ", sql="SELECT 1")
    admin_saved_queries.save(session=session, admin_id=admin.id, name="Reactions", sql="SELECT 2")
    assert [q["sql"] for q in admin_saved_queries.list_saved(session=session)] == ["SELECT 2"]
    assert admin_saved_queries.delete(session=session, admin_id=admin.id, query_id=first.id) == "Reactions"
    assert session.exec(select(SavedQuery)).all() == []
    assert [r.action for r in audit_rows(session)] == ["sql.save", "sql.save", "sql.delete"]
    for bad in (
        {"name": "", "sql": "SELECT 1"},
        {"name": "x", "sql": "  "},
        {"name": ["x"], "sql": "SELECT 1"},
    ):
        with pytest.raises(AdminInputError):
            admin_saved_queries.save(session=session, admin_id=admin.id, **bad)
    assert len(audit_rows(session)) == 3


def test_audit_log_filters_and_pages(session, admin):
    now = utcnow()
    for i in range(7):
        admin_audit.record(
            session=session,
            admin_id=admin.id,
            action="sql.run" if i % 2 else "bandit.reset",
            target=f"user:{i}",
            at=now - timedelta(minutes=i),
        )
    session.commit()
    page = admin_audit.list_actions(session=session, page_size=3)
    assert [r["target"] for r in page.rows] == ["user:0", "user:1", "user:2"] and page.has_next
    assert admin_audit.list_actions(session=session, page=3, page_size=3).rows[0]["target"] == "user:6"
    assert len(admin_audit.list_actions(session=session, action="sql.run").rows) == 3
    assert [r["target"] for r in admin_audit.list_actions(session=session, target="r:4").rows] == ["user:4"]
    assert admin_audit.list_actions(session=session).rows[0]["admin"] == "admin@example.test"
    with pytest.raises(AdminInputError):
        admin_audit.list_actions(session=session, action="drop table")
    with pytest.raises(ValueError, match="unknown audit action"):
        admin_audit.record(session=session, admin_id=admin.id, action="made.up")
