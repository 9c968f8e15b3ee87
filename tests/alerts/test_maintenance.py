"""Maintenance windows: once/daily/weekly/monthly schedules in a time zone (DST in London and New
York, Tokyo without DST), negative month days in months of 28 to 31 days, occurrences clipped and
crossing midnight, next_change, config validation with exact messages, and the `Maintenances`
collection (API vs config origin, in_maintenance, restart)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from pydantic import ValidationError

from alerts.maintenance import MaintenanceRecord, Maintenances, MaintenanceWindow, Origin
from alerts.matchers import Matcher
from alerts.mutedb import MuteDB, NotFound
from model import FakeClock, Labels

EAST = Labels({"alertname": "DeviceDown", "site": "dc-east"})
OFFICE = Labels({"alertname": "DeviceDown", "site": "office"})


def at(text: str, zone: str = "UTC") -> float:
    """Unix seconds of local wall time `YYYY-MM-DD HH:MM` in `zone` (first of two in a repeated hour)."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def local(t: float, zone: str) -> str:
    return datetime.fromtimestamp(t, ZoneInfo(zone)).isoformat(timespec="minutes")


def spans(periods: list[tuple[float, float]], zone: str) -> list[tuple[str, str]]:
    return [(local(start, zone), local(end, zone)) for start, end in periods]


def window(schedule: dict[str, Any], location: str = "UTC", **extra: Any) -> MaintenanceWindow:
    data = {
        "name": "core-patching",
        "matchers": ['site=~"dc-.*"'],
        "owner": "netops",
        "reason": "switch firmware",
        "location": location,
        "schedule": schedule,
        **extra,
    }
    return MaintenanceWindow.model_validate(data)


def errors(schedule: dict[str, Any] | None = None, **fields: Any) -> list[str]:
    data: dict[str, Any] = {"name": "w", "matchers": ['site="a"'], "owner": "o", "reason": "r"}
    data["schedule"] = {"daily": {"start": "02:00", "duration": "1h"}} if schedule is None else schedule
    data.update(fields)
    with pytest.raises(ValidationError) as caught:
        MaintenanceWindow.model_validate(data)
    return [(".".join(str(p) for p in e["loc"]) + ": " if e["loc"] else "") + e["msg"] for e in caught.value.errors()]


def test_daily_window_crossing_midnight_is_clipped_to_the_asked_range() -> None:
    w = window({"daily": {"start": "23:00", "duration": "2h"}})

    periods = w.occurrences(at("2027-01-15 00:00"), at("2027-01-17 00:30"))

    assert spans(periods, "UTC") == [
        ("2027-01-15T00:00+00:00", "2027-01-15T01:00+00:00"),  # the 14th's occurrence, clipped
        ("2027-01-15T23:00+00:00", "2027-01-16T01:00+00:00"),
        ("2027-01-16T23:00+00:00", "2027-01-17T00:30+00:00"),  # clipped at the end
    ]
    assert [w.active_at(at(t)) for t in ("2027-01-15 22:59", "2027-01-15 23:00", "2027-01-16 00:59")] == [
        False,
        True,
        True,
    ]
    assert w.active_at(at("2027-01-16 01:00")) is False  # half-open: the end is outside


def test_weekly_window_in_tokyo_starts_at_local_time_whatever_the_utc_date() -> None:
    w = window({"weekly": {"weekdays": ["sunday", "wednesday"], "start": "02:00", "duration": "3h"}}, "Asia/Tokyo")

    periods = w.occurrences(at("2027-01-15 00:00", "Asia/Tokyo"), at("2027-01-22 00:00", "Asia/Tokyo"))

    assert spans(periods, "Asia/Tokyo") == [
        ("2027-01-17T02:00+09:00", "2027-01-17T05:00+09:00"),
        ("2027-01-20T02:00+09:00", "2027-01-20T05:00+09:00"),
    ]
    assert spans(periods, "UTC") == [
        ("2027-01-16T17:00+00:00", "2027-01-16T20:00+00:00"),
        ("2027-01-19T17:00+00:00", "2027-01-19T20:00+00:00"),
    ]


def test_weekly_window_longer_than_a_day_runs_over_the_weekend() -> None:
    w = window({"weekly": {"weekdays": ["friday"], "start": "18:00", "duration": "60h"}}, "Asia/Tokyo")

    assert w.active_at(at("2027-01-17 12:00", "Asia/Tokyo")) is True  # Sunday noon
    assert local(w.next_change(at("2027-01-17 12:00", "Asia/Tokyo")) or 0, "Asia/Tokyo") == "2027-01-18T06:00+09:00"


def test_back_to_back_occurrences_form_one_period() -> None:
    w = window({"weekly": {"weekdays": ["saturday", "sunday"], "start": "00:00", "duration": "1d"}})

    assert spans(w.occurrences(at("2027-01-11 00:00"), at("2027-01-25 00:00")), "UTC") == [
        ("2027-01-16T00:00+00:00", "2027-01-18T00:00+00:00"),
        ("2027-01-23T00:00+00:00", "2027-01-25T00:00+00:00"),
    ]
    assert w.next_change(at("2027-01-16 12:00")) == at("2027-01-18 00:00")


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        ([-1], ["2027-01-31", "2027-02-28", "2027-04-30", "2028-02-29"]),
        ([31], ["2027-01-31"]),
        ([-31], ["2027-01-01"]),
        ([30, -30], ["2027-01-02", "2027-01-30", "2027-04-01", "2027-04-30"]),
        (
            [1, 15, -1],
            [
                "2027-01-01",
                "2027-01-15",
                "2027-01-31",
                "2027-02-01",
                "2027-02-15",
                "2027-02-28",
                "2027-04-01",
                "2027-04-15",
                "2027-04-30",
                "2028-02-01",
                "2028-02-15",
                "2028-02-29",
            ],
        ),
    ],
)
def test_monthly_days_count_from_the_end_when_negative_and_skip_days_a_month_lacks(
    days: list[int], expected: list[str]
) -> None:
    """January (31 days), February 2027 (28), April (30) and February 2028 (29)."""
    w = window({"monthly": {"days": days, "start": "03:00", "duration": "1h"}}, "Asia/Tokyo")
    months = [("2027-01-01", "2027-03-01"), ("2027-04-01", "2027-05-01"), ("2028-02-01", "2028-03-01")]

    starts = [
        local(start, "Asia/Tokyo")
        for first, last in months
        for start, _ in w.occurrences(at(f"{first} 00:00", "Asia/Tokyo"), at(f"{last} 00:00", "Asia/Tokyo"))
    ]

    assert starts == [f"{day}T03:00+09:00" for day in expected]


def test_once_window_takes_rfc3339_or_local_time_in_its_location() -> None:
    rfc = window({"once": {"start": "2027-01-15T08:00:00+09:00", "end": "2027-01-15T10:30:00Z"}}, "Europe/London")
    wall = window({"once": {"start": "2027-07-01 22:00", "end": "2027-07-02 01:00"}}, "Europe/London")

    assert spans(rfc.occurrences(0, 2e9), "UTC") == [("2027-01-14T23:00+00:00", "2027-01-15T10:30+00:00")]
    assert spans(wall.occurrences(0, 2e9), "Europe/London") == [("2027-07-01T22:00+01:00", "2027-07-02T01:00+01:00")]
    assert [wall.next_change(t) for t in (0.0, at("2027-07-01 23:00", "Europe/London"))] == [
        at("2027-07-01 22:00", "Europe/London"),
        at("2027-07-02 01:00", "Europe/London"),
    ]
    assert wall.next_change(at("2027-07-02 01:00", "Europe/London")) is None


def test_daily_window_over_london_dst_changes_keeps_local_start_and_elapsed_duration() -> None:
    """Clocks go forward at 01:00 GMT on 28 March 2027 and back at 01:00 GMT on 31 October 2027."""
    zone = "Europe/London"
    w = window({"daily": {"start": "01:30", "duration": "2h"}}, zone)

    spring = w.occurrences(at("2027-03-27 00:00", zone), at("2027-03-30 00:00", zone))
    autumn = w.occurrences(at("2027-10-30 00:00", zone), at("2027-11-01 00:00", zone))

    assert spans(spring, zone) == [
        ("2027-03-27T01:30+00:00", "2027-03-27T03:30+00:00"),
        ("2027-03-28T02:30+01:00", "2027-03-28T04:30+01:00"),  # 01:30 does not exist that night
        ("2027-03-29T01:30+01:00", "2027-03-29T03:30+01:00"),
    ]
    assert spans(autumn, zone) == [
        ("2027-10-30T01:30+01:00", "2027-10-30T03:30+01:00"),
        ("2027-10-31T01:30+01:00", "2027-10-31T02:30+00:00"),  # the first 01:30; two hours later
    ]
    assert [end - start for start, end in spring + autumn] == [7200.0] * 5


def test_weekly_window_over_new_york_dst_changes() -> None:
    """Clocks go forward at 02:00 on 14 March 2027 and back at 02:00 on 7 November 2027."""
    zone = "America/New_York"
    w = window({"weekly": {"weekdays": ["sunday"], "start": "00:30", "duration": "3h"}}, zone)

    periods = w.occurrences(at("2027-03-13 00:00", zone), at("2027-03-15 00:00", zone)) + w.occurrences(
        at("2027-11-06 00:00", zone), at("2027-11-08 00:00", zone)
    )

    assert spans(periods, zone) == [
        ("2027-03-14T00:30-05:00", "2027-03-14T04:30-04:00"),
        ("2027-11-07T00:30-04:00", "2027-11-07T02:30-05:00"),
    ]


def test_next_change_steps_through_starts_and_ends() -> None:
    clock = FakeClock(at("2027-01-15 00:00"))  # a Friday
    w = window({"weekly": {"weekdays": ["monday", "friday"], "start": "22:00", "duration": "4h"}})

    changes = []
    for _ in range(5):
        change = w.next_change(clock.now())
        assert change is not None
        changes.append((local(change, "UTC"), w.active_at(change)))
        clock.set(change)

    assert changes == [
        ("2027-01-15T22:00+00:00", True),
        ("2027-01-16T02:00+00:00", False),
        ("2027-01-18T22:00+00:00", True),
        ("2027-01-19T02:00+00:00", False),
        ("2027-01-22T22:00+00:00", True),
    ]


def test_active_from_and_until_bound_a_recurring_schedule_by_local_start_date() -> None:
    zone = "Asia/Tokyo"
    w = window(
        {"daily": {"start": "23:00", "duration": "2h"}}, zone, active_from="2027-04-01", active_until="2027-04-03"
    )

    starts = [local(s, zone) for s, _ in w.occurrences(at("2027-03-01 00:00", zone), at("2027-05-01 00:00", zone))]

    assert starts == ["2027-04-01T23:00+09:00", "2027-04-02T23:00+09:00", "2027-04-03T23:00+09:00"]
    assert w.active_at(at("2027-04-04 00:30", zone)) is True  # the last occurrence runs past the bound
    assert w.next_change(at("2027-04-04 00:30", zone)) == at("2027-04-04 01:00", zone)
    assert w.next_change(at("2027-04-04 01:00", zone)) is None
    assert w.next_change(at("2027-01-01 00:00", zone)) == at("2027-04-01 23:00", zone)


def test_window_loads_from_yaml_and_dumps_back_to_the_same_config() -> None:
    text = """
name: core-patching
matchers: ['site=~"dc-.*"', 'scope="device"']
owner: netops
reason: monthly switch firmware
location: Asia/Tokyo
schedule:
  monthly: {days: [1, 15, -1], start: "02:00", duration: 3h}
active_from: 2027-04-01
"""
    w = MaintenanceWindow.model_validate(yaml.safe_load(text))
    once = window({"once": yaml.safe_load("{start: 2027-01-15T08:00:00+09:00, end: '2027-01-15 12:00'}")})

    assert w.matchers == (Matcher("site", "=~", "dc-.*"), Matcher("scope", "=", "device"))
    assert w.model_dump(mode="json", exclude_none=True) == {
        "name": "core-patching",
        "matchers": ['site=~"dc-.*"', 'scope="device"'],
        "owner": "netops",
        "reason": "monthly switch firmware",
        "location": "Asia/Tokyo",
        "schedule": {"monthly": {"start": "02:00", "duration": "3h", "days": [1, 15, -1]}},
        "active_from": "2027-04-01",
    }
    assert MaintenanceWindow.model_validate(w.model_dump(mode="json")) == w
    assert once.schedule.once is not None and once.schedule.once.start == "2027-01-15T08:00:00+09:00"


@pytest.mark.parametrize(
    ("schedule", "fields", "expected"),
    [
        ({}, {}, ["schedule: Value error, exactly one of once, daily, weekly, monthly is needed, got 0"]),
        (
            {
                "daily": {"start": "02:00", "duration": "1h"},
                "once": {"start": "2027-01-01 00:00", "end": "2027-01-02 00:00"},
            },
            {},
            ["schedule: Value error, exactly one of once, daily, weekly, monthly is needed, got 2"],
        ),
        (
            {"daily": {"start": 630, "duration": "1h"}},
            {},
            [
                'schedule.daily.start: Value error, expected a time of day "HH:MM", got the number 630 '
                "(quote it: YAML reads 10:30 as 630)"
            ],
        ),
        (
            {"daily": {"start": "24:00", "duration": "0s"}},
            {},
            [
                "schedule.daily.start: Value error, '24:00' is not a time of day (HH:MM, 00:00 to 23:59)",
                "schedule.daily.duration: Value error, '0s' must be a duration greater than 0",
            ],
        ),
        (
            {"weekly": {"weekdays": ["Sunday"], "start": "02:00", "duration": "1h"}},
            {},
            [
                "schedule.weekly.weekdays.0: Input should be 'sunday', 'monday', 'tuesday', 'wednesday', 'thursday', "
                "'friday' or 'saturday'"
            ],
        ),
        (
            {"weekly": {"weekdays": [], "start": "02:00", "duration": "1h"}},
            {},
            ["schedule.weekly.weekdays: Value error, at least one weekday is needed"],
        ),
        (
            {"monthly": {"days": [0, 32], "start": "02:00", "duration": "1h"}},
            {},
            [
                "schedule.monthly.days.0: Value error, 0 is not a day of the month (1 to 31, or -1 to -31 counted "
                "from the month's end)",
                "schedule.monthly.days.1: Value error, 32 is not a day of the month (1 to 31, or -1 to -31 counted "
                "from the month's end)",
            ],
        ),
        (
            {"once": {"start": "2027-01-15", "end": "2027-01-15 25:00"}},
            {},
            [
                "schedule.once.start: Value error, '2027-01-15' is not a time (RFC 3339 such as "
                "2027-01-15T08:00:00+09:00, or YYYY-MM-DD HH:MM)",
                "schedule.once.end: Value error, '2027-01-15 25:00' is not a valid date and time",
            ],
        ),
        (
            {"once": {"start": "2027-01-15 10:00", "end": "2027-01-15 10:00"}},
            {},
            ["Value error, schedule.once: end must be after start"],
        ),
        (
            {"once": {"start": "2027-01-15 10:00", "end": "2027-01-15 11:00"}},
            {"active_from": "2027-01-01"},
            ["Value error, active_from and active_until bound recurring schedules, not once"],
        ),
        (
            None,
            {"active_from": "2027-02-01", "active_until": "2027-01-31"},
            ["Value error, active_until must not be before active_from"],
        ),
        (
            None,
            {"location": "Asia/Edo"},
            ['location: Value error, "Asia/Edo" is not an IANA time zone (such as UTC, Asia/Tokyo, Europe/London)'],
        ),
        (None, {"matchers": []}, ["Value error, matchers: at least one matcher required"]),
        (
            None,
            {"matchers": ['team=~".*"']},
            ["Value error, matchers: at least one matcher must not match the empty string"],
        ),
        (
            None,
            {"matchers": ['site=="a"']},
            ["matchers: Value error, bad matcher 'site==\"a\"': unescaped double quote in the value at position 6"],
        ),
        (
            None,
            {"owner": "", "window": "x"},
            ["owner: String should have at least 1 character", "window: Extra inputs are not permitted"],
        ),
    ],
)
def test_invalid_window_config_is_refused_with_exact_messages(
    schedule: dict[str, Any] | None, fields: dict[str, Any], expected: list[str]
) -> None:
    assert errors(schedule if schedule is not None else None, **fields) == expected


def named(name: str, matchers: list[str], schedule: dict[str, Any]) -> MaintenanceWindow:
    return window(schedule).model_copy(update={"name": name, "matchers": window(schedule, matchers=matchers).matchers})


NIGHTLY = {"daily": {"start": "01:00", "duration": "2h"}}
ONCE = {"once": {"start": "2027-01-15 10:00", "end": "2027-01-15 12:00"}}


def test_in_maintenance_returns_the_first_active_window_by_name_that_matches(db: MuteDB) -> None:
    maintenances = Maintenances(db)
    maintenances.sync_from_config([named("b-nightly", ['site=~"dc-.*"'], NIGHTLY)])
    maintenances.create(named("a-office", ['site="office"'], NIGHTLY), "alice", at("2027-01-15 00:00"))
    maintenances.create(named("a-upgrade", ['site="dc-east"'], ONCE), "bob", at("2027-01-15 00:00"))

    assert [
        (w and w.name)
        for w in (
            maintenances.in_maintenance(EAST, at("2027-01-15 00:59")),
            maintenances.in_maintenance(EAST, at("2027-01-15 01:00")),
            maintenances.in_maintenance(OFFICE, at("2027-01-15 02:59")),
            maintenances.in_maintenance(OFFICE, at("2027-01-15 03:00")),
            maintenances.in_maintenance(EAST, at("2027-01-15 10:00")),
            maintenances.in_maintenance(OFFICE, at("2027-01-15 10:00")),
        )
    ] == [None, "b-nightly", "a-office", None, "a-upgrade", None]


def test_in_maintenance_sees_a_window_created_after_it_was_asked(db: MuteDB) -> None:
    maintenances = Maintenances(db)
    t = at("2027-01-15 11:00")
    assert maintenances.in_maintenance(EAST, t) is None

    created = named("a-upgrade", ['site="dc-east"'], ONCE)
    maintenances.create(created, "bob", t)

    assert maintenances.in_maintenance(EAST, t) == created
    maintenances.delete("a-upgrade")
    assert maintenances.in_maintenance(EAST, t) is None


def test_sync_from_config_replaces_config_windows_and_keeps_api_ones(db: MuteDB) -> None:
    maintenances = Maintenances(db)
    t = at("2027-01-15 00:00")
    maintenances.sync_from_config([named("old", ['site="a"'], NIGHTLY), named("kept", ['site="b"'], NIGHTLY)])
    api = maintenances.create(named("api", ['site="c"'], ONCE), "alice", t)
    maintenances.create(named("clash", ['site="d"'], ONCE), "alice", t)

    replaced = maintenances.sync_from_config(
        [named("kept", ['site="b2"'], NIGHTLY), named("clash", ['site="e"'], NIGHTLY)]
    )

    assert replaced == ["clash"]
    assert [(r.window.name, r.origin, r.created_by, str(r.window.matchers[0])) for r in maintenances.list()] == [
        ("api", Origin.API, "alice", 'site="c"'),
        ("clash", Origin.CONFIG, "config", 'site="e"'),
        ("kept", Origin.CONFIG, "config", 'site="b2"'),
    ]
    assert maintenances.list()[0] == api


def test_create_and_delete_refuse_duplicates_unknown_names_and_config_windows(db: MuteDB) -> None:
    maintenances = Maintenances(db)
    t = at("2027-01-15 00:00")
    maintenances.sync_from_config([named("nightly", ['site="a"'], NIGHTLY)])

    with pytest.raises(ValueError) as duplicate:
        maintenances.create(named("nightly", ['site="b"'], ONCE), "alice", t)
    with pytest.raises(ValueError) as nobody:
        maintenances.create(named("x", ['site="b"'], ONCE), " ", t)
    with pytest.raises(ValueError) as config:
        maintenances.delete("nightly")
    with pytest.raises(NotFound) as unknown:
        maintenances.delete("nope")
    with pytest.raises(ValueError) as twice:
        maintenances.sync_from_config([named("n", ['site="a"'], NIGHTLY)] * 2)

    assert str(duplicate.value) == 'a maintenance window named "nightly" already exists'
    assert str(nobody.value) == "created_by is required"
    assert str(config.value) == 'maintenance window "nightly" is defined in the config file: remove it there'
    assert str(unknown.value) == 'maintenance window "nope" not found'
    assert str(twice.value) == "maintenance window names must be unique: n"


def test_restart_restores_every_window_with_its_origin(tmp_path: Path) -> None:
    path = tmp_path / "mute.sqlite3"
    db = MuteDB(path)
    maintenances = Maintenances(db)
    maintenances.sync_from_config(
        [
            window(
                {"monthly": {"days": [-1], "start": "02:00", "duration": "90m"}}, "Asia/Tokyo", active_from="2027-04-01"
            )
        ]
    )
    maintenances.create(
        window(
            {"once": {"start": "2027-01-15T08:00:00+09:00", "end": "2027-01-15 12:00"}},
            "Europe/London",
            name="工事",
            matchers=['link="東西回線1"'],
        ),
        "alice",
        at("2027-01-10 09:00"),
    )
    before = maintenances.list()
    db.close()

    db = MuteDB(path)
    restored = Maintenances(db)

    assert restored.list() == before
    assert restored.list()[1] == MaintenanceRecord(before[1].window, Origin.API, "alice", at("2027-01-10 09:00"))
    assert (
        restored.in_maintenance(Labels({"link": "東西回線1"}), at("2027-01-15 11:00", "Europe/London"))
        == before[1].window
    )
    db.close()
