"""The advice library: pieces, tags, the versioned seed, and the audited admin writes.

Built-in pieces ship as data (``oo/content/advice_v<N>.json``, the newest file wins). `seed` is
idempotent and versioned: it inserts built-in keys that are missing and rewrites a built-in row
only when the shipped version is newer than the row's *and* no admin has edited it. Operators'
own pieces (``source = operator``) and retired pieces are never touched, so upgrades keep them.

Tags (JSON in ``advice.tags``): ``time`` (morning, midday, afternoon, evening, night), ``energy``
(low, medium, high), ``minutes`` (1-240) and ``contexts`` (see `CONTEXTS`). A piece whose only
context is ``no_tasks`` is shown only when no task is open ("You cleared your list…").
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from oo.models import Advice, utcnow
from oo.services import admin_audit
from oo.services.admin_query import AdminInputError

log = logging.getLogger("oo.advice")

CONTENT = Path(__file__).resolve().parents[2] / "content"
TIMES = ("morning", "midday", "afternoon", "evening", "night")
ENERGIES = ("low", "medium", "high")
CONTEXTS = (
    "after_focus",
    "busy_day",
    "weekend",
    "workday",
    "start_of_day",
    "end_of_day",
    "between_meetings",
    "stuck",
    "no_tasks",
)
TOPICS = ("breaks", "movement", "focus", "planning", "rest", "kindness", "other")
BUILTIN, OPERATOR = "builtin", "operator"
ACTIVE, RETIRED = "active", "retired"
MAX_TEXT, MAX_RATIONALE = 280, 400
KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class Tags:
    """A piece's tags, validated."""

    time: tuple[str, ...]
    energy: str
    minutes: int
    contexts: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (``advice.tags``)."""
        return {
            "time": list(self.time),
            "energy": self.energy,
            "minutes": self.minutes,
            "contexts": list(self.contexts),
        }

    @property
    def only_without_tasks(self) -> bool:
        """Shown only when nothing is open."""
        return self.contexts == ("no_tasks",)


@dataclass(frozen=True)
class Piece:
    """One piece of advice as the picker and the console see it."""

    id: int
    key: str
    text: str
    topic: str
    tags: Tags
    rationale: str
    source: str
    status: str


def _choices(value: Any, allowed: tuple[str, ...], name: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not value or len(value) > len(allowed):
        raise AdminInputError(f"{name} must be a non-empty list of: {', '.join(allowed)}")
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise AdminInputError(f"unknown {name}: {', '.join(map(str, unknown))[:80]}")
    return tuple(dict.fromkeys(value))


def parse_tags(data: Any) -> Tags:
    """Validate tags from JSON data.

    Raises:
        AdminInputError: With a message fit to show.

    Examples:
        >>> parse_tags({"time": ["morning"], "energy": "low", "minutes": 2, "contexts": ["stuck"]}).minutes
        2
        >>> parse_tags({"time": ["dawn"], "energy": "low", "minutes": 2, "contexts": ["stuck"]})
        Traceback (most recent call last):
        ...
        oo.services.admin_query.AdminInputError: unknown time: dawn
    """
    if not isinstance(data, dict):
        raise AdminInputError("tags must be an object")
    minutes = data.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 240:
        raise AdminInputError("minutes must be a whole number from 1 to 240")
    if data.get("energy") not in ENERGIES:
        raise AdminInputError(f"energy must be one of: {', '.join(ENERGIES)}")
    return Tags(
        time=_choices(data.get("time"), TIMES, "time"),
        energy=data["energy"],
        minutes=minutes,
        contexts=_choices(data.get("contexts"), CONTEXTS, "contexts"),
    )


def _text(value: Any, name: str, limit: int, *, required: bool) -> str:
    if not isinstance(value, str):
        raise AdminInputError(f"{name} must be text")
    value = " ".join(value.split())
    if required and not value:
        raise AdminInputError(f"{name} is required")
    if len(value) > limit:
        raise AdminInputError(f"{name} must be at most {limit} characters")
    return value


def to_piece(row: Advice) -> Piece:
    """A row as a `Piece` (tags re-validated; a broken row gets tags that never match)."""
    assert row.id is not None
    try:
        tags = parse_tags(json.loads(row.tags or "{}"))
    except (ValueError, AdminInputError):
        log.error("advice %s has invalid tags; it is never picked", row.key)
        tags = Tags((), "low", 1, ())
    return Piece(row.id, row.key, row.text, row.topic, tags, row.rationale, row.source, row.status)


@lru_cache(maxsize=1)
def shipped() -> tuple[int, tuple[dict[str, Any], ...]]:
    """The newest shipped library: its version and its pieces (validated once)."""
    files = sorted(CONTENT.glob("advice_v*.json"), key=lambda p: int(p.stem.rsplit("v", 1)[1]))
    doc = json.loads(files[-1].read_text(encoding="utf-8"))
    version, pieces = int(doc["version"]), []
    for raw in doc["pieces"]:
        key = raw["key"]
        if not KEY_RE.match(key):
            raise ValueError(f"shipped advice key {key!r} is malformed")
        tags = parse_tags({k: raw[k] for k in ("time", "energy", "minutes", "contexts")})
        pieces.append(
            {
                "key": key,
                "text": _text(raw["text"], "text", MAX_TEXT, required=True),
                "topic": raw["topic"] if raw["topic"] in TOPICS else "other",
                "tags": json.dumps(tags.as_dict(), sort_keys=True),
                "rationale": _text(raw.get("rationale", ""), "rationale", MAX_RATIONALE, required=False),
            }
        )
    if len({p["key"] for p in pieces}) != len(pieces):
        raise ValueError("shipped advice keys repeat")
    return version, tuple(pieces)


def seed(*, session: Session) -> dict[str, int]:
    """Bring the built-in pieces up to the shipped version; never touch operators' or edited ones.

    Returns:
        Counts: ``inserted``, ``updated`` and ``kept`` (edited, retired or already current).
    """
    version, pieces = shipped()
    rows = {r.key: r for r in session.exec(select(Advice)).all()}
    counts = {"inserted": 0, "updated": 0, "kept": 0}
    now = utcnow()
    for piece in pieces:
        row = rows.get(piece["key"])
        if row is None:
            session.add(Advice(**piece, source=BUILTIN, version=version, created_at=now, updated_at=now))
            counts["inserted"] += 1
        elif row.source == BUILTIN and row.status == ACTIVE and not row.edited and row.version < version:
            for field, value in piece.items():
                setattr(row, field, value)
            row.version, row.updated_at = version, now
            session.add(row)
            counts["updated"] += 1
        else:
            counts["kept"] += 1
    session.commit()
    if counts["inserted"] or counts["updated"]:
        log.info("advice library v%s: %s", version, counts)
    return counts


def active_pieces(*, session: Session) -> list[Piece]:
    """Every active piece."""
    rows = session.exec(select(Advice).where(Advice.status == ACTIVE).order_by(col(Advice.id))).all()
    return [to_piece(r) for r in rows]


def list_pieces(*, session: Session, status: str = "") -> list[Piece]:
    """The library for the console, optionally only ``active`` or ``retired`` pieces."""
    query = select(Advice).order_by(col(Advice.key))
    if status:
        if status not in (ACTIVE, RETIRED):
            raise AdminInputError("status must be active or retired")
        query = query.where(Advice.status == status)
    return [to_piece(r) for r in session.exec(query).all()]


def get_piece(*, session: Session, advice_id: Any) -> Advice:
    """One row by id.

    Raises:
        AdminInputError: Not a valid id.
        LookupError: No such piece.
    """
    if isinstance(advice_id, bool) or not isinstance(advice_id, int) or advice_id < 1:
        raise AdminInputError("advice id must be a positive whole number")
    row = session.get(Advice, advice_id)
    if row is None:
        raise LookupError("no such advice")
    return row


def create(*, session: Session, admin_id: int, data: dict[str, Any]) -> Advice:
    """Add an operator's piece (audited in the same transaction).

    Args:
        session: Database session.
        admin_id: The admin (already checked).
        data: ``key`` (optional), ``text``, ``topic``, ``tags``, ``rationale``.

    Raises:
        AdminInputError: Invalid input or a key in use.
    """
    text = _text(data.get("text"), "text", MAX_TEXT, required=True)
    tags = parse_tags(data.get("tags"))
    topic = data.get("topic", "other")
    if topic not in TOPICS:
        raise AdminInputError(f"topic must be one of: {', '.join(TOPICS)}")
    rationale = _text(data.get("rationale", ""), "rationale", MAX_RATIONALE, required=False)
    key = data.get("key") or f"op-{utcnow().strftime('%Y%m%d%H%M%S%f')}"
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise AdminInputError("key must be 1-40 characters of a-z 0-9 _ - (starting with a letter or digit)")
    if session.exec(select(Advice.id).where(Advice.key == key)).first() is not None:
        raise AdminInputError("that key is already in the library")
    row = Advice(
        key=key,
        text=text,
        topic=topic,
        tags=json.dumps(tags.as_dict(), sort_keys=True),
        rationale=rationale,
        source=OPERATOR,
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
    session.refresh(row)
    return row


def update(*, session: Session, admin_id: int, advice_id: Any, data: dict[str, Any]) -> Advice:
    """Edit a piece's text, topic, tags or rationale (audited); a built-in piece is then ``edited``.

    Raises:
        AdminInputError: Invalid input or nothing to change.
        LookupError: No such piece.
    """
    row = get_piece(session=session, advice_id=advice_id)
    changes: dict[str, Any] = {}
    if "text" in data:
        changes["text"] = _text(data["text"], "text", MAX_TEXT, required=True)
    if "rationale" in data:
        changes["rationale"] = _text(data["rationale"], "rationale", MAX_RATIONALE, required=False)
    if "topic" in data:
        if data["topic"] not in TOPICS:
            raise AdminInputError(f"topic must be one of: {', '.join(TOPICS)}")
        changes["topic"] = data["topic"]
    if "tags" in data:
        changes["tags"] = json.dumps(parse_tags(data["tags"]).as_dict(), sort_keys=True)
    changes = {k: v for k, v in changes.items() if getattr(row, k) != v}
    if not changes:
        raise AdminInputError("nothing to change")
    for field, value in changes.items():
        setattr(row, field, value)
    row.edited, row.updated_at = row.source == BUILTIN or row.edited, utcnow()
    session.add(row)
    admin_audit.record(
        session=session,
        admin_id=admin_id,
        action="advice.update",
        target=f"advice:{row.key}",
        params={"fields": sorted(changes)},
    )
    session.commit()
    session.refresh(row)
    return row


def set_status(*, session: Session, admin_id: int, advice_id: Any, status: Any) -> Advice:
    """Retire a piece (never shown again, its history kept) or bring it back (audited).

    Raises:
        AdminInputError: Bad status or no change.
        LookupError: No such piece.
    """
    if status not in (ACTIVE, RETIRED):
        raise AdminInputError("status must be active or retired")
    row = get_piece(session=session, advice_id=advice_id)
    if row.status == status:
        raise AdminInputError(f"that piece is already {status}")
    row.status, row.updated_at = status, utcnow()
    session.add(row)
    admin_audit.record(
        session=session,
        admin_id=admin_id,
        action="advice.retire" if status == RETIRED else "advice.restore",
        target=f"advice:{row.key}",
    )
    session.commit()
    session.refresh(row)
    return row
