"""Reward analytics (A10): rewards over time, per policy, and sliced by hour, priority and cohort.

A reward is the reward of a tip's first reaction (``tip_view.reaction`` through
`oo.recommender.REWARDS`): what the learner was taught. One pass over the window's reacted tips
(with the task's priority and the user's signup day) feeds every slice; the slicing itself is
pure Python (`summarize`), so it is unit-tested without a database.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, select

from oo.models import Task, TipView, User
from oo.recommender import REWARDS
from oo.services.admin.inputs import mean_interval, parse_window, sample_bound, since_days
from oo.services.admin.portable_sql import day_of, hour_bucket

SLICES = ("day", "policy", "hour", "priority", "cohort")
EXACT_LIMIT = 20_000
_Stmt = TypeVar("_Stmt", bound="sa.Select[*tuple[Any, ...]]")


def reacted_tips(session: Session, stmt: _Stmt, *, since: datetime, reacted: int) -> _Stmt:
    """Restrict ``stmt`` (over ``tip_view`` joined to other tables) to the window's reacted tips.

    Joins cost a lookup per tip, so past `EXACT_LIMIT` reacted tips the statement reads a
    uniform sample (tip ids are random) of about ``SAMPLE_TIPS`` tips instead, and its cost stays
    flat. The sample filters on whole days (the window's first day counts in full), which lets
    SQLite walk the primary key; its bound is relative to every stored tip, since that is what
    the key range covers.
    """
    if reacted <= EXACT_LIMIT:
        return stmt.where(col(TipView.served_at) >= since, col(TipView.reaction).is_not(None))
    everything = session.exec(select(sa.func.count()).select_from(TipView)).one()
    return stmt.where(
        day_of(TipView.served_at) >= since.strftime("%Y-%m-%d"),
        col(TipView.reaction).is_not(None),
        col(TipView.id) < (sample_bound(int(everything)) or "g"),
    )


def counts(*, session: Session, window: Any = "7d") -> dict[str, list[tuple[Any, str, int]]]:
    """(slice value, reaction, tips) per slice for the reacted tips served in the window.

    Two grouped scans: day, hour and policy read only the tip index; priority and cohort join
    the task and the user (on a sample past `EXACT_LIMIT` reacted tips, see `reacted_tips`).

    Raises:
        AdminInputError: Unknown window.
    """
    since = since_days(parse_window(window))
    reacted = (col(TipView.served_at) >= since, col(TipView.reaction).is_not(None))
    bucket = hour_bucket(TipView.served_at).label("bucket")
    timed = (bucket, col(TipView.policy), col(TipView.policy_version), col(TipView.reaction))
    timing = (
        session.connection()
        .execute(sa.select(*timed, sa.func.count()).where(*reacted).group_by(*timed))
        .all()
    )
    cohort: sa.Label[str] = sa.func.substr(day_of(User.created_at), 1, 7).label("cohort")
    people_stmt = (
        sa.select(col(Task.priority), cohort, col(TipView.reaction), sa.func.count())
        .select_from(TipView)
        .join(User, col(User.id) == TipView.user_id)
        .join(Task, col(Task.id) == TipView.task_id, isouter=True)
        .group_by(col(Task.priority), cohort, col(TipView.reaction))
    )
    people_stmt = reacted_tips(session, people_stmt, since=since, reacted=sum(row[-1] for row in timing))
    people = session.connection().execute(people_stmt).all()
    out: dict[str, dict[tuple[Any, str], int]] = {name: defaultdict(int) for name in SLICES}
    for b, policy, version, reaction, n in timing:
        assert reaction is not None  # the statement reads reacted tips only
        for name, k in (("day", b[:10]), ("hour", int(b[11:13])), ("policy", f"{policy}@{version}")):
            out[name][(k, reaction)] += n
    for prio, c, reaction, n in people:
        assert reaction is not None
        out["priority"][(prio, reaction)] += n
        out["cohort"][(c, reaction)] += n
    return {name: [(k, r, n) for (k, r), n in groups.items()] for name, groups in out.items()}


def _ci(groups: dict[Any, list[float]], name: str) -> list[dict[str, Any]]:
    out = []
    for label, (n, total, total_sq) in sorted(groups.items()):
        mean, lo, hi = mean_interval(int(n), total, total_sq)
        out.append({name: label, "rewards": int(n), "mean": mean, "low": lo, "high": hi})
    return out


def summarize(counted: dict[str, list[tuple[Any, str, int]]]) -> dict[str, list[dict[str, Any]]]:
    """Per-day reaction counts, and mean reward with interval per day, policy, hour, priority, cohort.

    Examples:
        >>> s = summarize({"day": [("2025-01-01", "done", 3), ("2025-01-01", "dismiss", 1)],
        ...                "policy": [("linucb@3", "done", 3), ("random@1", "dismiss", 1)],
        ...                "priority": [(4, "done", 3), (None, "dismiss", 1)]})
        >>> s["daily"]
        [{'day': '2025-01-01', 'reaction': 'dismiss', 'count': 1}, {'day': '2025-01-01', 'reaction': 'done', 'count': 3}]
        >>> [(r["day"], r["mean"], r["rewards"]) for r in s["daily_mean"]]
        [('2025-01-01', 0.5, 4)]
        >>> [(r["priority"], r["mean"]) for r in s["priority"]]
        [('P4', 1.0), ('unknown', -1.0)]
    """
    out: dict[str, list[dict[str, Any]]] = {
        "daily": [
            {"day": k, "reaction": r, "count": n}
            for k, r, n in sorted(counted.get("day", []))
            if r in REWARDS
        ]
    }
    for name in SLICES:
        groups: dict[Any, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        for k, reaction, n in counted.get(name, []):
            if reaction not in REWARDS:
                continue
            label = (f"P{k}" if k else "unknown") if name == "priority" else ("unknown" if k is None else k)
            acc, value = groups[label], REWARDS[reaction]
            acc[0], acc[1], acc[2] = acc[0] + n, acc[1] + value * n, acc[2] + value * value * n
        out["daily_mean" if name == "day" else name] = _ci(groups, name)
    return out


def analytics(*, session: Session, window: Any = "7d") -> dict[str, list[dict[str, Any]]]:
    """Everything the reward analytics page shows.

    Raises:
        AdminInputError: Unknown window.
    """
    return summarize(counts(session=session, window=window))
