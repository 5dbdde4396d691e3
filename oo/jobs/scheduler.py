"""The in-server scheduler: APScheduler's AsyncIOScheduler started as a Reflex lifespan task.

Jobs are listed in `JOBS` (add yours: a module in ``oo/jobs`` with ``JOB_ID``, ``run()``,
``interval(settings)`` and optionally ``jitter(settings)``). Each job never overlaps itself
(``max_instances=1``, missed runs coalesced), runs only on the leader worker (`oo.jobs.leader`),
and its last run and outcome are kept for the admin health page (`status`). Bus subscriptions
and the other start-up tasks are registered beside it in `oo.jobs.wiring`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from oo.jobs import apply_feedback, purge_logs, push_tips, roll_activity, run_source_actions, sync_todoist
from oo.jobs.leader import Leader, LocalLeader, RedisLeader
from oo.settings import Settings, get_settings

log = logging.getLogger("oo.jobs")

LEADER_JOB = "leader_lock"
FIRST_RUN_MAX_DELAY = 15.0


@dataclass(frozen=True)
class JobSpec:
    """One periodic job."""

    id: str
    run: Callable[[], Awaitable[Any]]
    interval: Callable[[Settings], float]
    jitter: Callable[[Settings], float] = lambda _settings: 0.0


def job_spec(module: ModuleType) -> JobSpec:
    """The spec of a job module (``JOB_ID``, ``run``, ``interval`` and optional ``jitter``)."""
    return JobSpec(module.JOB_ID, module.run, module.interval, getattr(module, "jitter", lambda _s: 0.0))


JOBS: list[JobSpec] = [
    job_spec(sync_todoist),
    job_spec(run_source_actions),
    job_spec(apply_feedback),
    job_spec(purge_logs),
    job_spec(roll_activity),
    job_spec(push_tips),
]


@dataclass
class JobState:
    """The last run of one job in this worker."""

    id: str
    interval_seconds: float
    runs: int = 0
    last_started_at: datetime | None = None
    last_duration_ms: float | None = None
    last_outcome: str = "never run"  # ok | error | skipped (not leader)
    last_error: str | None = None
    last_result: Any = None
    next_run_at: datetime | None = field(default=None)


class Scheduler:
    """APScheduler plus leader gating and per-job status.

    Args:
        settings: Settings (intervals).
        jobs: The jobs to run; `JOBS` by default.
        leader: Leader election; Redis when ``OO_REDIS_URL`` is set, else this worker alone.
    """

    def __init__(
        self, settings: Settings, jobs: list[JobSpec] | None = None, leader: Leader | None = None
    ) -> None:
        """Prepare (nothing runs until `start`)."""
        self.settings = settings
        self.jobs = {j.id: j for j in (JOBS if jobs is None else jobs)}
        self.leader = leader or (RedisLeader(settings.redis_url) if settings.redis_url else LocalLeader())
        self.states = {j.id: JobState(j.id, j.interval(settings)) for j in self.jobs.values()}
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._stopped = False

    @property
    def running(self) -> bool:
        """Whether the scheduler has been started and not stopped."""
        return bool(self._aps.running) and not self._stopped

    async def start(self) -> None:
        """Take leadership if possible, then schedule every job and the leader renewal."""
        await self.leader.tick()
        now = datetime.now(UTC)
        if isinstance(self.leader, RedisLeader):
            self._aps.add_job(
                self.leader.tick,
                "interval",
                seconds=self.leader.ttl / 3,
                id=LEADER_JOB,
                max_instances=1,
                coalesce=True,
            )
        for job in self.jobs.values():
            interval = job.interval(self.settings)
            self._aps.add_job(
                self.run_job,
                "interval",
                args=[job.id],
                id=job.id,
                seconds=interval,
                jitter=job.jitter(self.settings) or None,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(interval)),
                next_run_time=now + timedelta(seconds=min(interval, FIRST_RUN_MAX_DELAY)),
            )
        self._aps.start()
        log.info(
            "scheduler started (%s jobs; worker %s, leader: %s)",
            len(self.jobs),
            self.leader.worker_id,
            self.leader.is_leader,
        )

    async def stop(self) -> None:
        """Stop scheduling and hand leadership over (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        if self._aps.running:
            self._aps.shutdown(wait=False)
        await self.leader.release()

    async def run_job(self, job_id: str) -> JobState:
        """Run one job now if this worker leads; record its outcome. Never raises."""
        job, state = self.jobs[job_id], self.states[job_id]
        state.last_started_at = datetime.now(UTC)
        if not self.leader.is_leader:
            state.last_outcome, state.last_duration_ms = "skipped (not leader)", 0.0
            return state
        started = time.perf_counter()
        try:
            state.last_result = await job.run()
            state.last_outcome, state.last_error = "ok", None
        except Exception as exc:
            log.exception("job %s failed", job_id)
            state.last_outcome, state.last_error = "error", f"{type(exc).__name__}: {exc}"[:300]
        state.runs += 1
        state.last_duration_ms = (time.perf_counter() - started) * 1000
        return state

    def status(self) -> dict[str, Any]:
        """Running, leader or not, and the last run of every job (for the admin health page)."""
        for job_id, state in self.states.items():
            aps_job = self._aps.get_job(job_id) if self._aps.running else None
            state.next_run_at = aps_job.next_run_time if aps_job else None
        return {
            "running": self.running,
            "leader": self.leader.is_leader,
            "worker": self.leader.worker_id,
            "lock": "redis" if isinstance(self.leader, RedisLeader) else "single worker",
            "jobs": [vars(state).copy() for state in self.states.values()],
        }


_current: Scheduler | None = None


def status() -> dict[str, Any]:
    """The scheduler of this worker, for the health page (``running`` False when it is off)."""
    if _current is None:
        return {"running": False, "leader": False, "worker": None, "lock": None, "jobs": []}
    return _current.status()


@asynccontextmanager
async def lifespan() -> AsyncIterator[None]:
    """Lifespan task: the scheduler, unless ``OO_SCHEDULER=false`` (registered in `oo.jobs.wiring`)."""
    global _current
    settings = get_settings()
    scheduler = Scheduler(settings) if settings.scheduler else None
    if scheduler is not None:
        await scheduler.start()
        _current = scheduler
    try:
        yield
    finally:
        if scheduler is not None:
            _current = None
            await scheduler.stop()
