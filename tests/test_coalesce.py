"""Calls made together run as one batch; each caller still gets its own result or error."""

from __future__ import annotations

import asyncio

import pytest

from state.coalesce import Coalescer


class Doubler:
    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    async def run(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(items)
        await asyncio.sleep(0)
        return [ValueError(f"{item} is odd") if item % 2 else item * 2 for item in items]


async def test_calls_made_together_run_as_one_batch_and_each_gets_its_own_result() -> None:
    doubler = Doubler()
    coalescer: Coalescer[int, int] = Coalescer(doubler.run)

    results = await asyncio.gather(
        *(coalescer.submit(n) for n in (2, 4, 5, 6)), return_exceptions=True
    )

    assert doubler.batches == [[2, 4, 5, 6]]
    assert results[:2] == [4, 8] and results[3] == 12
    assert isinstance(results[2], ValueError) and str(results[2]) == "5 is odd"


async def test_calls_made_while_a_batch_runs_form_the_next_batch() -> None:
    doubler = Doubler()
    coalescer: Coalescer[int, int] = Coalescer(doubler.run)

    first = asyncio.ensure_future(coalescer.submit(2))
    await asyncio.sleep(0.01)
    assert await asyncio.gather(first, coalescer.submit(4), coalescer.submit(6)) == [4, 8, 12]

    assert doubler.batches == [[2], [4, 6]]


async def test_a_batch_larger_than_the_maximum_is_split() -> None:
    doubler = Doubler()
    coalescer: Coalescer[int, int] = Coalescer(doubler.run, max_batch=2)

    assert await asyncio.gather(*(coalescer.submit(n) for n in (2, 4, 6))) == [4, 8, 12]

    assert doubler.batches == [[2, 4], [6]]


async def test_a_failing_batch_fails_every_caller() -> None:
    async def broken(items: list[int]) -> list[int | BaseException]:
        raise ConnectionError("Redis went away")

    coalescer: Coalescer[int, int] = Coalescer(broken)

    results = await asyncio.gather(coalescer.submit(1), coalescer.submit(2), return_exceptions=True)

    assert [type(result) for result in results] == [ConnectionError, ConnectionError]
    with pytest.raises(ConnectionError):
        await coalescer.submit(3)


def test_a_batch_cut_short_with_its_event_loop_does_not_hold_up_the_next_loop() -> None:
    doubler = Doubler()
    coalescer: Coalescer[int, int] = Coalescer(doubler.run)

    async def abandoned() -> None:
        waiting = asyncio.ensure_future(coalescer.submit(2))
        await asyncio.sleep(0)  # it is queued; its loop ends before the batch runs
        assert not waiting.done()

    asyncio.run(abandoned())

    async def later() -> int:
        return await asyncio.wait_for(coalescer.submit(4), timeout=5)

    assert asyncio.run(later()) == 8
