"""The "Your data" section of /connect: what oO has learned, Download my data, Reset (U9)."""

from __future__ import annotations

import reflex as rx

from oo.components.layout import MUTED, post_button
from oo.state.yours import YoursState


def _reset() -> rx.Component:
    return rx.cond(
        YoursState.confirming_reset,
        rx.vstack(
            rx.text(
                "This deletes what oO has learned about you; your tasks and reactions stay. "
                "It cannot be undone.",
                size="2",
                color="#fca5a5",
                role="alert",
            ),
            rx.hstack(
                rx.button("Reset", color_scheme="red", on_click=YoursState.reset_learning),
                rx.button(
                    "Keep it", variant="outline", color_scheme="gray", on_click=YoursState.cancel_reset
                ),
            ),
            align="start",
        ),
        rx.button(
            "Reset what oO learned", variant="ghost", color_scheme="gray", on_click=YoursState.ask_reset
        ),
    )


def your_data_section() -> rx.Component:
    """What oO has learned about you, in plain words; your data to take; a fresh start."""
    return rx.vstack(
        rx.heading("Your data", size="4", padding_top="1rem"),
        rx.text("What oO has learned about you", weight="bold", size="2"),
        rx.vstack(
            rx.foreach(YoursState.learned, lambda line: rx.text(line, color=MUTED, size="2")),
            spacing="1",
            align="start",
            data_testid="learned",
        ),
        rx.box(
            post_button("Download my data", YoursState.my_data_url, variant="outline", color_scheme="gray"),
            width="auto",
        ),
        rx.text(
            "A JSON file with everything oO holds about you (no passwords or access tokens).",
            color=MUTED,
            size="1",
        ),
        _reset(),
        rx.cond(
            YoursState.yours_message != "",
            rx.text(YoursState.yours_message, role="status", size="2", data_testid="yours-message"),
        ),
        width="100%",
        align="start",
        spacing="2",
        border_top="1px solid #262626",
        padding_top="0.5rem",
    )
