"""Peak memory of validating a leads file, each row count in a fresh process.

``python -m benchmarks.memory FILE`` is the child: it imports what the bot imports, notes its
peak RSS, validates FILE with ``validate_leads``, then prints ``{"baseline_mb", "peak_mb",
"accepted"}``. The peak is ``getrusage(RUSAGE_SELF).ru_maxrss``, which never goes down.

Linux carries a process's ``ru_maxrss`` across ``exec``, so a child started by the (large)
benchmark process would report the parent's peak; the child therefore forks once more, and the
grandchild, whose peak starts from the small fresh interpreter, does the measuring.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from benchmarks.common import (
    Figure,
    figure,
    in_fresh_process,
    measure_in_child,
    missed,
    peak_mb,
    print_peak,
)
from benchmarks.leads_file import write_leads

TARGET_MB = 150.0
FLAT_BYTES_PER_ROW = 32
"""Flat: the file is never held; only the duplicate check's set of numbers grows, at the at most
32 bytes a number ``commands.leads.seen`` promises (tests/test_leads_memory.py)."""


@dataclass(frozen=True)
class Size:
    rows: tuple[int, ...] = (100_000, 1_000_000)


FULL = Size()
TOY = Size(rows=(1_000, 10_000))


async def measure(path: Path) -> dict[str, float]:
    return await measure_in_child("benchmarks.memory", str(path), name="memory")


async def run(size: Size = FULL) -> Figure:
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for rows in size.rows:
            path = write_leads(Path(folder) / f"leads-{rows}.csv", rows)
            results[rows] = {
                **await measure(path),
                "file_mb": round(path.stat().st_size / 2**20, 1),
            }
            path.unlink()
    small, large = size.rows[0], size.rows[-1]
    peaks = [results[rows]["peak_mb"] for rows in size.rows]
    per_row = (results[large]["peak_mb"] - results[small]["peak_mb"]) * 2**20 / (large - small)
    all_accepted = all(results[rows]["accepted"] == rows for rows in size.rows)
    result = figure(
        max(peaks),
        "MB (peak RSS)",
        f"< {TARGET_MB:.0f} MB for every size; flat: the file is never held, only the duplicate "
        f"set grows, <= {FLAT_BYTES_PER_ROW} bytes per extra row",
        max(peaks) < TARGET_MB and per_row <= FLAT_BYTES_PER_ROW and all_accepted,
        per_rows={str(rows): results[rows] for rows in size.rows},
        growth_largest_to_smallest=round(peaks[-1] / peaks[0], 3),
        bytes_per_extra_row=round(per_row, 1),
    )
    return missed(result, "peak RSS grows faster than the duplicate set explains")


async def _child(path: Path) -> None:
    from commands.leads.scan import validate_leads
    from commands.leads.settings import LeadsSettings
    from commands.leads.source import FileSource

    settings = LeadsSettings(max_file_bytes=2**31, max_rows=10_000_000)
    baseline = peak_mb()
    report = await validate_leads(FileSource(path), settings)
    print_peak(baseline, report.accepted)


if __name__ == "__main__":
    in_fresh_process(partial(_child, Path(sys.argv[1])))
