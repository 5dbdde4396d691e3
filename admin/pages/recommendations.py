"""Recommendation log (A9): why was this tip shown, by which policy, and what happened?"""

import reflex as rx

from admin import routes
from admin.components import choice, data_table, filter_form, pager, text_field
from admin.layout import admin_page
from admin.state.recommendations import AdminRecommendationsState
from oo.services.admin.recommendation_log import CHANNELS, FALLBACK, REACTIONS

S = AdminRecommendationsState
COLUMNS = [
    ("when", "Served (UTC)"),
    ("user_id", "User"),
    ("text", "Tip"),
    ("policy", "Policy"),
    ("score", "Score"),
    ("fallback", "Fallback"),
    ("channel", "Channel"),
    ("reaction", "Reaction"),
    ("latency_ms", "ms"),
    ("explanation", "Explanation"),
    ("features", "Features"),
]


def _opts(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


def recommendations_page() -> rx.Component:
    """Search filters and one page of the log."""
    return admin_page(
        S,
        routes.RECOMMENDATIONS,
        "Recommendation log",
        "Why was this tip shown, by which policy, and what happened?",
        filter_form(
            S.search,
            text_field("user_id", "User id", "7rem"),
            text_field("policy", "Policy (linucb@3)", "10rem"),
            choice("reaction", _opts(REACTIONS), "any", "Reaction"),
            choice("channel", _opts(CHANNELS), "any", "Channel"),
            choice("fallback", _opts(FALLBACK), "any", "Fallback"),
            text_field("tip_id", "Tip id", "10rem"),
            choice("window", [("1d", "24 h"), ("7d", "7 days"), ("30d", "30 days")], "7d", "Window"),
            button="Search",
        ),
        data_table(S.rows, COLUMNS, "recommendations"),
        pager(S.page, S.has_next, S.prev_page, S.next_page, "recommendations"),
    )
