"""Contact references: ``<campaign ref>-<n>``, n = 1, 2, … in the order rows were accepted.

The campaign ref is never reused, so the contact refs are globally unique. The character set and
length are the strictest any dialer accepts (Enigma: letters, digits, ``.-_~:``, 230 characters).
"""

from __future__ import annotations

import re

MAX_CONTACT_REF_LENGTH = 230
_SAFE = re.compile(r"^[A-Za-z0-9.\-_~:]+$")


def contact_ref(campaign_ref: str, n: int) -> str:
    if n < 1:
        raise ValueError(f"contacts are numbered from 1, not {n}")
    if not _SAFE.match(campaign_ref):
        raise ValueError(f"campaign ref {campaign_ref!r} has characters a dialer may refuse")
    ref = f"{campaign_ref}-{n}"
    if len(ref) > MAX_CONTACT_REF_LENGTH:
        raise ValueError(f"contact ref {ref[:40]}… is longer than {MAX_CONTACT_REF_LENGTH}")
    return ref


def contact_number(campaign_ref: str, ref: str) -> int | None:
    """The ``n`` of a contact ref of this campaign, or None if it belongs to another."""
    prefix = f"{campaign_ref}-"
    if not ref.startswith(prefix):
        return None
    tail = ref[len(prefix) :]
    return int(tail) if tail.isdigit() and not tail.startswith("0") else None
