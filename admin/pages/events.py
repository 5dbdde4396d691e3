"""Event stream (A5): what is happening right now, and what happened to one user?"""

import reflex as rx

from admin import routes
from admin.components import MUTED, chart, choice, data_table, filter_form, pager, section, text_field
from admin.layout import admin_page
from admin.state.events import AdminEventsState

S = AdminEventsState
COLUMNS = [
    ("when", "When (UTC)"),
    ("subject", "Subject"),
    ("user_id", "User"),
    ("data", "Data"),
    ("replay_of", "Replay of"),
]
SINCE = [
    ("15m", "last 15 min"),
    ("1h", "last hour"),
    ("24h", "last 24 h"),
    ("7d", "last 7 days"),
    ("all", "all"),
]


def events_page() -> rx.Component:
    """Filters, the live ring buffer (refreshed every 5 s), stored history, events per hour."""
    replay = lambda r: rx.button("Replay", size="1", variant="soft", on_click=S.ask_replay(r["id"]))  # noqa: E731
    return admin_page(
        S,
        routes.EVENTS,
        "Event stream",
        "What is happening right now, and what happened to one user?",
        filter_form(
            S.filter,
            text_field("subject", "Subject, e.g. signals.tip.> ", "16rem"),
            text_field("user_id", "User id", "7rem"),
            choice("since", SINCE, "24h", "Time range"),
        ),
        chart(S.hourly_fig, "events-hourly"),
        section(
            "Live (this worker's last 500 events, refreshed every 5 s)",
            rx.moment(interval=5000, format="HH:mm:ss", on_change=S.refresh_live, display="none"),
            rx.cond(
                S.live.length() > 0,
                data_table(S.live, COLUMNS, "live"),
                rx.text("Nothing published on this worker yet.", color=MUTED, size="2"),
            ),
        ),
        section(
            "History (stored events)",
            data_table(S.history, COLUMNS, "history", actions=replay),
            pager(S.page, S.has_next, S.prev_page, S.next_page, "history"),
        ),
        chart(S.hourly_fig, "events-hourly"),
    )
