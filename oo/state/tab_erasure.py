"""Erase a person's Reflex tab states (every copy) at sign-out and account deletion.

Reflex keeps each tab's state — the tip's text, the user's name — in its state manager: pickles
under ``.states/`` (or ``REFLEX_STATES_WORKDIR``) with an in-memory cache for the disk manager,
or keys in Redis. They would outlive the session until the token expires. `erase_user_tabs`
finds every tab whose state belongs to the user (any substate of ``AuthState`` remembers the
user in its backend var ``_user_id``) and removes it from memory, the pending-write queue, disk
and Redis — including a worker's leased in-memory copy under Reflex's opportunistic lock, and what
other workers' leases write back afterwards (swept again). The tab that asked (still locked by its
own handler) is reset in place instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reflex.istate.manager.token import BaseStateToken
from reflex.state import BaseState, State

from oo import offload

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
        erased += await offload.slow(_erase_files, manager, directory, user_id, tokens, keep)
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
    erased, n, tokens = 0, 0, set()
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
        state = _unpickle(data) if data else None
        if state is not None and belongs_to(state, user_id):
            await redis.delete(key)
            erased += 1
            tokens.add(getattr(state, "_tab_token", "") or name.partition(f"_{State.get_full_name()}")[0])
    # A tab's substates sit in keys of their own, and only the state that declares `_user_id`
    # remembers the person: the tab's other keys (the tip's text) go by its token.
    for token in tokens - {"", keep}:
        keys = [BaseStateToken(ident=token, cls=State)._state_key(cls) for cls in state_classes()]
        erased += int(await redis.delete(*keys))
    return erased


def _erase_leased(manager: Any, user_id: int, keep: str | None) -> int:
    """Drop this worker's leased copies of the person's tabs (Reflex's opportunistic lock, Redis).

    A worker that holds a tab's lease keeps the tab's state in memory and writes it to Redis when
    the lease ends; without its copy, the lease ends writing nothing.
    """
    cached: dict[str, Any] = getattr(manager, "_cached_states", None) or {}
    erased = 0
    for lock_key, root in list(cached.items()):
        if lock_key != keep and belongs_to(root, user_id):
            cached.pop(lock_key, None)
            erased += 1
    return erased


def _lease_seconds(manager: Any) -> float:
    """How long a worker may hold a tab's state before writing it back (0: no leases)."""
    if not getattr(manager, "_oplock_enabled", False):
        return 0.0
    return float(getattr(manager, "oplock_hold_time_ms", 0)) / 1000


async def _erase_everywhere(manager: Any, user_id: int, keep: str | None) -> int:
    disk = await _erase_disk(manager, user_id, keep)
    return disk + _erase_leased(manager, user_id, keep) + await _erase_redis(manager, user_id, keep)


async def erase_user_tabs(user_id: int, *, keep_token: str | None = None, manager: Any = None) -> int:
    """Remove every stored tab state of ``user_id`` (except ``keep_token``'s, reset by its handler).

    With Redis leases (`OO_REDIS_OPLOCK`), another worker may still hold one of the person's tabs in
    memory and write it back when its lease ends, within the lease time; so Redis is swept again
    after one lease time and after two (a lease begun from a state written back by the first).
    A tab the person opens under a new session within those seconds is swept too: its next event
    starts from a fresh state (its reactions name their tip by reference, so none is misplaced).

    Returns:
        How many states (in memory, on disk or in Redis) were removed now. Never raises: a failure
        is logged, and the states still expire with their token.
    """
    try:
        manager = manager or _app_manager()
        erased = await _erase_everywhere(manager, user_id, keep_token)
    except Exception:
        log.exception("erasing the tab states of a user failed")
        return 0
    if (lease := _lease_seconds(manager)) > 0:
        task = asyncio.create_task(_sweep_after_leases(manager, user_id, keep_token, lease))
        _sweeps.add(task)
        task.add_done_callback(_sweeps.discard)
    log.info("erased %s stored tab states of user %s", erased, user_id)
    return erased


async def _sweep_after_leases(manager: Any, user_id: int, keep: str | None, lease: float) -> None:
    for _ in range(2):
        await asyncio.sleep(lease + LEASE_MARGIN_SECONDS)
        try:
            if erased := await _erase_everywhere(manager, user_id, keep):
                log.info("erased %s tab states of user %s written back by a lease", erased, user_id)
        except Exception:
            log.exception("sweeping the tab states of a user again failed")


LEASE_MARGIN_SECONDS = 1.0  # after a lease's end, the time its write-back may take
_sweeps: set[asyncio.Task[None]] = set()
