"""The 404 page: black, one line, and a way back to the tip."""

from __future__ import annotations

import reflex as rx

from oo import routes
from oo.components.layout import MUTED, black_page


def not_found_page() -> rx.Component:
    """Nothing here — and a link back to the tip (which sends signed-out visitors to sign in)."""
    return black_page(
        rx.text("Nothing here.", size="5", color="#fff", data_testid="not-found"),
        rx.link("Back to your tip", href=routes.TIP, color=MUTED, underline="always", size="3"),
    )
