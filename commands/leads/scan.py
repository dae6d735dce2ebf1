"""The two passes over a leads file.

``validate_leads`` reads it once to count and explain (nothing is sent anywhere);
``accepted_contacts`` reads it again, with the same rules, to number and upload the good rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import TextIO

from commands.leads.columns import ColumnMap, map_columns
from commands.leads.dnc_screen import Checked, DoNotCallLookup, DoNotCallScreen
from commands.leads.errors import TooManyRows, UnreadableCsv
from commands.leads.reader import CsvReader
from commands.leads.refs import contact_ref
from commands.leads.rejects import RejectedRowsWriter
from commands.leads.settings import LeadsSettings
from commands.leads.source import LeadSource
from commands.leads.validation import (
    AcceptedRow,
    RejectedRow,
    RejectReason,
    RowValidator,
    ValidationRules,
)
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
    """One pass: every data row of the file, checked, in file order."""

    def __init__(
        self,
        chunks: AsyncGenerator[bytes, None],
        rules: ValidationRules,
        screen: DoNotCallScreen | None = None,
    ) -> None:
        self.reader = CsvReader(chunks, max_bytes=rules.max_bytes)
        self.rules = rules
        self.screen = screen
        self.columns: ColumnMap | None = None  # known once the first row is out

    async def rows(self) -> AsyncGenerator[AcceptedRow | RejectedRow, None]:
        async with aclosing(self._checked()) as checked:
            if self.screen is None:
                async for _, row in checked:
                    yield row
                return
            async with aclosing(self.screen.rows(checked)) as screened:
                async for row in screened:
                    yield row

    async def _checked(self) -> AsyncGenerator[Checked, None]:
        async with aclosing(self.reader.records()) as records:
            header = await anext(records, None)
            if header is None:
                raise UnreadableCsv("The file is empty.")
            self.columns = map_columns(header.cells)
            validator = RowValidator(self.columns, self.rules)
            count = 0
            async for record in records:
                count += 1
                if count > self.rules.max_rows:
                    raise TooManyRows(
                        f"The file has more than {self.rules.max_rows:,} rows, the most one "
                        "upload takes. Split it into smaller files, one campaign each."
                    )
                yield record.cells, validator.check(record)
        if count == 0:
            raise UnreadableCsv("The file has a header line but no rows of leads.")


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
    dnc: DoNotCallLookup | None = None,
) -> ValidationReport:
    """Read the whole file once; write each rejected row to ``rejected_out`` as CSV. With
    ``dnc``, numbers on the do-not-call list are left out after each row is checked."""
    rules = rules_from(settings)
    screen = None if dnc is None else DoNotCallScreen(dnc)
    scan = LeadsScan(source.chunks(), rules, screen)
    rejected: Counter[RejectReason] = Counter()
    accepted = invalid_numbers = 0
    examples: list[RejectedRow] = []
    writer: RejectedRowsWriter | None = None
    async with aclosing(scan.rows()) as rows:
        async for row in rows:
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
