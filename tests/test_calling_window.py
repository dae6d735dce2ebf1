"""The calling window's math: parsing, opening and closing instants, DST, across midnight."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from state.calling_window import CallingWindow, WindowError, parse_days, parse_window

NEW_YORK = "America/New_York"
LONDON = "Europe/London"


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def window(text: str) -> CallingWindow:
    return parse_window(text.split())


# -- parsing ---------------------------------------------------------------------------------


def test_a_window_is_parsed_from_hours_zone_and_days() -> None:
    parsed = window("9:00-20:30 america/new_york mon-fri")
    assert parsed == CallingWindow(
        opens=time(9), closes=time(20, 30), zone=NEW_YORK, days=(0, 1, 2, 3, 4)
    )
    assert parsed.describe() == "09:00-20:30 America/New_York, mon-fri"
    assert parsed.as_typed() == "09:00-20:30 America/New_York mon-fri"


def test_without_days_a_window_opens_every_day() -> None:
    parsed = window("08:00-21:00 UTC")
    assert parsed.days == (0, 1, 2, 3, 4, 5, 6)
    assert parsed.describe() == "08:00-21:00 UTC, every day"
    assert parse_window(parsed.as_typed().split()) == parsed


@pytest.mark.parametrize(
    ("typed", "days"),
    [
        ("mon-fri", (0, 1, 2, 3, 4)),
        ("sat,sun", (5, 6)),
        ("fri-mon", (0, 4, 5, 6)),
        ("mon,wed-fri", (0, 2, 3, 4)),
        ("Monday,FRI", (0, 4)),
        ("sun-sun", (6,)),
    ],
)
def test_days_are_read_as_names_ranges_and_lists(typed: str, days: tuple[int, ...]) -> None:
    assert parse_days(typed) == days


@pytest.mark.parametrize(
    ("typed", "named"),
    [
        ("25:00-20:00 America/New_York", "25:00 is not a time of day: hours go from 00 to 23"),
        ("09:60-20:00 America/New_York", "09:60 is not a time of day"),
        ("24:00-08:00 America/New_York", "midnight is 00:00"),
        ("0900-2000 America/New_York", "0900 is not a time of day: write it as HH:MM"),
        ("09:00 America/New_York", "09:00 is not a span of hours: write it as HH:MM-HH:MM"),
        ("09:00-09:00 America/New_York", "opens and closes at the same time"),
        ("09:00-20:00 Mars/Olympus", "Mars/Olympus is not an IANA time zone"),
        ("09:00-20:00 EST", "EST is an abbreviation, not an IANA time zone"),
        ("09:00-20:00 CET", "CET is an abbreviation"),
        ("09:00-20:00 America/New_York funday", "funday is not a list of days"),
        ("09:00-20:00 America/New_York mon-", "mon- is not a list of days"),
        ("09:00-20:00", "a time zone"),
        ("09:00-20:00 America/New_York mon fri", "a time zone and optionally its days"),
    ],
)
def test_bad_input_names_the_problem(typed: str, named: str) -> None:
    with pytest.raises(WindowError, match=named.replace("(", r"\(")):
        window(typed)


def test_a_zero_length_window_is_refused_even_when_built_directly() -> None:
    with pytest.raises(ValidationError, match="different times"):
        CallingWindow(opens=time(9), closes=time(9), zone=NEW_YORK)


def test_a_stored_window_reads_back_the_same() -> None:
    stored = window("22:00-02:00 Europe/London fri").model_dump_json()
    assert CallingWindow.model_validate_json(stored) == window("22:00-02:00 Europe/London fri")


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        window("09:00-20:00 UTC").is_open(datetime(2026, 1, 5, 10))


# -- an ordinary day ---------------------------------------------------------------------------


def test_the_opening_is_inside_the_window_and_the_closing_is_not() -> None:
    hours = window("09:00-20:00 America/New_York")  # EST in winter: 14:00-01:00 UTC
    assert not hours.is_open(utc(2026, 12, 1, 13, 59, 59))
    assert hours.is_open(utc(2026, 12, 1, 14))
    assert hours.is_open(utc(2026, 12, 2, 0, 59, 59))
    assert not hours.is_open(utc(2026, 12, 2, 1))


def test_next_opening_and_closing_are_strictly_after() -> None:
    hours = window("09:00-20:00 America/New_York")
    assert hours.next_opening(utc(2026, 12, 1, 14)) == utc(2026, 12, 2, 14)
    assert hours.next_opening(utc(2026, 12, 1, 12)) == utc(2026, 12, 1, 14)
    assert hours.next_closing(utc(2026, 12, 1, 12)) == utc(2026, 12, 2, 1)
    assert hours.next_change(utc(2026, 12, 1, 12)) == utc(2026, 12, 1, 14)
    assert hours.next_change(utc(2026, 12, 1, 14)) == utc(2026, 12, 2, 1)


def test_a_days_filter_skips_the_weekend() -> None:
    weekdays = window("09:00-20:00 America/New_York mon-fri")
    friday_evening = utc(2026, 12, 5, 2)  # Friday 21:00 in New York
    assert weekdays.next_opening(friday_evening) == utc(2026, 12, 7, 14)  # Monday 09:00
    assert not weekdays.is_open(utc(2026, 12, 5, 15))  # Saturday 10:00


# -- across midnight ---------------------------------------------------------------------------


def test_a_window_across_midnight_closes_the_next_day() -> None:
    night = window("22:00-02:00 America/New_York")
    assert night.is_open(utc(2026, 12, 2, 3))  # 22:00
    assert night.is_open(utc(2026, 12, 2, 6, 59))  # 01:59 the next day
    assert not night.is_open(utc(2026, 12, 2, 7))  # 02:00
    assert not night.is_open(utc(2026, 12, 2, 2, 59))  # 21:59
    assert night.next_closing(utc(2026, 12, 2, 4)) == utc(2026, 12, 2, 7)
    assert night.next_opening(utc(2026, 12, 2, 4)) == utc(2026, 12, 3, 3)


def test_the_days_of_a_window_across_midnight_are_the_days_it_opens() -> None:
    friday_night = window("22:00-02:00 America/New_York fri")
    assert friday_night.is_open(utc(2026, 12, 5, 6))  # Saturday 01:00, opened Friday
    assert not friday_night.is_open(utc(2026, 12, 6, 3, 30))  # Saturday 22:30
    assert not friday_night.is_open(utc(2026, 12, 4, 6))  # Friday 01:00, Thursday's night
    assert friday_night.next_opening(utc(2026, 12, 5, 8)) == utc(2026, 12, 12, 3)


# -- daylight saving: New York (2026-03-08 02:00 → 03:00, 2026-11-01 02:00 → 01:00) ----------


def test_new_york_openings_follow_the_spring_change() -> None:
    hours = window("09:00-20:00 America/New_York")
    assert hours.next_opening(utc(2026, 3, 7, 15)) == utc(2026, 3, 8, 13)  # 09:00 EDT
    assert hours.next_closing(utc(2026, 3, 7, 15)) == utc(2026, 3, 8, 1)  # 20:00 EST


def test_new_york_openings_follow_the_autumn_change() -> None:
    hours = window("09:00-20:00 America/New_York")
    assert hours.next_opening(utc(2026, 10, 31, 14)) == utc(2026, 11, 1, 14)  # 09:00 EST
    assert hours.next_closing(utc(2026, 11, 1, 14)) == utc(2026, 11, 2, 1)


def test_a_skipped_opening_happens_when_the_clocks_jump() -> None:
    early = window("02:30-05:00 America/New_York")
    assert early.next_opening(utc(2026, 3, 8, 5)) == utc(2026, 3, 8, 7)  # 03:00 EDT
    assert early.next_closing(utc(2026, 3, 8, 5)) == utc(2026, 3, 8, 9)  # 05:00 EDT


def test_a_skipped_closing_across_midnight_happens_when_the_clocks_jump() -> None:
    night = window("22:00-02:30 America/New_York")
    assert night.next_closing(utc(2026, 3, 8, 4)) == utc(2026, 3, 8, 7)  # 03:00 EDT
    assert not night.is_open(utc(2026, 3, 8, 7))


def test_a_window_inside_the_skipped_hour_does_not_open_that_day() -> None:
    inside = window("02:10-02:50 America/New_York")
    assert inside.next_opening(utc(2026, 3, 8, 5)) == utc(2026, 3, 9, 6, 10)  # next day, EDT
    assert not inside.is_open(utc(2026, 3, 8, 7))


def test_a_repeated_time_happens_the_first_time() -> None:
    early = window("01:30-06:00 America/New_York")
    assert early.next_opening(utc(2026, 11, 1, 4)) == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    night = window("20:00-01:30 America/New_York")
    assert night.next_closing(utc(2026, 11, 1, 3)) == utc(2026, 11, 1, 5, 30)
    assert not night.is_open(utc(2026, 11, 1, 6, 45))  # 01:45 EST, the second time round


def test_a_window_across_the_autumn_night_lasts_an_hour_longer() -> None:
    night = window("22:00-06:00 America/New_York")
    opens = night.next_opening(utc(2026, 10, 31, 12))
    assert night.next_closing(opens) - opens == timedelta(hours=9)


# -- daylight saving: London (2026-03-29 01:00 → 02:00, 2026-10-25 02:00 → 01:00) ------------


def test_london_openings_follow_both_changes() -> None:
    hours = window("09:00-17:00 Europe/London")
    assert hours.next_opening(utc(2026, 3, 28, 10)) == utc(2026, 3, 29, 8)  # 09:00 BST
    assert hours.next_opening(utc(2026, 10, 24, 10)) == utc(2026, 10, 25, 9)  # 09:00 GMT


def test_london_skipped_and_repeated_times() -> None:
    skipped = window("00:30-01:30 Europe/London")
    assert skipped.next_closing(utc(2026, 3, 29, 0, 45)) == utc(2026, 3, 29, 1)  # 02:00 BST
    repeated = window("01:30-03:00 Europe/London")
    assert repeated.next_opening(utc(2026, 10, 24, 23)) == utc(2026, 10, 25, 0, 30)  # BST


# -- one rule for every instant ----------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "22:00-02:00 America/New_York fri-mon",
        "01:30-02:30 America/New_York",
        "09:00-20:00 Europe/London mon-fri",
        "00:30-01:30 Europe/London sun",
    ],
)
def test_open_exactly_when_the_next_closing_comes_before_the_next_opening(typed: str) -> None:
    hours = window(typed)
    at = utc(2026, 1, 1)
    while at < utc(2027, 1, 1):
        assert hours.is_open(at) == (hours.next_closing(at) < hours.next_opening(at)), at
        at += timedelta(hours=7, minutes=13)
