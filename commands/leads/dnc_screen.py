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

from array import array
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import replace

from commands.leads.reader import Record
from commands.leads.validation import NO_KEY, AcceptedRow, RejectedRow, RejectReason, Row
from dialer.base import NumberLookup
from dialer.models import Contact
from dialer.withdrawal import without_listed

BATCH_NUMBERS = 5_000
"""Numbers looked up in one round trip: big enough that a million leads take a few hundred
trips, small enough that the rows held meanwhile stay a few MB."""
_SHOWN = 3
_REJECTED = RejectReason.ON_DO_NOT_CALL_LIST

Checked = tuple[tuple[str, ...], Row]
Tallied = tuple[Sequence[Record], "array[int] | None", list[Row]]
"""A checked batch as a report takes it (``DoNotCallScreen.batches``)."""


class DoNotCallScreen:
    """Screens one pass over a file; counts what it left out, for the report."""

    def __init__(self, dnc: NumberLookup, *, batch_numbers: int = BATCH_NUMBERS) -> None:
        self._dnc = dnc
        self.batch_numbers = batch_numbers
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
            if numbers >= self.batch_numbers:
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

    async def batches(self, held: list[Tallied]) -> list[tuple[int, list[Row]]]:
        """Checked batches for a report, in one lookup: each is its records, then ``keys[i]``,
        the number of row ``i`` when it is a usual row that is only counted (``NO_KEY`` for the
        others, which are its ``rows`` in order), or no keys when ``rows`` are every row. For
        each, how many usual rows are still counted, and the other rows, the listed usual ones
        among them, in file order."""
        wanted = [_numbers(keys, rows) for _, keys, rows in held]
        flags = iter(await self._dnc.listed([n for numbers in wanted for n in numbers]))
        return [
            self._screened(records, keys, rows, [next(flags) for _ in numbers])
            for (records, keys, rows), numbers in zip(held, wanted, strict=True)
        ]

    def _screened(
        self,
        records: Sequence[Record],
        keys: array[int] | None,
        rows: list[Row],
        flags: list[bool],
    ) -> tuple[int, list[Row]]:
        usual, others = _counted_and_others(keys, len(records))
        placed: list[tuple[int, Row]] = []
        for i, is_listed in zip(usual, flags, strict=False):
            if is_listed:
                line, cells = records[i]
                number = _number(keys, i)
                placed.append((i, RejectedRow(line, _REJECTED, _detail([number]), cells)))
        still_counted = len(usual) - len(placed)
        rest = iter(flags[len(usual) :])
        for i, row in zip(others, rows, strict=True):
            if isinstance(row, AcceptedRow):
                listed = [n for n in row.numbers if next(rest)]
                if listed:
                    row = self._without(row, records[i].cells, listed)
            placed.append((i, row))
        placed.sort(key=lambda item: item[0])
        return still_counted, [row for _, row in placed]

    def _without(self, row: AcceptedRow, cells: tuple[str, ...], listed: list[str]) -> Row:
        kept = tuple(n for n in row.numbers if n not in listed)
        if kept:
            self.numbers_left_out += len(listed)
            return replace(row, numbers=kept)
        return RejectedRow(row.line, _REJECTED, _detail(listed), cells)


def _counted_and_others(keys: array[int] | None, rows: int) -> tuple[list[int], Sequence[int]]:
    """The positions of a batch's counted rows, and of its other rows."""
    if keys is None:
        return [], range(rows)
    counted = [i for i, key in enumerate(keys) if key != NO_KEY]
    return counted, [i for i, key in enumerate(keys) if key == NO_KEY]


def _number(keys: array[int] | None, i: int) -> str:
    assert keys is not None  # only counted rows have one
    return f"+{keys[i]}"


def _numbers(keys: array[int] | None, rows: list[Row]) -> list[str]:
    """A batch's numbers to look up: its counted rows', then its other accepted rows'."""
    counted = [] if keys is None else [f"+{key}" for key in keys if key != NO_KEY]
    return counted + [n for row in rows if isinstance(row, AcceptedRow) for n in row.numbers]


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
