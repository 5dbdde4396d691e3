"""The batcher: calls that arrive together run in one worker-thread hop, each answered on its own."""

from __future__ import annotations

import asyncio
import threading

import pytest

from oo.services.platform.batching import Batcher


class Recorder:
    """A ``run_many`` that records its batches and the thread each ran in."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batches: list[list[tuple[str, int]]] = []
        self.threads: set[int] = set()
        self.gate = gate

    def __call__(self, items: list[tuple[str, int]]) -> list[object]:
        if self.gate is not None:
            self.gate.wait(5)
        self.batches.append(list(items))
        self.threads.add(threading.get_ident())
        return [ValueError(f"bad {n}") if n < 0 else n * 10 for _, n in items]


def test_calls_that_arrive_while_a_batch_runs_go_together_in_one_hop():
    gate = threading.Event()
    run = Recorder(gate)
    batcher = Batcher("t", run)

    async def main() -> list[object]:
        first = asyncio.ensure_future(batcher.submit(("a", 1)))
        await asyncio.sleep(0.05)  # the first batch (of one) is running and held at the gate
        rest = [asyncio.ensure_future(batcher.submit((u, n))) for u, n in (("b", 2), ("c", 3), ("d", 4))]
        await asyncio.sleep(0.05)
        gate.set()
        return await asyncio.gather(first, *rest)

    assert asyncio.run(main()) == [10, 20, 30, 40]
    assert [len(b) for b in run.batches] == [1, 3] and batcher.batches == 2
    assert threading.get_ident() not in run.threads  # never on the event loop's thread


def test_a_failed_item_raises_at_its_own_caller_only():
    batcher = Batcher("t", Recorder())

    async def main() -> list[object]:
        return await asyncio.gather(*(batcher.submit(("u", n)) for n in (1, -1, 2)), return_exceptions=True)

    ok, bad, ok2 = asyncio.run(main())
    assert (ok, ok2) == (10, 20) and isinstance(bad, ValueError) and str(bad) == "bad -1"


def test_a_batch_that_raises_fails_every_caller_of_that_batch():
    def broken(items: list[int]) -> list[int]:
        raise ConnectionError("database down")

    batcher: Batcher[int, int] = Batcher("t", broken)

    async def main() -> list[object]:
        return await asyncio.gather(*(batcher.submit(n) for n in range(3)), return_exceptions=True)

    assert all(isinstance(r, ConnectionError) for r in asyncio.run(main()))


def test_items_with_one_key_go_to_separate_batches_in_order():
    run = Recorder()
    batcher = Batcher("t", run, key=lambda item: item[0])

    async def main() -> list[object]:
        return await asyncio.gather(
            *(batcher.submit(item) for item in (("a", 1), ("b", 2), ("a", 3), ("a", 4)))
        )

    assert asyncio.run(main()) == [10, 20, 30, 40]
    assert run.batches == [[("a", 1), ("b", 2)], [("a", 3)], [("a", 4)]]


def test_a_batch_holds_at_most_limit_items():
    run = Recorder()
    batcher = Batcher("t", run, limit=2)

    async def main() -> list[object]:
        return await asyncio.gather(*(batcher.submit(("u", n)) for n in range(5)))

    assert asyncio.run(main()) == [0, 10, 20, 30, 40]
    assert [len(b) for b in run.batches] == [2, 2, 1]


def test_a_caller_that_stops_waiting_does_not_stop_its_item():
    gate = threading.Event()
    run = Recorder(gate)
    batcher = Batcher("t", run)

    async def main() -> object:
        waiting = asyncio.ensure_future(batcher.submit(("a", 1)))
        await asyncio.sleep(0.05)
        waiting.cancel()  # a closed tab's handler
        gate.set()
        return await batcher.submit(("b", 2))  # the batcher goes on

    assert asyncio.run(main()) == 20
    assert run.batches == [[("a", 1)], [("b", 2)]]


def test_a_new_event_loop_starts_with_an_empty_queue():
    batcher = Batcher("t", Recorder())
    assert asyncio.run(batcher.submit(("a", 1))) == 10
    assert asyncio.run(batcher.submit(("a", 2))) == 20


def test_a_limit_below_one_is_refused():
    with pytest.raises(ValueError):
        Batcher("t", Recorder(), limit=0)
