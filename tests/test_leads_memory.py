"""Reading a leads file keeps memory flat: it does not grow with the number of rows."""

from __future__ import annotations

import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path

from commands.leads.reader import CsvReader
from commands.leads.scan import validate_leads
from commands.leads.seen import SeenNumbers
from commands.leads.settings import LeadsSettings
from commands.leads.source import FileSource


def write_leads(path: Path, rows: int) -> Path:
    with path.open("w") as file:
        file.write("name,phone,email\n")
        for i in range(rows):
            exchange = 200 + i // 10_000 % 800  # valid NANP exchanges, 8M distinct numbers
            file.write(f'"Lead {i}",+1212{exchange}{i % 10_000:04d},lead{i}@example.com\n')
    return path


async def traced_peak(run: Callable[[], Awaitable[int]]) -> tuple[int, int]:
    """The result of ``run`` and the peak memory it allocated on top of what was there."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        result = await run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak - base


async def read_all(path: Path) -> int:
    count = 0
    async for _ in CsvReader(FileSource(path).chunks(), max_bytes=10**9).records():
        count += 1
    return count


async def test_reading_200k_rows_takes_no_more_memory_than_reading_20k(tmp_path: Path) -> None:
    small = write_leads(tmp_path / "small.csv", 20_000)
    large = write_leads(tmp_path / "large.csv", 200_000)

    small_rows, small_peak = await traced_peak(lambda: read_all(small))
    large_rows, large_peak = await traced_peak(lambda: read_all(large))

    assert (small_rows, large_rows) == (20_001, 200_001)
    assert large.stat().st_size > 8_000_000
    assert large_peak < 1_000_000  # a few 64 KiB chunks and their records, not 8 MB of file
    assert large_peak < small_peak * 1.5 + 100_000


async def test_validation_memory_grows_only_by_the_compact_duplicate_set(tmp_path: Path) -> None:
    # Both span several 64 KiB chunks, so both hold the same per-chunk working set.
    small = write_leads(tmp_path / "small.csv", 4_000)
    large = write_leads(tmp_path / "large.csv", 12_000)
    settings = LeadsSettings()

    async def accepted(path: Path) -> int:
        return (await validate_leads(FileSource(path), settings)).accepted

    small_rows, small_peak = await traced_peak(lambda: accepted(small))
    large_rows, large_peak = await traced_peak(lambda: accepted(large))

    assert (small_rows, large_rows) == (4_000, 12_000)
    per_extra_row = (large_peak - small_peak) / 8_000
    # The duplicate set, caught mid-growth; a set of E.164 strings takes over 100 bytes a row.
    assert per_extra_row < 64


async def test_the_duplicate_set_costs_at_most_32_bytes_a_number() -> None:
    async def fill() -> int:
        seen = SeenNumbers()
        for i in range(100_000):
            seen.add(12_125_550_000 + i)
        return len(seen)

    count, peak = await traced_peak(fill)
    assert count == 100_000
    assert peak <= 32 * 100_000 + 50_000
