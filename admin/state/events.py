"""AdminEventsState: live tail of signals.* with filters, stored history, replays (A5, A12)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin import charts
from admin.state.base import REFUSED, AdminPageMixin, PagedMixin, text_rows
from oo.db import session_scope
from oo.services.accounts.sessions import CurrentUser
from oo.services.admin import event_stream as admin_events
from oo.services.admin.inputs import AdminInputError
from oo.state.auth import AuthState


class AdminEventsState(PagedMixin, AdminPageMixin, AuthState):
    """The /admin/events stream."""

    subject: str = ""
    user_id: str = ""
    since: str = "24h"
    history: list[dict[str, str]] = []
    live: list[dict[str, str]] = []
    hourly_fig: dict[str, Any] = {}

    def _load_page(self) -> None:
        self._reload()

    def _reload(self, admin: CurrentUser | None = None) -> None:
        self.error = ""
        try:
            self.live = text_rows(
                admin_events.live(subject=self.subject, user_id=self.user_id, since=self.since)
            )
            with session_scope() as session:
                result = admin_events.history(
                    session=session,
                    subject=self.subject,
                    user_id=self.user_id,
                    since=self.since,
                    page=self.page,
                    page_size=25,
                )
                hourly = admin_events.hourly_counts(session=session)
        except AdminInputError as exc:
            self.error = str(exc)
            return
        except Exception:
            self._failed("event stream")
            return
        self.history, self.has_next = text_rows(result.rows), result.has_next
        self.hourly_fig = charts.as_json(
            charts.stacked(
                hourly, x="hour", stack="subject", value="count", title="Events per hour (UTC), last 24 h"
            )
        )

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then show the stream."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        self._reload()
        return None

    @rx.event
    def filter(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Apply subject / user / time filters (validated by the service)."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        form = form if isinstance(form, dict) else {}
        self.subject, self.user_id, self.since = (
            str(form.get(k, "") or "")[:100] for k in ("subject", "user_id", "since")
        )
        self.since = self.since or "24h"
        self.page = 1
        self._reload()
        return None

    @rx.event
    def refresh_live(self) -> rx.event.EventSpec | None:
        """Re-read the ring buffer (the page calls this every few seconds)."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        try:
            self.live = text_rows(
                admin_events.live(subject=self.subject, user_id=self.user_id, since=self.since)
            )
        except AdminInputError as exc:
            self.error = str(exc)
        return None

    @rx.event
    def ask_replay(self, event_id: str) -> rx.event.EventSpec | None:
        """Ask before re-publishing a stored event."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        if not isinstance(event_id, str) or not admin_events.EVENT_ID.match(event_id):
            self.error = "An event id is 32 hexadecimal characters."
            return None
        self._ask(
            f"Replay event {event_id}? Its handlers run again (marked as a replay).",
            action="event.replay",
            target=f"event:{event_id}",
            event_id=event_id,
        )
        return None

    async def _execute(self, admin: CurrentUser, pending: dict[str, Any]) -> str:
        with session_scope() as session:
            replay = await admin_events.replay(
                session=session, admin_id=admin.id, event_id=pending["event_id"]
            )
        return f"Replayed {pending['event_id']} as {replay.id}."
