"""The two passes over a leads file.

``validate_leads`` reads it once to count and explain (nothing is sent anywhere);
``accepted_contacts`` reads it again, with the same rules, to number and upload the good rows.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import TextIO

from commands.leads.columns import ColumnMap, map_columns
from commands.leads.dnc_screen import Checked, DoNotCallScreen, Tallied
from commands.leads.errors import TooManyRows, UnreadableCsv
from commands.leads.parallel import Joined, Packed, checked_in_workers, usable_cores
from commands.leads.reader import Batch, CsvReader, Record
from commands.leads.refs import contact_ref
from commands.leads.rejects import RejectedRowsWriter
from commands.leads.settings import LeadsSettings
from commands.leads.source import LeadSource
from commands.leads.validation import (
    NO_KEY,
    AcceptedRow,
    DuplicateNumbers,
    RejectedRow,
    RejectReason,
    Row,
    RowChecks,
    ValidationRules,
)
from dialer.base import NumberLookup
from dialer.models import Contact

MAX_EXAMPLES = 10
"""Rejected rows kept in the report to show in Slack; all of them go to the rejected CSV."""


def rules_from(settings: LeadsSettings) -> ValidationRules:
    return ValidationRules(
        region=settings.default_region,
        max_field_length=settings.max_field_length,
        max_rows=settings.max_rows,
        max_bytes=settings.max_file_bytes,
    )


class LeadsScan:
    """One pass: every data row of the file, checked, in file order.

    With ``workers`` > 1, rows past the first ``parallel_from_rows`` are checked in that many
    worker processes (``commands.leads.parallel``); a small file is done before they would
    have started. Without ``fields``, accepted rows come without their fields (a report does
    not show them), which is less to send back from the workers.
    """

    def __init__(
        self,
        chunks: AsyncGenerator[bytes, None],
        rules: ValidationRules,
        screen: DoNotCallScreen | None = None,
        *,
        workers: int = 1,
        parallel_from_rows: int = 0,
        fields: bool = True,
    ) -> None:
        self.reader = CsvReader(chunks, max_bytes=rules.max_bytes)
        self.rules = rules
        self.screen = screen
        self.workers = workers
        self.parallel_from_rows = parallel_from_rows
        self.fields = fields
        self.columns: ColumnMap | None = None  # known once the first row is out

    async def rows(self) -> AsyncGenerator[Row, None]:
        async with aclosing(self.batches()) as batches:
            async for batch in batches:
                for row in batch:
                    yield row

    async def batches(self) -> AsyncGenerator[list[Row], None]:
        """The rows a batch of records at a time (a row at a time through the do-not-call
        screen), never an empty list."""
        async with aclosing(self._checked(packed=False)) as checked:
            if self.screen is None:
                async for _, _, rows in checked:
                    yield rows
                return
            async with aclosing(self.screen.rows(_each_row(checked))) as screened:
                async for row in screened:
                    yield [row]

    async def tallies(self) -> AsyncGenerator[tuple[int, list[Row]], None]:
        """``batches`` for a report: the usual rows (accepted, one number, no fields, nothing
        left out) checked in workers are only counted, and the others come in file order. The
        do-not-call screen looks the counted rows' numbers up too, and rejects the listed ones."""
        screen = self.screen
        held: list[Tallied] = []
        numbers = 0
        async with aclosing(self._checked(packed=True)) as checked:
            async for records, keys, rows in checked:
                if screen is None:
                    yield (0 if keys is None else len(keys) - keys.count(NO_KEY)), rows
                    continue
                held.append((records, keys, rows))
                numbers += len(records)  # (about: a row has one number, rarely more)
                if numbers >= screen.batch_numbers:
                    for tallied in await screen.batches(held):
                        yield tallied
                    held, numbers = [], 0
        if screen is not None and held:
            for tallied in await screen.batches(held):
                yield tallied

    async def _checked(
        self, *, packed: bool
    ) -> AsyncGenerator[tuple[Sequence[Record], array[int] | None, list[Row]], None]:
        """Each batch's records, then (packed, from workers) the keys of its usual rows, which
        are only counted (``NO_KEY`` for the others), and its other rows; without keys, every
        row."""
        duplicates = DuplicateNumbers()
        async with (
            aclosing(self._data()) as data,
            aclosing(self._checked_anywhere(data)) as checked,
        ):
            async for records, rows in checked:
                if isinstance(rows, list):
                    yield records, None, duplicates.admit_all(records, rows)
                elif packed:
                    others = duplicates.admit_packed(records, rows.keys, rows.others)
                    yield records, rows.keys, others
                else:
                    assert isinstance(records, Joined)
                    yield records, None, duplicates.admit_all(records, rows.rows(records.lines))

    async def _checked_anywhere(
        self, data: AsyncGenerator[Batch, None]
    ) -> AsyncGenerator[tuple[Sequence[Record], list[Row] | Packed], None]:
        """Every check but duplicates: here, then (a big file) in worker processes."""
        checks: RowChecks | None = None
        done_here = 0
        async for batch in data:
            assert self.columns is not None  # _data sets them before its first batch
            checks = checks or RowChecks(self.columns, self.rules, fields=self.fields)
            if self.workers > 1 and done_here >= self.parallel_from_rows:
                rest = checked_in_workers(_starting_with(batch, data), checks, self.workers)
                async with aclosing(rest):
                    async for checked in rest:
                        yield checked
                return
            done_here += len(batch)
            yield batch, checks.check_all(batch.records)

    async def _data(self) -> AsyncGenerator[Batch, None]:
        """The records after the header, a chunk at a time, not yet cut into cells but the
        first batch's; ``columns`` is set before the first."""
        count = 0
        async with aclosing(self.reader.piece_batches()) as pieces:
            async for batch in pieces:
                if self.columns is None:
                    records = self.reader.parse(batch)
                    self.columns = map_columns(records[0].cells)
                    data = Batch(batch[1:], self.reader.delimiter, records[1:])
                    if not data:
                        continue
                else:
                    data = Batch(batch, self.reader.delimiter)
                count += len(data)
                if count > self.rules.max_rows:
                    _ = data.records  # a row that cannot be read is told first, as here
                    raise TooManyRows(
                        f"The file has more than {self.rules.max_rows:,} rows, the most one "
                        "upload takes. Split it into smaller files, one campaign each."
                    )
                yield data
        if self.columns is None:
            raise UnreadableCsv("The file is empty.")
        if count == 0:
            raise UnreadableCsv("The file has a header line but no rows of leads.")


async def _each_row(
    checked: AsyncIterator[tuple[Sequence[Record], array[int] | None, list[Row]]],
) -> AsyncGenerator[Checked, None]:
    async for records, _, rows in checked:
        for record, row in zip(records, rows, strict=True):
            yield record.cells, row


async def _starting_with(first: Batch, rest: AsyncIterator[Batch]) -> AsyncGenerator[Batch, None]:
    yield first
    async for batch in rest:
        yield batch


@dataclass(frozen=True)
class ValidationReport:
    source_id: str
    rules: ValidationRules
    encoding: str
    encoding_note: str | None
    delimiter: str
    phone_columns: tuple[str, ...]
    field_columns: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    rows: int
    accepted: int
    rejected: dict[RejectReason, int]
    invalid_numbers_left_out: int
    examples: tuple[RejectedRow, ...]
    dnc_numbers_left_out: int = 0
    """Numbers on the do-not-call list dropped from rows that kept other numbers."""

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def numbered(self) -> int:
        """Contacts the upload numbers: the accepted rows and those only the do-not-call list
        rejected, so a contact's number never depends on the list (they are screened again
        before they are sent; ``commands.leads.dnc_screen``)."""
        return self.accepted + self.rejected.get(RejectReason.ON_DO_NOT_CALL_LIST, 0)

    @property
    def can_upload(self) -> bool:
        return self.accepted > 0

    @property
    def needs_confirmation(self) -> bool:
        """Some rows were rejected: ask before uploading the good ones."""
        return self.can_upload and self.rejected_total > 0


async def validate_leads(
    source: LeadSource,
    settings: LeadsSettings,
    *,
    rejected_out: TextIO | None = None,
    dnc: NumberLookup | None = None,
) -> ValidationReport:
    """Read the whole file once; write each rejected row to ``rejected_out`` as CSV. With
    ``dnc``, numbers on the do-not-call list are left out after each row is checked."""
    rules = rules_from(settings)
    screen = None if dnc is None else DoNotCallScreen(dnc)
    scan = LeadsScan(
        source.chunks(),
        rules,
        screen,
        workers=settings.validation_processes or usable_cores(),
        parallel_from_rows=settings.parallel_from_rows,
        fields=False,
    )
    rejected: Counter[RejectReason] = Counter()
    accepted = invalid_numbers = 0
    examples: list[RejectedRow] = []
    writer: RejectedRowsWriter | None = None
    async with aclosing(scan.tallies()) as batches:
        async for usual, batch in batches:
            accepted += usual
            for row in batch:
                if isinstance(row, AcceptedRow):
                    accepted += 1
                    invalid_numbers += row.invalid_numbers
                    continue
                rejected[row.reason] += 1
                if len(examples) < MAX_EXAMPLES:
                    examples.append(row)
                if rejected_out is not None and scan.columns is not None:
                    writer = writer or RejectedRowsWriter(rejected_out, scan.columns.header)
                    writer.write(row)
    assert scan.columns is not None  # rows() raises before yielding nothing
    return ValidationReport(
        source_id=source.source_id,
        rules=rules,
        encoding=scan.reader.encoding,
        encoding_note=scan.reader.encoding_note,
        delimiter=scan.reader.delimiter,
        phone_columns=scan.columns.phone_headers,
        field_columns=tuple(name for name, _ in scan.columns.field_columns),
        ignored_columns=scan.columns.ignored,
        rows=accepted + rejected.total(),
        accepted=accepted,
        rejected=dict(rejected),
        invalid_numbers_left_out=invalid_numbers,
        examples=tuple(examples),
        dnc_numbers_left_out=0 if screen is None else screen.numbers_left_out,
    )


async def accepted_contacts(
    source: LeadSource, campaign_ref: str, rules: ValidationRules
) -> AsyncGenerator[Contact, None]:
    """The accepted rows as contacts ``<campaign_ref>-1``, ``-2``…, the same on every pass."""
    n = 0
    async with aclosing(LeadsScan(source.chunks(), rules).rows()) as rows:
        async for row in rows:
            if isinstance(row, AcceptedRow):
                n += 1
                yield Contact(
                    ref=contact_ref(campaign_ref, n), phone_numbers=row.numbers, fields=row.fields
                )
