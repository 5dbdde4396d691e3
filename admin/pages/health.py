"""Health (A14): is every part of oO working right now?"""

import reflex as rx

from admin import routes
from admin.components import MUTED
from admin.layout import admin_page
from admin.state.health import AdminHealthState

S = AdminHealthState
COLORS = (("ok", "green"), ("degraded", "amber"), ("down", "red"))


def check_row(check: rx.Var) -> rx.Component:
    """One component: name, a coloured status, the detail and how long the check took."""
    status = check["status"]
    return rx.table.row(
        rx.table.cell(rx.text(check["name"], weight="bold", size="2")),
        rx.table.cell(
            rx.match(status, *[(s, rx.badge(s, color_scheme=c)) for s, c in COLORS], rx.badge(status)),
            data_testid="health-status",
        ),
        rx.table.cell(rx.text(check["detail"], size="1")),
        rx.table.cell(rx.text(check["ms"], " ms", size="1", color=MUTED)),
    )


def health_page() -> rx.Component:
    """One row per component, re-checked every 15 s."""
    return admin_page(
        S,
        routes.HEALTH,
        "Health",
        "Is every part of oO working right now? (re-checked every 15 s)",
        rx.moment(interval=15000, format="HH:mm:ss", on_change=S.refresh, display="none"),
        rx.text("Checked at ", S.checked_at, size="2", color=MUTED, data_testid="health-checked-at"),
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[rx.table.column_header_cell(h) for h in ("Component", "Status", "Detail", "Check")]
                    )
                ),
                rx.table.body(rx.foreach(S.checks, check_row)),
                variant="surface",
                size="1",
                width="100%",
            ),
            width="100%",
            data_testid="table-health",
        ),
    )
