"""The admin console's frame: dark theme, sidebar navigation, messages and the confirmation dialog.

The frame renders for everyone (pages are prerendered), but a page's content only shows once the
server has confirmed the admin role (`AuthState.is_admin`, set by the page's ``load``); its data
is loaded by that same handler, never before the check.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from admin import routes
from admin.components import MUTED
from oo.state.auth import AuthState

SHELL = {
    "background": "#050505",
    "color": "#f5f5f5",
    "min_height": "100dvh",
    "width": "100%",
    "font_family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
}


DESKTOP = ["none", "none", "flex"]  # Radix breakpoints: shown from md (48em = 768px) up
PHONE = ["block", "block", "none"]


def _links(current: str) -> list[rx.Component]:
    return [
        rx.link(
            rx.hstack(rx.icon(icon, size=16), rx.text(label, size="2"), spacing="2", align="center"),
            href=path,
            underline="none",
            color="#fff" if path == current else MUTED,
            background="#1f1f1f" if path == current else "transparent",
            padding="0.35rem 0.6rem",
            border_radius="6px",
            width="100%",
            aria_current="page" if path == current else None,
        )
        for label, path, icon in routes.NAV
    ]


def sidebar(current: str) -> rx.Component:
    """Links to every admin page (the current one highlighted); stays in view while the page scrolls.

    Desktop only; phones get `phone_menu` instead.
    """
    return rx.vstack(
        rx.heading("oO admin", size="4", padding="0.4rem 0.6rem"),
        *_links(current),
        rx.spacer(),
        rx.link("Back to the app", href="/tip", size="1", color=MUTED, padding="0.6rem"),
        spacing="1",
        width="13rem",
        min_width="13rem",
        padding="1rem 0.5rem",
        border_right="1px solid #1f1f1f",
        height="100dvh",
        position="sticky",
        top="0",
        overflow_y="auto",
        display=DESKTOP,
        as_="nav",
        aria_label="Admin pages",
        data_testid="admin-sidebar",
    )


def phone_menu(current: str) -> rx.Component:
    """On phones: a bar at the top whose Menu opens the same links (a native disclosure, no script)."""
    return rx.el.details(
        rx.el.summary(
            rx.hstack(
                rx.text("oO admin", weight="bold", size="3"),
                rx.spacer(),
                rx.hstack(rx.icon("menu", size=18), rx.text("Menu", size="2"), spacing="1", align="center"),
                align="center",
                width="100%",
            ),
            list_style="none",
            cursor="pointer",
            padding="0.75rem 1rem",
            data_testid="admin-menu-button",
        ),
        rx.vstack(
            *_links(current),
            rx.link("Back to the app", href="/tip", size="1", color=MUTED, padding="0.6rem"),
            spacing="1",
            padding="0 0.5rem 0.75rem",
            as_="nav",
            aria_label="Admin pages",
        ),
        display=PHONE,
        position="sticky",
        top="0",
        z_index="10",
        background="#050505",
        border_bottom="1px solid #1f1f1f",
        width="100%",
        data_testid="admin-menu",
    )


def messages(state: Any) -> rx.Component:
    """The page's last notice (green) and error (red)."""
    return rx.fragment(
        rx.cond(
            state.notice != "",
            rx.callout(
                state.notice, color_scheme="green", role="status", data_testid="admin-notice", size="1"
            ),
        ),
        rx.cond(
            state.error != "",
            rx.callout(state.error, color_scheme="red", role="alert", data_testid="admin-error", size="1"),
        ),
    )


def confirm_dialog(state: Any) -> rx.Component:
    """Asks before every write; the pending action itself is held on the server."""
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Please confirm"),
            rx.alert_dialog.description(state.confirm_text, data_testid="confirm-text"),
            rx.hstack(
                rx.button("Cancel", on_click=state.cancel, variant="soft", color_scheme="gray"),
                rx.button(
                    "Confirm", on_click=state.confirm, color_scheme="red", data_testid="confirm-button"
                ),
                justify="end",
                spacing="3",
                margin_top="1rem",
            ),
        ),
        open=state.confirm_open,
    )


def admin_page(state: Any, current: str, title: str, question: str, *content: rx.Component) -> rx.Component:
    """One admin page: sidebar (a menu on phones), title, the question the page answers, its content."""
    return rx.box(
        phone_menu(current),
        rx.hstack(
            sidebar(current),
            rx.vstack(
                rx.heading(title, size="6"),
                rx.text(question, color=MUTED, size="2"),
                messages(state),
                rx.cond(
                    AuthState.is_admin,
                    rx.vstack(*content, spacing="4", width="100%", min_width="0"),
                    rx.center(
                        rx.spinner(size="3"), role="status", aria_label="Checking access", padding="3rem"
                    ),
                ),
                confirm_dialog(state),
                spacing="3",
                width="100%",
                padding=["0.75rem", "0.75rem", "1.25rem"],
                min_width="0",
                as_="main",
            ),
            align="start",
            spacing="0",
            width="100%",
        ),
        style=SHELL,
    )


def forbidden_page() -> rx.Component:
    """The 403 page non-admins are sent to."""
    return rx.center(
        rx.vstack(
            rx.heading("403", size="9", data_testid="forbidden"),
            rx.text("The admin console is for admins only.", color=MUTED),
            rx.link("Back to oO", href="/tip", color="#fff"),
            align="center",
            spacing="3",
        ),
        style=SHELL,
    )
