"""Tip page: one suggestion on a black page (U3).

A tap on the tip shows **Done / Snooze / Dismiss**; a long-press (≥ 500 ms, touch or mouse) — or
the visible **More** control, for keyboard and screen-reader users — shows **Helpful / Not
helpful**. Every reaction carries an idempotency key, so a resent event counts once; while the
connection is down, Reflex keeps the event queued and the page says so.
"""

from __future__ import annotations

import reflex as rx
from reflex_components_core.core.banner import has_connection_errors

from oo import routes
from oo.components.layout import MUTED, black_page, spinner
from oo.components.notify import SUBSCRIBE_JS, UNSUBSCRIBE_JS
from oo.components.press import PRESS_STYLE, KeyBox, PressBox
from oo.state.push import PushState
from oo.state.tip import TipState

QUIET = {"size": "3", "variant": "outline", "color_scheme": "gray"}
QUEUE = {"data-queue": "1"}  # assets/offline.js shows "queued" when one of these is pressed offline


def _key(reaction: str) -> rx.Var:
    """The idempotency key of one reaction to the tip on screen: ``<view_key>-<reaction>``.

    Each reaction also sends ``view_key`` itself: the served tip's reference, which names the tip
    the reaction answers.
    """
    return rx.Var.create(TipState.view_key) + f"-{reaction}"


def reactions() -> rx.Component:
    """Done / Snooze / Dismiss (after a tap)."""
    return rx.hstack(
        rx.button(
            "Done",
            on_click=TipState.done(_key("done"), TipState.view_key),
            size="3",
            high_contrast=True,
            custom_attrs=QUEUE,
        ),
        rx.button(
            "Snooze", on_click=TipState.snooze(_key("snooze"), TipState.view_key), **QUIET, custom_attrs=QUEUE
        ),
        rx.button(
            "Dismiss",
            on_click=TipState.dismiss(_key("dismiss"), TipState.view_key),
            **QUIET,
            custom_attrs=QUEUE,
        ),
        spacing="3",
        justify="center",
        role="group",
        aria_label="React to the tip",
        data_testid="reactions",
    )


def opinions() -> rx.Component:
    """Helpful / Not helpful (after a long-press or More)."""
    return rx.hstack(
        rx.button(
            "Helpful",
            on_click=TipState.helpful(_key("helpful"), TipState.view_key),
            **QUIET,
            custom_attrs=QUEUE,
        ),
        rx.button(
            "Not helpful",
            on_click=TipState.not_helpful(_key("not_helpful"), TipState.view_key),
            **QUIET,
            custom_attrs=QUEUE,
        ),
        spacing="3",
        justify="center",
        role="group",
        aria_label="Was this tip helpful?",
        data_testid="opinions",
    )


def the_tip() -> rx.Component:
    """The tip itself: large white type; tap, hold, or Enter/Space."""
    return PressBox.create(
        rx.text(
            TipState.text,
            size="8",
            weight="medium",
            text_align="center",
            color="#fff",
            style={"line_height": "1.2", "text_wrap": "balance"},
        ),
        on_pointer_down=TipState.press_start,
        on_pointer_up=TipState.press_end,
        on_pointer_cancel=TipState.press_cancel,
        on_key_down=TipState.key_press,
        on_context_menu=rx.prevent_default,
        role="button",
        tab_index=0,
        aria_label="Your tip. Press to react.",
        aria_expanded=TipState.revealed,
        data_testid="tip",
        style=PRESS_STYLE,
    )


def tip_body() -> rx.Component:
    """The tip with its controls, or the empty / no-source state."""
    return rx.cond(
        TipState.text != "",
        KeyBox.create(
            rx.vstack(
                the_tip(),
                rx.cond(TipState.revealed, reactions()),
                rx.cond(TipState.more, opinions()),
                rx.cond(
                    (TipState.revealed | TipState.more) & (TipState.why != ""),
                    rx.text(TipState.why, color=MUTED, size="2", text_align="center", data_testid="tip-why"),
                ),
                rx.cond(
                    ~TipState.revealed & ~TipState.more,
                    rx.text("Tap to react · hold for more", color=MUTED, size="2", aria_hidden="true"),
                ),
                rx.button(
                    rx.cond(TipState.more, "Less", "More"),
                    on_click=TipState.toggle_more,
                    variant="ghost",
                    color_scheme="gray",
                    size="2",
                    aria_expanded=TipState.more,
                    aria_label=rx.cond(
                        TipState.more, "Less: hide the opinion buttons", "More: was this tip helpful?"
                    ),
                    data_testid="tip-more",
                ),
                spacing="5",
                align="center",
                width="100%",
            ),
            on_key_down=TipState.escape,  # Escape anywhere in the tip closes the reaction buttons
            style={"width": "100%"},
        ),
        rx.cond(
            TipState.has_source,
            rx.text("Nothing to do — enjoy.", size="7", color="#fff", data_testid="tip-empty"),
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
        role="status",
    )


def acknowledgement() -> rx.Component:
    """A short, calm line after each reaction, with Undo for a few seconds (then it fades away)."""
    return rx.cond(
        TipState.ack != "",
        rx.hstack(
            rx.text(TipState.ack, color=MUTED, size="2", role="status", data_testid="tip-ack"),
            rx.cond(
                TipState.can_undo,
                rx.button(
                    "Undo",
                    on_click=TipState.take_back,
                    variant="ghost",
                    color_scheme="gray",
                    size="2",
                    data_testid="tip-undo",
                ),
            ),
            align="center",
            spacing="3",
            key=TipState.ack_id.to_string(),  # a new acknowledgement restarts the fade-out
            class_name="oo-ack",
        ),
    )


def status_line() -> rx.Component:
    """Offline, or an error with a retry."""
    return rx.fragment(
        # Shown when the socket is down, or at once when the browser says it is offline (offline.js).
        rx.text(
            "Offline — your reactions are kept and sent when you're back.",
            color=MUTED,
            size="2",
            role="status",
            data_testid="tip-offline",
            display=rx.cond(has_connection_errors, "block", "var(--oo-offline-display, none)"),
        ),
        rx.text(
            "Queued — your reaction is sent when you're back.",
            color="#fff",
            size="2",
            role="status",
            data_testid="tip-queued",
            display="var(--oo-queued-display, none)",
        ),
        rx.cond(
            TipState.notice != "",
            rx.hstack(
                rx.text(TipState.notice, color=MUTED, size="2", role="alert", data_testid="tip-notice"),
                rx.button("Retry", on_click=TipState.load, variant="outline", color_scheme="gray", size="1"),
                align="center",
            ),
        ),
    )


def notify() -> rx.Component:
    """Notify me (Web Push), discreet in the corner."""
    corner = {"position": "fixed", "bottom": "1rem", "left": "1rem"}
    return rx.box(
        rx.cond(
            PushState.subscribed,
            rx.button(
                "Notifications on · turn off",
                variant="ghost",
                color_scheme="gray",
                size="1",
                on_click=rx.call_script(UNSUBSCRIBE_JS, callback=PushState.drop_subscription),
            ),
            rx.button(
                "Notify me",
                variant="ghost",
                color_scheme="gray",
                size="2",
                custom_attrs={"data-vapid": PushState.vapid_key},
                on_click=rx.call_script(SUBSCRIBE_JS, callback=PushState.save_subscription),
            ),
        ),
        rx.cond(
            PushState.push_message != "",
            rx.text(
                PushState.push_message,
                color=MUTED,
                size="1",
                role="status",
                max_width="16rem",
                data_testid="push-message",
            ),
        ),
        style=corner,
    )


def tip_page() -> rx.Component:
    """One tip on a black page, and a discreet way to /connect.

    Nothing but a spinner shows until the session is checked: a signed-out visitor goes to
    /signin without a glimpse of the page's controls.
    """
    return black_page(
        rx.cond(
            TipState.signed_in,
            rx.fragment(
                rx.cond(TipState.loaded & TipState.needs_reconnect, reconnect()),
                rx.cond(TipState.loaded, tip_body(), spinner()),
                acknowledgement(),
                status_line(),
                notify(),
                rx.link(
                    "sources",
                    href=routes.CONNECT,
                    color="#a3a3a3",
                    size="2",
                    position="fixed",
                    bottom="1rem",
                    right="1rem",
                    aria_label="Your sources",
                ),
            ),
            spinner(),
        ),
    )
