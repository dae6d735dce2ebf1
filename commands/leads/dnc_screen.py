"""The do-not-call stage: after each row's numbers are valid, drop the numbers on the list.

A row whose every number is listed is rejected ("on the do-not-call list"); a row with other
numbers keeps them. Rows are checked in batches of about ``BATCH_NUMBERS`` numbers, one pipelined
lookup each (``state.dnc.DoNotCallList.listed``), and come out in file order.

The upload pass screens each batch of contacts again just before it goes to the dialer
(``screen_contacts``): a number listed after the file was checked is still never sent, and a
contact's number ``n`` never depends on the list, so an interrupted upload resumes on the same
batches whatever was listed meanwhile.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import replace

from commands.leads.validation import AcceptedRow, RejectedRow, RejectReason, Row
from dialer.base import NumberLookup
from dialer.models import Contact
from dialer.withdrawal import without_listed

BATCH_NUMBERS = 5_000
"""Numbers looked up in one round trip: big enough that a million leads take a few hundred
trips, small enough that the rows held meanwhile stay a few MB."""
_SHOWN = 3

Checked = tuple[tuple[str, ...], Row]


class DoNotCallScreen:
    """Screens one pass over a file; counts what it left out, for the report."""

    def __init__(self, dnc: NumberLookup, *, batch_numbers: int = BATCH_NUMBERS) -> None:
        self._dnc = dnc
        self._batch_numbers = batch_numbers
        self.numbers_left_out = 0
        """Listed numbers dropped from rows that kept other numbers."""

    async def rows(self, checked: AsyncIterator[Checked]) -> AsyncGenerator[Row, None]:
        """``checked``: each row with its cells as read (a rejected row is reported whole)."""
        held: list[Checked] = []
        numbers = 0
        async for cells, row in checked:
            held.append((cells, row))
            if isinstance(row, AcceptedRow):
                numbers += len(row.numbers)
            if numbers >= self._batch_numbers:
                for screened in await self._screen(held):
                    yield screened
                held, numbers = [], 0
        for screened in await self._screen(held):
            yield screened

    async def _screen(self, held: list[Checked]) -> list[Row]:
        numbers = [n for _, row in held if isinstance(row, AcceptedRow) for n in row.numbers]
        if not numbers:
            return [row for _, row in held]
        flags = iter(await self._dnc.listed(numbers))
        out: list[Row] = []
        for cells, row in held:
            if not isinstance(row, AcceptedRow):
                out.append(row)
                continue
            listed = [n for n in row.numbers if next(flags)]
            out.append(self._without(row, cells, listed) if listed else row)
        return out

    def _without(self, row: AcceptedRow, cells: tuple[str, ...], listed: list[str]) -> Row:
        kept = tuple(n for n in row.numbers if n not in listed)
        if kept:
            self.numbers_left_out += len(listed)
            return replace(row, numbers=kept)
        return RejectedRow(row.line, RejectReason.ON_DO_NOT_CALL_LIST, _detail(listed), cells)


def _detail(listed: list[str]) -> str:
    shown = ", ".join(listed[:_SHOWN])
    if len(listed) > _SHOWN:
        shown += f" and {len(listed) - _SHOWN} more"
    return f"{shown} {'is' if len(listed) == 1 else 'are'} on the do-not-call list"


async def screen_contacts(
    contacts: Sequence[Contact], dnc: NumberLookup
) -> tuple[list[Contact], int]:
    """The contacts without their listed numbers (a contact left with none is dropped), and
    how many contacts were dropped."""
    kept = [c for c in await without_listed(contacts, dnc) if c is not None]
    return kept, len(contacts) - len(kept)
