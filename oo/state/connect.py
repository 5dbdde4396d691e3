"""ConnectState: the user's task sources and their status (U2)."""

from __future__ import annotations

import logging

import reflex as rx

from oo import loopback
from oo.db import session_scope
from oo.models import DEMO
from oo.services.push import calendar
from oo.services.sources import catalog as sources
from oo.settings import get_settings
from oo.state.auth import AuthState
from oo.state.guard import signed_in_user, user_event

log = logging.getLogger("oo.connect")

# ?todoist=<code> after the OAuth round trip (set by oo/http/todoist_routes.py).
TODOIST_MESSAGES = {
    "connected": "Todoist connected. Your tasks are in.",
    "denied": "Todoist access was not granted, so nothing was connected.",
    "bad_state": "That Todoist link expired or was already used. Please press Connect again.",
    "failed": "Todoist did not accept the connection. Please try again.",
    "unavailable": "Todoist could not be reached. Please try again in a moment.",
    "not_configured": "Todoist is not configured on this server.",
    "slow_down": "Many connection attempts just now. Please wait a minute and try again.",
}

# ?calendar=<code> after the Google Calendar OAuth round trip (set by oo/api_calendar.py).
CALENDAR_MESSAGES = {
    "connected": "Google Calendar connected. oO won't push while you're busy.",
    "denied": "Calendar access was not granted, so nothing was connected.",
    "bad_state": "That Google link expired or was already used. Please press Connect again.",
    "failed": "Google did not grant calendar access. Please try again.",
    "unavailable": "Google could not be reached. Please try again in a moment.",
    "not_configured": "Google Calendar is not configured on this server.",
    "slow_down": "Many connection attempts just now. Please wait a minute and try again.",
}


class ConnectState(AuthState):
    """The /connect page."""

    sources: list[dict[str, str]] = []
    message: str = ""
    signout_url: str = ""
    todoist_start_url: str = ""
    calendar_status: str = ""
    calendar_detail: str = ""
    calendar_start_url: str = ""

    def _refresh(self, user_id: int) -> None:
        settings = get_settings()
        with session_scope() as session:
            rows = sources.list_sources(
                session=session, user_id=user_id, todoist_configured=bool(settings.todoist_client_id)
            )
            cal = calendar.status(session=session, user_id=user_id, configured=calendar.config() is not None)
        self.sources = [
            {"provider": r.provider, "label": r.label, "status": r.status, "detail": r.detail} for r in rows
        ]
        self.calendar_status, self.calendar_detail = cal.status, cal.detail

    @user_event
    def load(self) -> rx.event.EventSpec | None:
        """Show every source with its status."""
        user = signed_in_user()
        host = self.router.headers.host  # the loopback name this page was opened on (development)
        self.signout_url = loopback.backend_link(get_settings(), host, "/auth/signout")
        self.todoist_start_url = loopback.backend_link(get_settings(), host, "/auth/todoist/start")
        self.calendar_start_url = loopback.backend_link(get_settings(), host, "/auth/google-calendar/start")
        query = self.router.url.query_parameters
        self.message = TODOIST_MESSAGES.get(query.get("todoist", ""), "") or CALENDAR_MESSAGES.get(
            query.get("calendar", ""), ""
        )
        self._refresh(user.id)
        return None

    @user_event
    def connect(self, provider: str) -> rx.event.EventSpec | None:
        """Connect a source: the demo at once; OAuth providers by redirect."""
        user = signed_in_user()
        if provider == DEMO:  # Todoist connects through a native form POST (OAuth redirect)
            with session_scope() as session:
                added = sources.connect_demo(session=session, user_id=user.id)
            self.message = (
                f"Demo tasks connected ({added} sample tasks)." if added else "Demo tasks connected."
            )
        else:
            self.message = "That source is not available."
        self._refresh(user.id)
        return None

    @user_event
    async def disconnect(self, provider: str) -> rx.event.EventSpec | None:
        """Disconnect one of the caller's own sources (Todoist: revoked at Todoist, then forgotten)."""
        user = signed_in_user()
        if not isinstance(provider, str) or provider not in sources.LABELS:
            self.message = "Unknown source."
            return None
        outcome = await sources.disconnect_source(user_id=user.id, provider=provider)
        label = sources.LABELS[provider]
        self.message = {
            sources.Disconnected.DONE: f"{label} disconnected.",
            sources.Disconnected.NOT_REVOKED: (
                f"{label} disconnected here, but {label} could not confirm revoking oO's access; "
                f"you can also remove oO in {label}'s settings."
            ),
        }.get(outcome, "")
        self._refresh(user.id)
        return None

    @user_event
    async def disconnect_calendar(self) -> rx.event.EventSpec | None:
        """Disconnect the caller's Google Calendar: revoked at Google, then forgotten."""
        user = signed_in_user()
        revoked = await calendar.disconnect(user_id=user.id)
        self.message = {
            True: "Google Calendar disconnected.",
            False: (
                "Google Calendar disconnected here, but Google could not confirm revoking oO's access; "
                "you can also remove oO in your Google Account's security settings."
            ),
        }.get(revoked, "")
        self._refresh(user.id)
        return None
