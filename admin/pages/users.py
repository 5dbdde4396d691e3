"""User explorer (A4): who is this person, what did oO show them, and how did it go?"""

import reflex as rx

from admin import routes
from admin.components import MUTED, chart, danger_button, data_table, filter_form, pager, section, text_field
from admin.layout import admin_page
from admin.state.users import AdminUsersState

S = AdminUsersState
COLUMNS = [
    ("id", "Id"),
    ("email", "Email"),
    ("name", "Name"),
    ("role", "Role"),
    ("kind", "Kind"),
    ("created", "Signed up"),
    ("last_tip", "Last tip"),
]


def _pairs(values: rx.Var, keys: list[tuple[str, str]]) -> rx.Component:
    return rx.data_list.root(
        *[
            rx.data_list.item(rx.data_list.label(label), rx.data_list.value(values[key]))
            for key, label in keys
        ],
        size="1",
    )


IDENTITY = [
    ("id", "Id"),
    ("email", "Email"),
    ("name", "Name"),
    ("role", "Role"),
    ("kind", "Kind"),
    ("timezone", "Time zone"),
    ("signed_up", "Signed up"),
    ("issuer", "Sign-in issuer"),
    ("active_sessions", "Active sessions"),
    ("push_subscriptions", "Push subscriptions"),
]
INTEGRATIONS = [
    ("provider", "Provider"),
    ("status", "Status"),
    ("scopes", "Scopes"),
    ("last_sync", "Last sync"),
    ("last_error", "Last error"),
]
LAST_TIP = [
    ("text", "Tip"),
    ("served", "Served"),
    ("policy", "Policy"),
    ("score", "Score"),
    ("reaction", "Reaction"),
    ("channel", "Channel"),
]


def _identity() -> rx.Component:
    """Who the person is, and the actions on their account."""
    return rx.vstack(
        _pairs(S.identity, IDENTITY),
        rx.hstack(
            danger_button("Reset bandit", S.ask_reset),
            rx.cond(
                S.identity["role"] == "admin",
                danger_button("Revoke admin", S.ask_role("user")),
                danger_button("Grant admin", S.ask_role("admin")),
            ),
            spacing="2",
            wrap="wrap",
        ),
    )


def _records() -> rx.Component:
    """Consents, integrations (each revocable) and the last tip served."""
    return rx.vstack(
        rx.text("Consents", weight="bold", size="2"),
        data_table(
            S.consents,
            [("document", "Document"), ("version", "Version"), ("accepted", "Accepted")],
            "consents",
        ),
        rx.text("Integrations", weight="bold", size="2"),
        data_table(
            S.integrations,
            INTEGRATIONS,
            "integrations",
            actions=lambda r: danger_button("Revoke", S.ask_revoke(r["provider"])),
        ),
        rx.text("Last tip", weight="bold", size="2"),
        rx.cond(
            S.last_tip.contains("served"),
            _pairs(S.last_tip, LAST_TIP),
            rx.text("No tip served yet.", color=MUTED, size="2"),
        ),
        width="100%",
    )


def detail() -> rx.Component:
    """The selected user: identity, consents, integrations, last tip, rewards, actions."""
    return rx.cond(
        S.identity.contains("id"),
        section(
            "User detail",
            rx.grid(
                _identity(),
                _records(),
                columns=rx.breakpoints(initial="1", md="2"),
                gap="4",
                width="100%",
            ),
            chart(S.reward_fig, "rewards"),
            data_table(
                S.rewards,
                [("when", "When"), ("reaction", "Reaction"), ("reward", "Reward"), ("policy", "Policy")],
                "reward-history",
            ),
        ),
    )


def users_page() -> rx.Component:
    """Search, a page of users, and the selected user's detail."""
    return admin_page(
        S,
        routes.USERS,
        "Users",
        "Who is this person, what did oO show them, and how did it go?",
        filter_form(S.search, text_field("query", "Id, email or name", "18rem"), button="Search"),
        data_table(
            S.rows,
            COLUMNS,
            "users",
            actions=lambda r: rx.button("Open", size="1", variant="soft", on_click=S.open_user(r["id"])),
        ),
        pager(S.page, S.has_next, S.prev_page, S.next_page, "users"),
        detail(),
    )
