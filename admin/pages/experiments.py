"""Experiments (A8): is the serving policy better than the others, for every cohort?"""

import reflex as rx

from admin import routes
from admin.components import chart, choice, data_table, filter_form, section, text_field
from admin.layout import admin_page
from admin.state.experiments import AdminExperimentsState

S = AdminExperimentsState
WINDOWS = [("1d", "last 24 h"), ("7d", "last 7 days"), ("30d", "last 30 days")]
COLUMNS = [
    ("policy", "Policy"),
    ("status", "Status"),
    ("alpha", "Alpha"),
    ("pulls", "Pulls"),
    ("rewards", "Rewards"),
    ("users", "Users"),
    ("mean", "Mean reward"),
    ("low", "95 % low"),
    ("high", "95 % high"),
    ("shadow_requests", "Shadow requests"),
    ("shadow_agreement", "Shadow agreement"),
    ("shadow_mean", "Reward when agreeing"),
]


def experiments_page() -> rx.Component:
    """Per-policy stats, cohort comparison and a bandit reset."""
    return admin_page(
        S,
        routes.EXPERIMENTS,
        "Experiments",
        "Is the serving policy better than the others, for every cohort?",
        filter_form(S.set_window, choice("window", WINDOWS, "7d", "Time window"), testid="window-form"),
        data_table(S.stats, COLUMNS, "policy-stats"),
        rx.grid(
            chart(S.policy_fig, "policy-reward"),
            chart(S.cohort_fig, "cohorts"),
            columns=rx.breakpoints(initial="1", md="2"),
            gap="3",
            width="100%",
        ),
        data_table(
            S.cohorts,
            [
                ("policy", "Policy"),
                ("cohort", "Signup month"),
                ("rewards", "Rewards"),
                ("users", "Users"),
                ("mean", "Mean"),
                ("low", "Low"),
                ("high", "High"),
            ],
            "cohort-stats",
        ),
        section(
            "Reset a user's bandit",
            filter_form(
                S.ask_reset, text_field("user_id", "User id", "8rem"), button="Reset…", testid="reset-form"
            ),
        ),
    )
