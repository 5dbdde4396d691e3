"""The **Advice** switch on /connect: a real switch, labelled "Advice", on by default."""

from __future__ import annotations

import reflex as rx

from oo.components.layout import MUTED
from oo.state.advice import AdviceSwitchState


def advice_section() -> rx.Component:
    """Advice on or off, with what it means."""
    return rx.vstack(
        rx.heading("Advice", size="4", padding_top="1rem"),
        rx.el.label(
            rx.hstack(
                rx.switch(
                    checked=AdviceSwitchState.advice_on,
                    on_change=AdviceSwitchState.set_advice,
                    id="advice-switch",
                    data_testid="advice-switch",
                ),
                rx.text("Advice", size="3"),
                spacing="2",
                align="center",
            ),
            html_for="advice-switch",
        ),
        rx.text(
            "Short pieces of advice — a break, a walk, a plan, some rest — now and then instead of a "
            "task, when oO has learned they suit you. Off: only your tasks.",
            color=MUTED,
            size="2",
        ),
        rx.cond(
            AdviceSwitchState.advice_message != "",
            rx.text(AdviceSwitchState.advice_message, role="status", size="2", data_testid="advice-message"),
        ),
        width="100%",
        align="start",
        spacing="2",
        border_top="1px solid #262626",
        padding_top="0.5rem",
    )
