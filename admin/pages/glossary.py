"""Glossary page: one written definition per figure the console shows."""

import reflex as rx

from admin import routes
from admin.components import MUTED, panel
from admin.layout import admin_page
from admin.state.glossary import AdminGlossaryState
from oo.services.admin.metrics import GLOSSARY


def glossary_page() -> rx.Component:
    """Every metric's definition, as `oo.services.admin.metrics` computes it."""
    return admin_page(
        AdminGlossaryState,
        routes.GLOSSARY,
        "Glossary",
        "What exactly does each number on these pages count?",
        panel(
            rx.el.dl(
                *[
                    rx.fragment(
                        rx.el.dt(rx.text(name, weight="bold", size="2")),
                        rx.el.dd(rx.text(text, size="2", color=MUTED), margin="0.2rem 0 0.9rem 0"),
                    )
                    for name, text in GLOSSARY
                ],
                data_testid="glossary",
            ),
        ),
    )
