"""Calendars of the availability reports: service hours and Japanese public holidays.

Availability (稼働率) is measured inside a system's service hours (サービス提供時間) only.
`ServiceHours` is config (pydantic, unknown keys are errors); left out, a system is served 24×7:

```yaml
service_hours:
  always: true                      # 24×7: the default when service_hours is left out
```

```yaml
service_hours:
  timezone: Asia/Tokyo              # IANA time zone of the windows and dates (default Asia/Tokyo)
  windows:
    - days: [weekdays]              # mon..fri; not on a public holiday nor a closed date
      start: "08:30"
      end: "21:00"
    - days: [everyday]              # the night batch: every day, holidays included,
      start: "22:00"                # past midnight: the window belongs to the day it starts
      end: "02:00"
      on_holidays: true
    - {days: [sat], start: "00:00", end: "24:00"}
  closed_dates: ["12-29..01-03", "2027-05-06"]   # 年末年始 every year, and one extra day
```

Days are `mon tue wed thu fri sat sun`, `weekdays` (mon..fri) and `everyday`. Times are local wall
times `"HH:MM"` (quote them: YAML reads an unquoted 10:30 as the number 630); `end` may be
`"24:00"`, and an end at or before the start runs into the next day. A window opens on each listed
weekday, except on a Japanese public holiday (jpholiday) or a closed date unless `on_holidays` is
true; one that opened the day before runs to its end regardless. `closed_dates` entries are
`YYYY-MM-DD`, `MM-DD` (every year), or inclusive ranges of either, `MM-DD` ranges wrapping the year
end (`12-29..01-03`). Across a DST change windows follow the wall clock (a 00:00-03:00 window lasts
two hours on the night London's clocks go forward); a time in the skipped hour is read with the
offset before the change, one in the repeated hour as its first occurrence.

Report periods (month, quarter, fiscal year 年度) are in `reports.periods`. Times are Unix seconds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import jpholiday
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StrictBool, model_validator

from alerts.maintenance import at_least_one, iana_zone
from reports.intervals import merged

__all__ = [
    "Language",
    "ServiceHours",
    "ServiceWindow",
    "holidays_between",
    "service_intervals",
]

Language = Literal["en", "ja"]

_DAYS: dict[str, tuple[int, ...]] = {
    "mon": (0,), "tue": (1,), "wed": (2,), "thu": (3,), "fri": (4,), "sat": (5,), "sun": (6,),
    "weekdays": (0, 1, 2, 3, 4), "everyday": (0, 1, 2, 3, 4, 5, 6),
}  # fmt: skip
"""Day names by `date.weekday()` numbers (Monday = 0)."""
_CLOCK_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_MONTH_DAY = r"(?:([0-9]{4})-)?([0-9]{2})-([0-9]{2})"
_CLOSED_RE = re.compile(rf"{_MONTH_DAY}(?:\.\.{_MONTH_DAY})?")
_CLOSED_FORMS = "YYYY-MM-DD, MM-DD for every year, or a range such as 12-29..01-03 or 2027-05-06..2027-05-08"
_ONE_DAY = timedelta(days=1)


def _day_name(value: object) -> str:
    if not isinstance(value, str) or value not in _DAYS:
        raise ValueError(
            f"unknown day name {value!r} (expected mon, tue, wed, thu, fri, sat, sun, weekdays or everyday)"
        )
    return value


def _time_of_day(value: object, latest: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f'expected a time of day "HH:MM", got the number {value} (quote it: YAML reads 10:30 as 630)')
    match = _CLOCK_RE.fullmatch(value) if isinstance(value, str) else None
    text = f"{int(match[1]):02d}:{match[2]}" if match else ""
    if match is None or int(match[2]) > 59 or text > latest:
        raise ValueError(f"{value!r} is not a time of day (HH:MM, 00:00 to {latest})")
    return text


def _closed_date(value: object) -> str:
    if isinstance(value, date):  # YAML reads an unquoted 2027-05-06 as a date
        return value.isoformat()
    match = _CLOSED_RE.fullmatch(value) if isinstance(value, str) else None
    if not isinstance(value, str) or match is None:
        raise ValueError(f"{value!r} is not a closed date ({_CLOSED_FORMS})")
    ends = [match.group(1, 2, 3)] if match[5] is None else [match.group(1, 2, 3), match.group(4, 5, 6)]
    if len({year is None for year, _, _ in ends}) > 1:
        raise ValueError(f"{value!r}: both ends of a range must be YYYY-MM-DD, or both MM-DD")
    days = []
    for year, month, day in ends:
        try:  # 2000 is a leap year: 02-29 is a day of the year
            days.append(date(int(year or 2000), int(month), int(day)))
        except ValueError:
            shown = f"{year}-{month}-{day}" if year else f"{month}-{day}"
            raise ValueError(f"{value!r}: {shown} is not a date") from None
    if ends[0][0] is not None and days[-1] < days[0]:
        raise ValueError(f"{value!r}: the range ends before it starts")
    return value


DayName = Annotated[str, BeforeValidator(_day_name)]
StartTime = Annotated[str, BeforeValidator(lambda v: _time_of_day(v, "23:59"))]
EndTime = Annotated[str, BeforeValidator(lambda v: _time_of_day(v, "24:00"))]
ClosedDate = Annotated[str, BeforeValidator(_closed_date)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class ServiceWindow(_Strict):
    """Service time from `start` to `end` (local wall times) on each of `days`: see the module docstring."""

    days: Annotated[tuple[DayName, ...], AfterValidator(at_least_one("day"))]
    start: StartTime
    end: EndTime
    on_holidays: StrictBool = False

    @functools.cached_property
    def weekdays(self) -> frozenset[int]:
        """The weekdays the window opens on, Monday = 0 as `date.weekday()`."""
        return frozenset(number for name in self.days for number in _DAYS[name])

    @functools.cached_property
    def minutes(self) -> tuple[int, int]:
        """(start, end) in minutes from the local midnight of the day the window opens: end may
        reach 2880, the next day's 24:00."""
        start, end = (int(t[:2]) * 60 + int(t[3:]) for t in (self.start, self.end))
        return start, end if end > start else end + 1440


class ServiceHours(_Strict):
    """When a system is meant to be up: 24×7 (`always: true`, or nothing given) or `windows`."""

    always: StrictBool | None = None
    windows: Annotated[tuple[ServiceWindow, ...], AfterValidator(at_least_one("window"))] | None = None
    timezone: Annotated[str, AfterValidator(iana_zone)] = "Asia/Tokyo"
    closed_dates: tuple[ClosedDate, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> ServiceHours:
        if self.windows is not None and self.always:
            raise ValueError("always: true and windows exclude each other: give one of them")
        if self.windows is None and self.always is False:
            raise ValueError("always: false needs windows")
        if self.windows is None and self.closed_dates:
            raise ValueError("closed_dates need windows: a 24×7 service (always) has no closed days")
        return self

    @property
    def is_always(self) -> bool:
        """Whether the service runs 24×7."""
        return self.windows is None


def service_intervals(hours: ServiceHours, start: float, end: float) -> list[tuple[float, float]]:
    """The service time inside [start, end) as sorted, merged (touching ones too), non-overlapping
    [start, end) pairs of Unix seconds."""
    if not start < end:
        return []
    if hours.windows is None:
        return [(start, end)]
    tz = ZoneInfo(hours.timezone)
    first = datetime.fromtimestamp(start, tz).date().toordinal() - 1  # a window may open the day before
    last = datetime.fromtimestamp(end, tz).date().toordinal()
    midnights = _midnights_between(hours.timezone, first, last + 2)  # a window may close two midnights on
    off: set[int] = set()
    for year in range(date.fromordinal(first).year, date.fromordinal(last).year + 1):
        off.update(_off_days(hours.closed_dates, year))
    windows = [(w.weekdays, w.on_holidays, *w.minutes) for w in hours.windows]
    spans: list[tuple[float, float]] = []
    for index, ordinal in enumerate(range(first, last + 1)):
        base = midnights[index]
        # Both following local days 24 hours long: no offset change, wall times are offsets from base.
        plain = midnights[index + 1] - base == 86400 and midnights[index + 2] - midnights[index + 1] == 86400
        weekday, closed = (ordinal - 1) % 7, ordinal in off  # ordinal 1, 0001-01-01, was a Monday
        for weekdays, on_holidays, open_minute, close_minute in windows:
            if weekday in weekdays and (on_holidays or not closed):
                if plain:
                    spans.append((base + open_minute * 60, base + close_minute * 60))
                else:
                    spans.append((_local(ordinal, open_minute, tz), _local(ordinal, close_minute, tz)))
    return merged((max(opens, start), min(closes, end)) for opens, closes in spans)


def _local(ordinal: int, minutes: int, tz: ZoneInfo) -> float:
    """Unix seconds of the local wall time `minutes` after the midnight starting day `ordinal` (beyond
    1440: a later day). A time skipped by a DST change is read with the offset before the change."""
    days, minute = divmod(minutes, 1440)
    day = date.fromordinal(ordinal + days)
    return datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=tz).timestamp()


def _midnights_between(zone: str, first: int, last: int) -> list[float]:
    """Unix seconds of the local midnights starting days `first` to `last` (ordinals), inclusive."""
    out: list[float] = []
    for year in range(date.fromordinal(first).year, date.fromordinal(last).year + 1):
        january_1 = date(year, 1, 1).toordinal()
        out.extend(_year_midnights(zone, year)[max(first, january_1) - january_1 : last - january_1 + 1])
    return out


@functools.lru_cache(maxsize=64)
def _year_midnights(zone: str, year: int) -> tuple[float, ...]:
    """Unix seconds of the local midnights starting each day of `year` in `zone`. Cached: the zone
    lookup is most of the cost of service_intervals, and systems share their zone."""
    tz, day = ZoneInfo(zone), date(year, 1, 1)
    out: list[float] = []
    while day.year == year:
        out.append(datetime(year, day.month, day.day, tzinfo=tz).timestamp())
        day += _ONE_DAY
    return tuple(out)


@functools.lru_cache(maxsize=256)
def _off_days(closed_dates: tuple[str, ...], year: int) -> frozenset[int]:
    """The ordinals of the days of `year` that are public holidays or `closed_dates` (validated)."""
    january_1, december_31 = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
    off = {day.toordinal() for day in _year_holidays(year)}
    for text in closed_dates:
        first, _, last = text.partition("..")
        last = last or first
        if len(first) == len("YYYY-MM-DD"):
            begin, end = date.fromisoformat(first).toordinal(), date.fromisoformat(last).toordinal()
            off.update(range(max(begin, january_1), min(end, december_31) + 1))
            continue
        begin_pair, end_pair = _pair(first), _pair(last)
        over_year_end = end_pair < begin_pair  # 12-29..01-03: the end of the year and its start
        for ordinal in range(january_1, december_31 + 1):
            day = date.fromordinal(ordinal)
            pair = (day.month, day.day)
            if begin_pair <= pair <= end_pair or (over_year_end and not end_pair < pair < begin_pair):
                off.add(ordinal)
    return frozenset(off)


def _pair(month_day: str) -> tuple[int, int]:
    month, day = month_day.split("-")
    return int(month), int(day)


@functools.lru_cache(maxsize=64)
def _year_holidays(year: int) -> Mapping[date, str]:
    """Japanese public holidays of `year` by date, named in Japanese. Cached: jpholiday takes from tens
    to hundreds of milliseconds to work out a year (once per process; it keeps its own cache too)."""
    names: dict[date, str] = {}
    for day, name in jpholiday.year_holidays(year):
        names[day] = f"{names[day]}・{name}" if day in names else name
    return MappingProxyType(names)


def holidays_between(start_date: date, end_date: date) -> dict[date, str]:
    """The Japanese public holidays from `start_date` to `end_date` inclusive, by date, with their
    Japanese names as jpholiday gives them (振替休日 and 国民の休日 included)."""
    return {
        day: name
        for year in range(start_date.year, end_date.year + 1)
        for day, name in sorted(_year_holidays(year).items())
        if start_date <= day <= end_date
    }
