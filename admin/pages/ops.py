"""Ops actions (A12): fix something now (revoke a token, replay a signal, switch a shadow policy)."""

import reflex as rx

from admin import routes
from admin.components import choice, data_table, filter_form, section, text_field
from admin.layout import admin_page
from admin.pages.policies import policy_actions
from admin.state.ops import AdminOpsState

S = AdminOpsState


def ops_page() -> rx.Component:
    """Each action asks for confirmation and writes one audit row; see admin/RUNBOOK.md."""
    return admin_page(
        S,
        routes.OPS,
        "Ops actions",
        "Fix something now; every action is confirmed and audit-logged (RUNBOOK.md).",
        section(
            "Revoke a provider token",
            filter_form(
                S.ask_revoke,
                text_field("user_id", "User id", "8rem"),
                choice("provider", [("todoist", "Todoist"), ("demo", "Demo tasks")], "todoist", "Provider"),
                button="Revoke…",
                testid="revoke-form",
            ),
        ),
        section(
            "Replay a signal",
            filter_form(
                S.ask_replay,
                text_field("event_id", "Event id (32 hex)", "22rem"),
                button="Replay…",
                testid="replay-form",
            ),
            data_table(
                S.recent,
                [("id", "Event id"), ("when", "When"), ("subject", "Subject"), ("user_id", "User")],
                "recent-events",
            ),
        ),
        section(
            "Promote or disable a policy",
            data_table(
                S.policies,
                [("key", "Policy"), ("status", "Status"), ("alpha", "Alpha")],
                "ops-policies",
                actions=lambda r: policy_actions(r, S.ask_policy),
            ),
        ),
    )
