"""Recommendation log (A9): the R5 explainability log, searchable and paginated on the server."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from oo.models import Task, TipView
from oo.services.admin.inputs import (
    AdminInputError,
    Page,
    page_of,
    parse_choice,
    parse_optional_int,
    parse_page,
    parse_text,
    parse_window,
    since_days,
)

REACTIONS = ("any", "none", "done", "snooze", "dismiss", "helpful", "not_helpful")
CHANNELS = ("any", "web", "push", "api")
FALLBACK = ("any", "yes", "no")
TEXT_CHARS = 160


def _policy_filter(stmt: Any, policy: str) -> Any:
    name, _, version = policy.partition("@")
    stmt = stmt.where(TipView.policy == name)
    if version:
        if not version.isdigit():
            raise AdminInputError("A policy filter is a name or name@version, e.g. linucb@3.")
        stmt = stmt.where(TipView.policy_version == int(version))
    return stmt


def search(
    *,
    session: Session,
    user_id: Any = "",
    policy: Any = "",
    reaction: Any = "any",
    channel: Any = "any",
    fallback: Any = "any",
    tip_id: Any = "",
    window: Any = "7d",
    page: Any = 1,
    page_size: Any = 50,
) -> Page:
    """Served tips newest first, filtered; each row carries its features and explanation.

    Raises:
        AdminInputError: A malformed filter or page.
    """
    number, size = parse_page(page, page_size)
    uid = parse_optional_int(user_id, "user id")
    policy = parse_text(policy, "policy", max_len=80)
    reaction = parse_choice(reaction or "any", "reaction", REACTIONS)
    channel = parse_choice(channel or "any", "channel", CHANNELS)
    fallback = parse_choice(fallback or "any", "fallback", FALLBACK)
    tip = parse_text(tip_id, "tip id", max_len=32)
    stmt = select(TipView, Task.content).join(Task, col(Task.id) == TipView.task_id, isouter=True)
    if tip:
        stmt = stmt.where(TipView.id == tip)
    else:
        stmt = stmt.where(col(TipView.served_at) >= since_days(parse_window(window)))
    if uid is not None:
        stmt = stmt.where(TipView.user_id == uid)
    if policy:
        stmt = _policy_filter(stmt, policy)
    if reaction == "none":
        stmt = stmt.where(col(TipView.reaction).is_(None))
    elif reaction != "any":
        stmt = stmt.where(TipView.reaction == reaction)
    if channel != "any":
        stmt = stmt.where(TipView.channel == channel)
    if fallback != "any":
        stmt = stmt.where(TipView.fallback == (fallback == "yes"))
    stmt = stmt.order_by(col(TipView.served_at).desc()).offset((number - 1) * size).limit(size + 1)
    rows = [_row(view, content) for view, content in session.exec(stmt).all()]
    return page_of(rows, page=number, page_size=size)


def _compact(raw: str) -> str:
    try:
        return json.dumps(json.loads(raw or "{}"), sort_keys=True, separators=(", ", ": "))
    except ValueError:
        return raw[:200]


def _row(view: TipView, content: str | None) -> dict[str, Any]:
    text = content or (f"task {view.task_id}" if view.task_id else view.kind)
    return {
        "id": view.id,
        "when": view.served_at.strftime("%Y-%m-%d %H:%M:%S"),
        "user_id": view.user_id,
        "policy": f"{view.policy}@{view.policy_version}",
        "score": round(view.score, 4),
        "fallback": "yes" if view.fallback else "",
        "channel": view.channel,
        "reaction": view.reaction or "",
        "latency_ms": round(view.latency_ms, 1),
        "text": text[:TEXT_CHARS],
        "features": _compact(view.features),
        "explanation": _compact(view.explanation),
    }
