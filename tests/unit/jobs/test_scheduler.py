"""The in-server scheduler: jobs run periodically without overlap, only on the leader, with status."""

from __future__ import annotations

import asyncio

import pytest

from oo.jobs import scheduler as sched
from oo.jobs.leader import LocalLeader
from oo.settings import Settings


class FollowerLeader(LocalLeader):
    """A worker that never wins the lock."""

    @property
    def is_leader(self) -> bool:
        return False


def spec(job_id: str, run, every: float = 0.05) -> sched.JobSpec:
    return sched.JobSpec(job_id, run, lambda _settings: every)


def settings(tmp_path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path)


def test_the_default_jobs_are_registered():
    ids = [job.id for job in sched.JOBS]
    assert sorted(ids) == sorted(
        ["sync_todoist", "run_source_actions", "apply_feedback", "purge_logs", "roll_activity", "push_tips"]
    )
    assert len(set(ids)) == len(ids)
    for job in sched.JOBS:
        assert job.interval(Settings(_env_file=None)) > 0


@pytest.mark.anyio
async def test_jobs_run_periodically_never_overlapping(tmp_path):
    running, peak, runs = 0, 0, 0

    async def slow() -> str:
        nonlocal running, peak, runs
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.15)
        running -= 1
        runs += 1
        return "ok"

    s = sched.Scheduler(settings(tmp_path), jobs=[spec("slow", slow, every=0.02)], leader=LocalLeader())
    await s.start()
    try:
        await asyncio.sleep(0.8)
    finally:
        await s.stop()
    assert runs >= 2 and peak == 1
    state = s.status()["jobs"][0]
    assert state["id"] == "slow" and state["last_outcome"] == "ok" and state["last_result"] == "ok"


@pytest.mark.anyio
async def test_a_failing_job_is_recorded_and_keeps_its_schedule(tmp_path):
    async def broken() -> None:
        raise RuntimeError("boom")

    s = sched.Scheduler(settings(tmp_path), jobs=[spec("broken", broken)], leader=LocalLeader())
    first = await s.run_job("broken")
    second = await s.run_job("broken")
    assert first.last_outcome == "error" and "boom" in (first.last_error or "") and second.runs == 2


@pytest.mark.anyio
async def test_only_the_leader_runs_jobs(tmp_path):
    calls = []

    async def job() -> None:
        calls.append(1)

    follower = sched.Scheduler(settings(tmp_path), jobs=[spec("j", job)], leader=FollowerLeader())
    state = await follower.run_job("j")
    assert calls == [] and state.last_outcome == "skipped (not leader)"
    assert follower.status()["leader"] is False


def test_status_when_the_scheduler_is_off():
    assert sched.status() == {"running": False, "leader": False, "worker": None, "lock": None, "jobs": []}
