"""Admin routes for the advice library (R10): list, create, edit, retire/restore, performance.

Admins only: the role is re-read from the database on every request (`caller(..., admin=True)`),
cookie writes must be same-origin, and every write lands with its ``admin_action`` audit row in
one transaction (`oo.services.advice.library`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from oo import offload
from oo.db import session_scope
from oo.http.api_v1.common import ApiError, body, caller, limit, ok, validate
from oo.http.api_v1.models import Request as RequestModel
from oo.models import Advice
from oo.services.accounts.sessions import CurrentUser
from oo.services.admin import advice as advice_admin
from oo.services.admin import advice_performance as performance
from oo.services.admin.inputs import AdminInputError
from oo.services.advice import library

ADMIN_PER_MINUTE = 120
Time = Literal["morning", "midday", "afternoon", "evening", "night"]
Context = Literal[
    "after_focus", "busy_day", "weekend", "workday", "start_of_day", "end_of_day", "between_meetings", "stuck", "no_tasks"
]  # fmt: skip
Topic = Literal["breaks", "movement", "focus", "planning", "rest", "kindness", "other"]


class AdviceTags(RequestModel):
    """When and for whom a piece fits."""

    time: list[Time] = Field(min_length=1, max_length=5)
    energy: Literal["low", "medium", "high"]
    minutes: int = Field(ge=1, le=240)
    contexts: list[Context] = Field(min_length=1, max_length=9)


class AdviceCreate(RequestModel):
    """A new operator piece (the key is generated when omitted)."""

    key: str | None = Field(default=None, pattern=library.KEY_RE.pattern)
    text: str = Field(min_length=1, max_length=library.MAX_TEXT)
    topic: Topic = "other"
    tags: AdviceTags
    rationale: str = Field(default="", max_length=library.MAX_RATIONALE)


class AdviceUpdate(RequestModel):
    """Fields to change (at least one)."""

    text: str | None = Field(default=None, min_length=1, max_length=library.MAX_TEXT)
    topic: Topic | None = None
    tags: AdviceTags | None = None
    rationale: str | None = Field(default=None, max_length=library.MAX_RATIONALE)


class AdviceStatus(RequestModel):
    """Retire a piece (never shown again; its history stays) or restore it."""

    status: Literal["active", "retired"]


class DaysQuery(RequestModel):
    """The performance window."""

    model_config = {"extra": "forbid", "strict": False}
    days: int = Field(default=30, ge=1, le=365)


class StatusQuery(RequestModel):
    """A status filter for the list."""

    status: Literal["", "active", "retired"] = ""


class LibraryPieceOut(BaseModel):
    """One piece of the library."""

    id: int
    key: str
    text: str
    topic: str
    tags: dict[str, Any]
    rationale: str
    source: Literal["builtin", "operator"]
    status: Literal["active", "retired"]

    @classmethod
    def of(cls, piece: library.Piece) -> LibraryPieceOut:
        """From the service's piece."""
        return cls(
            id=piece.id,
            key=piece.key,
            text=piece.text,
            topic=piece.topic,
            tags=piece.tags.as_dict(),
            rationale=piece.rationale,
            source=piece.source,  # type: ignore[arg-type]
            status=piece.status,  # type: ignore[arg-type]
        )


class AdviceList(BaseModel):
    """The library."""

    items: list[LibraryPieceOut]


class Performance(BaseModel):
    """Shown, reaction mix, mean reward of the first reactions with a 95 % interval, low flag."""

    shown: int
    reacted: int
    reactions: dict[str, int]
    mean_reward: float | None
    ci_low: float | None
    ci_high: float | None
    low: bool


class PiecePerformance(Performance):
    """One piece's numbers."""

    id: int
    key: str
    text: str
    status: str
    source: str


class TagPerformance(Performance):
    """One tag's numbers (``time:evening``, ``topic:rest`` …)."""

    tag: str


class KindOffPolicy(BaseModel):
    """The task-or-advice learner's mean reward vs IPS estimates of always-task and always-advice."""

    decisions: int
    mixing: float | None
    always_task: float | None
    always_advice: float | None


class AdvicePerformanceOut(BaseModel):
    """Per-piece (worst first) and per-tag performance over a window, and the kind learner off-policy."""

    days: int
    pieces: list[PiecePerformance]
    tags: list[TagPerformance]
    kind: KindOffPolicy


async def _admin(request: Request, *, write: bool) -> CurrentUser:
    user = await caller(request, write=write, admin=True)
    await limit(user, "admin", per_minute=ADMIN_PER_MINUTE)
    return user


def _advice_id(request: Request) -> int:
    raw = str(request.path_params["advice_id"])
    if not raw.isdigit() or len(raw) > 9:
        raise ApiError(404, "advice_not_found", "no such advice")
    return int(raw)


async def _write(run: Any) -> library.Piece:
    def job() -> library.Piece:
        with session_scope() as session:
            row: Advice = run(session)
            return library.to_piece(row)

    try:
        return await offload.slow(job)
    except AdminInputError as exc:
        raise ApiError(422, "invalid", str(exc)) from None
    except LookupError:
        raise ApiError(404, "advice_not_found", "no such advice") from None


async def list_advice(request: Request) -> Response:
    """Every piece (``?status=active|retired`` to filter)."""
    await _admin(request, write=False)
    query = validate(StatusQuery, dict(request.query_params))

    def run() -> list[library.Piece]:
        with session_scope() as session:
            return library.list_pieces(session=session, status=query.status)

    return ok(AdviceList(items=[LibraryPieceOut.of(p) for p in await offload.slow(run)]))


async def create_advice(request: Request) -> Response:
    """Add an operator's piece; audit-logged."""
    admin = await _admin(request, write=True)
    req = await body(request, AdviceCreate)
    data = req.model_dump()
    piece = await _write(lambda s: advice_admin.create(session=s, admin_id=admin.id, data=data))
    return ok(LibraryPieceOut.of(piece), 201)


async def update_advice(request: Request) -> Response:
    """Edit a piece (built-in pieces edited here are no longer rewritten by upgrades); audit-logged."""
    admin = await _admin(request, write=True)
    req = await body(request, AdviceUpdate)
    data = req.model_dump(exclude_none=True)
    advice_id = _advice_id(request)
    piece = await _write(
        lambda s: advice_admin.update(session=s, admin_id=admin.id, advice_id=advice_id, data=data)
    )
    return ok(LibraryPieceOut.of(piece))


async def set_advice_status(request: Request) -> Response:
    """Retire or restore a piece; audit-logged."""
    admin = await _admin(request, write=True)
    req = await body(request, AdviceStatus)
    advice_id = _advice_id(request)
    piece = await _write(
        lambda s: advice_admin.set_status(
            session=s, admin_id=admin.id, advice_id=advice_id, status=req.status
        )
    )
    return ok(LibraryPieceOut.of(piece))


async def advice_performance(request: Request) -> Response:
    """Per-piece and per-tag performance (``?days=30``)."""
    await _admin(request, write=False)
    query = validate(DaysQuery, dict(request.query_params))

    def run() -> dict[str, Any]:
        with session_scope() as session:
            report = performance.report(session=session, days=query.days)
            return report | {"kind": performance.kind_offpolicy(session=session, days=query.days)}

    return ok(AdvicePerformanceOut.model_validate(await offload.slow(run)))
