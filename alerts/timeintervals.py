"""Alertmanager's time intervals: named calendars that mute a route or make it active.

A `TimeInterval` (`name` + `time_intervals` entries in the config) is active at an instant when any
of its `TimePeriod`s is. A period restricts, in its `location` (an IANA zone, default UTC), the
minute of the day (`times`: `[start, end)` as `HH:MM`, `end` may be `24:00`), the weekday, the day
of the month (negative days count from the month's end: `-1` is the last day), the month and the
year; a field left out does not restrict. Semantics are Alertmanager 0.25's (pkg/timeinterval),
including its minute resolution (seconds are ignored) and its clamping of days of the month to the
month's length (`28:31` in February is `28:28` or `28:29`).

The `parse_*` functions read the config syntax of one field (names are case-insensitive, ranges are
`begin:end` and inclusive) and raise ValueError saying what is wrong. `TimeInterval.ranges` gives the
active spans inside a window, as availability reports need; across DST changes the spans follow the
local wall clock (a period of 01:00-03:00 on the night clocks go forward lasts one hour).
"""

from __future__ import annotations

import calendar
import re
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

__all__ = [
    "MONTHS",
    "WEEKDAYS",
    "Range",
    "TimeInterval",
    "TimePeriod",
    "TimeRange",
    "parse_days_of_month",
    "parse_location",
    "parse_months",
    "parse_time",
    "parse_time_range",
    "parse_weekdays",
    "parse_years",
]

WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
"""Weekday names by number as Alertmanager (Go) numbers them: Sunday is 0."""
MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
"""Month names; January is 1."""

Range = tuple[int, int]
"""An inclusive `(begin, end)` range of weekday, day-of-month, month or year numbers."""

_TIME_RE = re.compile(r"(?:([01][0-9]|2[0-3]):([0-5][0-9]))|24:00")
_UTC = zoneinfo.ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Minutes of the day, `[start_minute, end_minute)`; `end_minute` may be 1440 (24:00)."""

    start_minute: int
    end_minute: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start_minute)}-{_hhmm(self.end_minute)}"


@dataclass(frozen=True, slots=True)
class TimePeriod:
    """One `time_intervals` entry. An empty tuple means the field is not restricted."""

    times: tuple[TimeRange, ...] = ()
    weekdays: tuple[Range, ...] = ()
    days_of_month: tuple[Range, ...] = ()
    months: tuple[Range, ...] = ()
    years: tuple[Range, ...] = ()
    location: zoneinfo.ZoneInfo = field(default=_UTC)

    def active(self, t: float) -> bool:
        """Whether the instant `t` (Unix seconds) is inside the period."""
        local = datetime.fromtimestamp(t, self.location)
        if self.times:
            minute = local.hour * 60 + local.minute
            if not any(r.start_minute <= minute < r.end_minute for r in self.times):
                return False
        return self.day_matches(local.date())

    def day_matches(self, day: date) -> bool:
        """Whether the local calendar day passes the weekday, day-of-month, month and year fields."""
        if self.weekdays and not _in(self.weekdays, (day.weekday() + 1) % 7):
            return False
        if self.days_of_month and not self._day_of_month_matches(day):
            return False
        if self.months and not _in(self.months, day.month):
            return False
        return not self.years or _in(self.years, day.year)

    def _day_of_month_matches(self, day: date) -> bool:
        length = calendar.monthrange(day.year, day.month)[1]
        for begin, end in self.days_of_month:
            first = length + begin + 1 if begin < 0 else begin
            last = length + end + 1 if end < 0 else end
            if first > length:  # Alertmanager skips a range starting after the month's end
                continue
            if max(first, -length) <= day.day <= min(last, length):
                return True
        return False

    def boundaries(self, start: float, end: float) -> set[float]:
        """Instants in `[start, end)` where `active` may change: local midnights, the period's
        start and end minutes on matching days, and UTC-offset changes (DST)."""
        zone = self.location
        cuts: set[float] = set()
        day = datetime.fromtimestamp(start, zone).date() - timedelta(days=1)
        last = datetime.fromtimestamp(end, zone).date() + timedelta(days=1)
        minutes = sorted({m for r in self.times for m in (r.start_minute, r.end_minute)})
        while day <= last:
            midnight = _instants(day, 0, zone)
            next_midnight = _instants(day + timedelta(days=1), 0, zone)
            cuts.update(midnight)
            if self.times and self.day_matches(day):
                for minute in minutes:
                    cuts.update(_instants(day, minute, zone))
            cuts.update(_offset_changes(min(midnight), max(next_midnight), zone))
            day += timedelta(days=1)
        return {c for c in cuts if start <= c < end}


@dataclass(frozen=True, slots=True)
class TimeInterval:
    """A named time interval: active when any of its periods is (never, with no periods)."""

    name: str
    periods: tuple[TimePeriod, ...]

    def active(self, t: float) -> bool:
        """Whether the instant `t` (Unix seconds) is inside the interval."""
        return any(period.active(t) for period in self.periods)

    def ranges(self, start: float, end: float) -> list[tuple[float, float]]:
        """The maximal `[from, to)` spans inside `[start, end)` (Unix seconds) when the interval
        is active, in order; adjacent spans are merged. Empty when `end <= start`."""
        if end <= start:
            return []
        cuts = sorted({start}.union(*(period.boundaries(start, end) for period in self.periods)))
        spans: list[tuple[float, float]] = []
        for index, cut in enumerate(cuts):
            if not self.active(cut):
                continue
            until = cuts[index + 1] if index + 1 < len(cuts) else end
            if spans and spans[-1][1] == cut:
                spans[-1] = (spans[-1][0], until)
            else:
                spans.append((cut, until))
        return spans


def _in(ranges: Iterable[Range], value: int) -> bool:
    return any(begin <= value <= end for begin, end in ranges)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _instants(day: date, minute: int, zone: zoneinfo.ZoneInfo) -> set[float]:
    """The instants whose local time is `minute` past midnight on `day`: two for a wall time the
    clocks pass twice, and for a wall time skipped by a DST gap both readings (harmless extras)."""
    wall = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(minutes=minute)
    return {wall.replace(fold=0).timestamp(), wall.replace(fold=1).timestamp()}


def _offset_changes(start: float, end: float, zone: zoneinfo.ZoneInfo) -> set[float]:
    """The instant the UTC offset changes in `[start, end]` (a span of about one day), if it does."""
    low, high = int(start), int(end)
    if _offset(low, zone) == _offset(high, zone):
        return set()
    while high - low > 1:  # bisect to the first second with the new offset
        middle = (low + high) // 2
        if _offset(middle, zone) == _offset(low, zone):
            low = middle
        else:
            high = middle
    return {float(high)}


def _offset(t: int, zone: zoneinfo.ZoneInfo) -> timedelta | None:
    return datetime.fromtimestamp(t, UTC).astimezone(zone).utcoffset()


def parse_time(text: str) -> int:
    """`HH:MM` (00:00 to 23:59, or 24:00) as minutes of the day."""
    if not isinstance(text, str) or not _TIME_RE.fullmatch(text):
        raise ValueError(f"{text!r} is not a time of day HH:MM (00:00 to 24:00)")
    hours, _, minutes = text.partition(":")
    return int(hours) * 60 + int(minutes)


def parse_time_range(start_time: str, end_time: str) -> TimeRange:
    """A `times` entry: start before end."""
    start, end = parse_time(start_time), parse_time(end_time)
    if start >= end:
        raise ValueError(f"start_time {start_time} must be before end_time {end_time}")
    return TimeRange(start, end)


def parse_weekdays(text: str) -> Range:
    """`monday` or `monday:friday` as Go weekday numbers (Sunday 0); the range may not wrap."""
    begin, end = _range(text, lambda part: _named(part, WEEKDAYS, "weekday", 0))
    if begin > end:
        raise ValueError(f"{text!r}: {WEEKDAYS[begin]} comes after {WEEKDAYS[end]} (weeks start on Sunday)")
    return begin, end


def parse_months(text: str | int) -> Range:
    """`january`, `1`, `january:march` or `10:12`."""
    begin, end = _range(text, lambda part: _named(part, MONTHS, "month", 1))
    if begin > end:
        raise ValueError(f"{text!r}: the start month comes after the end month")
    return begin, end


def parse_days_of_month(text: str | int) -> Range:
    """`1`, `1:15`, `-1` (the last day) or `-7:-1`: days 1 to 31 or -31 to -1, as Alertmanager
    allows them (a negative start needs a negative end; the range must be non-empty in a 28-day month)."""
    begin, end = _range(text, lambda part: _integer(part, "day of the month"))
    for day in (begin, end):
        if day == 0 or not -31 <= day <= 31:
            raise ValueError(f"{text!r}: {day} is not a day of the month (1 to 31, or -31 to -1 from the end)")
    if begin < 0 < end:
        raise ValueError(f"{text!r}: the end day must be negative when the start day is")
    if (28 + begin if begin < 0 else begin) > (28 + end if end < 0 else end):
        raise ValueError(f"{text!r}: the end day is always before the start day")
    return begin, end


def parse_years(text: str | int) -> Range:
    """`2026` or `2026:2028`."""
    begin, end = _range(text, lambda part: _integer(part, "year"))
    if begin <= 0 or begin > end:
        raise ValueError(f"{text!r} is not a year range (positive years, start not after end)")
    return begin, end


def parse_location(name: str) -> zoneinfo.ZoneInfo:
    """An IANA time zone (`Asia/Tokyo`, `UTC`)."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a known time zone (an IANA name such as Asia/Tokyo or UTC)") from None


def _range(value: str | int, read: Callable[[str], int]) -> Range:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"expected a value or a begin:end range, got {type(value).__name__}")
    text = str(value).strip()
    begin, sep, end = text.partition(":")
    if sep and ":" in end:
        raise ValueError(f"{text!r} is not a value or a begin:end range")
    first = read(begin.strip())
    return first, read(end.strip()) if sep else first


def _named(text: str, names: tuple[str, ...], what: str, first: int) -> int:
    lowered = text.lower()
    if lowered in names:
        return names.index(lowered) + first
    if what == "month" and lowered.isdigit() and 1 <= int(lowered) <= 12:
        return int(lowered)
    raise ValueError(f"{text!r} is not a {what} ({names[0]}, ..., {names[-1]})")


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a {what}") from None
