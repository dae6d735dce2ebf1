"""Checking a big file's rows on every core, with the results in file order.

Reading the file and the duplicate check stay in this process (the duplicate check needs every
row before it); cutting records into cells and the per-row checks, nearly all of the work (phone
number parsing), run in worker processes, ``TASK_RECORDS`` records per task. At most
``IN_FLIGHT_PER_WORKER`` tasks per worker are out at once, so memory stays a few tasks whatever
the file's size, and the event loop stays free while the workers run.

This process does as little as it can for each row, as it shares the cores with the workers:
it sends each record's text as read, and gets back, for the usual row (accepted, one number, no
fields), only its number as an integer, in one array for the whole task.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import math
import multiprocessing
import os
from array import array
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import overload

from commands.leads.errors import LeadsFileError
from commands.leads.reader import Batch, Piece, Record, parse_records
from commands.leads.seen import e164_key
from commands.leads.validation import NO_KEY, AcceptedRow, Row, RowChecks

TASK_RECORDS = 4_000
"""Records per task: each task costs this process a little sending it and reading its answer,
so fewer, bigger tasks leave more of the CPU to the workers."""
IN_FLIGHT_PER_WORKER = 3
"""Enough that a worker finishing a task finds the next one waiting."""
CGROUP = Path("/sys/fs/cgroup")

Checked = tuple[bytes, list[Row]]
"""A task's rows as a worker sends them: ``array('q')`` bytes, a row's number (an
``e164_key``) for each usual row and 0 for the others, which follow whole in file order."""


Sent = tuple[bytes, list[str]]
"""A batch's pieces as sent to a worker: their line numbers (``array('q')`` bytes) and their
texts, which pickle in half the time the pieces' tuples do."""


def _sent(batch: Batch) -> Sent:
    lines = array("q", [line for line, _ in batch.pieces])
    return lines.tobytes(), [text for _, text in batch.pieces]


def _pieces(sent: Sent) -> list[Piece]:
    lines = array("q")
    lines.frombytes(sent[0])
    return list(zip(lines, sent[1], strict=True))


def _check(checks: RowChecks, delimiter: str, batches: list[Sent]) -> Checked:
    """What a worker runs for one task."""
    keys = array("q")
    others: list[Row] = []
    for sent in batches:
        for row in checks.check_all(parse_records(_pieces(sent), delimiter)):
            if (
                type(row) is AcceptedRow
                and len(row.numbers) == 1
                and not row.invalid_numbers
                and not row.fields
            ):
                keys.append(e164_key(row.numbers[0]))
            else:
                keys.append(NO_KEY)
                others.append(row)
    return keys.tobytes(), others


@dataclass(frozen=True)
class Packed:
    """A task's rows as ``_check`` sent them: ``keys[i]``, row ``i``'s one number as an
    ``e164_key`` if it is a usual row (accepted, one number, no fields, none left out), else
    ``NO_KEY`` and the row is the next of ``others``."""

    keys: array[int]
    others: list[Row]

    @classmethod
    def of(cls, checked: Checked) -> Packed:
        keys = array("q")
        keys.frombytes(checked[0])
        return cls(keys, checked[1])

    def rows(self, lines: Iterable[int]) -> list[Row]:
        """Every row, the usual ones made again (without fields)."""
        rest = iter(self.others)
        return [
            AcceptedRow(line, (f"+{key}",), {}, 0) if key != NO_KEY else next(rest)
            for line, key in zip(lines, self.keys, strict=True)
        ]


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
    batches: AsyncIterator[Batch], checks: RowChecks, workers: int
) -> AsyncGenerator[tuple[Sequence[Record], list[Row] | Packed], None]:
    """The batches, joined into tasks of about ``TASK_RECORDS`` records, each with its checked
    rows, in the order the batches came. A file that turns out bad (``LeadsFileError``) has
    the batches before the bad one checked first, as in one process: an error in an earlier
    row is the one told."""
    # "spawn": the bot's process runs threads (Slack, uvicorn), which a fork must not copy.
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    loop = asyncio.get_running_loop()
    pending: deque[tuple[Joined, asyncio.Future[Checked]]] = deque()
    finished = False
    task: list[Batch] = []
    count = 0

    def send() -> None:
        nonlocal task, count
        if task:
            delimiter = task[0].delimiter
            sent = [_sent(batch) for batch in task]
            future = loop.run_in_executor(pool, _check, checks, delimiter, sent)
            pending.append((Joined(task), future))
            task, count = [], 0

    try:
        try:
            async for batch in batches:
                if batch.is_cut and not pending and not task:
                    # The header's batch, cut into cells here with the header: a worker would
                    # cut it again alone, which a quote opened mid-field could cut otherwise.
                    yield batch, checks.check_all(batch.records)
                    continue
                task.append(batch)
                count += len(batch)
                if count < TASK_RECORDS:
                    continue
                send()
                if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                    joined, checked = pending.popleft()
                    yield joined, Packed.of(await checked)
        except LeadsFileError:
            send()  # the rows before the bad part: checked, then the error
            while pending:
                joined, checked = pending.popleft()
                yield joined, Packed.of(await checked)
            raise
        send()
        while pending:
            joined, checked = pending.popleft()
            yield joined, Packed.of(await checked)
        finished = True
    finally:
        if finished:  # the workers are idle: they exit at once, and are waited for off the loop
            await asyncio.to_thread(pool.shutdown)
        else:
            for _, checked in pending:
                checked.cancel()
            # Stopped early (an error, a cancelled upload): a worker still on a batch nobody
            # needs ends after that batch; nothing waits for it.
            pool.shutdown(wait=False, cancel_futures=True)


class Joined(Sequence[Record]):
    """A task's batches as one sequence of records, each batch cut into cells only if one of
    its records is looked at."""

    def __init__(self, batches: list[Batch]) -> None:
        self.batches = batches
        self._starts = list(itertools.accumulate((len(b) for b in batches), initial=0))

    def __len__(self) -> int:
        return self._starts[-1]

    @property
    def lines(self) -> Iterator[int]:
        return (line for batch in self.batches for line, _ in batch.pieces)

    @overload
    def __getitem__(self, index: int) -> Record: ...
    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...
    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        which = bisect.bisect_right(self._starts, index) - 1
        return self.batches[which][index - self._starts[which]]
