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
    ("mean", "Mean reward"),
    ("low", "95 % low"),
    ("high", "95 % high"),
    ("shadow_agreement", "Shadow agreement (24 h)"),
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
        offpolicy_section(),
        drift_section(),
        rx.grid(
            chart(S.policy_fig, "policy-reward"),
            chart(S.cohort_fig, "cohorts"),
            columns="2",
            gap="3",
            width="100%",
        ),
        data_table(
            S.cohorts,
            [
                ("policy", "Policy"),
                ("cohort", "Signup month"),
                ("rewards", "Rewards"),
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


OFFPOLICY_COLUMNS = [
    ("policy", "Shadow policy"),
    ("tips", "Logged tips"),
    ("users", "Users"),
    ("agreement", "Agrees"),
    ("ips", "IPS [95 %]"),
    ("snips", "SNIPS [95 %]"),
    ("dr", "DR [95 %]"),
    ("note", "Note"),
]


def offpolicy_section() -> rx.Component:
    """IPS / SNIPS / DR per shadow with user-bootstrap intervals, beside the observed mean."""
    return section(
        "Off-policy estimates (mean reward per tip, if this policy had served)",
        rx.text(S.observed, data_testid="observed-mean"),
        data_table(S.offpolicy, OFFPOLICY_COLUMNS, "offpolicy"),
        rx.text(
            "Intervals resample users (a person's reactions are correlated). Promoting a shadow needs "
            "its DR lower bound above the observed mean, or an override reason on the Policies page.",
            size="1",
            color_scheme="gray",
        ),
    )


def drift_section() -> rx.Component:
    """Rolling reward per policy and feature shift, with warnings beyond the thresholds."""
    return section(
        "Drift monitor (last 24 h against the 7 days before)",
        rx.foreach(
            S.drift_warnings,
            lambda w: rx.callout(
                w, icon="triangle_alert", color_scheme="orange", data_testid="drift-warning"
            ),
        ),
        data_table(
            S.drift_rows,
            [
                ("policy", "Policy"),
                ("recent", "Rewards 24 h"),
                ("recent_mean", "Mean 24 h"),
                ("baseline", "Rewards before"),
                ("baseline_mean", "Mean before"),
            ],
            "drift-reward",
        ),
        data_table(
            S.shift_rows,
            [
                ("feature", "Feature"),
                ("recent_mean", "Mean 24 h"),
                ("baseline_mean", "Mean before"),
                ("smd", "Shift (std)"),
            ],
            "drift-features",
        ),
    )
