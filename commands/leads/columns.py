"""Which header column holds what: phone numbers, and the few fields dialers show on screen."""

from __future__ import annotations

import re
from dataclasses import dataclass

from commands.leads.errors import NoPhoneColumn

_PHONE = re.compile(
    r"^(?:phone|phonenumber|phoneno|number|mobile|mobilephone|mobilenumber|cell|cellphone"
    r"|cellular|telephone|telephonenumber|tel|homephone|workphone|msisdn)\d{0,2}$"
)
FIELD_ALIASES: dict[str, str] = {
    "name": "name",
    "fullname": "name",
    "contactname": "name",
    "firstname": "first_name",
    "first": "first_name",
    "givenname": "first_name",
    "forename": "first_name",
    "lastname": "last_name",
    "last": "last_name",
    "surname": "last_name",
    "familyname": "last_name",
    "account": "account",
    "accountnumber": "account",
    "accountno": "account",
    "accountid": "account",
    "acct": "account",
    "email": "email",
    "emailaddress": "email",
    "mail": "email",
}
"""Normalised header name -> the field name every adapter receives in ``Contact.fields``."""


@dataclass(frozen=True)
class ColumnMap:
    header: tuple[str, ...]
    phone_columns: tuple[int, ...]
    field_columns: tuple[tuple[str, int], ...]
    ignored: tuple[str, ...]

    @property
    def phone_headers(self) -> tuple[str, ...]:
        return tuple(self.header[i] for i in self.phone_columns)


def normalise_header(text: str) -> str:
    """``" Phone #2"`` -> ``"phone2"``, ``"E-mail"`` -> ``"email"``."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def map_columns(header: tuple[str, ...]) -> ColumnMap:
    phones: list[int] = []
    fields: dict[str, int] = {}
    ignored: list[str] = []
    for index, raw in enumerate(header):
        name = normalise_header(raw)
        field = FIELD_ALIASES.get(name)
        if _PHONE.match(name):
            phones.append(index)
        elif field is not None and field not in fields:
            fields[field] = index
        elif raw.strip():
            ignored.append(raw.strip())
    if not phones:
        shown = ", ".join(h.strip() for h in header if h.strip())[:200] or "(none)"
        raise NoPhoneColumn(
            f"No column holds phone numbers. Name one `phone` (or phone1…phone30, mobile, "
            f"number, cell, telephone). The columns found were: {shown}"
        )
    return ColumnMap(header, tuple(phones), tuple(fields.items()), tuple(ignored))
