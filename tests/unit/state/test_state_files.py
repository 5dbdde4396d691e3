"""Reflex's sweep of expired tab-state files, at most once per window (`oo.state.state_files`)."""

from __future__ import annotations

import os
import time

from reflex.istate.manager.disk import StateManagerDisk

from oo.state.state_files import sweep_at_most_every


def _expired(directory, name: str):
    path = directory / f"{name}.pkl"
    path.write_bytes(b"state")
    old = time.time() - 7200
    os.utime(path, (old, old))
    return path


def _manager(cls, directory):
    manager = object.__new__(cls)  # Reflex's own sweep, without its write-queue machinery
    manager.__dict__["states_directory"] = directory
    manager.token_expiration = 3600
    return manager


def test_the_sweep_runs_once_per_window_and_still_removes_expired_states(tmp_path):
    class Disk(StateManagerDisk):
        pass

    sweep_at_most_every(3600, cls=Disk)
    manager = _manager(Disk, tmp_path)
    first = _expired(tmp_path, "a")
    fresh = tmp_path / "b.pkl"
    fresh.write_bytes(b"state")
    manager._purge_expired_states()
    assert not first.exists() and fresh.exists()  # the first sweep is Reflex's own
    second = _expired(tmp_path, "c")
    manager._purge_expired_states()
    assert second.exists()  # within the window: no listing, no stat

    sweep_at_most_every(0, cls=Disk)  # idempotent: wraps Reflex's sweep again, not the wrapper
    manager._purge_expired_states()
    assert not second.exists() and fresh.exists()


def test_the_app_sweeps_reflexs_disk_states_at_most_once_a_minute():
    import oo.oo  # noqa: F401  (the composition root installs it)

    sweep = StateManagerDisk._purge_expired_states
    assert sweep.__wrapped__.__qualname__ == "StateManagerDisk._purge_expired_states"
