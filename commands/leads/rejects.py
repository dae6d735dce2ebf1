"""The CSV of rejected rows a team lead downloads, fixes and uploads again."""

from __future__ import annotations

import csv
from typing import TextIO

from commands.leads.validation import RejectedRow

# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets
# (OWASP "CSV injection"); a leading apostrophe makes it plain text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: str) -> str:
    return f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell


class RejectedRowsWriter:
    """Writes ``line, reason, detail`` and then the row as it was in the file."""

    def __init__(self, out: TextIO, header: tuple[str, ...]) -> None:
        self._writer = csv.writer(out)
        self._writer.writerow(["line", "reason", "detail", *map(inert, header)])

    def write(self, row: RejectedRow) -> None:
        self._writer.writerow(
            [str(row.line), row.reason.label, inert(row.detail), *map(inert, row.cells)]
        )
