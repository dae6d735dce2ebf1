"""Checking a big file in worker processes: the same report, the same rejected rows, in the same
order as one process, and nothing left running when a pass stops early."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pytest

from commands.leads.errors import TooManyRows, UnreadableCsv
from commands.leads.parallel import TASK_RECORDS, cgroup_cpu_limit, usable_cores
from commands.leads.reader import BATCH_RECORDS, CsvReader, Record
from commands.leads.scan import ValidationReport, validate_leads
from commands.leads.settings import LeadsSettings
from commands.leads.source import FileSource
from commands.leads.validation import RejectReason

ONE_PROCESS = LeadsSettings(validation_processes=1)
TWO_WORKERS = LeadsSettings(validation_processes=2, parallel_from_rows=BATCH_RECORDS)
ROWS = 3 * TASK_RECORDS + BATCH_RECORDS  # several tasks for the workers, the last one short
EARLIER = TASK_RECORDS + BATCH_RECORDS // 2


def number(i: int) -> str:
    return f"+1212{200 + i // 10_000 % 800}{i % 10_000:04d}"


def messy_leads(path: Path) -> Path:
    """Every rejection reason, spread over several tasks; a duplicate's first copy sits in an
    earlier task, which one worker checks while another checks the copy."""
    lines = ["name,phone,mobile,email"]
    for i in range(ROWS):
        if i % 97 == 5:
            lines.append(f"Dup {i},{number(i - EARLIER if i > EARLIER else 0)},,")
        elif i % 89 == 7:
            lines.append(",,,")
        elif i % 83 == 11:
            lines.append(f"Bad {i},555,not a phone,")
        elif i % 79 == 13:
            lines.append(f'"{"x" * 600}",{number(i)},,')
        elif i % 71 == 17:
            lines.append(f'"Many {i}","{number(i)}; {number(i + 1)}",{number(i + 2)},m@x.org')
        else:
            lines.append(f'"Lead {i}",{number(i)},,lead{i}@example.com')
    path.write_text("\n".join(lines) + "\n")
    return path


async def validated(path: Path, settings: LeadsSettings) -> tuple[ValidationReport, str]:
    out = io.StringIO()
    report = await validate_leads(FileSource(path), settings, rejected_out=out)
    return report, out.getvalue()


async def test_worker_processes_give_the_same_report_and_rejected_rows_as_one(
    tmp_path: Path,
) -> None:
    path = messy_leads(tmp_path / "leads.csv")

    alone, alone_rejected = await validated(path, ONE_PROCESS)
    spread, spread_rejected = await validated(path, TWO_WORKERS)

    assert spread == alone
    assert spread_rejected == alone_rejected
    assert alone.rows == ROWS and alone.accepted < ROWS


async def test_workers_from_the_first_row_give_the_same_report_as_one_process(
    tmp_path: Path,
) -> None:
    path = messy_leads(tmp_path / "leads.csv")
    from_the_start = TWO_WORKERS.model_copy(update={"parallel_from_rows": 0})

    alone, alone_rejected = await validated(path, ONE_PROCESS)
    spread, spread_rejected = await validated(path, from_the_start)

    assert (spread, spread_rejected) == (alone, alone_rejected)
    assert {reason.value for reason in alone.rejected} == {
        "empty_row",
        "field_too_long",
        "no_valid_number",
        "duplicate_number",
    }


async def test_a_file_over_the_row_limit_is_refused_with_workers_too(tmp_path: Path) -> None:
    path = messy_leads(tmp_path / "leads.csv")
    limited = TWO_WORKERS.model_copy(update={"max_rows": ROWS - 1})

    with pytest.raises(TooManyRows, match=f"more than {ROWS - 1:,} rows"):
        await validate_leads(FileSource(path), limited)


async def test_a_quote_opened_mid_field_does_not_swallow_the_next_record(tmp_path: Path) -> None:
    # csv reads `x"y,"z` as opening a quoted field that runs on into the next line.
    path = tmp_path / "leads.csv"
    path.write_text('name,phone\nx"y,"z\nAna,+12125550100\n')

    records = [r async for r in CsvReader(FileSource(path).chunks(), max_bytes=10**6).records()]

    assert records[1:] == [Record(2, ('x"y', "z\n")), Record(3, ("Ana", "+12125550100"))]


async def test_records_come_in_batches_of_bounded_size_in_file_order(tmp_path: Path) -> None:
    path = messy_leads(tmp_path / "leads.csv")
    reader = CsvReader(FileSource(path).chunks(), max_bytes=10**9)

    batches = [batch async for batch in reader.batches()]

    assert all(0 < len(batch) <= BATCH_RECORDS for batch in batches)
    lines = [record.line for batch in batches for record in batch]
    assert lines == list(range(1, ROWS + 2))


@pytest.mark.parametrize(
    ("files", "limit"),
    [
        ({"cpu.max": "150000 100000\n"}, 2),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
)
def test_a_containers_cpu_limit_is_read_from_its_cgroup(
    tmp_path: Path, files: dict[str, str], limit: int | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_cpu_limit(tmp_path) == limit


def test_workers_are_no_more_than_the_cpu_limit_allows(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    assert usable_cores(tmp_path) == 1
    assert usable_cores(tmp_path / "no-cgroup") >= 1


async def test_a_line_csv_cannot_read_is_refused_naming_that_line(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    rows = "".join(f"Lead {i},{number(i)}\n" for i in range(40))
    path.write_text(f"name,phone\n{rows}Bo\rX,{number(99)}\nCy,{number(98)}\n")

    with pytest.raises(UnreadableCsv, match=r"^Line 42 cannot be read as CSV"):
        await validate_leads(FileSource(path), ONE_PROCESS)


class ListedEveryTenth:
    """A do-not-call lookup listing every tenth number of the file."""

    def __init__(self) -> None:
        self.listed_numbers = {number(i) for i in range(0, ROWS, 10)}

    async def listed(self, numbers: Sequence[str]) -> list[bool]:
        return [n in self.listed_numbers for n in numbers]


async def test_the_do_not_call_screen_gets_the_same_rows_from_workers(tmp_path: Path) -> None:
    path = messy_leads(tmp_path / "leads.csv")
    out_alone, out_spread = io.StringIO(), io.StringIO()

    alone = await validate_leads(
        FileSource(path), ONE_PROCESS, rejected_out=out_alone, dnc=ListedEveryTenth()
    )
    spread = await validate_leads(
        FileSource(path), TWO_WORKERS, rejected_out=out_spread, dnc=ListedEveryTenth()
    )

    assert spread == alone
    assert out_spread.getvalue() == out_alone.getvalue()
    assert alone.rejected[RejectReason.ON_DO_NOT_CALL_LIST] > 0
