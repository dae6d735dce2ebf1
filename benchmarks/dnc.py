"""What the do-not-call check costs a leads check: time beside validation, and peak memory.

A do-not-call list of ``dnc_numbers`` numbers is put in the real Redis (``REDIS_URL``); a leads
file of ``rows`` rows, ``listed_share`` of them on the list, is validated in one process without
the list and then with it (``validate_leads(..., dnc=DoNotCallList)``), alternately, best of
``rounds`` each, in wall-clock seconds (the check waits on Redis, so CPU time would hide it).
The figure is the extra time as a fraction of validation time, or the time spent waiting for
the batched ``SMISMEMBER`` lookups when that is more (both are reported beside it); validation
time is the least seen, without the list or with it minus its waits, since either run may be
slowed by other work on a shared machine.

Peak RSS is measured as ``benchmarks.memory`` does: ``python -m benchmarks.dnc FILE PREFIX`` is
the child, which forks once more (``benchmarks.common.in_fresh_process``) so that the
grandchild's ``ru_maxrss`` starts from a fresh interpreter, validates FILE against the list
under PREFIX and prints its peak.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from redis.asyncio import Redis

from benchmarks.common import (
    REDIS_URL,
    Figure,
    figure,
    in_fresh_process,
    measure_in_child,
    missed,
    peak_mb,
    print_peak,
    redis_space,
)
from benchmarks.leads_file import phone, write_leads
from commands.leads.scan import ValidationReport, validate_leads
from commands.leads.settings import LeadsSettings
from commands.leads.source import FileSource
from commands.leads.validation import RejectReason
from state.dnc import DoNotCallList
from state.keys import Keys

TARGET_FRACTION = 0.2
TARGET_MB = 150.0
FILL_CHUNK = 10_000


@dataclass(frozen=True)
class Size:
    rows: int = 1_000_000
    dnc_numbers: int = 1_000_000
    listed_share: float = 0.1
    rounds: int = 2


FULL = Size()
TOY = Size(rows=2_000, dnc_numbers=5_000, rounds=1)


class TimedLookup:
    """The list's lookup, with the wall-clock time spent waiting for it."""

    def __init__(self, dnc: DoNotCallList) -> None:
        self.dnc = dnc
        self.seconds = 0.0
        self.calls = 0

    async def listed(self, numbers: Sequence[str]) -> list[bool]:
        started = time.perf_counter()
        try:
            return await self.dnc.listed(numbers)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1


def settings_for(size: Size) -> LeadsSettings:
    return LeadsSettings(validation_processes=1, max_rows=size.rows, max_file_bytes=2**31)


def listed_numbers(size: Size) -> range:
    """Indexes of ``phone(i)`` on the list: the file's last ``listed_share`` rows, then numbers
    the file does not have."""
    first = size.rows - int(size.rows * size.listed_share)
    return range(first, first + size.dnc_numbers)


async def fill(redis: Redis, keys: Keys, size: Size) -> None:
    """The list, straight into its SET (no audit: this is the benchmark's setup)."""
    indexes = listed_numbers(size)
    for start in range(0, len(indexes), FILL_CHUNK):
        part = indexes[start : start + FILL_CHUNK]
        await redis.sadd(keys.do_not_call, *(phone(i) for i in part))


async def timed(
    path: Path, settings: LeadsSettings, lookup: TimedLookup | None
) -> tuple[float, ValidationReport]:
    started = time.perf_counter()
    report = await validate_leads(FileSource(path), settings, dnc=lookup)
    return time.perf_counter() - started, report


async def run(size: Size = FULL) -> Figure:
    settings = settings_for(size)
    expected_listed = size.rows - listed_numbers(size).start
    async with redis_space("dnc") as (redis, prefix):
        keys = Keys(prefix)
        await fill(redis, keys, size)
        dnc = DoNotCallList(redis, keys)
        with tempfile.TemporaryDirectory() as folder:
            path = write_leads(Path(folder) / "leads.csv", size.rows)
            plain, screened, waiting = [], [], []
            report: ValidationReport | None = None
            for _ in range(size.rounds):
                plain.append((await timed(path, settings, None))[0])
                lookup = TimedLookup(dnc)
                seconds, report = await timed(path, settings, lookup)
                screened.append(seconds)
                waiting.append(lookup.seconds)
            memory = await measure(path, prefix)
    assert report is not None
    # On a shared machine either run may be slowed by others: validation takes the least seen,
    # without the list or with it minus its waits, and the cost is the larger of the extra wall
    # time and the time spent waiting for lookups, over that.
    validation = min(min(plain), min(screened) - min(waiting))
    extra = max(0.0, min(screened) - validation) / validation
    fraction = max(extra, min(waiting) / validation)
    rejected = report.rejected.get(RejectReason.ON_DO_NOT_CALL_LIST, 0)
    correct = rejected == expected_listed and report.accepted == size.rows - expected_listed
    result = figure(
        fraction,
        "of validation time",
        f"< {TARGET_FRACTION} of validation time for {size.rows:,} leads against "
        f"{size.dnc_numbers:,} listed numbers; peak RSS < {TARGET_MB:.0f} MB",
        fraction < TARGET_FRACTION and memory["peak_mb"] < TARGET_MB and correct,
        rows=size.rows,
        dnc_numbers=size.dnc_numbers,
        rejected_as_listed=rejected,
        expected_listed=expected_listed,
        validation_seconds=round(min(plain), 2),
        with_dnc_seconds=round(min(screened), 2),
        waiting_for_lookups_seconds=round(min(waiting), 2),
        validation_estimate_seconds=round(validation, 2),
        extra_time_fraction=round(extra, 4),
        lookup_fraction=round(min(waiting) / validation, 4),
        peak_rss=memory,
        rounds=size.rounds,
    )
    return missed(
        result,
        "the check costs more than a fifth of validation, holds too much, or rejected the wrong "
        "rows; see the numbers beside it",
    )


async def measure(path: Path, prefix: str) -> dict[str, float]:
    return await measure_in_child("benchmarks.dnc", str(path), prefix, name="do-not-call memory")


async def _child(path: Path, prefix: str) -> None:
    redis: Redis = Redis.from_url(REDIS_URL)
    rows = sum(1 for _ in path.open()) - 1
    baseline = peak_mb()
    report = await validate_leads(
        FileSource(path),
        settings_for(Size(rows=rows)),
        dnc=DoNotCallList(redis, Keys(prefix)),
    )
    await redis.aclose()
    print_peak(baseline, report.accepted)


if __name__ == "__main__":
    in_fresh_process(partial(_child, Path(sys.argv[1]), sys.argv[2]))
