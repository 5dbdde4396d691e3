"""Which piece of advice suits this user now: tags against the moment, and the repetition rules.

Eligible pieces are active, were not shown to this user in the last `OO_ADVICE_REPEAT_DAYS`
(never within the last hour, whatever the setting), and were not dismissed by them in the last
`OO_ADVICE_DISMISS_DAYS`. Each eligible piece gets a match score from its tags (`match`); the
pick is uniform among the best-matching ones, so its probability is exactly one over their
number (logged as the item propensity). A piece tagged only ``no_tasks`` needs an empty list.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col, select

from oo import singletons
from oo.models import TipView
from oo.recommender.kind_mix import time_of_day
from oo.services.advice.library import Piece

ADVICE_SOURCE = "advice"  # tip_view.source of an advice tip; external_id holds the piece's key
MIN_GAP = timedelta(hours=1)
BUSY_TASKS = 10  # this many open tasks (or a busy calendar) make a "busy day"


@dataclass(frozen=True)
class Moment:
    """What the picker knows about now."""

    local: datetime  # the user's local time
    open_tasks: int
    busy: bool = False  # calendar context, where connected

    @property
    def part(self) -> str:
        """Morning, midday, afternoon, evening or night."""
        return time_of_day(self.local.hour)

    @property
    def weekend(self) -> bool:
        """Saturday or Sunday."""
        return self.local.weekday() >= 5


@dataclass(frozen=True)
class AdvicePick:
    """The chosen piece, its match score, how many pieces tied, and why."""

    piece: Piece
    match: float
    tied: int
    eligible: int
    reasons: tuple[str, ...]

    @property
    def propensity(self) -> float:
        """P(this piece | advice now): uniform among the best matches."""
        return 1.0 / self.tied


def match(piece: Piece, moment: Moment) -> tuple[float, tuple[str, ...]]:
    """How well a piece fits the moment (higher is better; negative: not now), and the words why."""
    tags = piece.tags
    if moment.part not in tags.time:
        return -1.0, ()
    if tags.only_without_tasks and moment.open_tasks:
        return -1.0, ()
    score, why = 1.0, [f"for the {moment.part}" if moment.part != "night" else "for late in the day"]
    contexts = set(tags.contexts)
    busy = moment.busy or moment.open_tasks >= BUSY_TASKS
    rules = (
        ("no_tasks", moment.open_tasks == 0, "nothing is open"),
        ("weekend", moment.weekend, "it's the weekend"),
        ("workday", not moment.weekend, ""),
        ("busy_day", busy, "a full day"),
        ("start_of_day", moment.part == "morning", ""),
        ("end_of_day", moment.part in ("evening", "night"), ""),
    )
    for context, applies, words in rules:
        if context in contexts and applies:
            score += 1.0
            if words:
                why.append(words)
    if "weekend" in contexts and "workday" not in contexts and not moment.weekend and len(contexts) == 1:
        score -= 0.5
    if busy and tags.minutes <= 5:
        score += 0.5
    if not busy and moment.open_tasks == 0 and tags.minutes >= 10:
        score += 0.5  # time on your hands: a longer piece fits
    return score, tuple(why)


_SEEN = select(col(TipView.external_id), col(TipView.served_at), col(TipView.reaction)).where(
    col(TipView.user_id) == sa.bindparam("user_id"),
    col(TipView.source) == ADVICE_SOURCE,
    col(TipView.served_at) >= sa.bindparam("oldest"),
    sa.or_(col(TipView.served_at) >= sa.bindparam("shown_since"), col(TipView.reaction) == "dismiss"),
)


@dataclass(frozen=True)
class History:
    """What the user's recent advice tips say: pieces resting now, and the newest advice shown."""

    resting: frozenset[str]
    last_shown: datetime | None  # within the repeat window or ``recent`` (older: None)


def history(
    *,
    session: Session,
    user_id: int,
    now: datetime,
    repeat_days: int,
    dismiss_days: int,
    recent: timedelta = timedelta(0),
) -> History:
    """One read of the user's recent advice tips: the keys resting now, and the last advice shown.

    A piece rests when it was shown within the repeat window (or the last hour), or dismissed
    within the dismiss window. Only those tips are read (an index on user, source and time), so
    a person with years of tips costs what one with a week does; ``last_shown`` is exact within
    the repeat window or ``recent``, whichever is longer.
    """
    out, last = set(), None
    repeat_since = now - max(timedelta(days=repeat_days), MIN_GAP)
    shown_since = min(repeat_since, now - recent)
    dismiss_since = now - timedelta(days=dismiss_days)
    params = {"user_id": user_id, "oldest": min(shown_since, dismiss_since), "shown_since": shown_since}
    for key, served_at, reaction in session.connection().execute(_SEEN, params).all():
        if served_at >= shown_since:
            last = served_at if last is None or served_at > last else last
        if served_at >= repeat_since or (reaction == "dismiss" and served_at >= dismiss_since):
            out.add(key)
    return History(frozenset(out), last)


def pick(
    pieces: list[Piece],
    moment: Moment,
    resting: frozenset[str],
    rng: np.random.Generator,
) -> AdvicePick | None:
    """The best-fitting piece not resting (uniform among ties), or None when none fits now."""
    fitting = ranked(pieces, moment)
    scored = [(score, piece, why) for score, piece, why in fitting if piece.key not in resting]
    if not scored:
        return None
    best = scored[0][0]  # `ranked` puts the best first
    top = [(p, why) for s, p, why in scored if s == best]
    piece, why = top[int(rng.integers(len(top)))]
    return AdvicePick(piece, best, len(top), len(scored), why)


def ranked(pieces: list[Piece], moment: Moment) -> Ranking:
    """Every piece that fits the moment with its score and words, best first (ties in library order).

    `match` reads only a few facts of the moment (`_facts`), so each library list (`library.active_pieces`
    returns one list until it reloads) is scored once per combination of them and kept: a pick then
    only filters out the resting pieces, instead of matching the whole library each time.
    """
    facts = _facts(moment)
    with _ranked_lock:
        if _ranked.pieces is not pieces:  # a reloaded library: start over
            _ranked.pieces, _ranked.by_facts = pieces, {}
        hit = _ranked.by_facts.get(facts)
    if hit is None:
        scored = [
            (score, piece, why) for piece in pieces for score, why in [match(piece, moment)] if score >= 0
        ]
        hit = sorted(scored, key=lambda item: -item[0])  # stable: ties keep the library's order
        with _ranked_lock:
            if _ranked.pieces is pieces:
                _ranked.by_facts[facts] = hit
    return hit


def _facts(moment: Moment) -> tuple[str, bool, bool, bool]:
    """All that `match` reads of a moment: part of day, weekend, busy, and whether nothing is open."""
    return (
        moment.part,
        moment.weekend,
        moment.busy or moment.open_tasks >= BUSY_TASKS,
        moment.open_tasks == 0,
    )


Ranking = list[tuple[float, Piece, tuple[str, ...]]]


@dataclass
class _Rankings:
    """The library list last scored, and its ranking per `_facts`."""

    pieces: list[Piece] | None = None
    by_facts: dict[tuple[str, bool, bool, bool], Ranking] = field(default_factory=dict)


_ranked_lock = threading.Lock()
_ranked = _Rankings()


def _forget_rankings() -> None:
    with _ranked_lock:
        _ranked.pieces, _ranked.by_facts = None, {}


singletons.on_reset("advice.ranked", _forget_rankings)
