"""A reaction's rows and prebuilt statements: the tip it answers, its ``tip_feedback`` row, the claim.

`oo.services.tips.feedback` records reactions with these Core statements, built once: no ORM
object is built or tracked on the reaction path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col

from oo.models import TipFeedback, TipView, table


@dataclass(frozen=True)
class Tip:
    """What a reaction needs of its tip (read with Core: no ORM object, no explanation text)."""

    id: str
    user_id: int
    kind: str
    task_id: int | None
    features: str | None


@dataclass
class FeedbackRow:
    """A reaction's ``tip_feedback`` row as written (a Core insert; ``id`` once inserted)."""

    tip_id: str
    user_id: int
    reaction: str
    reward: float
    idempotency_key: str
    origin: str
    created_at: datetime
    applied_at: datetime | None = None
    id: int | None = None

    def values(self) -> dict[str, object]:
        """The insert's values (every column but the id)."""
        return {name: getattr(self, name) for name in _ROW_COLUMNS}


_ROW_COLUMNS = (
    "tip_id",
    "user_id",
    "reaction",
    "reward",
    "idempotency_key",
    "origin",
    "created_at",
    "applied_at",
)
_TIP_COLUMNS = ("id", "user_id", "kind", "task_id", "features")


def tip_of(row: sa.Row[Any]) -> Tip:
    """The `Tip` in a row of `TIP` or `CLAIM_FIRST`."""
    return Tip(**{name: row._mapping[name] for name in _TIP_COLUMNS})


# The tip, and the caller's row with the key if there is one.
TIP = (
    sa.select(
        *(table(TipView).c[name] for name in _TIP_COLUMNS),
        table(TipFeedback).c.id.label("key_used"),
    )
    .select_from(table(TipView))
    .outerjoin(
        table(TipFeedback),
        sa.and_(
            table(TipFeedback).c.user_id == sa.bindparam("user_id"),
            table(TipFeedback).c.idempotency_key == sa.bindparam("key"),
        ),
    )
    .where(table(TipView).c.id == sa.bindparam("tip_id"))
)
KEY_USED = sa.select(col(TipFeedback.id)).where(
    col(TipFeedback.user_id) == sa.bindparam("user_id"),
    col(TipFeedback.idempotency_key) == sa.bindparam("key"),
)
INSERT = sa.insert(table(TipFeedback))
APPLIED = sa.select(table(TipFeedback).c.applied_at).where(table(TipFeedback).c.id == sa.bindparam("id"))
# The tip's first reaction (`claim_params`): its rowcount says whether this one is first.
CLAIM = (
    sa.update(table(TipView))
    .where(table(TipView).c.id == sa.bindparam("tip_id"), table(TipView).c.reaction.is_(None))
    .values(reaction=sa.bindparam("reaction"), reacted_at=sa.bindparam("reacted_at"))
)
# The first reaction to one of the caller's tips: claimed, and the tip read back, in one statement.
CLAIM_FIRST = (
    sa.update(table(TipView))
    .where(
        table(TipView).c.id == sa.bindparam("tip_id"),
        table(TipView).c.user_id == sa.bindparam("owner"),  # not "user_id": a column of the update
        table(TipView).c.reaction.is_(None),
    )
    .values(reaction=sa.bindparam("reaction"), reacted_at=sa.bindparam("reacted_at"))
    .returning(*(table(TipView).c[name] for name in _TIP_COLUMNS))
)


def claim_params(row: FeedbackRow) -> dict[str, object]:
    """The parameters of `CLAIM` and `CLAIM_FIRST` for a reaction."""
    return {
        "tip_id": row.tip_id,
        "owner": row.user_id,
        "reaction": row.reaction,
        "reacted_at": row.created_at,
    }
