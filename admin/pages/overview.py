"""Overview page (A3): is oO being used, and what do people do with their tips?"""

import reflex as rx

from admin import routes
from admin.components import chart, kpi
from admin.layout import admin_page
from admin.state.overview import KPI_LABELS, AdminOverviewState

S = AdminOverviewState


def overview_page() -> rx.Component:
    """DAU/WAU, tips served, reaction breakdown, activation funnel."""
    return admin_page(
        S,
        routes.OVERVIEW,
        "Overview",
        "Is oO being used, and what do people do with their tips?",
        rx.flex(
            *[kpi(label, S.kpis[key], key) for key, label in KPI_LABELS.items()],
            wrap="wrap",
            gap="3",
            width="100%",
        ),
        rx.grid(
            chart(S.funnel_fig, "funnel"),
            chart(S.reactions_fig, "reactions"),
            columns=rx.breakpoints(initial="1", md="2"),
            gap="3",
            width="100%",
        ),
        chart(S.daily_fig, "daily"),
    )
