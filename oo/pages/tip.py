"""Tip page: one suggestion on a black page (U3)."""

from __future__ import annotations

import reflex as rx

from oo import routes
from oo.components.layout import MUTED, black_page, spinner
from oo.state.tip import TipState


def _key(reaction: str) -> rx.Var:
    """The idempotency key of one reaction to the tip on screen: ``<view_key>-<reaction>``."""
    return TipState.view_key + f"-{reaction}"


def reactions() -> rx.Component:
    """Done / Snooze / Dismiss, and Helpful / Not helpful, shown after a tap on the tip."""
    quiet = {"size": "3", "variant": "outline", "color_scheme": "gray"}
    small = {"size": "2", "variant": "ghost", "color_scheme": "gray"}
    return rx.vstack(
        rx.hstack(
            rx.button("Done", on_click=TipState.done(_key("done")), size="3", high_contrast=True),
            rx.button("Snooze", on_click=TipState.snooze(_key("snooze")), **quiet),
            rx.button("Dismiss", on_click=TipState.dismiss(_key("dismiss")), **quiet),
            spacing="3",
            justify="center",
        ),
        rx.hstack(
            rx.button("Helpful", on_click=TipState.helpful(_key("helpful")), **small),
            rx.button("Not helpful", on_click=TipState.not_helpful(_key("not_helpful")), **small),
            spacing="3",
            justify="center",
        ),
        rx.cond(TipState.why != "", rx.text(TipState.why, color=MUTED, size="2", data_testid="tip-why")),
        spacing="3",
        align="center",
        data_testid="reactions",
    )


def reconnect() -> rx.Component:
    """A source lost its authorization: say so, and link to /connect."""
    return rx.hstack(
        rx.text("Todoist needs you to reconnect.", color=MUTED, size="2"),
        rx.link(
            "Reconnect",
            href=routes.CONNECT,
            color="#fff",
            underline="always",
            size="2",
            data_testid="tip-reconnect",
        ),
        spacing="2",
        align="center",
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
                rx.text(
                    "Connect a task source to get your first tip.",
                    size="5",
                    color="#fff",
                    data_testid="tip-no-source",
                ),
                rx.link("Connect", href=routes.CONNECT, color="#fff", underline="always"),
                align="center",
            ),
        ),
    )


def tip_page() -> rx.Component:
    """One tip on a black page, and a discreet way to /connect."""
    return black_page(
        rx.cond(TipState.loaded & TipState.signed_in & TipState.needs_reconnect, reconnect()),
        rx.cond(TipState.loaded & TipState.signed_in, tip_body(), spinner()),
        rx.cond(
            TipState.notice != "",
            rx.text(TipState.notice, color=MUTED, size="2", role="status", data_testid="tip-notice"),
        ),
        rx.link(
            "sources",
            href=routes.CONNECT,
            color="#8a8a8a",
            size="2",
            position="fixed",
            bottom="1rem",
            right="1rem",
            aria_label="Your sources",
        ),
    )
