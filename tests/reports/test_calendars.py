"""Report calendars: service hours (24×7, weekday and night windows, Japanese public holidays, closed
dates such as 年末年始, DST in London), config validation with exact messages, and the holiday list.
Expected instants are written in UTC, independently of the code under test."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import jpholiday
import pytest
import yaml
from pydantic import ValidationError

import reports.calendars
from reports.calendars import ServiceHours, ServiceWindow, holidays_between, service_intervals
from reports.periods import parse_period

HOUR = 3600.0
WEEKDAY_HOURS = {"windows": [{"days": ["weekdays"], "start": "08:30", "end": "21:00"}]}


def utc(text: str) -> float:
    """Unix seconds of `YYYY-MM-DDTHH:MM` in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def hours(data: dict[str, Any]) -> ServiceHours:
    return ServiceHours.model_validate(data)


def total(spans: list[tuple[float, float]]) -> float:
    return sum(end - start for start, end in spans)


def errors(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        ServiceHours.model_validate(data)
    return [f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in caught.value.errors()]


# --- service hours -----------------------------------------------------------------------------


def test_omitted_service_hours_are_24x7_and_cover_the_whole_month() -> None:
    november = parse_period("2026-11")

    assert ServiceHours().is_always and hours({"always": True}).is_always
    assert (november.start, november.end) == (utc("2026-10-31T15:00"), utc("2026-11-30T15:00"))
    assert service_intervals(ServiceHours(), november.start, november.end) == [(november.start, november.end)]
    assert november.end - november.start == 30 * 86400


def test_weekday_window_does_not_open_on_a_national_holiday() -> None:
    # 2026-11-23 (Mon) is 勤労感謝の日; the week is Mon 23 .. Sun 29 in Tokyo (UTC+9).
    spans = service_intervals(hours(WEEKDAY_HOURS), utc("2026-11-22T15:00"), utc("2026-11-29T15:00"))

    assert spans == [
        (utc("2026-11-23T23:30"), utc("2026-11-24T12:00")),  # Tue 08:30-21:00 JST
        (utc("2026-11-24T23:30"), utc("2026-11-25T12:00")),
        (utc("2026-11-25T23:30"), utc("2026-11-26T12:00")),
        (utc("2026-11-26T23:30"), utc("2026-11-27T12:00")),  # Fri
    ]


def test_window_opens_on_a_holiday_when_on_holidays_is_true() -> None:
    data = {"windows": [{"days": ["weekdays"], "start": "08:30", "end": "21:00", "on_holidays": True}]}

    spans = service_intervals(hours(data), utc("2026-11-22T15:00"), utc("2026-11-23T15:00"))

    assert spans == [(utc("2026-11-22T23:30"), utc("2026-11-23T12:00"))]


def test_night_window_crossing_midnight_and_the_month_end_is_clipped_to_the_period() -> None:
    data = {"windows": [{"days": ["everyday"], "start": "22:00", "end": "02:00", "on_holidays": True}]}
    november = parse_period("2026-11")

    spans = service_intervals(hours(data), november.start, november.end)

    assert spans[0] == (utc("2026-10-31T15:00"), utc("2026-10-31T17:00"))  # the 31 Oct window's Nov part
    assert spans[1] == (utc("2026-11-01T13:00"), utc("2026-11-01T17:00"))  # 1 Nov 22:00 .. 2 Nov 02:00 JST
    assert spans[-1] == (utc("2026-11-30T13:00"), utc("2026-11-30T15:00"))  # cut at 1 Dec 00:00 JST
    assert (len(spans), total(spans)) == (31, 2 * HOUR + 29 * 4 * HOUR + 2 * HOUR)


def test_night_window_started_before_a_holiday_runs_to_its_end_and_none_opens_on_it() -> None:
    # Mon 2 Nov 2026 22:00 runs into 文化の日 (Tue 3 Nov); no window opens on the 3rd.
    data = {"windows": [{"days": ["weekdays"], "start": "22:00", "end": "02:00"}]}

    spans = service_intervals(hours(data), utc("2026-11-01T15:00"), utc("2026-11-04T15:00"))

    assert spans == [
        (utc("2026-11-02T13:00"), utc("2026-11-02T17:00")),  # Mon 22:00 .. Tue 02:00 JST
        (utc("2026-11-04T13:00"), utc("2026-11-04T15:00")),  # Wed 22:00 .. the range's end
    ]


def test_windows_that_touch_or_overlap_merge_into_one_interval() -> None:
    data = {
        "windows": [
            {"days": ["everyday"], "start": "00:00", "end": "24:00", "on_holidays": True},
            {"days": ["mon"], "start": "08:00", "end": "08:00"},  # 24 hours from Monday 08:00
        ]
    }

    spans = service_intervals(hours(data), utc("2026-10-31T15:00"), utc("2026-11-30T15:00"))

    assert spans == [(utc("2026-10-31T15:00"), utc("2026-11-30T15:00"))]


def test_end_at_the_start_time_is_a_24_hour_window_and_24_00_ends_at_midnight() -> None:
    data = {
        "windows": [
            {"days": ["sat"], "start": "08:00", "end": "08:00"},
            {"days": ["wed"], "start": "12:00", "end": "24:00"},
        ]
    }

    spans = service_intervals(hours(data), utc("2026-11-01T15:00"), utc("2026-11-08T15:00"))

    assert spans == [
        (utc("2026-11-04T03:00"), utc("2026-11-04T15:00")),  # Wed 12:00 .. Thu 00:00 JST
        (utc("2026-11-06T23:00"), utc("2026-11-07T23:00")),  # Sat 08:00 .. Sun 08:00 JST
    ]


def test_empty_or_reversed_range_has_no_service_time() -> None:
    assert service_intervals(hours(WEEKDAY_HOURS), utc("2026-11-24T00:00"), utc("2026-11-24T00:00")) == []
    assert service_intervals(ServiceHours(), utc("2026-11-25T00:00"), utc("2026-11-24T00:00")) == []


def test_year_end_closed_dates_remove_those_days_from_fy2026() -> None:
    fy2026 = parse_period("FY2026")
    open_all_year = service_intervals(hours(WEEKDAY_HOURS), fy2026.start, fy2026.end)
    closed = service_intervals(hours({**WEEKDAY_HOURS, "closed_dates": ["12-29..01-03"]}), fy2026.start, fy2026.end)

    # 12-29 .. 01-03: Tue 29, Wed 30, Thu 31 Dec are weekdays; 1 Jan (元日) is a holiday already.
    removed = sorted(set(open_all_year) - set(closed))
    assert removed == [
        (utc("2026-12-28T23:30"), utc("2026-12-29T12:00")),
        (utc("2026-12-29T23:30"), utc("2026-12-30T12:00")),
        (utc("2026-12-30T23:30"), utc("2026-12-31T12:00")),
    ]
    assert set(closed) < set(open_all_year)
    assert (utc("2027-01-03T23:30"), utc("2027-01-04T12:00")) in closed  # Mon 4 Jan: open again


def test_closed_dates_as_dates_date_ranges_and_month_days() -> None:
    data = {
        "windows": [{"days": ["everyday"], "start": "10:00", "end": "11:00"}],
        "closed_dates": ["2026-11-02", "2026-11-04..2026-11-05", "11-07"],
    }

    spans = service_intervals(hours(data), utc("2026-11-01T15:00"), utc("2026-11-08T15:00"))

    # 2 Nov closed, 3 Nov 文化の日, 4-5 Nov closed, 7 Nov closed every year: 6 and 8 Nov remain.
    assert spans == [
        (utc("2026-11-06T01:00"), utc("2026-11-06T02:00")),
        (utc("2026-11-08T01:00"), utc("2026-11-08T02:00")),
    ]


def test_fy2026_weekdays_0830_to_2100_total_3012_5_hours() -> None:
    # Counted independently: weekdays of April 2026 .. March 2027 that are neither a jpholiday holiday
    # nor within 12-29 .. 01-03. N = 241 business days x 12.5 h = 3012.5 h.
    closed = {date(2026, 12, d) for d in (29, 30, 31)} | {date(2027, 1, d) for d in (1, 2, 3)}
    days = [date(2026, 4, 1) + timedelta(days=i) for i in range(365)]
    business = [d for d in days if d.weekday() < 5 and not jpholiday.is_holiday(d) and d not in closed]
    fy2026 = parse_period("FY2026")

    spans = service_intervals(hours({**WEEKDAY_HOURS, "closed_dates": ["12-29..01-03"]}), fy2026.start, fy2026.end)

    assert len(business) == 241
    assert (len(spans), total(spans)) == (241, 3012.5 * HOUR)


def london(days: str, start: str, end: str) -> ServiceHours:
    return hours({"timezone": "Europe/London", "windows": [{"days": [days], "start": start, "end": end}]})


def test_windows_on_dst_change_days_in_london_last_their_wall_clock_length() -> None:
    # Clocks go forward at 01:00 GMT on Sun 29 March 2026 and back at 01:00 GMT on Sun 25 October.
    spring = service_intervals(london("sun", "00:00", "03:00"), utc("2026-03-28T00:00"), utc("2026-03-30T00:00"))
    autumn = service_intervals(london("sun", "00:00", "03:00"), utc("2026-10-24T00:00"), utc("2026-10-26T00:00"))
    night = service_intervals(london("sat", "22:00", "02:00"), utc("2026-10-24T00:00"), utc("2026-10-26T00:00"))
    spring_day = service_intervals(london("sun", "00:00", "24:00"), utc("2026-03-28T00:00"), utc("2026-03-30T00:00"))
    autumn_day = service_intervals(london("sun", "00:00", "24:00"), utc("2026-10-24T00:00"), utc("2026-10-26T00:00"))

    assert spring == [(utc("2026-03-29T00:00"), utc("2026-03-29T02:00"))]  # 00:00 GMT .. 03:00 BST: 2 h
    assert autumn == [(utc("2026-10-24T23:00"), utc("2026-10-25T03:00"))]  # 00:00 BST .. 03:00 GMT: 4 h
    assert night == [(utc("2026-10-24T21:00"), utc("2026-10-25T02:00"))]  # Sat 22:00 BST .. 02:00 GMT: 5 h
    assert spring_day == [(utc("2026-03-29T00:00"), utc("2026-03-29T23:00"))]  # a 23-hour day
    assert autumn_day == [(utc("2026-10-24T23:00"), utc("2026-10-26T00:00"))]  # a 25-hour day
    assert [total(x) / HOUR for x in (spring, autumn, night, spring_day, autumn_day)] == [2, 4, 5, 23, 25]


def test_day_names_expand_to_weekday_numbers() -> None:
    window = ServiceWindow.model_validate({"days": ["weekdays", "sat"], "start": "8:30", "end": "24:00"})

    assert (window.weekdays, window.start, window.minutes) == (frozenset({0, 1, 2, 3, 4, 5}), "08:30", (510, 1440))
    assert ServiceWindow(days=("everyday",), start="22:00", end="02:00").minutes == (1320, 1560)


def test_docstring_examples_are_valid_service_hours() -> None:
    assert reports.calendars.__doc__ is not None
    examples = re.findall(r"```yaml\n(.*?)```", reports.calendars.__doc__, re.DOTALL)

    loaded = [hours(yaml.safe_load(text)["service_hours"]) for text in examples]

    assert [h.is_always for h in loaded] == [True, False]
    assert loaded[1].closed_dates == ("12-29..01-03", "2027-05-06")
    assert [w.on_holidays for w in loaded[1].windows or ()] == [False, True, False]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"windows": [{"days": ["Mon", "monday"], "start": "08:30", "end": "21:00"}]},
            [
                "windows.0.days.0: Value error, unknown day name 'Mon' (expected mon, tue, wed, thu, fri, sat, sun, "
                "weekdays or everyday)",
                "windows.0.days.1: Value error, unknown day name 'monday' (expected mon, tue, wed, thu, fri, sat, sun, "
                "weekdays or everyday)",
            ],
        ),
        (
            {"windows": [{"days": [], "start": "08:30", "end": "21:00"}]},
            ["windows.0.days: Value error, at least one day is needed"],
        ),
        (
            {"windows": [{"days": ["mon"], "start": "24:00", "end": "24:01"}]},
            [
                "windows.0.start: Value error, '24:00' is not a time of day (HH:MM, 00:00 to 23:59)",
                "windows.0.end: Value error, '24:01' is not a time of day (HH:MM, 00:00 to 24:00)",
            ],
        ),
        (
            {"windows": [{"days": ["mon"], "start": 630, "end": "8:5"}]},
            [
                'windows.0.start: Value error, expected a time of day "HH:MM", got the number 630 '
                "(quote it: YAML reads 10:30 as 630)",
                "windows.0.end: Value error, '8:5' is not a time of day (HH:MM, 00:00 to 24:00)",
            ],
        ),
        (
            {"windows": [{"days": ["mon"], "start": "08:30", "end": "21:00", "on_holiday": True}]},
            ["windows.0.on_holiday: Extra inputs are not permitted"],
        ),
        ({"windows": []}, ["windows: Value error, at least one window is needed"]),
        (
            {"always": True, **WEEKDAY_HOURS},
            [": Value error, always: true and windows exclude each other: give one of them"],
        ),
        ({"always": False}, [": Value error, always: false needs windows"]),
        (
            {"closed_dates": ["12-29..01-03"]},
            [": Value error, closed_dates need windows: a 24×7 service (always) has no closed days"],
        ),
        (
            {"timezone": "Asia/Edo"},
            ['timezone: Value error, "Asia/Edo" is not an IANA time zone (such as UTC, Asia/Tokyo, Europe/London)'],
        ),
        (
            {
                **WEEKDAY_HOURS,
                "closed_dates": ["12-32", "2026-12-29..01-03", "2027-05-08..2027-05-06", "1229", "2027-02-29"],
            },
            [
                "closed_dates.0: Value error, '12-32': 12-32 is not a date",
                "closed_dates.1: Value error, '2026-12-29..01-03': both ends of a range must be YYYY-MM-DD, "
                "or both MM-DD",
                "closed_dates.2: Value error, '2027-05-08..2027-05-06': the range ends before it starts",
                "closed_dates.3: Value error, '1229' is not a closed date (YYYY-MM-DD, MM-DD for every year, "
                "or a range such as 12-29..01-03 or 2027-05-06..2027-05-08)",
                "closed_dates.4: Value error, '2027-02-29': 2027-02-29 is not a date",
            ],
        ),
    ],
)
def test_invalid_service_hours_are_refused_with_exact_messages(data: dict[str, Any], expected: list[str]) -> None:
    assert errors(data) == expected


def test_closed_dates_accept_yaml_dates_and_february_29() -> None:
    text = 'windows: [{days: [weekdays], start: "08:30", end: "21:00"}]\nclosed_dates: [2027-05-06, "02-29"]'

    assert hours(yaml.safe_load(text)).closed_dates == ("2027-05-06", "02-29")


# --- holidays ----------------------------------------------------------------------------------


def test_holidays_between_names_the_japanese_public_holidays_inclusive() -> None:
    assert holidays_between(date(2026, 11, 3), date(2026, 11, 23)) == {
        date(2026, 11, 3): "文化の日",
        date(2026, 11, 23): "勤労感謝の日",
    }
    assert holidays_between(date(2026, 12, 20), date(2027, 1, 15)) == {
        date(2027, 1, 1): "元日",
        date(2027, 1, 11): "成人の日",
    }
    assert holidays_between(date(2026, 11, 24), date(2026, 11, 30)) == {}
