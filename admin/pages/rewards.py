"""Reward analytics (A10): are reactions getting better, and where (policy, hour, priority, cohort)?"""

import reflex as rx

from admin import routes
from admin.components import chart, choice, filter_form
from admin.layout import admin_page
from admin.state.rewards import AdminRewardsState

S = AdminRewardsState
WINDOWS = [("1d", "last 24 h"), ("7d", "last 7 days"), ("30d", "last 30 days")]


def rewards_page() -> rx.Component:
    """Reactions over time and mean reward by slice."""
    return admin_page(
        S,
        routes.REWARDS,
        "Reward analytics",
        "Are reactions getting better, and where?",
        filter_form(S.set_window, choice("window", WINDOWS, "7d", "Time window"), testid="window-form"),
        rx.grid(
            chart(S.daily_fig, "reactions-daily"),
            chart(S.mean_fig, "reward-daily"),
            chart(S.policy_fig, "reward-policy"),
            chart(S.hour_fig, "reward-hour"),
            chart(S.priority_fig, "reward-priority"),
            chart(S.cohort_fig, "reward-cohort"),
            columns=rx.breakpoints(initial="1", md="2"),
            gap="3",
            width="100%",
        ),
    )
