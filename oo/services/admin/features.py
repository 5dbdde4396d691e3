"""Feature browser (A6): the features each scoring call sent to the learner, and how they moved.

Reads ``tip_score`` (one row per scoring call and policy). The diff compares each call with the
previous call of the same user and policy, so a jump in ``task_age_days`` or a new feature key
stands out.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from oo.models import TipScore
from oo.services.admin.inputs import Page, page_of, parse_int, parse_page

MAX_SERIES = 300


def _features(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, str]:
    """Which features changed between two calls, as readable ``old → new`` text.

    Examples:
        >>> diff({"priority": 2.0, "is_overdue": 0.0}, {"priority": 4.0, "is_overdue": 0.0, "x": 1})
        {'priority': '2 → 4', 'x': '— → 1'}
    """

    def show(value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    keys = sorted(set(old) | set(new), key=lambda k: (k not in new, k))
    return {k: f"{show(old.get(k))} → {show(new.get(k))}" for k in keys if old.get(k) != new.get(k)}


def latest_user(*, session: Session) -> int | None:
    """The user of the most recent scoring call (the page's default)."""
    return session.exec(select(TipScore.user_id).order_by(col(TipScore.created_at).desc()).limit(1)).first()


def scoring_calls(*, session: Session, user_id: Any, page: Any = 1, page_size: Any = 25) -> Page:
    """One user's scoring calls newest first, each with its features and the diff to the call before.

    Raises:
        AdminInputError: Malformed user id or page.
    """
    uid = parse_int(user_id, "user id")
    number, size = parse_page(page, page_size)
    # One extra row beyond the page so the last row on the page has a predecessor to diff with.
    rows = session.exec(
        select(TipScore)
        .where(TipScore.user_id == uid)
        .order_by(col(TipScore.created_at).desc(), col(TipScore.id).desc())
        .offset((number - 1) * size)
        .limit(size + 1 + 40)
    ).all()
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows[: size + 1]):
        feats = _features(row.features)
        before = next(
            (r for r in rows[i + 1 :] if (r.policy, r.policy_version) == (row.policy, row.policy_version)),
            None,
        )
        changes = diff(_features(before.features), feats) if before else {}
        out.append(
            {
                "id": row.id,
                "when": row.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "policy": f"{row.policy}@{row.policy_version}",
                "role": row.role,
                "score": round(row.score, 4),
                "candidates": row.candidates,
                "latency_ms": round(row.latency_ms, 1),
                "features": json.dumps(feats, sort_keys=True),
                "changes": "; ".join(f"{k}: {v}" for k, v in changes.items())
                or ("first call" if not before else "no change"),
            }
        )
    return page_of(out, page=number, page_size=size)


def feature_series(*, session: Session, user_id: Any, limit: int = MAX_SERIES) -> list[dict[str, Any]]:
    """Numeric features of the user's active scoring calls over time (oldest first), for a line chart.

    Raises:
        AdminInputError: Malformed user id.
    """
    uid = parse_int(user_id, "user id")
    rows = session.exec(
        select(TipScore.created_at, TipScore.features)
        .where(TipScore.user_id == uid, TipScore.role == "active")
        .order_by(col(TipScore.created_at).desc())
        .limit(limit)
    ).all()
    points = []
    for created, raw in reversed(rows):
        for name, value in _features(raw).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                points.append(
                    {"when": created.strftime("%Y-%m-%d %H:%M:%S"), "feature": name, "value": float(value)}
                )
    return points
