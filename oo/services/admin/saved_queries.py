"""Saved queries of the SQL runner (A13): save (create or replace by name), list, delete; audited."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from oo.models import SavedQuery, utcnow
from oo.services.admin import audit as admin_audit
from oo.services.admin.inputs import AdminInputError, parse_int, parse_text
from oo.services.admin.sql_runner import check_sql


def list_saved(*, session: Session) -> list[dict[str, Any]]:
    """Every saved query, by name."""
    return [
        {"id": q.id, "name": q.name, "sql": q.sql, "created": q.created_at.strftime("%Y-%m-%d %H:%M")}
        for q in session.exec(select(SavedQuery).order_by(col(SavedQuery.name))).all()
    ]


def save(*, session: Session, admin_id: int, name: Any, sql: Any) -> SavedQuery:
    """Save ``sql`` under ``name``, replacing a saved query of that name; one audit row.

    Raises:
        AdminInputError: Blank or over-long name, empty or over-long SQL.
    """
    name = parse_text(name, "name", max_len=100)
    if not name:
        raise AdminInputError("Give the query a name.")
    sql = check_sql(sql)
    row = session.exec(select(SavedQuery).where(SavedQuery.name == name)).first()
    replaced = row is not None
    if row is None:
        row = SavedQuery(name=name, sql=sql, created_by=admin_id, created_at=utcnow())
    row.sql = sql
    session.add(row)
    admin_audit.record(
        session=session,
        admin_id=admin_id,
        action="sql.save",
        target=f"query:{name}",
        params={"sql": sql, "replaced": replaced},
    )
    session.commit()
    return row


def get(*, session: Session, query_id: Any) -> SavedQuery:
    """One saved query.

    Raises:
        AdminInputError: Unknown or malformed id.
    """
    qid = parse_int(query_id, "query id")
    row = session.get(SavedQuery, qid)
    if row is None:
        raise AdminInputError(f"There is no saved query {qid}.")
    return row


def delete(*, session: Session, admin_id: int, query_id: Any) -> str:
    """Delete one saved query (audited); returns its name.

    Raises:
        AdminInputError: Unknown or malformed id.
    """
    row = get(session=session, query_id=query_id)
    name = row.name
    session.delete(row)
    admin_audit.record(
        session=session,
        admin_id=admin_id,
        action="sql.delete",
        target=f"query:{name}",
        params={"sql": row.sql},
    )
    session.commit()
    return name
