"""Event stream (A5) and signal replay (A12): the bus's live ring buffer, the stored history, replays.

The live view reads this process's ring buffer (`oo.services.platform.event_bus.bus().tail`); the history
reads the ``event`` table, which every published event reaches whichever worker published it.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from oo.bus import REGISTRY, Event, EventNotFound
from oo.bus.base import validate_pattern
from oo.models import EventRecord, utcnow
from oo.services.admin import audit as admin_audit
from oo.services.admin.inputs import (
    AdminInputError,
    Page,
    page_of,
    parse_choice,
    parse_optional_int,
    parse_page,
    parse_text,
)
from oo.services.admin.portable_sql import hour_bucket
from oo.services.platform import event_bus as events

SINCE = {"15m": 15, "1h": 60, "24h": 1440, "7d": 10080, "all": 0}
EVENT_ID = re.compile(r"^[0-9a-f]{32}$")
DATA_CHARS = 400


def _subject(value: Any) -> str | None:
    text = parse_text(value, "subject", max_len=100)
    if not text:
        return None
    try:
        return validate_pattern(text)
    except ValueError as exc:
        raise AdminInputError(f"Subject filter: {exc}") from None


def _since(value: Any) -> Any:
    minutes = SINCE[parse_choice(value or "all", "since", SINCE)]
    return utcnow() - timedelta(minutes=minutes) if minutes else None


def _row(event: Event) -> dict[str, Any]:
    data = json.dumps(event.data, sort_keys=True, default=str)
    return {
        "id": event.id,
        "when": event.occurred_at.strftime("%Y-%m-%d %H:%M:%S"),
        "subject": event.subject,
        "user_id": "" if event.user_id is None else str(event.user_id),
        "data": data if len(data) <= DATA_CHARS else data[: DATA_CHARS - 1] + "…",
        "replay_of": event.replay_of or "",
    }


def live(
    *, subject: Any = "", user_id: Any = "", since: Any = "all", limit: int = 100
) -> list[dict[str, Any]]:
    """The newest events in this process's ring buffer, filtered (subject may be a NATS pattern).

    Raises:
        AdminInputError: A malformed filter.
    """
    return [
        _row(e)
        for e in events.bus().tail(
            limit=limit,
            subject=_subject(subject),
            user_id=parse_optional_int(user_id, "user id"),
            since=_since(since),
        )
    ]


def history(
    *,
    session: Session,
    subject: Any = "",
    user_id: Any = "",
    since: Any = "24h",
    page: Any = 1,
    page_size: Any = 50,
) -> Page:
    """Stored events newest first; ``subject`` is exact or a prefix pattern ending in ``>``.

    Raises:
        AdminInputError: A malformed filter or page.
    """
    number, size = parse_page(page, page_size)
    pattern, uid, start = _subject(subject), parse_optional_int(user_id, "user id"), _since(since)
    stmt = select(EventRecord)
    if pattern and "*" in pattern:
        raise AdminInputError("History filters take an exact subject or a prefix such as signals.tip.>")
    if pattern and pattern.endswith(">"):
        stmt = stmt.where(col(EventRecord.subject).startswith(pattern[:-1], autoescape=True))
    elif pattern:
        stmt = stmt.where(EventRecord.subject == pattern)
    if uid is not None:
        stmt = stmt.where(EventRecord.user_id == uid)
    if start is not None:
        stmt = stmt.where(col(EventRecord.occurred_at) >= start)
    stmt = stmt.order_by(col(EventRecord.occurred_at).desc()).offset((number - 1) * size).limit(size + 1)
    rows = [
        _row(
            Event(
                id=r.id,
                subject=r.subject,
                user_id=r.user_id,
                occurred_at=r.occurred_at,
                data=json.loads(r.data or "{}"),
                replay_of=r.replay_of,
            )
        )
        for r in session.exec(stmt).all()
    ]
    return page_of(rows, page=number, page_size=size)


def hourly_counts(*, session: Session, hours: int = 24) -> list[dict[str, Any]]:
    """Events per UTC hour (``YYYY-MM-DD HH``) and registered subject over the last ``hours`` hours.

    Naming the subjects lets the database read only the (subject, time) index, never the rows.
    """
    start = utcnow() - timedelta(hours=hours)
    hour = hour_bucket(EventRecord.occurred_at).label("hour")
    rows = session.exec(
        select(hour, EventRecord.subject, sa.func.count())
        .where(col(EventRecord.subject).in_(sorted(REGISTRY)), col(EventRecord.occurred_at) >= start)
        .group_by(hour, EventRecord.subject)
    ).all()
    return [{"hour": h, "subject": s, "count": n} for h, s, n in rows]


async def replay(*, session: Session, admin_id: int, event_id: Any) -> Event:
    """Publish a stored event again (marked ``replay_of``), with one audit row.

    The audit row is committed only once the bus has accepted the replay, so a failed replay
    leaves no trace claiming it happened.

    Raises:
        AdminInputError: Malformed or unknown event id.
    """
    text = parse_text(event_id, "event id", max_len=32).lower()
    if not EVENT_ID.match(text):
        raise AdminInputError("An event id is 32 hexadecimal characters.")
    try:
        replayed = await events.bus().replay(text)
    except EventNotFound:
        session.rollback()
        raise AdminInputError(f"There is no event {text}.") from None
    admin_audit.record(
        session=session,
        admin_id=admin_id,
        action="event.replay",
        target=f"event:{text}",
        params={"replay_id": replayed.id, "subject": replayed.subject},
    )
    session.commit()
    return replayed
