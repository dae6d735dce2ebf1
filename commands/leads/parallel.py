"""Checking a big file's rows on every core, with the results in file order.

Reading the CSV and the duplicate check stay in this process (the duplicate check needs every
row before it); the per-row checks, nearly all of the work (phone number parsing), run in worker
processes, ``TASK_RECORDS`` records per task. At most ``IN_FLIGHT_PER_WORKER`` tasks per
worker are out at once, so memory stays a few tasks whatever the file's size, and the event loop
stays free while the workers run.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import os
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from commands.leads.reader import Record
from commands.leads.validation import Row, RowChecks

TASK_RECORDS = 2_000
"""Records per task: each task costs the bot's process a few milliseconds of pickling and
hand-over between threads, so fewer, bigger tasks leave more of the CPU to the workers."""
IN_FLIGHT_PER_WORKER = 3
"""Enough that a worker finishing a task finds the next one waiting."""
CGROUP = Path("/sys/fs/cgroup")


def _plain(records: list[Record]) -> list[tuple[int, tuple[str, ...]]]:
    """Records as plain tuples: pickled in a tenth of the time a ``NamedTuple`` takes (it goes
    through ``copyreg`` for each one), which the bot's process pays for every row it sends."""
    return [(record.line, record.cells) for record in records]


def _check(checks: RowChecks, plain: list[tuple[int, tuple[str, ...]]]) -> list[Row]:
    """What a worker runs for one task."""
    return checks.check_all([Record(line, cells) for line, cells in plain])


def usable_cores(cgroup: Path = CGROUP) -> int:
    """The cores this process may use: its CPU affinity (a cpuset), and no more than its
    container's CPU limit (Kubernetes' ``limits.cpu``, ``docker run --cpus``) rounded up, which
    ``os.cpu_count()`` and Python 3.13's ``os.process_cpu_count()`` both overlook."""
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:
        cores = os.cpu_count() or 1
    limit = cgroup_cpu_limit(cgroup)
    return max(1, min(cores, limit)) if limit is not None else cores


def cgroup_cpu_limit(cgroup: Path = CGROUP) -> int | None:
    """Whole CPUs the container may use (cgroup v2 ``cpu.max``, else v1 ``cpu.cfs_quota_us``),
    or None when there is no limit or no cgroup to read."""
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota = (cgroup / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (cgroup / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    if quota in ("max", "-1"):
        return None
    try:
        return math.ceil(int(quota) / int(period))
    except (ValueError, ZeroDivisionError):
        return None


async def checked_in_workers(
    batches: AsyncIterator[list[Record]], checks: RowChecks, workers: int
) -> AsyncGenerator[tuple[list[Record], list[Row]], None]:
    """The batches, joined into tasks of about ``TASK_RECORDS`` records, each with its checked
    rows, in the order the batches came."""
    # "spawn": the bot's process runs threads (Slack, uvicorn), which a fork must not copy.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    loop = asyncio.get_running_loop()
    pending: deque[tuple[list[Record], asyncio.Future[list[Row]]]] = deque()
    finished = False
    task: list[Record] = []
    try:
        async for batch in batches:
            task += batch
            if len(task) < TASK_RECORDS:
                continue
            pending.append((task, loop.run_in_executor(pool, _check, checks, _plain(task))))
            task = []
            if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                records, rows = pending.popleft()
                yield records, await rows
        if task:
            pending.append((task, loop.run_in_executor(pool, _check, checks, _plain(task))))
        while pending:
            records, rows = pending.popleft()
            yield records, await rows
        finished = True
    finally:
        if finished:  # the workers are idle: they exit at once, and are waited for off the loop
            await asyncio.to_thread(pool.shutdown)
        else:
            for _, rows in pending:
                rows.cancel()
            # Stopped early (an error, a cancelled upload): a worker still on a batch nobody
            # needs ends after that batch; nothing waits for it.
            pool.shutdown(wait=False, cancel_futures=True)
