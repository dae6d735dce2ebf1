"""``to_e164`` decides every number exactly as ``parse`` + ``is_valid_number`` +
``format_number(E164)`` do: the same numbers accepted, the same E.164 text, over example numbers
of every region and type, written in several ways and altered digit by digit."""

from __future__ import annotations

import random
from collections.abc import Iterator

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from commands.leads import numbers
from commands.leads.numbers import to_e164

DEFAULT_REGIONS = ("US", "GB", "IT", "DE", "FR", "BR", "IN", "AU", "RU", "CA", "SM", "JP", "AR")
TYPES = [value for name, value in vars(PhoneNumberType).items() if name.isupper()]
FULL_WIDTH = {ord("0") + d: 0xFF10 + d for d in range(10)}
ARABIC_INDIC = {ord("0") + d: 0x0660 + d for d in range(10)}
FORMATS = (PhoneNumberFormat.E164, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.NATIONAL)


def reference(text: str, region: str) -> str | None:
    """What every number needs at least, through phonenumbers' public functions."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def examples() -> Iterator[phonenumbers.PhoneNumber]:
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in TYPES:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                yield example
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            yield example


def altered(e164: str, rng: random.Random) -> Iterator[str]:
    """The number and its near misses: other last digits, a digit more or fewer, a national
    prefix or zeros after the country code, the country code alone with other digits."""
    yield e164
    digits = e164[1:]
    for _ in range(3):
        cut = rng.randrange(3, len(digits) + 1)
        tail = "".join(rng.choice("0123456789") for _ in range(len(digits) - cut))
        yield "+" + digits[:cut] + tail
    yield e164[:-1]
    yield e164 + rng.choice("0123456789")
    yield e164 + "00"
    for code_length in (1, 2, 3):
        code, rest = digits[:code_length], digits[code_length:]
        yield f"+{code}0{rest}"
        yield f"+{code}00{rest}"
        yield f"+{code}1{rest}"
        yield f"+{code}{rest[1:]}"


def samples() -> Iterator[tuple[str, str]]:
    rng = random.Random(20261130)
    for index, example in enumerate(examples()):
        regions = [DEFAULT_REGIONS[(index + k) % len(DEFAULT_REGIONS)] for k in range(2)]
        e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
        for text in altered(e164, rng):
            for region in regions:
                yield text, region
        for style in FORMATS[1:]:
            yield phonenumbers.format_number(example, style), regions[0]


SAMPLES = list(samples())


def test_the_sample_has_many_regions_and_both_answers() -> None:
    answers = [reference(text, region) for text, region in SAMPLES[::7]]
    regions = {phonenumbers.region_code_for_number(example) for example in examples()}
    assert len(SAMPLES) > 40_000
    assert len(regions) > 200
    assert sum(a is None for a in answers) > len(answers) // 10
    assert sum(a is not None for a in answers) > len(answers) // 10


@pytest.mark.parametrize("part", range(4))
def test_every_sample_number_gets_the_reference_answer(part: int) -> None:
    mismatched = [
        (text, region, to_e164(text, region), reference(text, region))
        for text, region in SAMPLES[part::4]
        if to_e164(text, region) != reference(text, region)
    ]
    assert mismatched == []


def test_a_strict_e164_number_is_taken_apart_as_parse_does() -> None:
    taken = 0
    for text, region in SAMPLES:
        fast = numbers._strict_e164(text)
        if fast is None:
            continue
        taken += 1
        assert fast == phonenumbers.parse(text, region), text
    assert taken > len(SAMPLES) // 2


def test_validity_is_decided_as_is_valid_number_does() -> None:
    for text, region in SAMPLES[::3]:
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        nsn = phonenumbers.national_significant_number(parsed)
        assert numbers._is_valid(parsed, nsn) == phonenumbers.is_valid_number(parsed), text


@pytest.mark.parametrize(
    "text",
    [
        "+390612345678",  # Rome: the leading zero is part of the number
        "+39061234567",
        "+3900612345678",
        "+39000612345678",
        "+390000000000",
        "+393123456789",  # an Italian mobile: no leading zero
        "+37800549123456",  # San Marino, zeros after its code
        "+379066981234",  # the Vatican, sharing Italy's numbers
        "+2250712345678",  # Côte d'Ivoire: a leading zero since 2021
        "+4402079460958",  # a British national prefix written after the country code
        "+440207946095",
        "+79123456789",
        "+78001234567",
        "+12125550199",
        "+12685551234",  # Antigua, by its NANP leading digits
        "+14165550123",  # Canada
        "+18005550123",
        "+80012345678",  # a non-geographic code
        "+9991234567",  # no such country code
        "+0012125550199",
        "+1",
        "+",
        "212 555 0199",
        "+1 212 555 0199",
        "+" + "12125550199".translate(FULL_WIDTH),  # not strict E.164: parse reads them
        "+" + "12125550199".translate(ARABIC_INDIC),
        "+12125550199 ext. 12",
        "+12125550199;ext=12",
    ],
)
@pytest.mark.parametrize("region", ["US", "IT", "GB", "SM"])
def test_awkward_numbers_get_the_reference_answer(text: str, region: str) -> None:
    assert to_e164(text, region) == reference(text, region)


@settings(max_examples=3_000, deadline=None)
@given(
    digits=st.from_regex(r"[0-9]{1,17}", fullmatch=True),
    region=st.sampled_from(DEFAULT_REGIONS),
)
def test_any_plus_and_digits_get_the_reference_answer(digits: str, region: str) -> None:
    text = "+" + digits
    assert to_e164(text, region) == reference(text, region)
