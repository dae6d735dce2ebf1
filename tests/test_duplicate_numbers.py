"""The duplicate check of a whole batch at once (the pipeline's) decides exactly as row by row."""

from __future__ import annotations

from commands.leads.columns import ColumnMap
from commands.leads.reader import Record
from commands.leads.validation import (
    AcceptedRow,
    DuplicateNumbers,
    RejectedRow,
    RejectReason,
    RowChecks,
    ValidationRules,
)

COLUMNS = ColumnMap(header=("phone", "mobile"), phone_columns=(0, 1), field_columns=(), ignored=())
RULES = ValidationRules(region="US", max_field_length=100, max_rows=100, max_bytes=10_000)
A, B, C = "+12125550100", "+12125550101", "+12125550102"
CELLS = [
    (A, ""),  # new
    (B, C),  # new, two numbers
    ("", A),  # A again: a duplicate with one number
    (C, "+12125550103"),  # C again, in a row of two: nothing of it is remembered
    ("+12125550103", ""),  # so this one is new
    ("not a number", ""),  # rejected before the duplicate check, and left as it is
    (B, ""),  # B again
]


def test_a_batch_is_decided_as_row_by_row() -> None:
    records = [Record(line, cells) for line, cells in enumerate(CELLS, start=2)]
    rows = RowChecks(COLUMNS, RULES).check_all(records)

    one_by_one = DuplicateNumbers()
    expected = [one_by_one.admit(record, row) for record, row in zip(records, rows, strict=True)]
    batch = DuplicateNumbers().admit_all(records, rows)

    assert batch == expected
    outcome = [row.reason if isinstance(row, RejectedRow) else "ok" for row in batch]
    assert outcome == [
        "ok",
        "ok",
        RejectReason.DUPLICATE_NUMBER,
        RejectReason.DUPLICATE_NUMBER,
        "ok",
        RejectReason.NO_VALID_NUMBER,
        RejectReason.DUPLICATE_NUMBER,
    ]
    assert isinstance(batch[2], RejectedRow)
    assert batch[2].detail == f"{A} is already on an earlier row"
    assert isinstance(batch[4], AcceptedRow) and batch[4].numbers == ("+12125550103",)
