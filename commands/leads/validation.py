"""One CSV record -> an accepted row (E.164 numbers, known fields) or a rejected row with why."""

from __future__ import annotations

import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from commands.leads.columns import ColumnMap
from commands.leads.numbers import to_e164 as to_e164  # checks single numbers too
from commands.leads.reader import Record
from commands.leads.seen import SeenNumbers, e164_key
from dialer.models import MAX_PHONE_NUMBERS

_SEPARATORS = re.compile(r"[;,|]")
"""Several numbers in one cell: ``"0171 123; 0171 456"``. Never ``/`` (``0171/1234567``)."""
_SHOWN_CHARS = 60
NO_KEY = 0
"""No number (no E.164 number is 0): in packed rows, a row that is not accepted with one."""


class RejectReason(StrEnum):
    EMPTY_ROW = "empty_row"
    FIELD_TOO_LONG = "field_too_long"
    NO_VALID_NUMBER = "no_valid_number"
    TOO_MANY_NUMBERS = "too_many_numbers"
    DUPLICATE_NUMBER = "duplicate_number"
    ON_DO_NOT_CALL_LIST = "on_do_not_call_list"  # set by commands.leads.dnc_screen

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    RejectReason.EMPTY_ROW: "empty row",
    RejectReason.FIELD_TOO_LONG: "field too long",
    RejectReason.NO_VALID_NUMBER: "no valid phone number",
    RejectReason.TOO_MANY_NUMBERS: f"more than {MAX_PHONE_NUMBERS} phone numbers",
    RejectReason.DUPLICATE_NUMBER: "phone number already in the file",
    RejectReason.ON_DO_NOT_CALL_LIST: "on the do-not-call list",
}


@dataclass(frozen=True)
class AcceptedRow:
    line: int
    numbers: tuple[str, ...]
    fields: dict[str, str]
    invalid_numbers: int
    """Numbers in this row that were not valid and were left out (the row had others)."""


@dataclass(frozen=True)
class RejectedRow:
    line: int
    reason: RejectReason
    detail: str
    cells: tuple[str, ...]


Row = AcceptedRow | RejectedRow
"""A checked row: accepted, or rejected with why."""


@dataclass(frozen=True)
class ValidationRules:
    """Everything that decides whether a row is accepted. Kept with an upload, so a resume
    numbers the contacts exactly as the first pass did even if the settings changed since."""

    region: str
    max_field_length: int
    max_rows: int
    max_bytes: int


class RowChecks:
    """Every check that needs only the row itself, so rows can be checked in any process and
    any order. Duplicates need the rows before them: ``DuplicateNumbers``."""

    def __init__(self, columns: ColumnMap, rules: ValidationRules, *, fields: bool = True) -> None:
        """Without ``fields``, accepted rows come without them (``AcceptedRow.fields`` empty)."""
        self._columns = columns
        self._rules = rules
        # Read once here rather than through two attributes for every row.
        self._phone_columns = columns.phone_columns
        self._field_columns = columns.field_columns if fields else ()
        self._region = rules.region
        self._max_length = rules.max_field_length

    def check_all(self, records: list[Record]) -> list[Row]:
        """One call per batch (what a worker process runs)."""
        check = self.check
        return [check(record) for record in records]

    def check(self, record: Record) -> Row:
        cells = record.cells
        if not "".join(cells).strip():
            return self._reject(record, RejectReason.EMPTY_ROW, "the row has no values")
        if max(map(len, cells)) > self._max_length:  # not empty: the row has a value
            return self._reject(record, RejectReason.FIELD_TOO_LONG, self._over_long(cells))
        numbers, invalid = self._numbers(cells)
        if not numbers:
            return self._reject(record, RejectReason.NO_VALID_NUMBER, self._why_invalid(invalid))
        if len(numbers) > MAX_PHONE_NUMBERS:
            detail = f"{len(numbers)} numbers; a contact takes at most {MAX_PHONE_NUMBERS}"
            return self._reject(record, RejectReason.TOO_MANY_NUMBERS, detail)
        return AcceptedRow(record.line, numbers, self._fields(cells), len(invalid))

    def _over_long(self, cells: tuple[str, ...]) -> str:
        limit = self._rules.max_field_length
        index, cell = next((i, cell) for i, cell in enumerate(cells) if len(cell) > limit)
        return f"{self._column_name(index)}: {len(cell):,} characters, at most {limit:,}"

    def _numbers(self, cells: tuple[str, ...]) -> tuple[tuple[str, ...], list[str]]:
        numbers: dict[str, None] = {}  # ordered, and the same number twice in a row counts once
        invalid: list[str] = []
        region = self._region
        for index in self._phone_columns:
            if index >= len(cells):
                continue
            cell = cells[index]
            # The regex split costs more than the number's own bookkeeping: skip it for the
            # usual cell holding one number.
            pieces = _SEPARATORS.split(cell) if _has_separator(cell) else (cell,)
            for piece in pieces:
                text = piece.strip()
                if not text:
                    continue
                e164 = to_e164(text, region)
                if e164 is None:
                    invalid.append(text)
                else:
                    numbers[e164] = None
        return tuple(numbers), invalid

    def _why_invalid(self, invalid: list[str]) -> str:
        if not invalid:
            return "no phone number given"
        shown = ", ".join(f'"{text[:_SHOWN_CHARS]}"' for text in invalid[:3])
        return f"not a valid number for region {self._rules.region}: {shown}"

    def _fields(self, cells: tuple[str, ...]) -> dict[str, str]:
        fields = {}
        count = len(cells)
        for name, index in self._field_columns:  # a loop: a comprehension is a call more a row
            if index < count and (value := cells[index].strip()):
                fields[name] = value
        return fields

    def _column_name(self, index: int) -> str:
        header = self._columns.header
        name = header[index].strip() if index < len(header) else ""
        return f"column {name!r}" if name else f"column {index + 1}"

    def _reject(self, record: Record, reason: RejectReason, detail: str) -> RejectedRow:
        return RejectedRow(record.line, reason, detail, record.cells)


class DuplicateNumbers:
    """Rejects a row with a number an earlier accepted row has: sees the rows in file order."""

    def __init__(self) -> None:
        self._seen = SeenNumbers()

    def admit(self, record: Record, row: Row) -> Row:
        return self.admit_all([record], [row])[0]

    def admit_all(self, records: Sequence[Record], rows: list[Row]) -> list[Row]:
        """``records[i]`` is looked at only for a duplicate (a ``Batch`` is cut into cells
        only then)."""
        if len(records) != len(rows):
            raise ValueError(f"{len(records)} records but {len(rows)} rows")
        add_new = self._seen.add_new
        out: list[Row] = []
        for index, row in enumerate(rows):
            # The usual row, inlined: accepted, one number, not seen before.
            numbers = row.numbers if isinstance(row, AcceptedRow) else ()
            if len(numbers) == 1 and add_new(e164_key(numbers[0])):
                out.append(row)
                continue
            out.append(self._admitted(records, index, row))
        return out

    def admit_packed(
        self, records: Sequence[Record], keys: array[int], others: list[Row]
    ) -> list[Row]:
        """``admit_all`` for rows packed as ``commands.leads.parallel`` sends them: ``keys[i]``
        is row ``i``'s one number (an ``e164_key``), or ``NO_KEY`` when row ``i`` is the next
        of ``others``. The others and the duplicates, in file order; a duplicate's key becomes
        ``NO_KEY``."""
        if any(isinstance(row, AcceptedRow) for row in others):
            return self._admit_packed_in_turn(records, keys, others)
        duplicates = self._seen.add_all_new(keys)  # only the keyed rows have numbers
        if not duplicates:
            return others
        out: list[Row] = []
        rest = iter(others)
        for index in sorted(set(duplicates) | {i for i, key in enumerate(keys) if not key}):
            if keys[index] == NO_KEY:
                out.append(next(rest))
            else:
                out.append(self._duplicate(records[index], f"+{keys[index]}"))
                keys[index] = NO_KEY
        return out

    def _admit_packed_in_turn(
        self, records: Sequence[Record], keys: array[int], others: list[Row]
    ) -> list[Row]:
        """``admit_packed`` a row at a time: some other rows have numbers that the keyed rows
        after them must be checked against."""
        out: list[Row] = []
        rest = iter(others)
        for index, key in enumerate(keys):
            if key == NO_KEY:
                out.append(self._admitted(records, index, next(rest)))
            elif not self._seen.add_new(key):
                out.append(self._duplicate(records[index], f"+{key}"))
                keys[index] = NO_KEY
        return out

    def _admitted(self, records: Sequence[Record], index: int, row: Row) -> Row:
        if not isinstance(row, AcceptedRow):
            return row
        numbers = row.numbers
        if len(numbers) == 1:
            if self._seen.add_new(e164_key(numbers[0])):
                return row
            return self._duplicate(records[index], numbers[0])
        duplicate = next((n for n in numbers if e164_key(n) in self._seen), None)
        if duplicate is None:
            for number in numbers:
                self._seen.add(e164_key(number))
            return row
        return self._duplicate(records[index], duplicate)

    @staticmethod
    def _duplicate(record: Record, number: str) -> RejectedRow:
        detail = f"{number} is already on an earlier row"
        return RejectedRow(record.line, RejectReason.DUPLICATE_NUMBER, detail, record.cells)


class RowValidator:
    """Checks rows in file order; remembers the numbers of accepted rows to catch duplicates."""

    def __init__(self, columns: ColumnMap, rules: ValidationRules) -> None:
        self.checks = RowChecks(columns, rules)
        self.duplicates = DuplicateNumbers()

    def check(self, record: Record) -> Row:
        return self.duplicates.admit(record, self.checks.check(record))


def _has_separator(cell: str) -> bool:
    return "," in cell or ";" in cell or "|" in cell
