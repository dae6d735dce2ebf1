"""Checking a big file's rows on every core, with the results in file order.

Reading the CSV and the duplicate check stay in this process (the duplicate check needs every
row before it); the per-row checks, nearly all of the work (phone number parsing), run in worker
processes, a batch of records (one chunk of the file) per task. At most ``IN_FLIGHT_PER_WORKER``
batches per worker are out at once, so memory stays a few chunks whatever the file's size, and
the event loop stays free while the workers run.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from concurrent.futures import ProcessPoolExecutor

from commands.leads.reader import Record
from commands.leads.validation import AcceptedRow, RejectedRow, RowChecks

Row = AcceptedRow | RejectedRow
IN_FLIGHT_PER_WORKER = 3
"""Enough that a worker finishing a batch finds the next one waiting."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container's cpuset limits it),
    which ``os.cpu_count()`` overstates; Python 3.13's ``os.process_cpu_count()`` is the same."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


async def checked_in_workers(
    batches: AsyncIterator[list[Record]], checks: RowChecks, workers: int
) -> AsyncGenerator[tuple[list[Record], list[Row]], None]:
    """Each batch with its checked rows, in the order the batches came."""
    # "spawn": the bot's process runs threads (Slack, uvicorn), which a fork must not copy.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    loop = asyncio.get_running_loop()
    pending: deque[tuple[list[Record], asyncio.Future[list[Row]]]] = deque()
    try:
        async for batch in batches:
            pending.append((batch, loop.run_in_executor(pool, checks.check_all, batch)))
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                records, rows = pending.popleft()
                yield records, await rows
        while pending:
            records, rows = pending.popleft()
            yield records, await rows
    finally:
        for _, rows in pending:
            rows.cancel()
        # Do not wait here: a worker still on a batch nobody needs ends after that batch.
        pool.shutdown(wait=False, cancel_futures=True)
