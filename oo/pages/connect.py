"""Connect page: each task source with its status and Connect / Disconnect (U2)."""

from __future__ import annotations

import reflex as rx

from oo import routes
from oo.components.layout import MUTED, NativeForm, black_page, legal_links, post_button, spinner, wordmark
from oo.state.connect import ConnectState

STATUS_TEXT = {
    "connected": "Connected",
    "needs_reconnect": "Needs reconnect",
    "not_connected": "Not connected",
    "not_configured": "Not configured",
}


def todoist_oauth_button(label: str) -> rx.Component:
    """Connect / Reconnect Todoist: a real POST, so the server can start OAuth and redirect."""
    return NativeForm.create(
        rx.button(label, type="submit", high_contrast=True),
        action=ConnectState.todoist_start_url,
        method="post",
    )


def source_action(src: dict) -> rx.Component:
    """The action that fits the status; Todoist's Connect goes through OAuth."""
    status, provider = src["status"], src["provider"]
    is_todoist = provider == "todoist"

    def disconnect() -> rx.Component:
        return rx.button(
            "Disconnect", variant="outline", color_scheme="gray", on_click=ConnectState.disconnect(provider)
        )

    def connect(label: str) -> rx.Component:
        return rx.cond(
            is_todoist,
            todoist_oauth_button(label),
            rx.button(label, high_contrast=True, on_click=ConnectState.connect(provider)),
        )

    return rx.match(
        status,
        ("connected", disconnect()),
        ("needs_reconnect", rx.hstack(connect("Reconnect"), disconnect(), spacing="2")),
        ("not_connected", connect("Connect")),
        rx.fragment(),
    )


def source_row(src: dict) -> rx.Component:
    """One source: name, status, and the action that fits the status."""
    status = src["status"]
    return rx.hstack(
        rx.vstack(
            rx.text(src["label"], weight="bold", size="4"),
            rx.text(
                rx.match(status, *STATUS_TEXT.items(), status),
                color=MUTED,
                size="2",
                data_testid=f"status-{src['provider']}",
            ),
            rx.cond(
                src["detail"] != "",
                rx.text(src["detail"], color=MUTED, size="1", data_testid=f"detail-{src['provider']}"),
            ),
            spacing="1",
            align="start",
        ),
        rx.spacer(),
        source_action(src),
        width="100%",
        padding_y="0.75rem",
        border_bottom="1px solid #262626",
        data_testid=f"source-{src['provider']}",
    )


def connect_page() -> rx.Component:
    """Sources, a way to the tip, sign-out."""
    return black_page(
        wordmark(),
        rx.cond(
            ConnectState.signed_in,
            rx.vstack(
                rx.heading("Your sources", size="5"),
                rx.text("oO reads your open tasks from the sources you connect.", color=MUTED, size="2"),
                rx.foreach(ConnectState.sources, source_row),
                rx.cond(
                    ConnectState.message != "",
                    rx.text(ConnectState.message, role="status", size="2", data_testid="connect-message"),
                ),
                rx.link(
                    rx.button("Show my tip", size="3", high_contrast=True, width="100%"),
                    href=routes.TIP,
                    width="100%",
                ),
                post_button("Sign out", ConnectState.signout_url, variant="ghost", color_scheme="gray"),
                width="100%",
                spacing="3",
            ),
            spinner(),
        ),
        legal_links(),
    )
