"""Alertmanager time intervals: each field's syntax and errors, `active` at exact instants (time
zones, DST, negative days of the month, 24:00) and `ranges` as merged [from, to) spans."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.timeintervals import (
    TimeInterval,
    TimePeriod,
    TimeRange,
    parse_days_of_month,
    parse_location,
    parse_months,
    parse_time,
    parse_time_range,
    parse_weekdays,
    parse_years,
)


def ts(text: str) -> float:
    """Unix seconds of an ISO time written in UTC (`2026-03-08T06:00`)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def spans(interval: TimeInterval, start: str, end: str) -> list[tuple[str, str]]:
    return [(iso(a), iso(b)) for a, b in interval.ranges(ts(start), ts(end))]


def one(**fields: object) -> TimeInterval:
    return TimeInterval("test", (TimePeriod(**fields),))  # type: ignore[arg-type]


BUSINESS_HOURS_TOKYO = one(
    times=(parse_time_range("09:00", "17:00"),),
    weekdays=(parse_weekdays("monday:friday"),),
    location=parse_location("Asia/Tokyo"),
)


def test_field_syntax_reads_names_numbers_and_ranges() -> None:
    assert parse_time("00:00") == 0
    assert parse_time("09:30") == 570
    assert parse_time("24:00") == 1440
    assert parse_time_range("22:00", "24:00") == TimeRange(1320, 1440)
    assert parse_weekdays("Monday:FRIDAY") == (1, 5)
    assert parse_weekdays("sunday") == (0, 0)
    assert parse_weekdays("saturday") == (6, 6)
    assert parse_months("january:march") == (1, 3)
    assert parse_months("10:12") == (10, 12)
    assert parse_months(12) == (12, 12)
    assert parse_days_of_month("1:15") == (1, 15)
    assert parse_days_of_month(-1) == (-1, -1)
    assert parse_days_of_month("-7:-1") == (-7, -1)
    assert parse_days_of_month("20:-1") == (20, -1)
    assert parse_years("2026:2028") == (2026, 2028)
    assert parse_years(2026) == (2026, 2026)
    assert parse_location("Asia/Tokyo").key == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("parse", "value", "message"),
    [
        (parse_time, "9:00", "'9:00' is not a time of day HH:MM (00:00 to 24:00)"),
        (parse_time, "24:01", "'24:01' is not a time of day HH:MM (00:00 to 24:00)"),
        (parse_time, "12:60", "'12:60' is not a time of day HH:MM (00:00 to 24:00)"),
        (parse_weekdays, "friday:monday", "'friday:monday': friday comes after monday (weeks start on Sunday)"),
        (parse_weekdays, "saturday:sunday", "'saturday:sunday': saturday comes after sunday (weeks start on Sunday)"),
        (parse_weekdays, "mon", "'mon' is not a weekday (sunday, ..., saturday)"),
        (parse_weekdays, "monday:tuesday:friday", "'monday:tuesday:friday' is not a value or a begin:end range"),
        (parse_months, "13", "'13' is not a month (january, ..., december)"),
        (parse_months, "march:january", "'march:january': the start month comes after the end month"),
        (parse_days_of_month, "0", "'0': 0 is not a day of the month (1 to 31, or -31 to -1 from the end)"),
        (parse_days_of_month, "1:32", "'1:32': 32 is not a day of the month (1 to 31, or -31 to -1 from the end)"),
        (parse_days_of_month, "-3:5", "'-3:5': the end day must be negative when the start day is"),
        (parse_days_of_month, "10:5", "'10:5': the end day is always before the start day"),
        (parse_days_of_month, "27:-3", "'27:-3': the end day is always before the start day"),
        (parse_days_of_month, "first", "'first' is not a day of the month"),
        (parse_years, "2028:2026", "'2028:2026' is not a year range (positive years, start not after end)"),
        (
            parse_location,
            "Mars/Olympus",
            "'Mars/Olympus' is not a known time zone (an IANA name such as Asia/Tokyo or UTC)",
        ),
    ],
)
def test_invalid_field_values_are_rejected_with_what_is_wrong(parse: object, value: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse(value)  # type: ignore[operator]
    assert str(caught.value) == message


def test_time_range_needs_start_before_end() -> None:
    with pytest.raises(ValueError, match=r"^start_time 17:00 must be before end_time 09:00$"):
        parse_time_range("17:00", "09:00")
    with pytest.raises(ValueError, match=r"^start_time 09:00 must be before end_time 09:00$"):
        parse_time_range("09:00", "09:00")


def test_business_hours_in_tokyo_are_active_by_tokyo_wall_clock_with_the_end_minute_excluded() -> None:
    # Monday 2026-01-05 09:00 JST is 00:00 UTC; 17:00 JST is 08:00 UTC.
    assert BUSINESS_HOURS_TOKYO.active(ts("2026-01-04T23:59:59")) is False
    assert BUSINESS_HOURS_TOKYO.active(ts("2026-01-05T00:00:00")) is True
    assert BUSINESS_HOURS_TOKYO.active(ts("2026-01-05T07:59:59")) is True
    assert BUSINESS_HOURS_TOKYO.active(ts("2026-01-05T08:00:00")) is False
    # Saturday 2026-01-10 10:00 JST
    assert BUSINESS_HOURS_TOKYO.active(ts("2026-01-10T01:00:00")) is False


def test_ranges_of_business_hours_in_tokyo_over_a_week() -> None:
    assert spans(BUSINESS_HOURS_TOKYO, "2026-01-03T00:00", "2026-01-10T00:00") == [
        ("2026-01-05T00:00:00", "2026-01-05T08:00:00"),
        ("2026-01-06T00:00:00", "2026-01-06T08:00:00"),
        ("2026-01-07T00:00:00", "2026-01-07T08:00:00"),
        ("2026-01-08T00:00:00", "2026-01-08T08:00:00"),
        ("2026-01-09T00:00:00", "2026-01-09T08:00:00"),
    ]


def test_ranges_are_clipped_to_the_window_and_empty_for_an_empty_window() -> None:
    assert spans(BUSINESS_HOURS_TOKYO, "2026-01-05T03:30:15", "2026-01-06T01:00") == [
        ("2026-01-05T03:30:15", "2026-01-05T08:00:00"),
        ("2026-01-06T00:00:00", "2026-01-06T01:00:00"),
    ]
    assert BUSINESS_HOURS_TOKYO.ranges(ts("2026-01-06T00:00"), ts("2026-01-05T00:00")) == []


NIGHT_NEW_YORK = one(times=(parse_time_range("01:00", "03:00"),), location=parse_location("America/New_York"))


def test_spring_forward_in_new_york_shortens_a_night_window_to_one_hour() -> None:
    # 2026-03-08: 02:00 EST jumps to 03:00 EDT at 07:00 UTC; 01:00 EST is 06:00 UTC.
    assert spans(NIGHT_NEW_YORK, "2026-03-08T00:00", "2026-03-09T00:00") == [
        ("2026-03-08T06:00:00", "2026-03-08T07:00:00"),
    ]
    assert NIGHT_NEW_YORK.active(ts("2026-03-08T06:59:59")) is True
    assert NIGHT_NEW_YORK.active(ts("2026-03-08T07:00:00")) is False
    # the day before, still EST: 01:00-03:00 EST is 06:00-08:00 UTC
    assert spans(NIGHT_NEW_YORK, "2026-03-07T00:00", "2026-03-08T00:00") == [
        ("2026-03-07T06:00:00", "2026-03-07T08:00:00"),
    ]


def test_a_window_inside_the_spring_forward_gap_ends_at_the_jump() -> None:
    interval = one(times=(parse_time_range("01:30", "02:30"),), location=parse_location("America/New_York"))
    assert spans(interval, "2026-03-08T00:00", "2026-03-09T00:00") == [("2026-03-08T06:30:00", "2026-03-08T07:00:00")]


def test_fall_back_in_new_york_lengthens_a_night_window_to_three_hours() -> None:
    # 2026-11-01: 02:00 EDT goes back to 01:00 EST at 06:00 UTC; 01:00 EDT is 05:00 UTC, 03:00 EST 08:00 UTC.
    assert spans(NIGHT_NEW_YORK, "2026-11-01T00:00", "2026-11-02T00:00") == [
        ("2026-11-01T05:00:00", "2026-11-01T08:00:00"),
    ]


def test_negative_days_of_month_count_from_the_end_of_each_month() -> None:
    last_day = one(days_of_month=(parse_days_of_month("-1"),))
    assert spans(last_day, "2026-01-15T00:00", "2026-03-15T00:00") == [
        ("2026-01-31T00:00:00", "2026-02-01T00:00:00"),
        ("2026-02-28T00:00:00", "2026-03-01T00:00:00"),
    ]
    assert last_day.active(ts("2028-02-29T12:00")) is True
    assert last_day.active(ts("2028-02-28T12:00")) is False
    last_week = one(days_of_month=(parse_days_of_month("-7:-1"),))
    assert spans(last_week, "2026-04-01T00:00", "2026-05-01T00:00") == [("2026-04-24T00:00:00", "2026-05-01T00:00:00")]


def test_days_of_month_past_the_end_of_a_short_month_are_clamped_or_skipped() -> None:
    end_of_month = one(days_of_month=(parse_days_of_month("28:31"),))
    assert spans(end_of_month, "2026-02-01T00:00", "2026-03-05T00:00") == [
        ("2026-02-28T00:00:00", "2026-03-01T00:00:00")
    ]
    thirtieth = one(days_of_month=(parse_days_of_month("30:31"),))
    assert spans(thirtieth, "2026-02-01T00:00", "2026-03-01T00:00") == []


def test_a_window_ending_at_24_00_and_one_starting_at_00_00_merge_across_midnight() -> None:
    interval = one(times=(parse_time_range("22:00", "24:00"), parse_time_range("00:00", "02:00")))
    assert interval.active(ts("2026-05-01T23:59:59")) is True
    assert interval.active(ts("2026-05-02T02:00:00")) is False
    assert spans(interval, "2026-05-01T12:00", "2026-05-03T00:00") == [
        ("2026-05-01T22:00:00", "2026-05-02T02:00:00"),
        ("2026-05-02T22:00:00", "2026-05-03T00:00:00"),
    ]


def test_months_and_years_restrict_by_local_date() -> None:
    winter = one(months=(parse_months("december"), parse_months("january:february")), years=(parse_years("2026"),))
    assert winter.active(ts("2026-01-10T00:00")) is True
    assert winter.active(ts("2026-03-01T00:00")) is False
    assert winter.active(ts("2026-12-31T23:59")) is True
    assert winter.active(ts("2027-01-01T00:00")) is False
    # Tokyo's January starts 9 hours before UTC's
    tokyo_january = one(months=(parse_months("1"),), location=parse_location("Asia/Tokyo"))
    assert spans(tokyo_january, "2025-12-01T00:00", "2026-03-01T00:00") == [
        ("2025-12-31T15:00:00", "2026-01-31T15:00:00")
    ]


def test_an_interval_is_active_when_any_period_is_and_never_without_periods() -> None:
    weekend_or_nights = TimeInterval(
        "quiet",
        (
            TimePeriod(weekdays=(parse_weekdays("saturday"), parse_weekdays("sunday"))),
            TimePeriod(times=(parse_time_range("00:00", "06:00"),)),
        ),
    )
    # Friday 2026-01-09 .. Monday 2026-01-12 06:00
    assert spans(weekend_or_nights, "2026-01-09T00:00", "2026-01-12T12:00") == [
        ("2026-01-09T00:00:00", "2026-01-09T06:00:00"),
        ("2026-01-10T00:00:00", "2026-01-12T06:00:00"),
    ]
    assert TimeInterval("never", ()).active(ts("2026-01-10T00:00")) is False
    assert TimeInterval("never", ()).ranges(ts("2026-01-10T00:00"), ts("2026-01-11T00:00")) == []
    assert one().ranges(ts("2026-01-10T00:00"), ts("2026-01-11T00:00")) == [
        (ts("2026-01-10T00:00"), ts("2026-01-11T00:00"))
    ]


def test_ranges_over_a_year_are_cheap_and_count_every_business_day() -> None:
    result = BUSINESS_HOURS_TOKYO.ranges(ts("2026-01-01T00:00"), ts("2027-01-01T00:00"))
    assert len(result) == 261  # weekdays in 2026
    assert sum(b - a for a, b in result) == 261 * 8 * 3600
