"""The black page every user screen stands on, and small shared pieces."""

from __future__ import annotations

import reflex as rx
from reflex_components_core.el.elements.base import BaseHTML

from oo import routes
from oo.state.ratelimit import LimitState

PAGE_STYLE = {
    "background": "#000",
    "color": "#f5f5f5",
    "min_height": "100dvh",
    "width": "100%",
    "font_family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
}
MUTED = "#a3a3a3"  # 8.9:1 on black: readable as secondary text (WCAG AA)


def black_page(*children: rx.Component, **props) -> rx.Component:
    """A full-screen black page, content centred, phone first."""
    return rx.box(
        rx.center(
            rx.vstack(
                *children,
                slow_down_line(),
                spacing="5",
                align="center",
                width="100%",
                max_width="36rem",
                padding="1.5rem",
            ),
            min_height="100dvh",
        ),
        style=PAGE_STYLE,
        **props,
    )


def slow_down_line() -> rx.Component:
    """One calm line while the websocket rate limit holds this tab back (nothing the user did is lost)."""
    return rx.cond(
        LimitState.slow,
        rx.text(
            "Slow down a little — oO is catching up. Anything you tapped is kept.",
            color=MUTED,
            size="2",
            role="status",
            data_testid="slow-down",
        ),
    )


def wordmark() -> rx.Component:
    """The oO mark."""
    return rx.heading("oO", size="8", weight="bold", color="#fff", letter_spacing="0.05em")


def legal_links() -> rx.Component:
    """Terms and Privacy, quietly."""
    return rx.hstack(
        rx.link("Terms", href=routes.TERMS, color=MUTED, size="2"),
        rx.link("Privacy", href=routes.PRIVACY, color=MUTED, size="2"),
        spacing="4",
    )


def spinner() -> rx.Component:
    """Shown while the server checks the session."""
    return rx.center(rx.spinner(size="3", color="#fff"), aria_label="Loading", role="status")


class NativeForm(BaseHTML):
    """A plain HTML ``<form>`` that really posts (Reflex's form turns submit into a websocket event).

    Used where the browser must navigate with a POST: demo sign-in and sign-out, so the server's
    response can set or clear the HttpOnly session cookie.
    """

    tag = "form"
    action: rx.Var[str]
    method: rx.Var[str]


def post_button(label: str, action: rx.Var | str, **button_props) -> rx.Component:
    """A button that POSTs a native form to ``action``."""
    return NativeForm.create(
        rx.button(label, type="submit", **button_props), action=action, method="post", width="100%"
    )


class NativeLink(BaseHTML):
    """A plain ``<a>`` for full-page navigation to a backend route (Reflex links route client-side)."""

    tag = "a"
    href: rx.Var[str]
