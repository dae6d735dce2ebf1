"""Rows checked in worker processes come back packed (the usual row as one integer) and are
decided exactly as rows checked in one process: the same rows, duplicates and errors."""

from __future__ import annotations

from array import array
from contextlib import aclosing
from pathlib import Path

import pytest

from commands.leads.errors import LeadsFileError
from commands.leads.parallel import TASK_RECORDS
from commands.leads.reader import Record
from commands.leads.scan import LeadsScan, rules_from, validate_leads
from commands.leads.seen import SeenNumbers
from commands.leads.settings import LeadsSettings
from commands.leads.source import FileSource
from commands.leads.validation import (
    NO_KEY,
    AcceptedRow,
    DuplicateNumbers,
    Row,
    RowChecks,
)
from tests.test_duplicate_numbers import COLUMNS, RULES
from tests.test_leads_parallel import ONE_PROCESS, ROWS, TWO_WORKERS, messy_leads, number


async def scanned(path: Path, *, workers: int, fields: bool) -> list[Row]:
    scan = LeadsScan(
        FileSource(path).chunks(),
        rules_from(LeadsSettings()),
        workers=workers,
        parallel_from_rows=500,
        fields=fields,
    )
    async with aclosing(scan.rows()) as rows:
        return [row async for row in rows]


@pytest.mark.parametrize("fields", [True, False])
async def test_rows_from_workers_are_the_rows_of_one_process(tmp_path: Path, fields: bool) -> None:
    path = messy_leads(tmp_path / "leads.csv")

    alone = await scanned(path, workers=1, fields=fields)
    spread = await scanned(path, workers=2, fields=fields)

    assert spread == alone
    accepted = [row for row in alone if isinstance(row, AcceptedRow)]
    assert all(bool(row.fields) == fields for row in accepted)


def with_a_bad_line(path: Path, at: int) -> Path:
    """The messy file with a line csv cannot read (a carriage return in an unquoted field)."""
    lines = messy_leads(path).read_text().splitlines(keepends=True)
    lines.insert(at, f"Bo\rX,{number(10**6)}\n")
    path.write_text("".join(lines))
    return path


async def refusal(path: Path, settings: LeadsSettings) -> str:
    with pytest.raises(LeadsFileError) as refused:
        await validate_leads(FileSource(path), settings)
    return f"{type(refused.value).__name__}: {refused.value}"


@pytest.mark.parametrize("max_rows", [ROWS + 10, 2 * TASK_RECORDS + 700, 2 * TASK_RECORDS + 100])
async def test_workers_refuse_a_bad_file_with_the_error_one_process_gives(
    tmp_path: Path, max_rows: int
) -> None:
    """The bad line sits in a worker's task; the row limit falls after it, in its batch, or
    before it."""
    path = with_a_bad_line(tmp_path / "leads.csv", 2 * TASK_RECORDS + 600)
    limits = {"max_rows": max_rows}

    alone = await refusal(path, ONE_PROCESS.model_copy(update=limits))
    spread = await refusal(path, TWO_WORKERS.model_copy(update=limits))

    assert spread == alone


async def test_the_row_limit_and_a_bad_line_are_each_told_when_first(tmp_path: Path) -> None:
    path = with_a_bad_line(tmp_path / "leads.csv", 2 * TASK_RECORDS + 600)
    after = TWO_WORKERS.model_copy(update={"max_rows": ROWS + 10})
    before = TWO_WORKERS.model_copy(update={"max_rows": 2 * TASK_RECORDS})

    assert (await refusal(path, after)).startswith("UnreadableCsv: Line ")
    assert (await refusal(path, before)).startswith("TooManyRows: ")


def test_a_batch_of_keys_is_remembered_as_one_key_at_a_time() -> None:
    keys = [12125550000 + i % 3000 for i in range(5000)] + [NO_KEY, 12125550001]
    one_by_one, batch = SeenNumbers(capacity=4), SeenNumbers(capacity=4)

    expected = [i for i, key in enumerate(keys) if key and not one_by_one.add_new(key)]

    assert batch.add_all_new(keys) == expected
    assert len(batch) == len(one_by_one) == 3000


A, B, C, D = "+12125550100", "+12125550101", "+12125550102", "+12125550103"


@pytest.mark.parametrize(
    "cells",
    [
        [(A, ""), (B, ""), ("", A), ("x", ""), (B, ""), (C, "")],  # only one-number rows
        [(A, ""), (B, C), ("", A), (C, D), (D, ""), ("x", ""), (B, "")],  # two-number rows too
    ],
)
def test_packed_rows_get_the_duplicate_check_of_whole_rows(
    cells: list[tuple[str, str]],
) -> None:
    records = [Record(line, row) for line, row in enumerate(cells, start=2)]
    rows = RowChecks(COLUMNS, RULES).check_all(records)
    keys = array("q")
    others: list[Row] = []
    for row in rows:
        if isinstance(row, AcceptedRow) and len(row.numbers) == 1:
            keys.append(int(row.numbers[0][1:]))
        else:
            keys.append(NO_KEY)
            others.append(row)

    expected = DuplicateNumbers().admit_all(records, rows)
    not_usual = DuplicateNumbers().admit_packed(records, keys, others)

    usual = [row for row, key in zip(expected, keys, strict=True) if key != NO_KEY]
    assert not_usual == [row for row in expected if row not in usual]
    assert len(usual) == len(keys) - keys.count(NO_KEY)
