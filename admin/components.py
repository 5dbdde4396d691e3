"""Reusable pieces of the admin pages: tables with a server-side pager, KPI cards, charts, forms."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import plotly.graph_objects as go
import reflex as rx

MUTED = "#a3a3a3"
PANEL = {"background": "#0f0f0f", "border": "1px solid #262626", "border_radius": "10px", "padding": "1rem"}
FIELD = {
    "background": "#111",
    "color": "#f5f5f5",
    "border": "1px solid #333",
    "border_radius": "6px",
    "padding": "0.35rem 0.5rem",
    "font_size": "14px",
}
SMALL_SCREEN = "767px"  # below Radix's md breakpoint (48em): phones
# Cells of these columns are ids: monospace, cut to one line, the full value in a tooltip.
ID_COLUMNS = frozenset({"id", "tip_id", "event_id", "request_id", "replay_of", "target", "external_id"})
CELL = {"word_break": "normal", "overflow_wrap": "normal", "white_space": "normal"}
ID_CELL = {
    "font_family": "ui-monospace, SFMono-Regular, Menlo, monospace",
    "display": "block",
    "max_width": "9ch",
    "overflow": "hidden",
    "text_overflow": "ellipsis",
    "white_space": "nowrap",
}
# The figures set their own colours; an empty template keeps Plotly's two stock templates out of the page.
NO_TEMPLATE = go.layout.Template()


def panel(*children: rx.Component, **props: Any) -> rx.Component:
    """A dark card around a section (``style`` adds to the card's own)."""
    style = {**PANEL, **props.pop("style", {})}
    return rx.box(*children, style=style, width="100%", **props)


def section(title: str, *children: rx.Component, **props: Any) -> rx.Component:
    """A titled panel."""
    return panel(rx.heading(title, size="3", margin_bottom="0.5rem"), *children, **props)


def kpi(label: str, value: rx.Var | str, testid: str) -> rx.Component:
    """One number with its label."""
    return panel(
        rx.text(label, size="1", color=MUTED),
        rx.heading(value, size="6", data_testid=f"kpi-{testid}"),
        min_width="9rem",
        flex="1",
    )


def chart(figure: rx.Var, testid: str) -> rx.Component:
    """A Plotly chart (cartesian partial bundle: bar, scatter, pie, heatmap) of a figure dict var.

    The chart takes its container's width (``responsive`` plus the resize handler); on screens
    narrower than `SMALL_SCREEN` Plotly's mode bar is hidden, so it never covers a small chart.
    """
    return panel(
        rx.plotly.cartesian(
            data=figure.to(go.Figure),
            template=NO_TEMPLATE,
            config={"displaylogo": False, "responsive": True},
            use_resize_handler=True,
            width="100%",
        ),
        data_testid=f"chart-{testid}",
        padding="0.5rem",
        min_width="0",
        overflow="hidden",
        style={f"@media (max-width: {SMALL_SCREEN})": {"& .modebar-container": {"display": "none"}}},
    )


def _cell(r: rx.Var, key: str, expandable: dict[str, str]) -> rx.Component:
    if key in expandable:
        return rx.el.details(
            rx.el.summary(rx.text(r[expandable[key]], as_="span", size="1"), cursor="pointer"),
            rx.text(r[key], size="1", style=CELL, margin_top="0.3rem"),
            min_width="14rem",
        )
    if key in ID_COLUMNS:
        return rx.text(r[key], size="1", title=r[key], style=ID_CELL)
    return rx.text(r[key], size="1", style=CELL)


def data_table(
    rows: rx.Var,
    columns: Sequence[tuple[str, str]],
    testid: str,
    actions: Callable[[rx.Var], rx.Component] | None = None,
    expandable: dict[str, str] | None = None,
) -> rx.Component:
    """A table of text rows (``columns`` = (key, header)); ``actions`` adds a last cell per row.

    Text wraps on word boundaries only; id columns (`ID_COLUMNS`) are cut with their full value
    in a tooltip; a column in ``expandable`` (key → key of its short form) shows the short form
    and opens to the full text. A table wider than the screen scrolls inside its own box.
    """
    headers = [rx.table.column_header_cell(label) for _, label in columns]
    if actions is not None:
        headers.append(rx.table.column_header_cell(""))
    expand = expandable or {}

    def row(r: rx.Var) -> rx.Component:
        cells = [rx.table.cell(_cell(r, key, expand)) for key, _ in columns]
        if actions is not None:
            cells.append(rx.table.cell(actions(r)))
        return rx.table.row(*cells)

    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*headers)),
            rx.table.body(rx.foreach(rows, row)),
            variant="surface",
            size="1",
            width="100%",
        ),
        overflow_x="auto",
        width="100%",
        max_width="100%",
        data_testid=f"table-{testid}",
    )


def pager(page: rx.Var, has_next: rx.Var, prev: Any, nxt: Any, testid: str) -> rx.Component:
    """Previous / next page buttons (the server holds the page number and fetches one page)."""
    return rx.hstack(
        rx.button("Previous", on_click=prev, disabled=page <= 1, variant="soft", size="1"),
        rx.text("Page ", page, size="1", color=MUTED, data_testid=f"page-{testid}"),
        rx.button("Next", on_click=nxt, disabled=~has_next, variant="soft", size="1"),
        align="center",
        spacing="3",
    )


def text_field(name: str, placeholder: str, width: str = "12rem", **props: Any) -> rx.Component:
    """A named text input for a filter form."""
    return rx.el.input(
        name=name, placeholder=placeholder, aria_label=placeholder, style={**FIELD, "width": width}, **props
    )


def choice(name: str, options: Sequence[tuple[str, str]], default: str, label: str) -> rx.Component:
    """A native select for a filter form (value, label pairs)."""
    return rx.el.select(
        *[rx.el.option(text, value=value) for value, text in options],
        name=name,
        default_value=default,
        aria_label=label,
        style=FIELD,
    )


def filter_form(
    on_submit: Any, *fields: rx.Component, button: str = "Apply", testid: str = "filters"
) -> rx.Component:
    """A row of filter fields submitted together to one handler."""
    return rx.form(
        rx.hstack(
            *fields,
            rx.button(button, type="submit", size="2", high_contrast=True),
            wrap="wrap",
            spacing="2",
            align="center",
        ),
        on_submit=on_submit,
        reset_on_submit=False,
        width="100%",
        data_testid=testid,
    )


def danger_button(label: str, on_click: Any, **props: Any) -> rx.Component:
    """A button that starts a write (the server then asks for confirmation)."""
    return rx.button(label, on_click=on_click, size="1", variant="soft", color_scheme="red", **props)
