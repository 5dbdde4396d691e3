"""AdminQualityState: missing-feature rate, stale-token rate, daily completeness heatmap (A11)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin import charts
from admin.state.base import REFUSED, AdminPageMixin
from oo.db import session_scope
from oo.services.admin import quality as admin_quality
from oo.state.auth import AuthState


class AdminQualityState(AdminPageMixin, AuthState):
    """The /admin/quality page."""

    missing_any: str = ""
    calls: str = ""
    stale_rate: str = ""
    stale_detail: str = ""
    missing_fig: dict[str, Any] = {}
    heatmap_fig: dict[str, Any] = {}

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """Check the role, then measure."""
        try:
            self._require_admin()
        except REFUSED:
            return self._refuse()
        try:
            with session_scope() as session:
                missing = admin_quality.missing_features(session=session)
                stale = admin_quality.stale_tokens(session=session)
                heat = admin_quality.completeness(session=session)
        except Exception:
            self._failed("data quality")
            return None
        self.missing_any, self.calls = f"{missing['missing_any']:.1%}", f"{missing['calls']:,}"
        self.stale_rate = f"{stale['rate']:.1%}"
        self.stale_detail = f"{stale['stale']:,} of {stale['integrations']:,} provider integrations"
        per = [{"feature": k, "missing": v} for k, v in missing["per_feature"].items()]
        self.missing_fig = charts.as_json(
            charts.bars(per, x="feature", y="missing", title="Missing rate per feature (recent calls)")
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
