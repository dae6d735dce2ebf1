"""A compact set of E.164 numbers for duplicate detection across a whole file.

A Python ``set`` of 1M ints costs about 60-100 MB (a 32-byte int object plus a 16-byte slot,
at least doubled by the set's spare room). An E.164 number fits in 63 bits, so this keeps the
numbers themselves in an open-addressing ``array('q')``: 8 bytes a slot, at most half full,
so 16-32 bytes a number.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

_EMPTY = 0  # no E.164 number is 0: the country code never starts with 0
_GOLDEN = 0x9E3779B97F4A7C15
"""A key's slot is bits 20 and up of ``key * _GOLDEN`` (Fibonacci hashing): the same slot as
from the product's low 64 bits while a table has fewer than 2**44 slots, one operation less."""


def e164_key(e164: str) -> int:
    """``"+14155550100"`` -> ``14155550100``: unique, as E.164 has no leading zero."""
    return int(e164[1:])


class SeenNumbers:
    def __init__(self, capacity: int = 1024) -> None:
        size = 1
        while size < capacity * 2:
            size *= 2
        self._slots = array("q", [_EMPTY]) * size
        self._used = 0

    def __len__(self) -> int:
        return self._used

    def __contains__(self, key: int) -> bool:
        return self._slots[self._find(key)] == key

    def add(self, key: int) -> None:
        self.add_new(key)

    def add_new(self, key: int) -> bool:
        """Add ``key``; False if it was already there (one probe for "seen?" and "remember")."""
        # _find, inlined: this runs once for nearly every row of a leads file.
        slots = self._slots
        mask = len(slots) - 1
        index = (key * _GOLDEN >> 20) & mask
        while (found := slots[index]) != _EMPTY:
            if found == key:
                return False
            index = (index + 1) & mask
        slots[index] = key
        self._used += 1
        if self._used * 2 > len(slots):
            self._grow()
        return True

    def add_all_new(self, keys: Iterable[int]) -> list[int]:
        """``add_new`` for each key in turn, but 0 (skipped); the positions of those that were
        already there. One call for a batch: a leads file's rows are nearly all new numbers."""
        slots = self._slots
        mask = len(slots) - 1
        used = self._used
        room = len(slots) // 2  # most keys before it must grow
        seen: list[int] = []
        for position, key in enumerate(keys):
            if key == _EMPTY:
                continue
            # add_new, inlined, and the count kept here rather than in an attribute
            index = (key * _GOLDEN >> 20) & mask
            while (found := slots[index]) != _EMPTY:
                if found == key:
                    seen.append(position)
                    break
                index = (index + 1) & mask
            else:
                slots[index] = key
                used += 1
                if used > room:
                    self._used = used
                    self._grow()
                    slots = self._slots
                    mask = len(slots) - 1
                    room = len(slots) // 2
        self._used = used
        return seen

    def _find(self, key: int) -> int:
        """The slot holding ``key``, or the empty slot where it would go (linear probing)."""
        mask = len(self._slots) - 1
        index = (key * _GOLDEN >> 20) & mask
        slots = self._slots
        while slots[index] not in (key, _EMPTY):
            index = (index + 1) & mask
        return index

    def _grow(self) -> None:
        old = self._slots
        slots = self._slots = array("q", [_EMPTY]) * (2 * len(old))
        mask = len(slots) - 1
        # _find, inlined: every key moves, and the keys are all different (filter skips the
        # empty slots, half of them, without a step of this loop each)
        for key in filter(None, old):
            index = (key * _GOLDEN >> 20) & mask
            while slots[index] != _EMPTY:
                index = (index + 1) & mask
            slots[index] = key
