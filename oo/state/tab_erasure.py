"""Erase a person's Reflex tab states (every copy) at sign-out and account deletion.

Reflex keeps each tab's state — the tip's text, the user's name — in its state manager: pickles
under ``.states/`` (or ``REFLEX_STATES_WORKDIR``) with an in-memory cache for the disk manager,
or keys in Redis. They would outlive the session until the token expires. `erase_user_tabs`
finds every tab whose state belongs to the user (any substate of ``AuthState`` remembers the
user in its backend var ``_user_id``) and removes it from memory, the pending-write queue, disk
and Redis. The tab that asked (still locked by its own handler) is reset in place instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reflex.istate.manager.token import BaseStateToken
from reflex.state import BaseState

log = logging.getLogger("oo.tab_erasure")
MAX_SCAN = 100_000  # files or keys looked at per erasure


def _states(root: BaseState) -> Iterator[BaseState]:
    yield root
    for sub in root.substates.values():
        yield from _states(sub)


def belongs_to(state: Any, user_id: int) -> bool:
    """Whether any state in this tree remembers ``user_id`` as its signed-in user."""
    if not isinstance(state, BaseState):
        return False
    return any(getattr(s, "_user_id", None) == user_id for s in _states(state))


def reset_tab(root: BaseState) -> None:
    """Reset every state of one tab to its defaults (the tab that signs out or deletes)."""
    for state in _states(root):
        if hasattr(state, "_user_id"):
            state.reset()


def _app_manager() -> Any:
    from reflex.utils.prerequisites import get_and_validate_app

    return get_and_validate_app().app.state_manager


def _unpickle(data: bytes) -> Any:
    try:
        return BaseStateToken.deserialize(data=data)
    except Exception:  # an unreadable or foreign file: not ours to judge
        return None


def state_classes() -> list[type[BaseState]]:
    """Every state class of the app (root first)."""
    from reflex.state import State

    found: list[type[BaseState]] = []
    stack: list[type[BaseState]] = [State]
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.get_substates())
    return found


async def _erase_disk(manager: Any, user_id: int, keep: str | None) -> int:
    erased, tokens = 0, set()
    for cache_key, root in list(getattr(manager, "states", {}).items()):
        if cache_key != keep and belongs_to(root, user_id):  # BaseState trees are cached by client token
            for token in [t for t in manager._write_queue if t.ident == cache_key]:
                manager._write_queue.pop(token, None)
            _, token = manager._token_last_touched.get(cache_key, (0, None))
            if token is not None:
                manager._purge_token(token)
            manager.states.pop(cache_key, None)
            tokens.add(cache_key)
            erased += 1
    directory: Path | None = getattr(manager, "states_directory", None)
    if directory is not None and directory.exists():
        erased += await asyncio.to_thread(_erase_files, manager, directory, user_id, tokens, keep)
    return erased


def _erase_files(manager: Any, directory: Path, user_id: int, tokens: set[str], keep: str | None) -> int:
    """Delete the person's state files: found by content, then every file of each of their tabs."""
    erased = 0
    for n, path in enumerate(directory.glob("*.pkl")):
        if n >= MAX_SCAN:
            log.warning("tab-state erasure stopped after %s files", MAX_SCAN)
            break
        state = _unpickle(path.read_bytes())
        if state is not None and belongs_to(state, user_id):
            tokens.add(getattr(state, "_tab_token", "") or "")
            path.unlink(missing_ok=True)
            erased += 1
    # A tab's substates sit in files of their own (named from the client token and state class);
    # the asking tab's go too — its handler writes its reset state back afterwards.
    for token in tokens - {""}:
        for cls in state_classes():
            path = manager.token_path(BaseStateToken(ident=token, cls=cls))
            if path.exists():
                path.unlink(missing_ok=True)
                erased += 1
    return erased


async def _erase_redis(manager: Any, user_id: int, keep: str | None) -> int:
    redis = getattr(manager, "redis", None)
    if redis is None:
        return 0
    erased, n = 0, 0
    async for key in redis.scan_iter(count=1000):
        n += 1
        if n > MAX_SCAN:
            break
        name = key.decode() if isinstance(key, bytes) else str(key)
        if keep and name.startswith(f"{keep}_"):
            continue
        try:
            data = await redis.get(key)
        except Exception:  # not a string value (locks, sets): not a tab state
            continue
        if data and belongs_to(_unpickle(data), user_id):
            await redis.delete(key)
            erased += 1
    return erased


async def erase_user_tabs(user_id: int, *, keep_token: str | None = None, manager: Any = None) -> int:
    """Remove every stored tab state of ``user_id`` (except ``keep_token``'s, reset by its handler).

    Returns:
        How many states (in memory, on disk or in Redis) were removed. Never raises: a failure
        is logged, and the states still expire with their token.
    """
    try:
        manager = manager or _app_manager()
        erased = await _erase_disk(manager, user_id, keep_token) + await _erase_redis(
            manager, user_id, keep_token
        )
    except Exception:
        log.exception("erasing the tab states of a user failed")
        return 0
    log.info("erased %s stored tab states of user %s", erased, user_id)
    return erased
