"""Advice library management (R10): create, edit, retire or restore a piece — each with its audit row.

Reads and the versioned seed live in `oo.services.advice.library`; these writes are the console's
and the admin API's, called only after the caller's admin role was checked on the server. Each
lands with one ``admin_action`` row in the same transaction.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from sqlmodel import Session, select

from oo.models import Advice, utcnow
from oo.services.admin import audit as admin_audit
from oo.services.admin.inputs import AdminInputError
from oo.services.advice import library

F = TypeVar("F", bound=Callable[..., Any])


def _admin_errors(fn: F) -> F:
    """The library's validation errors become the console's input errors (same message)."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except library.AdviceInputError as exc:
            raise AdminInputError(str(exc)) from None

    return run  # type: ignore[return-value]


@_admin_errors
def create(*, session: Session, admin_id: int, data: dict[str, Any]) -> Advice:
    """Add an operator's piece (audited in the same transaction).

    Args:
        session: Database session.
        admin_id: The admin (already checked).
        data: ``key`` (optional), ``text``, ``topic``, ``tags``, ``rationale``.

    Raises:
        AdminInputError: Invalid input or a key in use.
    """
    text = library.clean_text(data.get("text"), "text", library.MAX_TEXT, required=True)
    tags = library.parse_tags(data.get("tags"))
    topic = data.get("topic", "other")
    if topic not in library.TOPICS:
        raise AdminInputError(f"topic must be one of: {', '.join(library.TOPICS)}")
    rationale = library.clean_text(
        data.get("rationale", ""), "rationale", library.MAX_RATIONALE, required=False
    )
    key = data.get("key") or f"op-{utcnow().strftime('%Y%m%d%H%M%S%f')}"
    if not isinstance(key, str) or not library.KEY_RE.match(key):
        raise AdminInputError("key must be 1-40 characters of a-z 0-9 _ - (starting with a letter or digit)")
    if session.exec(select(Advice.id).where(Advice.key == key)).first() is not None:
        raise AdminInputError("that key is already in the library")
    row = Advice(
        key=key,
        text=text,
        topic=topic,
        tags=json.dumps(tags.as_dict(), sort_keys=True),
        rationale=rationale,
        source=library.OPERATOR,
        version=0,
        created_by=admin_id,
    )
    session.add(row)
    session.flush()
    admin_audit.record(
        session=session,
        admin_id=admin_id,
        action="advice.create",
        target=f"advice:{key}",
        params={"text": text},
    )
    session.commit()
    library.invalidate()
    session.refresh(row)
    return row


@_admin_errors
def update(*, session: Session, admin_id: int, advice_id: Any, data: dict[str, Any]) -> Advice:
    """Edit a piece's text, topic, tags or rationale (audited); a built-in piece is then ``edited``.

    Raises:
        AdminInputError: Invalid input or nothing to change.
        LookupError: No such piece.
    """
    row = library.get_piece(session=session, advice_id=advice_id)
    changes: dict[str, Any] = {}
    if "text" in data:
        changes["text"] = library.clean_text(data["text"], "text", library.MAX_TEXT, required=True)
    if "rationale" in data:
        changes["rationale"] = library.clean_text(
            data["rationale"], "rationale", library.MAX_RATIONALE, required=False
        )
    if "topic" in data:
        if data["topic"] not in library.TOPICS:
            raise AdminInputError(f"topic must be one of: {', '.join(library.TOPICS)}")
        changes["topic"] = data["topic"]
    if "tags" in data:
        changes["tags"] = json.dumps(library.parse_tags(data["tags"]).as_dict(), sort_keys=True)
    changes = {k: v for k, v in changes.items() if getattr(row, k) != v}
    if not changes:
        raise AdminInputError("nothing to change")
    for field, value in changes.items():
        setattr(row, field, value)
    row.edited, row.updated_at = row.source == library.BUILTIN or row.edited, utcnow()
    session.add(row)
    admin_audit.record(
        session=session,
        admin_id=admin_id,
        action="advice.update",
        target=f"advice:{row.key}",
        params={"fields": sorted(changes)},
    )
    session.commit()
    library.invalidate()
    session.refresh(row)
    return row


@_admin_errors
def set_status(*, session: Session, admin_id: int, advice_id: Any, status: Any) -> Advice:
    """Retire a piece (never shown again, its history kept) or bring it back (audited).

    Raises:
        AdminInputError: Bad status or no change.
        LookupError: No such piece.
    """
    if status not in (library.ACTIVE, library.RETIRED):
        raise AdminInputError("status must be active or retired")
    row = library.get_piece(session=session, advice_id=advice_id)
    if row.status == status:
        raise AdminInputError(f"that piece is already {status}")
    row.status, row.updated_at = status, utcnow()
    session.add(row)
    admin_audit.record(
        session=session,
        admin_id=admin_id,
        action="advice.retire" if status == library.RETIRED else "advice.restore",
        target=f"advice:{row.key}",
    )
    session.commit()
    library.invalidate()
    session.refresh(row)
    return row
