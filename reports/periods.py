"""Report periods of the availability reports, and their titles in English and Japanese.

`parse_period` reads months (`2026-11`), calendar quarters (`2026-Q3`), fiscal years (`FY2026`: April
2026 to March 2027, 令和8年度) and inclusive month ranges (`2026-04..2027-03`); a `Period` runs from
local midnight to local midnight in the report's time zone. Times are Unix seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from alerts.maintenance import iana_zone
from reports.calendars import _ONE_DAY, Language

__all__ = ["Period", "PeriodKind", "parse_period"]

PeriodKind = Literal["month", "quarter", "fiscal_year", "range"]

_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_ERAS = (  # (name, first day), newest first
    ("令和", date(2019, 5, 1)),
    ("平成", date(1989, 1, 8)),
    ("昭和", date(1926, 12, 25)),
    ("大正", date(1912, 7, 30)),
    ("明治", date(1868, 10, 23)),
)
_PERIOD_FORMS = (
    "a month (2026-11), a quarter (2026-Q3), a fiscal year (FY2026, April to March) "
    "or a range of months (2026-04..2027-03)"
)
_PERIOD_SYNTAX: tuple[tuple[PeriodKind, re.Pattern[str], Callable[..., tuple[int, int, int, int]]], ...] = (
    # kind, text, its numbers -> (first year, first month, last year, last month)
    ("month", re.compile(r"([0-9]{4})-([0-9]{2})"), lambda y, m: (y, m, y, m)),
    ("quarter", re.compile(r"([0-9]{4})-Q([1-4])"), lambda y, q: (y, 3 * q - 2, y, 3 * q)),
    ("fiscal_year", re.compile(r"FY([0-9]{4})"), lambda y: (y, 4, y + 1, 3)),
    ("range", re.compile(r"([0-9]{4})-([0-9]{2})\.\.([0-9]{4})-([0-9]{2})"), lambda *numbers: numbers),
)


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Period:
    """A report period: the calendar months `first_month` to `last_month` (each given by its 1st day),
    inclusive. `start` and `end` are the Unix seconds of the local midnights in `tz` that begin the
    first month and end the last one. Raises ValueError if the months do not make a period of `kind`."""

    kind: PeriodKind
    first_month: date
    last_month: date
    tz: str = "Asia/Tokyo"
    start: float = field(init=False)
    end: float = field(init=False)

    def __post_init__(self) -> None:
        zone = ZoneInfo(iana_zone(self.tz))
        count = (self.last_month.year - self.first_month.year) * 12 + self.last_month.month - self.first_month.month
        shape_ok = {
            "month": count == 0,
            "quarter": count == 2 and self.first_month.month % 3 == 1,
            "fiscal_year": count == 11 and self.first_month.month == 4,
            "range": count >= 0,
        }[self.kind]
        if self.first_month.day != 1 or self.last_month.day != 1 or not shape_ok:
            raise ValueError(f"{self.first_month} to {self.last_month} is not a {self.kind} of whole months")
        after = _add_months(self.last_month, 1)
        first = self.first_month
        object.__setattr__(self, "start", datetime(first.year, first.month, 1, tzinfo=zone).timestamp())
        object.__setattr__(self, "end", datetime(after.year, after.month, 1, tzinfo=zone).timestamp())

    @property
    def first_day(self) -> date:
        """The period's first local date."""
        return self.first_month

    @property
    def last_day(self) -> date:
        """The period's last local date (inclusive), as `holidays_between` takes it."""
        return _add_months(self.last_month, 1) - _ONE_DAY

    def months(self) -> list[Period]:
        """Each calendar month of the period, in order."""
        count = (self.last_month.year - self.first_month.year) * 12 + self.last_month.month - self.first_month.month
        return [Period("month", m, m, self.tz) for m in (_add_months(self.first_month, i) for i in range(count + 1))]

    def label(self, lang: Language) -> str:
        """The period's title in `lang`: "FY2026 (April 2026 – March 2027)", "令和8年度（2026年度）"."""
        if lang == "en":
            return _label_en(self.kind, self.first_month, self.last_month)
        if lang == "ja":
            return _label_ja(self.kind, self.first_month, self.last_month)
        raise ValueError(f"unknown language {lang!r} (en or ja)")


def _label_en(kind: PeriodKind, first: date, last: date) -> str:
    match kind:
        case "month":
            return _month_en(first)
        case "quarter":
            names = f"{_MONTHS_EN[first.month - 1]}–{_MONTHS_EN[last.month - 1]}"
            return f"{first.year} Q{first.month // 3 + 1} ({names})"
        case "fiscal_year":
            return f"FY{first.year} ({_month_en(first)} – {_month_en(last)})"
        case "range":
            return f"{_month_en(first)} – {_month_en(last)}"


def _label_ja(kind: PeriodKind, first: date, last: date) -> str:
    match kind:
        case "month":
            return f"{first.year}年{first.month}月"
        case "quarter":
            return f"{first.year}年 第{first.month // 3 + 1}四半期（{first.month}月〜{last.month}月）"
        case "fiscal_year":
            return _fiscal_year_ja(first.year)
        case "range":
            return f"{first.year}年{first.month}月〜{last.year}年{last.month}月"


def _month_en(month: date) -> str:
    return f"{_MONTHS_EN[month.month - 1]} {month.year}"


def _fiscal_year_ja(year: int) -> str:
    """令和8年度（2026年度）: the era in force on the fiscal year's last day (31 March), or, when the
    year began before that era (FY1988: 昭和63年度), on its first day; 元 for an era's first year."""
    for day in (date(year + 1, 3, 31), date(year, 4, 1)):
        era = next(((name, since) for name, since in _ERAS if since <= day), None)
        if era is not None and year >= era[1].year:
            number = year - era[1].year + 1
            return f"{era[0]}{'元' if number == 1 else number}年度（{year}年度）"
    return f"{year}年度"


def parse_period(text: str, tz: str = "Asia/Tokyo") -> Period:
    """`2026-11` (a month), `2026-Q3` (July to September), `FY2026` (April 2026 to March 2027),
    `2026-04..2027-03` (inclusive months), in time zone `tz`. Raises ValueError saying what is wrong."""
    for kind, pattern, months in _PERIOD_SYNTAX:
        match = pattern.fullmatch(text)
        if match is not None:
            first_year, first_month, last_year, last_month = months(*(int(group) for group in match.groups()))
            first, last = _month(text, first_year, first_month), _month(text, last_year, last_month)
            if last < first:
                raise ValueError(f"{text!r}: the range ends before it starts")
            return Period(kind, first, last, tz)
    raise ValueError(f"{text!r} is not a report period: expected {_PERIOD_FORMS}")


def _month(text: str, year: int, month: int) -> date:
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r}: {month:02d} is not a month (01 to 12)")
    if not 1000 <= year <= 9998:
        raise ValueError(f"{text!r}: the year {year:04d} is out of range (1000 to 9998)")
    return date(year, month, 1)
