"""Shadow policies scored after the tip is served: off the request path, still on the model of then.

`oo.services.tips.serving` (the /tip path) asks `recommend` to leave the shadow policies'
picks for later (``later=``): the served tip, its ``tip_view`` row and the active policy's
``tip_score`` row (with its propensity) are written in the request; each shadow's pick — its
whole distribution over the same candidate matrix, with the model object the request loaded
(learning replaces cached models, never changes them) — is computed here afterwards, and its
``tip_score`` row (its probability of the served tip, times the task-or-advice factor) is
written exactly as the request would have written it, by one writer thread that takes every job
queued within `LINGER` (up to `BATCH`) into one transaction: measured in process, that costs the
same CPU as scoring inline and takes ~0.5 ms off each request; a commit per job would cost ~1 ms more.

A job whose user was deleted meanwhile fails its insert (the user's foreign key) and is
dropped with a warning; that loses only log rows of a user who is gone. The push round
(`oo.services.push.delivery`) defers too, a batch of users at a time, after the batch's commit.
Callers that need the rows at once (the JSON API, tests) call `recommend` without ``later``:
shadows inline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time

from oo import singletons
from oo.db import session_scope
from oo.services.tips import recommend, tip_log
from oo.services.tips.tip_log import ShadowJob

log = logging.getLogger("oo.recommend")


def score(job: ShadowJob) -> list[dict[str, object]]:
    """Each deferred shadow's pick of one job, as ``tip_score`` rows (a failing shadow is skipped)."""
    rows = []
    for d in job.pick.deferred:
        o = d.outcome
        try:
            o.index, o.score, o.detail, o.latency_ms, o.propensity, o.probs = recommend.pick_one(
                d.policy, d.X
            )
        except Exception as exc:
            o.error = f"{exc.__class__.__name__}: {exc}"
            log.warning("shadow %s failed for user %s: %s", o.ref.key, job.pick.user_id, o.error)
            continue
        rows.append(tip_log.score_row(o, job.tip_id, job.pick, job.served, job.kind_p))
    return rows


def run(jobs: list[ShadowJob]) -> int:
    """Score and log the jobs' shadow picks in one transaction (in the calling thread); rows written."""
    rows = [row for job in jobs for row in score(job)]
    if not rows:
        return 0
    try:
        with session_scope() as session:
            session.connection().execute(tip_log.INSERT_SCORE, rows)
            session.commit()
    except Exception:
        log.warning("logging %s shadow picks failed (a user deleted meanwhile?)", len(rows), exc_info=True)
        return 0
    return len(rows)


class _Writer:
    """One daemon thread that scores and logs queued jobs, as many per transaction as are waiting."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[ShadowJob] = queue.SimpleQueue()
        self._idle = threading.Condition()
        self._busy = 0  # jobs queued or being written
        self._thread: threading.Thread | None = None

    def put(self, jobs: list[ShadowJob]) -> None:
        with self._idle:
            self._busy += len(jobs)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="oo-shadow-picks", daemon=True)
                self._thread.start()
        for job in jobs:
            self._queue.put(job)

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            time.sleep(LINGER)  # let the picks of the next moment join: one transaction for all
            with contextlib.suppress(queue.Empty):
                while len(batch) < BATCH:
                    batch.append(self._queue.get_nowait())
            try:
                run(batch)
            except Exception:
                log.exception("scoring %s shadow jobs failed", len(batch))
            with self._idle:
                self._busy -= len(batch)
                self._idle.notify_all()

    def wait(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)


class _LoopWriter:
    """The same batches on an event loop's own thread: for a process whose writes all go there."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._jobs: list[ShadowJob] = []
        self._timer: asyncio.TimerHandle | None = None

    def put(self, jobs: list[ShadowJob]) -> None:
        self._jobs.extend(jobs)
        if self._timer is None:
            self._timer = self._loop.call_later(LINGER, self._write)

    def _write(self) -> None:
        self._timer = None
        while self._jobs:
            batch, self._jobs = self._jobs[:BATCH], self._jobs[BATCH:]
            try:
                run(batch)
            except Exception:
                log.exception("scoring %s shadow jobs failed", len(batch))

    def wait(self, timeout: float) -> bool:
        if self._timer is not None:
            self._timer.cancel()
        self._write()
        return True


BATCH = 200  # jobs per transaction at most
LINGER = 0.1  # seconds the writer waits after a first job for more (a per-job commit costs more)
_writer: _Writer | _LoopWriter = _Writer()
singletons.on_reset("tips.shadows", lambda: None if _writer.wait(10.0) else log.warning("shadow jobs left"))


def write_on_loop() -> None:
    """Score and log the shadows on the running event loop's thread from now on (the tip engine).

    Called from that loop. Jobs already queued for the writer thread are written by it first.
    """
    global _writer
    _writer.wait(10.0)
    _writer = _LoopWriter(asyncio.get_running_loop())


def start(jobs: list[ShadowJob]) -> None:
    """Queue the jobs for the writer (the caller does not wait)."""
    if jobs:
        _writer.put(jobs)


def drain(timeout: float = 10.0) -> bool:
    """Wait until every job queued so far is written (tests, shutdown); False on timeout."""
    return _writer.wait(timeout)
