"""Which piece fits the moment: the part of the day, an empty list, a busy day, the weekend."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from oo.services.advice import library
from oo.services.advice.library import Piece, Tags
from oo.services.advice.picking import Moment, match, pick

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


def test_the_history_reads_what_rests_and_the_last_advice_without_the_rest_of_the_log(session):
    """Shown within the repeat window or dismissed within the dismiss window rests; task tips and
    older advice are not read; the last advice is exact within the repeat or `recent` window."""
    import uuid
    from datetime import UTC, timedelta

    import sqlalchemy as sa

    from oo.models import TipView, table
    from oo.services.accounts import sessions as accounts
    from oo.services.advice.picking import ADVICE_SOURCE, history

    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    uid = accounts.create_demo_user(session=session).id
    other = accounts.create_demo_user(session=session).id

    def tip(
        key: str, ago: timedelta, reaction: str | None = None, source: str = ADVICE_SOURCE, user: int = uid
    ):
        return {
            "id": uuid.uuid4().hex, "user_id": user, "task_id": None, "source": source, "external_id": key,
            "kind": "advice", "channel": "web", "policy": "kind_mix", "policy_version": 1, "score": 0.0,
            "fallback": False, "features": "{}", "explanation": "{}", "latency_ms": 1.0,
            "served_at": now - ago, "reaction": reaction, "propensity": 1.0,
        }  # fmt: skip

    rows = [
        tip("shown-2h", timedelta(hours=2)),
        tip("shown-3d", timedelta(days=3)),
        tip("shown-9d", timedelta(days=9)),  # past the 7-day repeat window: free again
        tip("dismissed-30d", timedelta(days=30), "dismiss"),  # within the 60-day dismiss window
        tip("dismissed-90d", timedelta(days=90), "dismiss"),  # past it
        tip("task-1h", timedelta(hours=1), source="demo"),  # a task tip is not advice
        tip("other-user", timedelta(minutes=5), user=other),
    ]
    session.connection().execute(sa.insert(table(TipView)), rows)
    session.commit()
    seen = history(session=session, user_id=uid, now=now, repeat_days=7, dismiss_days=60)
    assert seen.resting == {"shown-2h", "shown-3d", "dismissed-30d"}
    assert seen.last_shown == now - timedelta(hours=2)
    # With no repeat window (one hour's gap), the last advice is still known within `recent`.
    quick = history(session=session, user_id=uid, now=now, repeat_days=0, dismiss_days=60)
    assert quick.resting == {"dismissed-30d"} and quick.last_shown is None
    within = history(
        session=session, user_id=uid, now=now, repeat_days=0, dismiss_days=60, recent=timedelta(hours=3)
    )
    assert within.resting == {"dismissed-30d"} and within.last_shown == now - timedelta(hours=2)


def _brute_pick(pieces, moment, resting, rng):
    """What `pick` did before it kept rankings: match every piece now."""
    scored = [(s, p, w) for p in pieces if p.key not in resting for s, w in [match(p, moment)] if s >= 0]
    if not scored:
        return None
    best = max(s for s, _, _ in scored)
    top = [(p, w) for s, p, w in scored if s == best]
    p, w = top[int(rng.integers(len(top)))]
    return (p.key, best, len(top), len(scored), w)


def test_the_kept_rankings_pick_what_matching_the_whole_library_picks(session):
    """Every part of the day, weekday or weekend, open-task count and resting set: the same draws."""
    library.seed(session=session)
    pieces = library.active_pieces(session=session)
    keys = [p.key for p in pieces]
    checked = 0
    for day in (25, 28):  # a Wednesday, a Saturday
        for hour in range(0, 24, 2):
            for open_tasks in (0, 1, 9, 10, 40):
                for busy in (False, True):
                    moment = Moment(datetime(2026, 11, day, hour), open_tasks=open_tasks, busy=busy)
                    for resting in (frozenset(), frozenset(keys[::3]), frozenset(keys[1:])):
                        got = pick(pieces, moment, resting, np.random.default_rng(hour))
                        want = _brute_pick(pieces, moment, resting, np.random.default_rng(hour))
                        if got is not None:
                            checked += 1
                            got = (got.piece.key, got.match, got.tied, got.eligible, got.reasons)
                        assert got == want, (moment, resting)
    assert checked > 100


def test_a_reloaded_library_is_ranked_again():
    moment = Moment(WEDNESDAY_EVENING, open_tasks=3)
    assert pick([piece()], moment, frozenset(), np.random.default_rng(0)).piece.key == "k"
    other = Piece(
        2, "other", "t", "rest", Tags(("evening",), "low", 2, ("end_of_day",)), "", "builtin", "active"
    )
    assert pick([other], moment, frozenset(), np.random.default_rng(0)).piece.key == "other"
