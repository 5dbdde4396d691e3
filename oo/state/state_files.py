"""Reflex's tab states on disk: the sweep of expired files at most once a minute.

Reflex 0.10's disk state manager (`StateManagerDisk`, the default with one worker) lists its
states directory and stats every file after each pass of its write queue. Under load that pass
comes several times a second, and the directory holds a file per tab that connected within the
token expiry (hours): at 1,000 tabs the sweep took about a tenth of the worker's Python (py-spy,
bench/README.md, 2026-11-29 ~15:10). `sweep_at_most_every` lets a sweep through only when
`SWEEP_SECONDS` have passed since the last one, so an expired file goes at most that much later.
Sign-out and account deletion still erase a user's tab states at once (`oo.state.tab_erasure`).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

from reflex.istate.manager.disk import StateManagerDisk

SWEEP_SECONDS = 60.0


def sweep_at_most_every(
    seconds: float = SWEEP_SECONDS, cls: type[StateManagerDisk] = StateManagerDisk
) -> None:
    """Make ``cls._purge_expired_states`` run at most once per ``seconds`` in this process (idempotent)."""
    original: Callable[[Any], None] = getattr(
        cls._purge_expired_states, "__wrapped__", cls._purge_expired_states
    )
    lock = threading.Lock()
    last = [-float("inf")]

    @functools.wraps(original)
    def sweep(self: Any) -> None:
        with lock:
            now = time.monotonic()
            if now - last[0] < seconds:
                return
            last[0] = now
        original(self)

    setattr(cls, "_purge_expired_states", sweep)  # noqa: B010 - replaces Reflex's method
