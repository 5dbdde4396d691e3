"""Feature browser (A6): what did the learner see for this user, and what changed between calls?"""

import reflex as rx

from admin import routes
from admin.components import chart, data_table, filter_form, pager, text_field
from admin.layout import admin_page
from admin.state.features import AdminFeaturesState

S = AdminFeaturesState
COLUMNS = [
    ("when", "When (UTC)"),
    ("policy", "Policy"),
    ("role", "Role"),
    ("score", "Score"),
    ("candidates", "Candidates"),
    ("latency_ms", "ms"),
    ("changes", "Changed since the previous call"),
    ("features", "Features"),
]


def features_page() -> rx.Component:
    """One user's scoring calls with their features and diffs, and the features over time."""
    return admin_page(
        S,
        routes.FEATURES,
        "Feature browser",
        "What did the learner see for this user, and what changed?",
        filter_form(S.choose, text_field("user_id", "User id", "8rem"), button="Show"),
        rx.text("User ", S.user_id, size="2", data_testid="features-user"),
        chart(S.series_fig, "feature-series"),
        data_table(S.rows, COLUMNS, "scoring-calls"),
        pager(S.page, S.has_next, S.prev_page, S.next_page, "features"),
    )
