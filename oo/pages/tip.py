"""Tip page: one suggestion on a black page (U3)."""

from __future__ import annotations

import reflex as rx

from oo import routes
from oo.components.layout import MUTED, black_page, spinner
from oo.state.tip import TipState


def reactions() -> rx.Component:
    """Done / Snooze / Dismiss, shown after a tap on the tip."""
    return rx.hstack(
        rx.button("Done", on_click=TipState.done, size="3", high_contrast=True),
        rx.button("Snooze", on_click=TipState.snooze, size="3", variant="outline", color_scheme="gray"),
        rx.button("Dismiss", on_click=TipState.dismiss, size="3", variant="outline", color_scheme="gray"),
        spacing="3",
        justify="center",
        data_testid="reactions",
    )


def tip_body() -> rx.Component:
    """The tip, or the empty / no-source state."""
    return rx.cond(
        TipState.text != "",
        rx.vstack(
            rx.text(
                TipState.text,
                on_click=TipState.toggle,
                data_testid="tip",
                role="button",
                tab_index=0,
                aria_label="Tip. Activate to react.",
                size="8",
                weight="medium",
                text_align="center",
                color="#fff",
                cursor="pointer",
                style={"line_height": "1.2", "text_wrap": "balance"},
            ),
            rx.cond(TipState.revealed, reactions(), rx.text("Tap the tip to react", color=MUTED, size="2")),
            spacing="6",
            align="center",
        ),
        rx.cond(
            TipState.has_source,
            rx.text("Nothing to do — enjoy.", size="6", color="#fff", data_testid="tip-empty"),
            rx.vstack(
                rx.text("Connect a task source to get your first tip.", size="5", color="#fff",
                        data_testid="tip-no-source"),
                rx.link("Connect", href=routes.CONNECT, color="#fff", underline="always"),
                align="center",
            ),
        ),
    )


def tip_page() -> rx.Component:
    """One tip on a black page, and a discreet way to /connect."""
    return black_page(
        rx.cond(TipState.loaded & TipState.signed_in, tip_body(), spinner()),
        rx.link("sources", href=routes.CONNECT, color="#8a8a8a", size="2", position="fixed", bottom="1rem",
                right="1rem", aria_label="Your sources"),
    )
