"""Tab states of a signed-out or deleted person leave Reflex's state manager: memory, queue and disk."""

from __future__ import annotations

import pytest
from reflex.istate.manager.disk import StateManagerDisk
from reflex.istate.manager.token import BaseStateToken
from reflex.state import State

from oo.state import tab_erasure
from oo.state.tip import TipState
from tests.support.tabs import fill_tab

pytestmark = pytest.mark.anyio


def _on_disk(directory) -> bytes:
    return b"".join(p.read_bytes() for p in directory.rglob("*") if p.is_file())


async def test_every_tab_of_the_person_is_erased_and_others_stay(tmp_path, monkeypatch):
    monkeypatch.setenv("REFLEX_STATES_WORKDIR", str(tmp_path / "states"))
    manager = StateManagerDisk()
    try:
        await fill_tab(manager, "tab-a1", 7, "SECRET-TASK-ONE")
        await fill_tab(manager, "tab-a2", 7, "SECRET-TASK-TWO")
        await fill_tab(manager, "tab-b", 8, "OTHER-PERSON-TASK")
        await manager._flush_write_queue()
        assert b"SECRET-TASK-ONE" in _on_disk(tmp_path)  # the finding: it was there
        await fill_tab(manager, "tab-a1", 7, "SECRET-TASK-THREE")  # a pending write, not yet on disk
        erased = await tab_erasure.erase_user_tabs(7, manager=manager)
        assert erased >= 2
        await manager._flush_write_queue()
        disk = _on_disk(tmp_path)
        assert b"SECRET-TASK" not in disk and b"Name of 7" not in disk
        assert b"OTHER-PERSON-TASK" in disk
        assert "tab-a1" not in manager.states and "tab-b" in manager.states
        # a restarted worker (nothing in memory) still finds the person's files
        fresh = StateManagerDisk()
        await fill_tab(manager, "tab-a3", 7, "SECRET-TASK-FOUR")
        await manager._flush_write_queue()
        assert await tab_erasure.erase_user_tabs(7, manager=fresh) >= 1
        assert b"SECRET-TASK-FOUR" not in _on_disk(tmp_path)
    finally:
        await manager.close()


async def test_the_asking_tab_is_reset_not_deleted(tmp_path, monkeypatch):
    monkeypatch.setenv("REFLEX_STATES_WORKDIR", str(tmp_path / "states"))
    manager = StateManagerDisk()
    try:
        await fill_tab(manager, "tab-a1", 7, "SECRET-TASK-ONE")
        async with manager.modify_state(BaseStateToken(ident="tab-a1", cls=State)) as root:
            await tab_erasure.erase_user_tabs(7, keep_token="tab-a1", manager=manager)
            tab_erasure.reset_tab(root)
            tip = await root.get_state(TipState)
            assert tip.text == "" and tip._user_id == 0
        await manager._flush_write_queue()
        assert b"SECRET-TASK-ONE" not in _on_disk(tmp_path)
    finally:
        await manager.close()
