"""CSV validation speed.

One core: ``validate_leads`` in one process over a leads file, beside a bare loop of what each
number needs at least (``phonenumbers.parse`` + ``is_valid_number`` + ``format_number(E164)``)
over the same numbers, alternated in one run, best of each. Both are timed in CPU seconds of
this process, so other processes on a shared machine do not tilt the ratio.

Every core: a bigger file validated in one process and then with worker processes on every
usable core (``LEADS_VALIDATION_PROCESSES=0``), in wall-clock seconds, with the reports compared.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import phonenumbers

from benchmarks.common import Figure, figure, missed, profiling, rate
from benchmarks.leads_file import phone, write_leads
from commands.leads.parallel import usable_cores
from commands.leads.scan import ValidationReport, validate_leads
from commands.leads.settings import LeadsSettings
from commands.leads.source import FileSource

TARGET_RATIO = 0.9
E164 = phonenumbers.PhoneNumberFormat.E164


@dataclass(frozen=True)
class Size:
    rows: int = 100_000
    rounds: int = 5
    profile_rows: int = 20_000
    all_cores_rows: int = 1_000_000
    parallel_from_rows: int = 50_000


FULL = Size()
TOY = Size(rows=2_000, rounds=1, profile_rows=0, all_cores_rows=3_000, parallel_from_rows=1_000)


def bare_loop(numbers: list[str], region: str) -> float:
    """CPU seconds for the least any validation does with each number."""
    started = time.process_time()
    for number in numbers:
        parsed = phonenumbers.parse(number, region)
        if phonenumbers.is_valid_number(parsed):
            phonenumbers.format_number(parsed, E164)
    return time.process_time() - started


def bare_parse(numbers: list[str], region: str) -> float:
    started = time.process_time()
    for number in numbers:
        phonenumbers.parse(number, region)
    return time.process_time() - started


async def validate(path: Path, settings: LeadsSettings) -> tuple[float, ValidationReport]:
    """CPU seconds of this process (one process: no workers)."""
    started = time.process_time()
    report = await validate_leads(FileSource(path), settings)
    return time.process_time() - started, report


@dataclass(frozen=True)
class Timed:
    wall: float
    cpu_here: float
    cpu_workers: float
    """CPU seconds of the worker processes (they are waited for when validation ends)."""


async def validate_wall(path: Path, settings: LeadsSettings) -> tuple[Timed, ValidationReport]:
    workers_before = _children_cpu()
    started, cpu = time.perf_counter(), time.process_time()
    report = await validate_leads(FileSource(path), settings)
    wall, cpu_here = time.perf_counter() - started, time.process_time() - cpu
    return Timed(wall, cpu_here, _children_cpu() - workers_before), report


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def run(size: Size = FULL) -> Figure:
    one_process = LeadsSettings(validation_processes=1)
    region = one_process.default_region
    numbers = [phone(i) for i in range(size.rows)]
    bare, parse_only, full = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        path = write_leads(Path(folder) / "leads.csv", size.rows)
        for _ in range(size.rounds):
            bare.append(bare_loop(numbers, region))
            parse_only.append(bare_parse(numbers, region))
            seconds, report = await validate(path, one_process)
            full.append(seconds)
        profile: list[str] = []
        if size.profile_rows:
            small = write_leads(Path(folder) / "small.csv", size.profile_rows)
            with profiling(profile):
                await validate(small, one_process)
        del numbers
        cores = await all_cores(Path(folder) / "big.csv", size)
    bare_rate = rate(size.rows, min(bare))
    rows_per_second = rate(size.rows, min(full))
    ratio = rows_per_second / bare_rate
    result = figure(
        rows_per_second,
        "rows/s",
        f">= {TARGET_RATIO} of a bare parse + is_valid_number + E.164 format loop over the same "
        "numbers (CPU time, one process); every core faster than one on a 1M-row file",
        ratio >= TARGET_RATIO and report.accepted == size.rows and cores["faster"],
        rows=size.rows,
        accepted=report.accepted,
        bare_loop_rows_per_second=round(bare_rate),
        ratio_to_bare_loop=round(ratio, 3),
        bare_parse_rows_per_second=round(rate(size.rows, min(parse_only))),
        rounds=size.rounds,
        all_cores=cores,
    )
    why = []
    if ratio < TARGET_RATIO:
        why.append(
            "each number goes through commands.leads.numbers.to_e164 (strict E.164 taken apart "
            "without parse, validity from each region's patterns compiled once), and each row "
            "is also read from CSV, checked and looked up in the duplicate set in Python: one "
            "of these grew; see the profile"
        )
    if not cores["faster"]:
        why.append(
            "every core was not faster: the bot's process reads the file, sends the records' "
            "texts and runs the duplicate check (cpu_seconds_all_cores.bot_process), the "
            "workers the rest; compare with the load average, the workers only get the CPU "
            "other processes on the machine leave"
        )
    return missed(result, "; ".join(why) or "a row was not accepted", profile)


async def all_cores(path: Path, size: Size) -> Figure:
    """The same file in one process, then on every core; the two reports must agree."""
    write_leads(path, size.all_cores_rows)
    rows, most = size.all_cores_rows, 2**31
    load_before = os.getloadavg()[0]
    one_time, one = await validate_wall(
        path, LeadsSettings(validation_processes=1, max_rows=rows, max_file_bytes=most)
    )
    every = LeadsSettings(
        validation_processes=0,
        parallel_from_rows=size.parallel_from_rows,
        max_rows=rows,
        max_file_bytes=most,
    )
    all_time, spread = await validate_wall(path, every)
    one_rate = rate(size.all_cores_rows, one_time.wall)
    all_rate = rate(size.all_cores_rows, all_time.wall)
    return {
        "rows": size.all_cores_rows,
        "cores": usable_cores(),
        "one_core_rows_per_second": round(one_rate),
        "all_cores_rows_per_second": round(all_rate),
        "speed_up": round(all_rate / one_rate, 2) if one_rate else 0.0,
        "faster": all_rate > one_rate or usable_cores() == 1,
        "reports_equal": spread == one,
        "parallel_from_rows": size.parallel_from_rows,
        # Wall-clock rates depend on what else the machine runs; the CPU seconds do not.
        "cpu_seconds_one_process": round(one_time.cpu_here, 1),
        "cpu_seconds_all_cores": {
            "bot_process": round(all_time.cpu_here, 1),
            "workers": round(all_time.cpu_workers, 1),
        },
        "load_average_before_after": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        print(asyncio.run(run()))
