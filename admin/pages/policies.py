"""Policy registry (A7): which policy serves, which ones shadow it, and with what parameters?"""

import reflex as rx

from admin import routes
from admin.components import danger_button, data_table, filter_form, section, text_field
from admin.layout import admin_page
from admin.state.policies import AdminPoliciesState

S = AdminPoliciesState
COLUMNS = [
    ("key", "Policy"),
    ("status", "Status"),
    ("alpha", "Alpha"),
    ("params", "Parameters"),
    ("description", "Description"),
    ("updated", "Updated"),
]


def policy_actions(row: rx.Var, ask: object) -> rx.Component:
    """Promote / shadow / archive buttons that fit the row's status (the server re-checks)."""
    return rx.hstack(
        rx.cond(row["status"] != "active", danger_button("Promote", ask(row["id"], "active"))),
        rx.cond(row["status"] == "archived", danger_button("Shadow", ask(row["id"], "shadow"))),
        rx.cond(row["status"] == "shadow", danger_button("Archive", ask(row["id"], "archived"))),
        spacing="1",
    )


def policies_page() -> rx.Component:
    """The registry with its actions."""
    return admin_page(
        S,
        routes.POLICIES,
        "Policy registry",
        "Which policy serves, which ones shadow it, with what parameters?",
        filter_form(
            S.set_reason,
            text_field("reason", "Override reason for a promotion the off-policy gate refuses", "28rem"),
            button="Set reason",
            testid="override-form",
        ),
        data_table(S.rows, COLUMNS, "policies", actions=lambda r: policy_actions(r, S.ask_status)),
        section("Model cards", rx.foreach(S.cards, model_card)),
    )


def model_card(card: rx.Var) -> rx.Component:
    """One policy version's card: what it sees, priors, how it was evaluated, known limits."""
    return rx.box(
        rx.heading(card["key"], size="2"),
        rx.text(card["summary"], size="2"),
        rx.el.pre(card["body"], style={"white_space": "pre-wrap", "font_size": "12px"}),
        data_testid="model-card",
        margin_bottom="1rem",
    )
