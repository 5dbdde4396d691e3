"""Data quality (A11): can the numbers on the other pages be trusted?"""

import reflex as rx

from admin import routes
from admin.components import MUTED, chart, kpi, panel
from admin.layout import admin_page
from admin.state.quality import AdminQualityState

S = AdminQualityState


def quality_page() -> rx.Component:
    """Defaulted inputs, stale tokens, and a daily completeness heatmap."""
    return admin_page(
        S,
        routes.QUALITY,
        "Data quality",
        "Can the numbers on the other pages be trusted?",
        rx.flex(
            kpi("Recent picks with a defaulted input", S.defaulted_any, "defaulted"),
            kpi("Recent picks checked", S.calls, "calls"),
            kpi("Stale provider tokens", S.stale_rate, "stale"),
            panel(
                rx.text("Stale means: needs a reconnect, or no sync for 24 h.", size="1", color=MUTED),
                rx.text(S.stale_detail, size="2"),
                flex="2",
            ),
            wrap="wrap",
            gap="3",
            width="100%",
        ),
        chart(S.missing_fig, "missing-features"),
        chart(S.heatmap_fig, "completeness"),
    )
