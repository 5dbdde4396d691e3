"""AdminGlossaryState: the page that writes down what each console figure means."""

from __future__ import annotations

import reflex as rx

from admin.state.base import AdminPageMixin
from admin.state.guard import admin_event
from oo.state.auth import AuthState


class AdminGlossaryState(AdminPageMixin, AuthState):
    """The /admin/glossary page (its text is `oo.services.admin.metrics.GLOSSARY`)."""

    @admin_event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role (the definitions themselves are part of the page)."""
        return None
