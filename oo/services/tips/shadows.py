"""Shadow policies scored after the tip is served: off the request path, still on the model of then.

`oo.services.tips.serving` (the /tip path) asks `recommend` to leave the shadow policies'
picks for later (``later=``): the served tip, its ``tip_view`` row and the active policy's
``tip_score`` row (with its propensity) are written in the request; each shadow's pick — its
whole distribution over the same candidate matrix, with the model object the request loaded
(learning replaces cached models, never changes them) — is computed here afterwards, and its
``tip_score`` row (its probability of the served tip, times the task-or-advice factor) is
written exactly as the request would have written it. Many jobs go in one transaction.

A job whose user was deleted meanwhile fails its insert (the user's foreign key) and is
dropped with a warning; that loses only log rows of a user who is gone. Callers that need the
rows at once (push, the JSON API, tests) call `recommend` without ``later``: shadows inline.
"""

from __future__ import annotations

import asyncio
import logging

from oo.db import session_scope
from oo.services.tips import recommend, tip_log
from oo.services.tips.tip_log import ShadowJob

log = logging.getLogger("oo.recommend")
_tasks: set[asyncio.Task[int]] = set()


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


def start(jobs: list[ShadowJob]) -> None:
    """Run `run` for the jobs in a worker thread, in the background (the caller does not wait)."""
    if not jobs:
        return
    task = asyncio.get_running_loop().create_task(asyncio.to_thread(run, jobs), name="shadow-picks")
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def drain() -> None:
    """Wait for the shadow jobs started so far (tests, shutdown)."""
    while _tasks:
        await asyncio.gather(*list(_tasks), return_exceptions=True)
