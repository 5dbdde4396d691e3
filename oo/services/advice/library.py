"""The advice library: pieces, tags, validation, reads and the versioned seed.

Built-in pieces ship as data (``oo/content/advice_v<N>.json``, the newest file wins). `seed` is
idempotent and versioned: it inserts built-in keys that are missing and rewrites a built-in row
only when the shipped version is newer than the row's *and* no admin has edited it. Operators'
own pieces (``source = operator``) and retired pieces are never touched, so upgrades keep them.

Tags (JSON in ``advice.tags``): ``time`` (morning, midday, afternoon, evening, night), ``energy``
(low, medium, high), ``minutes`` (1-240) and ``contexts`` (see `CONTEXTS`). A piece whose only
context is ``no_tasks`` is shown only when no task is open ("You cleared your list…").
The audited admin writes are `oo.services.admin.advice`.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from oo import singletons
from oo.models import Advice, utcnow

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
CACHE_SECONDS = 5.0
_lock = threading.Lock()
_cached: dict[str, tuple[float, list[Piece]]] = {}  # per database URL (tests use several)


class AdviceInputError(ValueError):
    """A piece or tag that is not valid; the message is fit to show to an admin."""


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
        raise AdviceInputError(f"{name} must be a non-empty list of: {', '.join(allowed)}")
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise AdviceInputError(f"unknown {name}: {', '.join(map(str, unknown))[:80]}")
    return tuple(dict.fromkeys(value))


def parse_tags(data: Any) -> Tags:
    """Validate tags from JSON data.

    Raises:
        AdviceInputError: With a message fit to show.

    Examples:
        >>> parse_tags({"time": ["morning"], "energy": "low", "minutes": 2, "contexts": ["stuck"]}).minutes
        2
        >>> parse_tags({"time": ["dawn"], "energy": "low", "minutes": 2, "contexts": ["stuck"]})
        Traceback (most recent call last):
        ...
        oo.services.advice.library.AdviceInputError: unknown time: dawn
    """
    if not isinstance(data, dict):
        raise AdviceInputError("tags must be an object")
    minutes = data.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= 240:
        raise AdviceInputError("minutes must be a whole number from 1 to 240")
    if data.get("energy") not in ENERGIES:
        raise AdviceInputError(f"energy must be one of: {', '.join(ENERGIES)}")
    return Tags(
        time=_choices(data.get("time"), TIMES, "time"),
        energy=data["energy"],
        minutes=minutes,
        contexts=_choices(data.get("contexts"), CONTEXTS, "contexts"),
    )


def clean_text(value: Any, name: str, limit: int, *, required: bool) -> str:
    """Text with its whitespace collapsed, within ``limit`` characters (non-empty when ``required``)."""
    if not isinstance(value, str):
        raise AdviceInputError(f"{name} must be text")
    value = " ".join(value.split())
    if required and not value:
        raise AdviceInputError(f"{name} is required")
    if len(value) > limit:
        raise AdviceInputError(f"{name} must be at most {limit} characters")
    return value


def to_piece(row: Advice) -> Piece:
    """A row as a `Piece` (tags re-validated; a broken row gets tags that never match)."""
    assert row.id is not None
    try:
        tags = parse_tags(json.loads(row.tags or "{}"))
    except (ValueError, AdviceInputError):
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
                "text": clean_text(raw["text"], "text", MAX_TEXT, required=True),
                "topic": raw["topic"] if raw["topic"] in TOPICS else "other",
                "tags": json.dumps(tags.as_dict(), sort_keys=True),
                "rationale": clean_text(raw.get("rationale", ""), "rationale", MAX_RATIONALE, required=False),
            }
        )
    if len({p["key"] for p in pieces}) != len(pieces):
        raise ValueError("shipped advice keys repeat")
    return version, tuple(pieces)


def seed(*, session: Session) -> dict[str, int]:
    """Bring the built-in pieces up to the shipped version; never touch operators' or edited ones.

    Several workers start at once and each seeds: when another one inserted the same pieces first
    (a unique key violation at commit), this one rolls back and reads the library again.

    Returns:
        Counts: ``inserted``, ``updated`` and ``kept`` (edited, retired or already current).
    """
    try:
        return _seed_once(session)
    except IntegrityError:
        session.rollback()
        log.info("advice library: another worker seeded it at the same moment; reading it again")
        return _seed_once(session)


def _seed_once(session: Session) -> dict[str, int]:
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
    invalidate()
    if counts["inserted"] or counts["updated"]:
        log.info("advice library v%s: %s", version, counts)
    return counts


def active_pieces(*, session: Session) -> list[Piece]:
    """Every active piece; cached in process for `CACHE_SECONDS` (every pick reads the library).

    A change made by an admin here drops the cache at once; one made on another worker is seen
    within `CACHE_SECONDS`.
    """
    url = str(session.get_bind().engine.url)
    with _lock:
        hit = _cached.get(url)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    rows = session.exec(select(Advice).where(Advice.status == ACTIVE).order_by(col(Advice.id))).all()
    pieces = [to_piece(r) for r in rows]
    if hit is not None and hit[1] == pieces:
        pieces = hit[1]  # unchanged: the same list, so what is kept per list (the picker's rankings) stays
    with _lock:
        _cached[url] = (time.monotonic(), pieces)
    return pieces


def invalidate() -> None:
    """Forget the cached library (after a write)."""
    with _lock:
        _cached.clear()


singletons.on_reset("advice.library", invalidate)


def list_pieces(*, session: Session, status: str = "") -> list[Piece]:
    """The library for the console, optionally only ``active`` or ``retired`` pieces."""
    query = select(Advice).order_by(col(Advice.key))
    if status:
        if status not in (ACTIVE, RETIRED):
            raise AdviceInputError("status must be active or retired")
        query = query.where(Advice.status == status)
    return [to_piece(r) for r in session.exec(query).all()]


def get_piece(*, session: Session, advice_id: Any) -> Advice:
    """One row by id.

    Raises:
        AdviceInputError: Not a valid id.
        LookupError: No such piece.
    """
    if isinstance(advice_id, bool) or not isinstance(advice_id, int) or advice_id < 1:
        raise AdviceInputError("advice id must be a positive whole number")
    row = session.get(Advice, advice_id)
    if row is None:
        raise LookupError("no such advice")
    return row
