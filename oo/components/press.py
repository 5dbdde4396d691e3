"""A surface that tells a tap from a long-press (≥ 500 ms), for touch and mouse alike.

Pointer events are not built into Reflex, so this declares them with an args spec that sends only
the event's ``timeStamp``. The state subtracts down from up: both stamps come from the same
browser clock, so network latency cancels out. A long-press must not open the context menu or
select text on touch screens.
"""

from __future__ import annotations

from typing import Annotated

import reflex as rx
from reflex_components_core.el.elements.base import BaseHTML


class PressBox(BaseHTML):
    """A ``div`` with pointer down/up/cancel triggers carrying ``timeStamp`` (ms)."""

    tag = "div"

    # `rx.EventHandler[spec]` is `Annotated[rx.EventHandler, spec]` at run time; spelled out for mypy.
    on_pointer_down: Annotated[rx.EventHandler, lambda e: [e.timeStamp]]
    on_pointer_up: Annotated[rx.EventHandler, lambda e: [e.timeStamp]]
    on_pointer_cancel: Annotated[rx.EventHandler, lambda e: [e.timeStamp]]
    on_key_down: Annotated[rx.EventHandler, lambda e: [e.key]]


PRESS_STYLE = {
    "user_select": "none",
    "-webkit-user-select": "none",
    "-webkit-touch-callout": "none",
    "touch_action": "manipulation",
    "cursor": "pointer",
    "outline_offset": "6px",
}


class KeyBox(BaseHTML):
    """A ``div`` with a key-down trigger carrying only the key's name (for Escape to close)."""

    tag = "div"

    on_key_down: Annotated[rx.EventHandler, lambda e: [e.key]]
