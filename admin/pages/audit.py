"""Audit log (A2): who changed what, when, and with which parameters?"""

import reflex as rx

from admin import routes
from admin.components import choice, data_table, filter_form, pager, text_field
from admin.layout import admin_page
from admin.state.audit import AdminAuditState
from oo.services.admin.audit import ACTIONS

S = AdminAuditState
COLUMNS = [
    ("when", "When (UTC)"),
    ("admin", "Admin"),
    ("action", "Action"),
    ("target", "Target"),
    ("params", "Parameters"),
]


def audit_page() -> rx.Component:
    """Filters and one page of the append-only log."""
    return admin_page(
        S,
        routes.AUDIT,
        "Audit log",
        "Who changed what, when, and with which parameters?",
        filter_form(
            S.filter,
            choice("action", [("", "any action"), *[(a, a) for a in ACTIONS]], "", "Action"),
            text_field("admin_id", "Admin id", "7rem"),
            text_field("target", "Target contains", "12rem"),
        ),
        data_table(S.rows, COLUMNS, "audit"),
        pager(S.page, S.has_next, S.prev_page, S.next_page, "audit"),
    )
