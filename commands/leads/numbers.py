"""A phone number as text -> its E.164 form if it is valid, exactly as ``phonenumbers`` decides.

``to_e164`` gives what ``parse`` + ``is_valid_number`` + ``format_number(E164)`` give, with less
of the work repeated (``tests/test_leads_numbers.py`` compares the two over many numbers of
many regions):

- a number already in strict E.164 (``+`` and digits) is taken apart here instead of going
  through ``parse``'s lenient search for a number in free text; anything unusual about it
  (an unknown country code, a doubtful length) still goes through ``parse``;
- ``is_valid_number`` classifies a number of a shared country code (``+1``, ``+7``, ``+44``…)
  twice: once to find its region, once more to validate it for that region. The first
  classification already says the number is valid;
- the E.164 text is the country code and the national significant number, which is all
  ``format_number(E164)`` joins for a number that is valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber, phonenumberutil

_STRICT_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
"""What the fast path takes: ``+`` and 7 to 15 ASCII digits, nothing else."""
_NOT_TAKEN = (
    phonenumberutil.ValidationResult.TOO_SHORT,
    phonenumberutil.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    phonenumberutil.ValidationResult.INVALID_LENGTH,
)
"""``parse`` keeps a national prefix it found when stripping it would leave one of these."""
_MIN_NSN, _MAX_NSN = 2, 17  # phonenumbers' _MIN_LENGTH_FOR_NSN and _MAX_LENGTH_FOR_NSN
_UNKNOWN = phonenumbers.PhoneNumberType.UNKNOWN


@dataclass(frozen=True)
class _Region:
    code: str
    metadata: PhoneMetadata | None
    leading_digits: re.Pattern[str] | None


@dataclass(frozen=True)
class _Country:
    """What a country calling code's numbers need, looked up once per code."""

    metadata: PhoneMetadata
    """The main region's, which ``parse`` strips a national prefix with."""
    regions: tuple[_Region, ...]


@cache
def _country(code: int) -> _Country | None:
    regions = phonenumberutil.COUNTRY_CODE_TO_REGION_CODE.get(code)
    if regions is None:
        return None
    main = phonenumberutil.region_code_for_country_code(code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, main)
    if metadata is None:
        return None
    found = []
    for region in regions:
        data = PhoneMetadata.metadata_for_region(region.upper(), None)
        digits = None if data is None else data.leading_digits
        found.append(_Region(region, data, None if digits is None else re.compile(digits)))
    return _Country(metadata, tuple(found))


def to_e164(text: str, region: str) -> str | None:
    """``text``'s E.164 form if it is a valid number (read in ``region`` unless it has a
    country code), else None."""
    parsed = _strict_e164(text) if text[:1] == "+" else None
    if parsed is None:
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            return None
    nsn = phonenumbers.national_significant_number(parsed)
    if parsed.national_number == 0 or not _is_valid(parsed, nsn):
        return None  # (a zero national number is formatted from its raw input: never valid)
    return f"+{parsed.country_code}{nsn}"


def _strict_e164(text: str) -> PhoneNumber | None:
    """``parse(text)`` for ``+`` and digits, by the same steps; None: leave it to ``parse``."""
    if _STRICT_E164.fullmatch(text) is None:
        return None
    for length in (1, 2, 3):  # a country code is the shortest prefix that is one
        code = int(text[1 : 1 + length])
        if code in phonenumberutil.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    country = _country(code)
    if country is None:
        return None
    national = text[1 + length :]
    if len(national) < _MIN_NSN:
        return None
    metadata = country.metadata
    _, stripped, _ = phonenumberutil._maybe_strip_national_prefix_carrier_code(national, metadata)
    if phonenumberutil._test_number_length(stripped, metadata) not in _NOT_TAKEN:
        national = stripped
    if not _MIN_NSN <= len(national) <= _MAX_NSN:
        return None
    parsed = PhoneNumber(country_code=code, national_number=int(national))
    phonenumberutil._set_italian_leading_zeros_for_phone_number(national, parsed)
    return parsed


def _is_valid(parsed: PhoneNumber, nsn: str) -> bool:
    """``is_valid_number``: the region the number belongs to, then valid for it."""
    code = parsed.country_code
    country = None if code is None else _country(code)
    if country is None:
        return phonenumbers.is_valid_number(parsed)
    if len(country.regions) == 1:
        return phonenumbers.is_valid_number_for_region(parsed, country.regions[0].code)
    for region in country.regions:
        if region.metadata is None:
            continue
        if region.leading_digits is not None:
            if region.leading_digits.match(nsn):
                return phonenumbers.is_valid_number_for_region(parsed, region.code)
        elif phonenumberutil._number_type_helper(nsn, region.metadata) != _UNKNOWN:
            # What placed the number in this region is what validating it for the region
            # checks again.
            return True
    return False
