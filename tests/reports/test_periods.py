"""Report periods: month, quarter, fiscal year 年度 and month range read as local midnights, refused
with exact messages, split into months, and labelled in English and Japanese (era years). Expected
instants are written in UTC, independently of the code under test."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

import pytest

from reports.periods import Period, parse_period


def utc(text: str) -> float:
    """Unix seconds of `YYYY-MM-DDTHH:MM` in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "kind", "first", "last", "start", "end"),
    [
        ("2026-11", "month", date(2026, 11, 1), date(2026, 11, 1), "2026-10-31T15:00", "2026-11-30T15:00"),
        ("2026-Q3", "quarter", date(2026, 7, 1), date(2026, 9, 1), "2026-06-30T15:00", "2026-09-30T15:00"),
        ("FY2026", "fiscal_year", date(2026, 4, 1), date(2027, 3, 1), "2026-03-31T15:00", "2027-03-31T15:00"),
        ("2026-04..2027-03", "range", date(2026, 4, 1), date(2027, 3, 1), "2026-03-31T15:00", "2027-03-31T15:00"),
        ("2026-12..2026-12", "range", date(2026, 12, 1), date(2026, 12, 1), "2026-11-30T15:00", "2026-12-31T15:00"),
    ],
)
def test_parse_period_reads_each_form_as_local_midnights(
    text: str, kind: str, first: date, last: date, start: str, end: str
) -> None:
    period = parse_period(text)

    assert (period.kind, period.first_month, period.last_month, period.tz) == (kind, first, last, "Asia/Tokyo")
    assert (period.start, period.end) == (utc(start), utc(end))


def test_parse_period_in_another_zone_and_the_period_days() -> None:
    period = parse_period("2026-Q1", tz="Europe/London")

    assert (period.start, period.end) == (utc("2026-01-01T00:00"), utc("2026-03-31T23:00"))  # BST from 29 March
    assert (period.first_day, period.last_day) == (date(2026, 1, 1), date(2026, 3, 31))


FORMS = (
    "a month (2026-11), a quarter (2026-Q3), a fiscal year (FY2026, April to March) or a range of months "
    "(2026-04..2027-03)"
)


@pytest.mark.parametrize(
    ("text", "tz", "message"),
    [
        ("2026-13", "Asia/Tokyo", "'2026-13': 13 is not a month (01 to 12)"),
        ("2026-04..2026-00", "Asia/Tokyo", "'2026-04..2026-00': 00 is not a month (01 to 12)"),
        ("2027-03..2026-04", "Asia/Tokyo", "'2027-03..2026-04': the range ends before it starts"),
        ("0999-01", "Asia/Tokyo", "'0999-01': the year 0999 is out of range (1000 to 9998)"),
        ("2026-Q5", "Asia/Tokyo", f"'2026-Q5' is not a report period: expected {FORMS}"),
        ("fy2026", "Asia/Tokyo", f"'fy2026' is not a report period: expected {FORMS}"),
        ("2026-4", "Asia/Tokyo", f"'2026-4' is not a report period: expected {FORMS}"),
        ("2026年度", "Asia/Tokyo", f"'2026年度' is not a report period: expected {FORMS}"),
        ("", "Asia/Tokyo", f"'' is not a report period: expected {FORMS}"),
        ("2026-11", "Asia/Edo", '"Asia/Edo" is not an IANA time zone (such as UTC, Asia/Tokyo, Europe/London)'),
    ],
)
def test_parse_period_refuses_anything_else_saying_what_is_accepted(text: str, tz: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_period(text, tz=tz)

    assert str(caught.value) == message


def test_period_refuses_months_that_do_not_make_its_kind() -> None:
    with pytest.raises(ValueError) as caught:
        Period("quarter", date(2026, 2, 1), date(2026, 4, 1))

    assert str(caught.value) == "2026-02-01 to 2026-04-01 is not a quarter of whole months"


def test_months_of_a_fiscal_year_are_its_twelve_calendar_months() -> None:
    months = parse_period("FY2026").months()

    assert [m.label("en") for m in (months[0], months[8], months[-1])] == [
        "April 2026",
        "December 2026",
        "March 2027",
    ]
    assert len(months) == 12 and {m.kind for m in months} == {"month"}
    assert months[0].start == parse_period("FY2026").start and months[-1].end == parse_period("FY2026").end
    assert all(a.end == b.start for a, b in itertools.pairwise(months))
    assert parse_period("2026-11").months() == [parse_period("2026-11")]


@pytest.mark.parametrize(
    ("text", "english", "japanese"),
    [
        ("2026-11", "November 2026", "2026年11月"),
        ("2026-Q3", "2026 Q3 (July–September)", "2026年 第3四半期（7月〜9月）"),
        ("2027-Q1", "2027 Q1 (January–March)", "2027年 第1四半期（1月〜3月）"),
        ("FY2026", "FY2026 (April 2026 – March 2027)", "令和8年度（2026年度）"),
        ("2026-04..2027-03", "April 2026 – March 2027", "2026年4月〜2027年3月"),
        ("FY2019", "FY2019 (April 2019 – March 2020)", "令和元年度（2019年度）"),
        ("FY2018", "FY2018 (April 2018 – March 2019)", "平成30年度（2018年度）"),
        ("FY1989", "FY1989 (April 1989 – March 1990)", "平成元年度（1989年度）"),
        # Heisei began on 8 January 1989, before FY1988 ended; the year began in Showa 63.
        ("FY1988", "FY1988 (April 1988 – March 1989)", "昭和63年度（1988年度）"),
        ("FY1850", "FY1850 (April 1850 – March 1851)", "1850年度"),
    ],
)
def test_period_labels_in_english_and_japanese(text: str, english: str, japanese: str) -> None:
    period = parse_period(text)

    assert (period.label("en"), period.label("ja")) == (english, japanese)


def test_label_in_an_unknown_language_is_an_error() -> None:
    with pytest.raises(ValueError) as caught:
        parse_period("2026-11").label("fr")  # type: ignore[arg-type]

    assert str(caught.value) == "unknown language 'fr' (en or ja)"
