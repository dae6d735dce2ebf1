"""Taking numbers put on the do-not-call list off the live campaigns of a dialer.

A dialer that can delete a single contact has an adapter implementing
``dialer.base.ContactWithdrawer``; for the others ``withdraw_listed`` answers that it cannot,
with the reason the channel is shown. Where each reason comes from:

* LiveVox: the Campaign API appends records to a campaign but has no request that removes one
  (LiveVox.NET, ``LiveVox.NET/Models/Campaign/Requests``: append, create, deactivate, list, read,
  search, update, update state). LiveVox's own DNC list (``Models/Compliance/Requests/
  DncListManagement``) would block the number at dial time, but it is the dialer's list, which
  the bot does not manage.
* Genesys OCS: OCS cancels records and takes DoNotCall requests from an agent desktop
  (Outbound Contact Reference Manual, "Communication Protocols": "Canceling Records",
  "Submitting DoNotCall Requests"); how the HTTP API the adapter uses carries them is assumed
  unknown until checked against a real OCS, so the adapter does not send them.
* Enigma: Teleforge does not publish a contact-removal route (assumed: ``dialer.enigma.wire``
  has none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dialer.base import ContactWithdrawer, Dialer, NumberLookup
from dialer.models import Contact


@dataclass(frozen=True)
class Withdrawal:
    """What one campaign's dialer did with the numbers."""

    contacts: int = 0
    """Contacts that will not be dialled at those numbers any more."""
    supported: bool = True
    why_not: str = ""
    """Why the dialer cannot withdraw a contact, for the channel; empty when it can."""


CANNOT: dict[str, str] = {
    "livevox": "LiveVox's API cannot remove a single record from a campaign",
    "genesys": "the bot does not yet cancel single records on Genesys OCS",
    "enigma": "Enigma's API has no way to remove a single contact",
}
_UNKNOWN = "this dialer's API cannot remove a single contact"


def _withdrawer(dialer: object) -> ContactWithdrawer | None:
    """The adapter itself, or the one a wrapper keeps as ``inner`` (the metrics decorator)."""
    while not isinstance(dialer, ContactWithdrawer):
        dialer = getattr(dialer, "inner", None)
        if dialer is None:
            return None
    return dialer


async def withdraw_listed(dialer: Dialer, ref: str, listed: NumberLookup) -> Withdrawal:
    withdrawer = _withdrawer(dialer)
    if withdrawer is not None:
        return Withdrawal(await withdrawer.withdraw_listed(ref, listed))
    return Withdrawal(supported=False, why_not=CANNOT.get(dialer.name, _UNKNOWN))


async def without_listed(contacts: Sequence[Contact], listed: NumberLookup) -> list[Contact | None]:
    """Each contact without its listed numbers: the contact itself when none is listed, None
    when none is left. One lookup for them all."""
    numbers = [n for contact in contacts for n in contact.phone_numbers]
    if not numbers:
        return list(contacts)
    flags = iter(await listed.listed(numbers))
    out: list[Contact | None] = []
    for contact in contacts:
        allowed = tuple(n for n in contact.phone_numbers if not next(flags))
        if allowed == contact.phone_numbers:
            out.append(contact)
        else:
            out.append(contact.model_copy(update={"phone_numbers": allowed}) if allowed else None)
    return out
