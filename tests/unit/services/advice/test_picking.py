"""Which piece fits the moment: the part of the day, an empty list, a busy day, the weekend."""

from __future__ import annotations

from datetime import datetime

from oo.services.advice.library import Piece, Tags
from oo.services.advice.picking import Moment, match

WEDNESDAY_EVENING = datetime(2026, 11, 25, 19, 0)
SATURDAY_MORNING = datetime(2026, 11, 28, 9, 0)


def piece(time=("evening",), minutes=2, contexts=("end_of_day",)) -> Piece:
    return Piece(
        1, "k", "text", "rest", Tags(tuple(time), "low", minutes, tuple(contexts)), "", "builtin", "active"
    )


def test_the_part_of_the_day_must_match():
    assert match(piece(time=("morning",)), Moment(WEDNESDAY_EVENING, open_tasks=3))[0] < 0
    score, why = match(piece(), Moment(WEDNESDAY_EVENING, open_tasks=3))
    assert score > 0 and why[0] == "for the evening"


def test_a_piece_only_for_an_empty_list_needs_an_empty_list():
    only_empty = piece(contexts=("no_tasks",))
    assert match(only_empty, Moment(WEDNESDAY_EVENING, open_tasks=1))[0] < 0
    score, why = match(only_empty, Moment(WEDNESDAY_EVENING, open_tasks=0))
    assert score > 1 and "nothing is open" in why


def test_a_busy_day_prefers_short_pieces_and_a_free_one_longer_pieces():
    busy = Moment(WEDNESDAY_EVENING, open_tasks=25)
    assert match(piece(minutes=2), busy)[0] > match(piece(minutes=30), busy)[0]
    free = Moment(WEDNESDAY_EVENING, open_tasks=0)
    assert match(piece(minutes=30), free)[0] > match(piece(minutes=2), free)[0]


def test_weekend_pieces_fit_the_weekend_better():
    weekend_piece = piece(time=("morning",), contexts=("weekend",))
    workday_piece = piece(time=("morning",), contexts=("workday",))
    saturday = Moment(SATURDAY_MORNING, open_tasks=3)
    assert match(weekend_piece, saturday)[0] > match(workday_piece, saturday)[0]
    wednesday = Moment(SATURDAY_MORNING.replace(day=25), open_tasks=3)
    assert match(workday_piece, wednesday)[0] > match(weekend_piece, wednesday)[0]
