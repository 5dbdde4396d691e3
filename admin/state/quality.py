"""AdminQualityState: missing-feature rate, stale-token rate, daily completeness heatmap (A11)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin import charts
from admin.state.base import AdminPageMixin
from admin.state.guard import admin_event
from oo.db import session_scope
from oo.services.admin import quality as admin_quality
from oo.state.auth import AuthState


class AdminQualityState(AdminPageMixin, AuthState):
    """The /admin/quality page."""

    defaulted_any: str = ""
    calls: str = ""
    stale_rate: str = ""
    stale_detail: str = ""
    missing_fig: dict[str, Any] = {}
    heatmap_fig: dict[str, Any] = {}

    @admin_event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then measure."""
        try:
            with session_scope() as session:
                defaulted = admin_quality.defaulted_inputs(session=session)
                stale = admin_quality.stale_tokens(session=session)
                heat = admin_quality.completeness(session=session)
        except Exception:
            self._failed("data quality")
            return None
        self.defaulted_any, self.calls = f"{defaulted['any']:.1%}", f"{defaulted['calls']:,}"
        self.stale_rate = f"{stale['rate']:.1%}"
        self.stale_detail = f"{stale['stale']:,} of {stale['integrations']:,} provider integrations"
        labels = {"no_due": "no due date", "unknown_tz": "unknown time zone", "stale_source": "stale source"}
        per = [{"input": labels.get(k, k), "share": v} for k, v in defaulted["per_reason"].items()]
        self.missing_fig = charts.as_json(
            charts.bars(per, x="input", y="share", title="Share of recent picks with a defaulted input")
        )
        self.heatmap_fig = charts.as_json(
            charts.heatmap(
                heat,
                x="day",
                y="field",
                value="share",
                title="Share of served tips carrying each field, per day",
            )
        )
        return None
