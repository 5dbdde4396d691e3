"""How each piece of advice and each tag performs: shown, reaction mix, mean reward with an interval.

The reward of a tip is the reward of its *first* reaction (what the learner was taught); tips
shown without a reaction count as shown, not in the mean. The interval is a normal-approximation
95 % interval of the mean (t-free: fine from a few dozen reactions, shown as "—" under `MIN_N`).
A piece is flagged **low** when it has at least `MIN_N` reactions and either its interval lies
wholly below zero or more than half of its reactions are Dismiss.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from oo.models import TipView, utcnow
from oo.recommender import REWARDS
from oo.services.admin.inputs import AdminInputError
from oo.services.advice.library import Piece, list_pieces
from oo.services.advice.picking import ADVICE_SOURCE

MIN_N = 10
Z95 = 1.96


@dataclass
class Tally:
    """Shown count, reaction counts and reward sums of one piece or one tag."""

    shown: int = 0
    reactions: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REWARDS, 0))
    total: float = 0.0
    squares: float = 0.0

    @property
    def reacted(self) -> int:
        """Tips with a reaction."""
        return sum(self.reactions.values())

    def add(self, reaction: str | None) -> None:
        """Count one shown tip and its first reaction (None: silence)."""
        self.shown += 1
        if reaction is not None and reaction in REWARDS:
            r = REWARDS[reaction]
            self.reactions[reaction] += 1
            self.total, self.squares = self.total + r, self.squares + r * r

    def mean(self) -> float | None:
        """Mean reward of the reacted tips."""
        return self.total / self.reacted if self.reacted else None

    def interval(self) -> tuple[float, float] | None:
        """95 % normal interval of the mean; None under `MIN_N` reactions.

        Examples:
            >>> t = Tally()
            >>> for r in ["done"] * 8 + ["dismiss"] * 2:
            ...     t.add(r)
            >>> [round(v, 2) for v in t.interval()]
            [0.08, 1.0]
        """
        n = self.reacted
        if n < MIN_N:
            return None
        mean = self.total / n
        var = max(0.0, (self.squares - n * mean * mean) / (n - 1))
        half = Z95 * math.sqrt(var / n)
        return max(-1.0, mean - half), min(1.0, mean + half)

    def low(self) -> bool:
        """Reliably poor: interval below zero, or mostly dismissed."""
        ci = self.interval()
        if ci is None:
            return False
        return ci[1] < 0 or self.reactions["dismiss"] > self.reacted / 2

    def row(self) -> dict[str, Any]:
        """JSON-able numbers."""
        ci, mean = self.interval(), self.mean()
        return {
            "shown": self.shown,
            "reacted": self.reacted,
            "reactions": dict(self.reactions),
            "mean_reward": None if mean is None else round(mean, 4),
            "ci_low": None if ci is None else round(ci[0], 4),
            "ci_high": None if ci is None else round(ci[1], 4),
            "low": self.low(),
        }


def _tags_of(piece: Piece) -> list[str]:
    t = piece.tags
    minutes = "1-2" if t.minutes <= 2 else "3-5" if t.minutes <= 5 else "6-15" if t.minutes <= 15 else "16+"
    return [
        f"topic:{piece.topic}",
        *(f"time:{v}" for v in t.time),
        f"energy:{t.energy}",
        f"minutes:{minutes}",
        *(f"context:{v}" for v in t.contexts),
    ]


def report(*, session: Session, days: Any = 30, now: datetime | None = None) -> dict[str, Any]:
    """Per-piece and per-tag performance over the last ``days`` (1-365).

    Returns:
        ``{"days", "pieces": [...], "tags": [...]}``; pieces sorted worst first (low ones on top).

    Raises:
        AdminInputError: For a bad window.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise AdminInputError("days must be a whole number from 1 to 365")
    since = (now or utcnow()) - timedelta(days=days)
    rows = session.exec(
        select(TipView.external_id, TipView.reaction).where(
            TipView.source == ADVICE_SOURCE, col(TipView.served_at) >= since
        )
    ).all()
    pieces = {p.key: p for p in list_pieces(session=session)}
    per_piece: dict[str, Tally] = defaultdict(Tally)
    per_tag: dict[str, Tally] = defaultdict(Tally)
    for key, reaction in rows:
        per_piece[key].add(reaction)
        if key in pieces:
            for tag in _tags_of(pieces[key]):
                per_tag[tag].add(reaction)
    out = []
    for key, piece in pieces.items():
        tally = per_piece.get(key, Tally())
        out.append(
            {
                "id": piece.id,
                "key": key,
                "text": piece.text,
                "status": piece.status,
                "source": piece.source,
                **tally.row(),
            }
        )
    out.sort(key=lambda r: (not r["low"], r["mean_reward"] if r["mean_reward"] is not None else 9, r["key"]))
    tags = [{"tag": tag, **tally.row()} for tag, tally in sorted(per_tag.items())]
    return {"days": days, "pieces": out, "tags": tags}


def kind_offpolicy(*, session: Session, days: Any = 30, now: datetime | None = None) -> dict[str, Any]:
    """The task-or-advice learner against fixed kinds, off-policy, from its own logged draws.

    Over the tips where the kind learner drew the kind (``p_advice`` logged), with the reward of
    each tip's first reaction (0 when none): the learner's mean reward, and inverse-propensity
    (IPS) estimates of what "always a task" and "always advice" would have earned there. The
    explanation (with ``p_advice``) is kept for the 30-day retention window only.

    Raises:
        AdminInputError: For a bad window.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise AdminInputError("days must be a whole number from 1 to 365")
    since = (now or utcnow()) - timedelta(days=days)
    rows = session.exec(
        select(TipView.kind, TipView.reaction, TipView.explanation).where(
            col(TipView.served_at) >= since, col(TipView.explanation).contains('"p_advice"')
        )
    ).all()
    n, total, task, advice = 0, 0.0, 0.0, 0.0
    for kind, reaction, explanation in rows:
        try:
            p = float(json.loads(explanation)["p_advice"])
        except (ValueError, KeyError, TypeError):
            continue
        if not 0.0 < p < 1.0:
            continue
        r = REWARDS.get(reaction or "", 0.0)
        n, total = n + 1, total + r
        if kind == "advice":
            advice += r / p
        else:
            task += r / (1 - p)
    if not n:
        return {"decisions": 0, "mixing": None, "always_task": None, "always_advice": None}
    return {
        "decisions": n,
        "mixing": round(total / n, 4),
        "always_task": round(task / n, 4),
        "always_advice": round(advice / n, 4),
    }
