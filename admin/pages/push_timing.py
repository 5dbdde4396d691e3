"""Push timing: when do pushes go out and land, and what does one user's timing model do?"""

import reflex as rx

from admin import routes
from admin.components import MUTED, chart, data_table, filter_form, text_field
from admin.layout import admin_page
from admin.state.push_timing import WINDOWS, AdminPushState

S = AdminPushState
FUNNEL = [
    ("hour", "Local hour"),
    ("decided", "Decided"),
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("opened", "Opened"),
    ("reacted", "Reacted"),
]
DECISIONS = [
    ("at", "When (UTC)"),
    ("hour", "Local hour"),
    ("decision", "Decision"),
    ("why", "Why"),
    ("outcome", "Outcome"),
    ("reward", "Reward"),
]


def push_page() -> rx.Component:
    """The funnel by hour, then one user's P(send) by hour and their last decisions."""
    return admin_page(
        S,
        routes.PUSH,
        "Push timing",
        "When do pushes go out, and which ones land?",
        rx.select(
            [str(d) for d in WINDOWS],
            value=S.days.to_string(),
            on_change=S.set_window,
            size="1",
            data_testid="push-window",
        ),
        rx.text(
            "Decided counts every timing decision (send or not now); hard-rule skips (quiet hours, cap, "
            "busy, minimum gap) are not decisions.",
            size="1",
            color=MUTED,
        ),
        chart(S.funnel_fig, "push-funnel"),
        data_table(S.funnel_rows, FUNNEL, "push-funnel"),
        filter_form(S.choose, text_field("user_id", "User id", "8rem"), button="Show"),
        chart(S.model_fig, "push-model"),
        data_table(S.decisions, DECISIONS, "push-decisions"),
    )
