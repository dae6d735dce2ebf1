"""Reading an outdial target's numbers, and the body that makes it again without some of them.

A target holds up to five destinations (``destination_0`` … ``destination_4``, each
``{"type": "tel", "target": "+1…"}``; bin-outdial-manager/models/outdialtarget). VoIPBIN has no
call that edits a target's destinations, so withdrawing one number of several is a delete and
a new target with the others, under the same name (the contact ref).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from dialer.base import NumberLookup
from dialer.voipbin.mapping import MAX_DESTINATIONS, empty_address, tel_address

IDLE = "idle"
"""Not being dialled now (``outdialtarget.StatusIdle``); the only status remade after a
withdrawal, so a target in a call or done is never dialled again."""


def numbers_of(target: dict[str, Any]) -> tuple[str, ...]:
    numbers: list[str] = []
    for index in range(MAX_DESTINATIONS):
        destination = target.get(f"destination_{index}") or {}
        number = destination.get("target") if destination.get("type") == "tel" else None
        if number:
            numbers.append(str(number))
    return tuple(numbers)


async def listed_in(
    targets: Sequence[dict[str, Any]], listed: NumberLookup
) -> list[tuple[dict[str, Any], frozenset[str]]]:
    """The targets holding a listed number, each with those numbers; one lookup for all."""
    numbers = [n for target in targets for n in numbers_of(target)]
    if not numbers:
        return []
    flags = iter(await listed.listed(numbers))
    hits: list[tuple[dict[str, Any], frozenset[str]]] = []
    for target in targets:
        on = frozenset(n for n in numbers_of(target) if next(flags))
        if on:
            hits.append((target, on))
    return hits


def without_numbers(target: dict[str, Any], numbers: Collection[str]) -> dict[str, Any] | None:
    """The POST body of the same target without ``numbers``; None when none would be left or the
    target is not idle."""
    kept = [n for n in numbers_of(target) if n not in numbers]
    if not kept or target.get("status") != IDLE:
        return None
    body: dict[str, Any] = {key: target[key] for key in ("name", "detail", "data")}
    for index in range(MAX_DESTINATIONS):
        number = kept[index] if index < len(kept) else None
        body[f"destination_{index}"] = tel_address(number) if number else empty_address()
    return body
