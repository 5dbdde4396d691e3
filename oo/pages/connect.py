"""Connect page: each task source with its status and Connect / Disconnect (U2)."""

from __future__ import annotations

import reflex as rx

from oo import routes
from oo.components.layout import MUTED, NativeForm, black_page, legal_links, post_button, spinner, wordmark
from oo.components.your_data import your_data_section
from oo.models import TODOIST
from oo.state.account import AccountState
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
    is_todoist = provider == TODOIST

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


def quiet_hours_form() -> rx.Component:
    """Quiet hours for pushed tips, in the user's time zone."""
    return rx.form(
        rx.hstack(
            rx.el.label("Quiet hours", html_for="quiet-hours", style={"font_size": "0.875rem"}),
            rx.input(
                name="quiet_hours",
                id="quiet-hours",
                default_value=AccountState.quiet_hours,
                placeholder="22-8",
                aria_describedby="quiet-hours-hint",
                max_length=16,
                width="8rem",
                data_testid="quiet-hours",
            ),
            rx.button("Save", type="submit", variant="outline", color_scheme="gray"),
            align="center",
        ),
        rx.text("From-to in 24 h, e.g. 22-8; empty for none.", id="quiet-hours-hint", color=MUTED, size="1"),
        on_submit=AccountState.save_quiet_hours,
        reset_on_submit=False,
    )


def delete_account() -> rx.Component:
    """Delete my account → confirmation → Delete forever."""
    return rx.cond(
        AccountState.confirming_delete,
        rx.vstack(
            rx.text(
                "This deletes your tasks, tips, reactions, model, devices and sessions, and revokes "
                "oO's access to your sources. It cannot be undone.",
                size="2",
                color="#fca5a5",
                role="alert",
            ),
            rx.hstack(
                rx.button(
                    "Delete forever",
                    color_scheme="red",
                    on_click=AccountState.delete_forever,
                    loading=AccountState.deleting,
                ),
                rx.button(
                    "Keep my account",
                    variant="outline",
                    color_scheme="gray",
                    on_click=AccountState.cancel_delete,
                ),
            ),
            align="start",
        ),
        rx.button("Delete my account", variant="ghost", color_scheme="red", on_click=AccountState.ask_delete),
    )


def account_section() -> rx.Component:
    """Notifications and the account itself."""
    return rx.vstack(
        rx.heading("Notifications", size="4", padding_top="1rem"),
        rx.text(
            "oO pushes at most a few tips a day, never during your quiet hours (your time zone). ",
            rx.cond(AccountState.devices > 0, "Devices: ", ""),
            rx.cond(AccountState.devices > 0, AccountState.devices.to_string(), ""),
            color=MUTED,
            size="2",
        ),
        quiet_hours_form(),
        rx.cond(
            AccountState.account_message != "",
            rx.text(AccountState.account_message, role="status", size="2", data_testid="account-message"),
        ),
        rx.heading("Account", size="4", padding_top="1rem"),
        delete_account(),
        width="100%",
        align="start",
        spacing="2",
        border_top="1px solid #262626",
        padding_top="0.5rem",
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
                your_data_section(),
                account_section(),
                width="100%",
                spacing="3",
            ),
            spinner(),
        ),
        legal_links(),
    )
