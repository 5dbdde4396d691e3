"""How long a task takes, in minutes: the source's own duration, else an estimate from its text.

The calendar-aware encoder (`improved@3`) compares a task's length with the free time before the
next busy block, so every task gets a length where one can be told, and None ("unknown") where not:

1. **The source's duration.** Todoist tasks may carry ``duration: {amount, unit}`` with unit
   ``minute`` or ``day``; the Todoist adapter turns it into minutes (a day counts as 480).
2. **A length written in the text or a label**: ``"call mum 10 min"``, ``"2h"``, label ``15m``.
3. **A label that says it**: ``quick``, ``short``, ``5min``, ``2min`` → `SHORT`; ``deep-work``,
   ``deep``, ``long``, ``project`` → `LONG`.
4. **The first word of the text**: quick verbs (call, email, reply, pay, book, ...) → `SHORT`;
   long ones (write, prepare, plan, study, research, draft, ...) → `LONG`.
5. Otherwise None: the encoder then sets only ``len_known = 0`` and learns nothing about length.

The estimate is made when the task is stored (sync, demo catalog), not at pick time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["LONG", "SHORT", "estimate_minutes"]

SHORT = 15
LONG = 90
_MAX = 7 * 480.0  # a week of working days
_AMOUNT = re.compile(
    r"(?<![\w.])(\d+(?:[.,]\d+)?)\s*(minutes|minute|mins|min|m|hours|hour|hrs|hr|h)(?![a-z])", re.I
)
_SHORT_LABELS = {"quick", "short", "quickwin", "quick-win", "5min", "2min", "easy", "errand"}
_LONG_LABELS = {"deep", "deep-work", "deepwork", "long", "project", "focus"}
_SHORT_VERBS = {
    "call", "phone", "ring", "email", "mail", "reply", "answer", "text", "message", "pay",
    "book", "buy", "order", "send", "check", "confirm", "cancel", "renew", "sign", "print",
    "water", "schedule", "remind", "ask", "ping", "post", "return", "pick",
}  # fmt: skip
_LONG_VERBS = {
    "write", "prepare", "plan", "study", "research", "draft", "build", "design", "refactor",
    "learn", "clean", "organize", "organise", "read", "practice", "practise", "paint", "declutter",
}  # fmt: skip


def _written(text: str) -> float | None:
    match = _AMOUNT.search(text)
    if match is None:
        return None
    value = float(match[1].replace(",", "."))
    minutes = value * 60 if match[2].lower().startswith("h") else value
    return min(minutes, _MAX) if minutes > 0 else None


def estimate_minutes(
    content: str, labels: Iterable[str] = (), duration_minutes: float | None = None
) -> float | None:
    """The task's length in minutes by the rules of the module docstring; None when unknown.

    Examples:
        >>> estimate_minutes("Call the dentist"), estimate_minutes("Write the annual report")
        (15.0, 90.0)
        >>> estimate_minutes("Tax return 2h"), estimate_minutes("Groceries", ["quick"])
        (120.0, 15.0)
        >>> estimate_minutes("Groceries", ["20min"]), estimate_minutes("Groceries", [], 45)
        (20.0, 45.0)
        >>> estimate_minutes("Groceries") is None
        True
    """
    if duration_minutes is not None and duration_minutes > 0:
        return min(float(duration_minutes), _MAX)
    names = [label.strip().lower() for label in labels if label and label.strip()]
    for text in (content, *names):
        written = _written(text or "")
        if written is not None:
            return written
    if any(n in _SHORT_LABELS for n in names):
        return float(SHORT)
    if any(n in _LONG_LABELS for n in names):
        return float(LONG)
    words = re.findall(r"[a-z]+", (content or "").lower())
    first = words[0] if words else ""
    if first in _SHORT_VERBS:
        return float(SHORT)
    if first in _LONG_VERBS:
        return float(LONG)
    return None
