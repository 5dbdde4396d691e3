"""ConnectState: the user's task sources and their status (U2)."""

from __future__ import annotations

import logging

import reflex as rx

from oo import routes
from oo.db import session_scope
from oo.services import sources
from oo.settings import get_settings
from oo.state.auth import AuthState, NotSignedIn

log = logging.getLogger("oo.connect")


class ConnectState(AuthState):
    """The /connect page."""

    sources: list[dict[str, str]] = []
    message: str = ""
    signout_url: str = ""

    def _refresh(self, user_id: int) -> None:
        settings = get_settings()
        with session_scope() as session:
            rows = sources.list_sources(
                session=session, user_id=user_id, todoist_configured=bool(settings.todoist_client_id)
            )
        self.sources = [
            {"provider": r.provider, "label": r.label, "status": r.status, "detail": r.detail} for r in rows
        ]

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Show every source with its status."""
        try:
            user = self._require_user()
        except NotSignedIn:
            return rx.redirect(routes.SIGNIN, replace=True)
        self.signout_url = f"{get_settings().backend_url}/auth/signout"
        self._refresh(user.id)
        return None

    @rx.event
    def connect(self, provider: str) -> rx.event.EventSpec | None:
        """Connect a source: the demo at once; OAuth providers by redirect."""
        try:
            user = self._require_user()
        except NotSignedIn:
            return rx.redirect(routes.SIGNIN, replace=True)
        if provider == sources.DEMO:
            with session_scope() as session:
                added = sources.connect_demo(session=session, user_id=user.id)
            self.message = f"Demo tasks connected ({added} sample tasks)." if added else "Demo tasks connected."
        else:
            self.message = "That source is not available."
        self._refresh(user.id)
        return None

    @rx.event
    def disconnect(self, provider: str) -> rx.event.EventSpec | None:
        """Disconnect one of the caller's own sources (and forget its tasks)."""
        try:
            user = self._require_user()
        except NotSignedIn:
            return rx.redirect(routes.SIGNIN, replace=True)
        if provider not in sources.LABELS:
            self.message = "Unknown source."
            return None
        with session_scope() as session:
            removed = sources.disconnect(session=session, user_id=user.id, provider=provider)
        self.message = f"{sources.LABELS[provider]} disconnected." if removed else ""
        self._refresh(user.id)
        return None
