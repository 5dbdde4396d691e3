"""Calls that arrive together, run together: one worker-thread hop for a whole batch.

A request that needs the database leaves the event loop for a worker thread. One hop per call
costs more than the call's own work at load (the hop, a pool thread fighting for the GIL,
context switches), so the request paths that come in bursts queue their calls on a `Batcher`:
while one batch runs in its worker thread, the calls that arrive wait, and the next batch takes
all of them in one hop. An idle server runs a call as soon as it comes (a batch of one).

``run_many`` gets the items of a batch in the order they came and returns one answer per item,
an exception instance for an item that failed (raised at that caller) or the answer itself; if
``run_many`` itself raises, every caller of the batch gets that exception. With ``key``, items
with the same key go to separate batches in their order (``run_many`` may then assume one item
per key). A caller that stops waiting (a cancelled handler) does not stop its item: it runs.

Batch work that is set-oriented (a few statements for the whole batch, as the reload check):
the items of a batch run one after another in one thread, and each database statement lets go
of the GIL, which a busy server gives back only after its switch interval. Reactions (about ten
statements each) batched one by one served half the events per second of one thread each
(bench/README.md, 2026-11-29), so they do not go through a batcher.

Examples:
    >>> import asyncio
    >>> def double_all(items):
    ...     return [ValueError("odd") if x % 2 else 2 * x for x in items]
    >>> batcher = Batcher("doubles", double_all)
    >>> async def main():
    ...     answers = await asyncio.gather(*(batcher.submit(x) for x in (2, 4, 5)), return_exceptions=True)
    ...     return answers, batcher.batches
    >>> answers, batches = asyncio.run(main())
    >>> answers[:2], type(answers[2]).__name__, batches
    ([4, 8], 'ValueError', 1)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """A queue of calls that a single drainer task runs in batches, one worker-thread hop each."""

    def __init__(
        self,
        name: str,
        run_many: Callable[[list[T]], Sequence[R | BaseException]],
        *,
        key: Callable[[T], Hashable] | None = None,
        limit: int = 256,
    ) -> None:
        """``run_many`` runs one batch in a worker thread; ``limit`` caps a batch's items."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.name, self._run_many, self._key, self.limit = name, run_many, key, limit
        self.batches = 0  # batches run (tests, benchmarks)
        self._reset(None)

    def _reset(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self._loop = loop
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """Queue ``item`` and wait for its answer (raised if it is an exception)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): nothing of the old one carries over
            self._reset(loop)
        answer: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, answer))
        if self._runner is None:
            self._runner = loop.create_task(self._drain(), name=f"batch-{self.name}")
        return await answer

    def _take(self) -> list[tuple[T, asyncio.Future[R]]]:
        """The next batch: in order, at most `limit` items, one per key; the rest stays queued."""
        batch: list[tuple[T, asyncio.Future[R]]] = []
        rest: list[tuple[T, asyncio.Future[R]]] = []
        keys: set[Hashable] = set()
        for entry in self._pending:
            key = self._key(entry[0]) if self._key is not None else None
            if len(batch) >= self.limit or (self._key is not None and key in keys):
                rest.append(entry)
            else:
                batch.append(entry)
                keys.add(key)
        self._pending = rest
        return batch

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._take()
                self.batches += 1
                try:
                    answers = await asyncio.to_thread(self._run_many, [item for item, _ in batch])
                    if len(answers) != len(batch):
                        raise RuntimeError(f"{self.name}: {len(answers)} answers for {len(batch)} items")
                except Exception as exc:  # every caller of the batch sees it (and logs it)
                    answers = [exc] * len(batch)
                for (_, future), answer in zip(batch, answers, strict=True):
                    if future.done():  # the caller stopped waiting; its item ran all the same
                        continue
                    if isinstance(answer, BaseException):
                        future.set_exception(answer)
                    else:
                        future.set_result(answer)
        finally:
            self._runner = None
