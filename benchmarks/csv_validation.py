"""CSV validation speed: ``validate_leads`` over a leads file, beside a bare
``phonenumbers.parse`` loop over the same numbers, alternated in one run (best of each)."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import phonenumbers

from benchmarks.common import Figure, figure, missed, profiling, rate
from benchmarks.leads_file import phone, write_leads
from commands.leads.scan import validate_leads
from commands.leads.settings import LeadsSettings
from commands.leads.source import FileSource
from commands.leads.validation import to_e164

TARGET_RATIO = 0.8


@dataclass(frozen=True)
class Size:
    rows: int = 100_000
    rounds: int = 2
    profile_rows: int = 20_000


FULL = Size()
TOY = Size(rows=2_000, rounds=1, profile_rows=0)


def bare_parse(numbers: list[str], region: str) -> float:
    started = time.perf_counter()
    for number in numbers:
        phonenumbers.parse(number, region)
    return time.perf_counter() - started


def parse_validate_format(numbers: list[str], region: str) -> float:
    """What validation must do with each number at least: parse, check, write as E.164."""
    started = time.perf_counter()
    for number in numbers:
        to_e164(number, region)
    return time.perf_counter() - started


async def validate(path: Path, settings: LeadsSettings) -> tuple[float, int]:
    started = time.perf_counter()
    report = await validate_leads(FileSource(path), settings)
    return time.perf_counter() - started, report.accepted


async def run(size: Size = FULL) -> Figure:
    settings = LeadsSettings()
    region = settings.default_region
    numbers = [phone(i) for i in range(size.rows)]
    bare, e164, full = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        path = write_leads(Path(folder) / "leads.csv", size.rows)
        for _ in range(size.rounds):
            bare.append(bare_parse(numbers, region))
            e164.append(parse_validate_format(numbers, region))
            seconds, accepted = await validate(path, settings)
            full.append(seconds)
        profile: list[str] = []
        if size.profile_rows:
            small = write_leads(Path(folder) / "small.csv", size.profile_rows)
            with profiling(profile):
                await validate(small, settings)
    bare_rate, e164_rate = rate(size.rows, min(bare)), rate(size.rows, min(e164))
    rows_per_second = rate(size.rows, min(full))
    ratio = rows_per_second / bare_rate
    result = figure(
        rows_per_second,
        "rows/s",
        f">= {TARGET_RATIO} of a bare phonenumbers.parse loop over the same numbers",
        ratio >= TARGET_RATIO and accepted == size.rows,
        rows=size.rows,
        accepted=accepted,
        bare_parse_rows_per_second=round(bare_rate),
        ratio_to_bare_parse=round(ratio, 3),
        parse_validate_e164_rows_per_second=round(e164_rate),
        ratio_to_parse_validate_e164=round(rows_per_second / e164_rate, 3),
        rounds=size.rounds,
    )
    return missed(
        result,
        "a row needs more than parse: is_valid_number and format_number(E164) cost about as "
        "much again (see parse_validate_e164_rows_per_second), then CSV reading and the "
        "duplicate check",
        profile,
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        print(asyncio.run(run()))
