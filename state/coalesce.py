"""Calls made while the event loop is busy elsewhere, run as one batch: each caller still awaits
its own result, and the batch pays one set of Redis round trips instead of one per call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

RunBatch = Callable[[list[Item]], Awaitable[Sequence[Result | BaseException]]]


class Coalescer(Generic[Item, Result]):
    def __init__(self, run_batch: RunBatch[Item, Result], *, max_batch: int = 500) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._flush: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        if self._flush is not None and (self._flush.done() or self._flush.get_loop() is not loop):
            # A batch cut short with its event loop (a shutdown): its callers are gone.
            self._waiting = [(i, f) for i, f in self._waiting if f.get_loop() is loop]
            self._flush = None
        future: asyncio.Future[Result] = loop.create_future()
        self._waiting.append((item, future))
        if self._flush is None:
            self._flush = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        await asyncio.sleep(0)  # the callers of this turn of the loop join the batch
        batch, self._waiting = self._waiting[: self._max_batch], self._waiting[self._max_batch :]
        # Later callers start the next batch while this one waits on Redis.
        self._flush = asyncio.create_task(self._run()) if self._waiting else None
        try:
            results = await self._run_batch([item for item, _ in batch])
        except BaseException as exc:  # (a cancellation too: every caller must hear of it)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue  # its caller was cancelled meanwhile
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
