"""SQL runner (A13): answer a question the other pages do not (read-only, capped, audited)."""

import reflex as rx

from admin import routes
from admin.components import FIELD, MUTED, danger_button, data_table, filter_form, section
from admin.layout import admin_page
from admin.state.sql import AdminSqlState

S = AdminSqlState


def results() -> rx.Component:
    """The last result grid."""
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(rx.foreach(S.columns, lambda c: rx.table.column_header_cell(c)))),
            rx.table.body(
                rx.foreach(
                    S.result,
                    lambda row: rx.table.row(
                        rx.foreach(row, lambda cell: rx.table.cell(rx.text(cell, size="1")))
                    ),
                )
            ),
            variant="surface",
            size="1",
        ),
        overflow_x="auto",
        width="100%",
        data_testid="sql-result",
    )


def sql_page() -> rx.Component:
    """Editor, run / save, results, saved queries."""
    return admin_page(
        S,
        routes.SQL,
        "SQL runner",
        "Read-only: the database refuses writes. Query the ro_* views; 500 rows and 5 s at most; every run is audited.",
        rx.form(
            rx.vstack(
                rx.el.textarea(
                    default_value=S.sql,
                    name="sql",
                    rows="6",
                    aria_label="SQL",
                    style={**FIELD, "width": "100%", "font_family": "monospace"},
                    key=S.sql,
                ),
                rx.button("Run", type="submit", high_contrast=True),
                width="100%",
            ),
            on_submit=S.run,
            reset_on_submit=False,
            width="100%",
            data_testid="sql-form",
        ),
        filter_form(
            S.ask_save,
            rx.el.input(
                name="name",
                placeholder="Save the last query run as…",
                aria_label="Query name",
                style={**FIELD, "width": "18rem"},
            ),
            button="Save…",
            testid="save-form",
        ),
        rx.text(S.info, size="2", color=MUTED, data_testid="sql-info"),
        results(),
        section(
            "Saved queries",
            data_table(
                S.saved,
                [("name", "Name"), ("sql", "SQL")],
                "saved-queries",
                actions=lambda q: rx.hstack(
                    rx.button("Load", size="1", variant="soft", on_click=S.use_saved(q["id"])),
                    danger_button("Delete", S.ask_delete(q["id"])),
                    spacing="1",
                ),
            ),
        ),
    )
