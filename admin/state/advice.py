"""AdminAdviceState: the advice library — create, edit, retire — and how each piece and tag performs (R10)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin.state.base import AdminPageMixin
from admin.state.guard import admin_event
from oo.db import session_scope
from oo.services.accounts.sessions import CurrentUser
from oo.services.admin import advice as advice_admin
from oo.services.admin import advice_performance as performance
from oo.services.admin.inputs import AdminInputError
from oo.services.advice import library
from oo.state.auth import AuthState

WINDOWS = ("7", "30", "90")
EMPTY_FORM = {
    "text": "",
    "topic": "breaks",
    "time": "morning, afternoon",
    "energy": "low",
    "minutes": "2",
    "contexts": "after_focus",
    "rationale": "",
}


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f}"


def _piece_row(piece: library.Piece, perf: dict[str, Any]) -> dict[str, str]:
    t = piece.tags
    mix = perf.get("reactions", {})
    return {
        "id": str(piece.id),
        "key": piece.key,
        "text": piece.text,
        "topic": piece.topic,
        "tags": f"{', '.join(t.time)} · {t.energy} · {t.minutes} min · {', '.join(t.contexts)}",
        "source": piece.source,
        "status": piece.status,
        "shown": str(perf.get("shown", 0)),
        "mix": " / ".join(f"{k} {v}" for k, v in mix.items() if v) or "—",
        "reward": _fmt(perf.get("mean_reward")),
        "interval": "—" if perf.get("ci_low") is None else f"[{perf['ci_low']:+.2f}, {perf['ci_high']:+.2f}]",
        "flag": "low" if perf.get("low") else "",
    }


def _tag_row(tag: dict[str, Any]) -> dict[str, str]:
    mix = tag["reactions"]
    ci = "—" if tag["ci_low"] is None else f"[{tag['ci_low']:+.2f}, {tag['ci_high']:+.2f}]"
    return {
        "tag": tag["tag"],
        "shown": str(tag["shown"]),
        "mix": " / ".join(f"{k} {v}" for k, v in mix.items() if v) or "—",
        "reward": _fmt(tag["mean_reward"]),
        "interval": ci,
        "flag": "low" if tag["low"] else "",
    }


def form_data(form: Any) -> dict[str, Any]:
    """The piece described by the page's form, validated (tags as the library stores them).

    Raises:
        AdminInputError: With a message fit to show.
    """
    if not isinstance(form, dict):
        raise AdminInputError("The form is malformed.")

    def words(name: str) -> list[str]:
        value = form.get(name, "")
        if not isinstance(value, str) or len(value) > 300:
            raise AdminInputError(f"{name} must be a comma-separated list")
        return [w.strip() for w in value.split(",") if w.strip()]

    minutes = str(form.get("minutes", "")).strip()
    if not minutes.isdigit() or len(minutes) > 3:
        raise AdminInputError("minutes must be a whole number from 1 to 240")
    tags = {
        "time": words("time"),
        "energy": form.get("energy"),
        "minutes": int(minutes),
        "contexts": words("contexts"),
    }
    try:
        library.parse_tags(tags)
    except library.AdviceInputError as exc:
        raise AdminInputError(str(exc)) from None
    data = {"text": form.get("text", ""), "topic": form.get("topic", ""), "tags": tags}
    data["rationale"] = form.get("rationale", "")
    return data


class AdminAdviceState(AdminPageMixin, AuthState):
    """The /admin/advice library page."""

    pieces: list[dict[str, str]] = []
    tags: list[dict[str, str]] = []
    days: str = "30"
    editing: str = ""  # id of the piece in the form; empty: a new piece
    form: dict[str, str] = EMPTY_FORM
    low_count: int = 0
    kind_rows: list[dict[str, str]] = []

    def _reload(self, admin: CurrentUser | None = None) -> None:
        with session_scope() as session:
            report = performance.report(session=session, days=int(self.days))
            pieces = library.list_pieces(session=session)
        perf = {p["key"]: p for p in report["pieces"]}
        rows = [_piece_row(p, perf.get(p.key, {})) for p in pieces]
        rows.sort(key=lambda r: (r["flag"] != "low", r["status"] != "active", r["key"]))
        self.pieces, self.tags = rows, [_tag_row(t) for t in report["tags"]]
        self.low_count = sum(1 for r in rows if r["flag"] == "low")
        with session_scope() as session:
            kind = performance.kind_offpolicy(session=session, days=int(self.days))
        self.kind_rows = [
            {"policy": label, "reward": _fmt(kind[key]), "decisions": str(kind["decisions"])}
            for key, label in (
                ("mixing", "the task-or-advice learner (served)"),
                ("always_task", "always a task (IPS estimate)"),
                ("always_advice", "always advice (IPS estimate)"),
            )
        ]

    @admin_event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then list the library with its numbers."""
        try:
            self._reload()
        except Exception:
            self._failed("advice library")
        return None

    @admin_event
    def set_window(self, days: str | list[str]) -> rx.event.EventSpec | None:
        """Performance over the last 7, 30 or 90 days."""
        if not isinstance(days, str) or days not in WINDOWS:
            self.error = "Unknown window."
            return None
        self.days = days
        self._reload()
        return None

    @admin_event
    def edit(self, advice_id: str) -> rx.event.EventSpec | None:
        """Put one piece in the form."""
        row = next((r for r in self.pieces if r["id"] == str(advice_id)), None)
        if row is None:
            self.error = "Unknown piece."
            return None
        with session_scope() as session:
            piece = library.to_piece(library.get_piece(session=session, advice_id=int(row["id"])))
        t = piece.tags
        self.editing = row["id"]
        self.form = {
            "text": piece.text,
            "topic": piece.topic,
            "time": ", ".join(t.time),
            "energy": t.energy,
            "minutes": str(t.minutes),
            "contexts": ", ".join(t.contexts),
            "rationale": piece.rationale,
        }
        return None

    @admin_event
    def new_piece(self) -> rx.event.EventSpec | None:
        """Clear the form for a new piece."""
        self.editing, self.form = "", dict(EMPTY_FORM)
        return None

    @admin_event
    def ask_save(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Validate the form, then ask before adding or changing the piece."""
        try:
            data = form_data(form)
        except AdminInputError as exc:
            self.error = str(exc)
            return None
        self.form = {k: str(form.get(k, "")) for k in EMPTY_FORM}
        if self.editing:
            self._ask(
                "Save the changes to this piece?", action="advice.update", target=self.editing, data=data
            )
        else:
            self._ask("Add this piece to the library?", action="advice.create", target="", data=data)
        return None

    @admin_event
    def ask_status(self, advice_id: str, status: str) -> rx.event.EventSpec | None:
        """Ask before retiring a piece (never shown again; its numbers stay) or restoring it."""
        row = next((r for r in self.pieces if r["id"] == str(advice_id)), None)
        if row is None or status not in (library.ACTIVE, library.RETIRED):
            self.error = "Unknown piece or status."
            return None
        verb = "Retire" if status == library.RETIRED else "Restore"
        self._ask(f"{verb} {row['key']}?", action="advice.status", target=row["id"], status=status)
        return None

    async def _execute(self, admin: CurrentUser, pending: dict[str, Any]) -> str:
        action = pending["action"]
        with session_scope() as session:
            if action == "advice.create":
                row = advice_admin.create(session=session, admin_id=admin.id, data=pending["data"])
                self.editing, self.form = "", dict(EMPTY_FORM)
                return f"Added {row.key}."
            advice_id = int(pending["target"])
            if action == "advice.update":
                row = advice_admin.update(
                    session=session, admin_id=admin.id, advice_id=advice_id, data=pending["data"]
                )
                return f"Saved {row.key}."
            row = advice_admin.set_status(
                session=session, admin_id=admin.id, advice_id=advice_id, status=pending["status"]
            )
            return f"{row.key} is now {row.status}."
