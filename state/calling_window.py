"""A campaign's calling window: the local hours, in one time zone, in which it may dial.

Pure: parsing, validation and the instants a window opens and closes; no I/O.

- ``days`` are the days on which the window *opens*: ``22:00-02:00 … fri`` opens Friday at 22:00
  and closes Saturday at 02:00.
- The opening is inside the window, the closing is not: ``09:00-20:00`` is open at 09:00:00 and
  closed at 20:00:00.
- Daylight-saving changes: an opening or closing happens at the first moment the local wall clock
  reaches its time on that day. A time the clocks skip (02:30 when they jump from 02:00 to 03:00)
  therefore happens when the jump ends (03:00 local); a time that occurs twice (01:30 when they go
  back from 02:00 to 01:00) happens the first time. A window never dials at a local time outside
  the hours it names; one whose both ends fall in the skipped hour does not open that day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = tuple(range(7))
FORM = "<HH:MM>-<HH:MM> <IANA time zone> [<days, e.g. mon-fri>]"
EXAMPLE = "09:00-20:00 America/New_York mon-fri"

_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
# Zones without an area, besides UTC, are abbreviations or POSIX rules (EST, CET, EST5EDT):
# some never change for daylight saving, so a lead typing "EST" in summer would be an hour off.
_ZONES_WITHOUT_AREA = frozenset({"UTC"})
_LOOKAHEAD_DAYS = 9  # a week of days filter, plus the day before and a DST-collapsed day


class WindowError(ValueError):
    """Names what is wrong with a window as typed; the text is plain (escape it for Slack)."""


class CallingWindow(BaseModel):
    model_config = ConfigDict(frozen=True)

    opens: time
    closes: time
    zone: str
    days: tuple[int, ...] = EVERY_DAY
    """Weekdays (Monday 0) on which the window opens."""

    @field_validator("zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return canonical_zone(value)

    @field_validator("days")
    @classmethod
    def _some_days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        days = tuple(sorted(set(value)))
        if not days or any(d not in EVERY_DAY for d in days):
            raise ValueError("days are weekdays 0 (Monday) to 6 (Sunday), at least one")
        return days

    @model_validator(mode="after")
    def _not_empty(self) -> CallingWindow:
        if self.opens == self.closes:
            raise ValueError("a window opens and closes at different times")
        if self.opens.second or self.closes.second or self.opens.tzinfo or self.closes.tzinfo:
            raise ValueError("window times are local hours and minutes")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def crosses_midnight(self) -> bool:
        return self.closes < self.opens

    def describe(self) -> str:
        """``09:00-20:00 America/New_York, mon-fri``."""
        hours = f"{self.opens:%H:%M}-{self.closes:%H:%M} {self.zone}"
        if self.days == EVERY_DAY:
            return f"{hours}, every day"
        return f"{hours}, {days_text(self.days)}"

    def as_typed(self) -> str:
        """The window as ``/campaign window`` takes it (and the form shows it)."""
        typed = f"{self.opens:%H:%M}-{self.closes:%H:%M} {self.zone}"
        return typed if self.days == EVERY_DAY else f"{typed} {days_text(self.days)}"

    def is_open(self, at: datetime) -> bool:
        return any(opens <= at < closes for opens, closes in self._around(at))

    def next_opening(self, after: datetime) -> datetime:
        """The first opening strictly after ``after`` (UTC)."""
        return min(opens for opens, _ in self._around(after) if opens > after)

    def next_closing(self, after: datetime) -> datetime:
        """The first closing strictly after ``after`` (UTC)."""
        return min(closes for _, closes in self._around(after) if closes > after)

    def next_change(self, after: datetime) -> datetime:
        """When the window next opens or closes, whichever comes first."""
        return self.next_closing(after) if self.is_open(after) else self.next_opening(after)

    def _around(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The window's (opening, closing) instants in UTC, from the one that opened the local day
        before ``at`` on, for more than a week."""
        if at.tzinfo is None:
            raise ValueError("an aware datetime is needed")
        zone = self.tz
        first = at.astimezone(zone).date() - timedelta(days=1)
        for offset in range(_LOOKAHEAD_DAYS):
            day = first + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            opens = local_instant(day, self.opens, zone)
            closes_on = day + timedelta(days=1) if self.crosses_midnight else day
            closes = local_instant(closes_on, self.closes, zone)
            if closes > opens:  # both ends in a skipped hour: no window that day
                yield opens, closes


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The first moment (UTC) at which the wall clock in ``zone`` shows ``at`` on ``day``, or a
    later time if the clocks skip it."""
    wall = datetime.combine(day, at)
    earlier = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if earlier.astimezone(zone).replace(tzinfo=None) == wall:
        return earlier  # it exists; fold=0 is the first of two when the clocks go back
    # Skipped: fold=1 reads it with the offset after the jump (a wall time before it), fold=0
    # with the one before (a wall time after it). The jump lies between; find it to the second.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(earlier.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def days_text(days: Sequence[int]) -> str:
    """``mon-fri``, ``sat,sun``, ``mon,wed-fri``: runs of three or more days as ranges."""
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{WEEKDAYS[run[0]]}-{WEEKDAYS[run[-1]]}")
        else:
            parts.extend(WEEKDAYS[d] for d in run)
    return ",".join(parts)


@lru_cache(maxsize=1)
def _zones_by_lower_name() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def canonical_zone(name: str) -> str:
    """The IANA name as tzdata spells it (``america/new_york`` → ``America/New_York``)."""
    found = _zones_by_lower_name().get(name.strip().lower())
    if found is None:
        raise WindowError(
            f"{name} is not an IANA time zone: use an Area/City name such as America/New_York, "
            "Europe/London or America/Los_Angeles."
        )
    if "/" not in found and found not in _ZONES_WITHOUT_AREA:
        raise WindowError(
            f"{name} is an abbreviation, not an IANA time zone: use an Area/City name such as "
            "America/New_York, which follows daylight-saving time."
        )
    return found


def parse_time(text: str) -> time:
    match = _TIME.match(text)
    if match is None:
        raise WindowError(f"{text} is not a time of day: write it as HH:MM, e.g. 09:00 or 20:30.")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise WindowError(
            f"{text} is not a time of day: hours go from 00 to 23 (midnight is 00:00) and "
            "minutes from 00 to 59."
        )
    return time(hour, minute)


def parse_days(text: str) -> tuple[int, ...]:
    """``mon-fri``, ``sat,sun``, ``fri-mon`` (a range may wrap past Sunday), ``mon,wed-fri``."""
    days: set[int] = set()
    for part in text.lower().split(","):
        first, dash, last = part.partition("-")
        if not dash:
            days.add(_day(part, text))
            continue
        start, end = _day(first, text), _day(last, text)
        span = (end - start) % 7
        days.update((start + step) % 7 for step in range(span + 1))
    return tuple(sorted(days))


_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _day(word: str, typed: str) -> int:
    name = word.strip()
    for index, full in enumerate(_FULL_DAYS):
        if name in (WEEKDAYS[index], full):
            return index
    raise WindowError(
        f"{typed} is not a list of days: use mon, tue, wed, thu, fri, sat and sun, "
        "a range such as mon-fri, or a list such as mon,wed,fri."
    )


def parse_window(words: Sequence[str]) -> CallingWindow:
    """``["09:00-20:00", "America/New_York", "mon-fri"]`` → a window, or ``WindowError``."""
    if len(words) not in (2, 3):
        raise WindowError(
            f"A calling window is its hours, a time zone and optionally its days, e.g. {EXAMPLE}."
        )
    hours, zone = words[0], words[1]
    opens_text, dash, closes_text = hours.partition("-")
    if not dash:
        raise WindowError(
            f"{hours} is not a span of hours: write it as HH:MM-HH:MM, e.g. 09:00-20:00."
        )
    opens, closes = parse_time(opens_text), parse_time(closes_text)
    if opens == closes:
        raise WindowError(
            f"{hours} opens and closes at the same time, so it would never be open: give two "
            "different times (22:00-02:00 runs across midnight)."
        )
    days = parse_days(words[2]) if len(words) == 3 else EVERY_DAY
    return CallingWindow(opens=opens, closes=closes, zone=canonical_zone(zone), days=days)
