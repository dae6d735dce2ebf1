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
from phonenumbers import PhoneMetadata, PhoneNumber, PhoneNumberDesc, phonenumberutil

_STRICT_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
"""What the fast path takes: ``+`` and 7 to 15 ASCII digits, nothing else."""
_NOT_TAKEN = (
    phonenumberutil.ValidationResult.TOO_SHORT,
    phonenumberutil.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    phonenumberutil.ValidationResult.INVALID_LENGTH,
)
"""``parse`` keeps a national prefix it found when stripping it would leave one of these."""
_MIN_NSN, _MAX_NSN = 2, 17  # phonenumbers' _MIN_LENGTH_FOR_NSN and _MAX_LENGTH_FOR_NSN
_PARSE_STEPS = (
    "_maybe_strip_national_prefix_carrier_code",
    "_test_number_length",
    "_set_italian_leading_zeros_for_phone_number",
)
_STEPS_FOUND = all(hasattr(phonenumberutil, step) for step in _PARSE_STEPS)
"""The fast path takes E.164 apart with ``parse``'s own internal steps; a phonenumbers release
without them leaves every number to ``parse`` (slower, never different)."""


@dataclass(frozen=True)
class _Desc:
    """A ``PhoneNumberDesc`` compiled once: a number matches it if its length is one of
    ``lengths`` (any, when empty) and all of it matches ``pattern``."""

    lengths: frozenset[int]
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, desc: PhoneNumberDesc | None) -> _Desc | None:
        """None for a description no number matches (none, or no pattern)."""
        if desc is None or not desc.national_number_pattern:
            return None
        return cls(frozenset(desc.possible_length), re.compile(desc.national_number_pattern))

    def matches(self, nsn: str) -> bool:
        lengths = self.lengths
        return (not lengths or len(nsn) in lengths) and self.pattern.fullmatch(nsn) is not None


@dataclass(frozen=True)
class _Kinds:
    """Whether a region's metadata gives a number a type (``_number_type_helper`` is not
    ``UNKNOWN``), with its patterns compiled once rather than looked up in ``re``'s cache
    for every number."""

    general: _Desc
    kinds: tuple[_Desc, ...]

    @classmethod
    def of(cls, metadata: PhoneMetadata) -> _Kinds | None:
        """None for metadata that gives no number a type."""
        general = _Desc.of(metadata.general_desc)
        descs = [
            metadata.premium_rate,
            metadata.toll_free,
            metadata.shared_cost,
            metadata.voip,
            metadata.personal_number,
            metadata.pager,
            metadata.uan,
            metadata.voicemail,
            metadata.fixed_line,
        ]
        if not metadata.same_mobile_and_fixed_line_pattern:  # else fixed_line decided it
            descs.append(metadata.mobile)
        kinds = tuple(d for d in map(_Desc.of, descs) if d is not None)
        return None if general is None or not kinds else cls(general, kinds)

    def typed(self, nsn: str) -> bool:
        return self.general.matches(nsn) and any(kind.matches(nsn) for kind in self.kinds)


@dataclass(frozen=True)
class _Region:
    code: str
    metadata: PhoneMetadata | None
    """As ``region_code_for_number`` finds it (None: it skips the region)."""
    leading_digits: re.Pattern[str] | None
    listed: _Kinds | None
    """``region_code_for_number``'s check of the metadata when there are no leading digits."""
    kinds: _Kinds | None
    """What ``is_valid_number_for_region`` checks for the country code's numbers (None: it
    finds no number valid there); the same as ``listed`` when the metadata is."""


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
        pattern = None if digits is None else re.compile(digits)
        listed = None if data is None else _Kinds.of(data)
        valid_by = _validity_metadata(code, region)
        kinds = listed if valid_by is data else None if valid_by is None else _Kinds.of(valid_by)
        found.append(_Region(region, data, pattern, listed, kinds))
    return _Country(metadata, tuple(found))


def _validity_metadata(code: int, region: str) -> PhoneMetadata | None:
    """The metadata ``is_valid_number_for_region`` checks a number of this country code
    with, if the checks that depend only on the code and the region pass."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region.upper())
    if metadata is None:
        return None
    if region != phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
        of_region = PhoneMetadata.metadata_for_region(region.upper(), None)
        if of_region is None or of_region.country_code != code:
            return None
    return metadata


def to_e164(text: str, region: str) -> str | None:
    """``text``'s E.164 form if it is a valid number (read in ``region`` unless it has a
    country code), else None."""
    parsed = _strict_e164(text) if _STEPS_FOUND and text[:1] == "+" else None
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
        return _typed(country.regions[0].kinds, nsn)
    for region in country.regions:
        if region.metadata is None:
            continue
        if region.leading_digits is not None:
            if region.leading_digits.match(nsn):
                return _typed(region.kinds, nsn)
        elif region.listed is not None and region.listed.typed(nsn):
            # What placed the number in this region is usually what validating it for the
            # region checks again.
            return region.kinds is region.listed or _typed(region.kinds, nsn)
    return False


def _typed(kinds: _Kinds | None, nsn: str) -> bool:
    return kinds is not None and kinds.typed(nsn)
