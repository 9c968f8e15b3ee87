"""Availability figures, hand-computed (issue 8): each case states its arithmetic.

A small estate: two centres joined by east-west-1/2, an office behind link office-01 (its router and
server unreachable when the link is cut), two database servers. History goes into a real
HistoryDB (SQLite in tmp_path); the console watched the whole time unless a case says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alerts.maintenance import MaintenanceWindow
from model import Device, Inventory, Labels, Link, LinkEnd, Site, System
from reports.availability import compute
from reports.config import SystemSla
from reports.history import AlertSpan, HistoryDB, LeafSpan, Reclassification

JST = ZoneInfo("Asia/Tokyo")
HOUR = 3600.0


def jst(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> float:
    return datetime(y, m, d, h, mi, tzinfo=JST).timestamp()


def estate() -> Inventory:
    def device(name: str, site: str, *parents: str) -> Device:
        return Device(name, site, "records", "server", "127.0.0.1", parents=parents)

    return Inventory(
        sites=(Site("dc-east", "東日本センター"), Site("dc-west", "西日本センター"), Site("office-01", "札幌東")),
        systems=(System("records", "記録管理システム"), System("wan", "拠点間回線")),
        devices=(
            device("rtr-east-01", "dc-east"),
            device("rtr-west-01", "dc-west", "east-west-1", "east-west-2"),
            device("srv-records-01", "dc-east", "rtr-east-01"),
            device("db-a", "dc-east", "rtr-east-01"),
            device("db-b", "dc-west", "rtr-west-01"),
            device("rtr-office-01", "office-01", "office-01"),
            device("srv-office-01", "office-01", "rtr-office-01"),
        ),
        links=(
            Link(
                "east-west-1",
                LinkEnd("rtr-east-01", "Gi0/1"),
                LinkEnd("rtr-west-01", "Gi0/1"),
                parents=("rtr-east-01",),
            ),
            Link(
                "east-west-2",
                LinkEnd("rtr-east-01", "Gi0/2"),
                LinkEnd("rtr-west-01", "Gi0/2"),
                parents=("rtr-east-01",),
            ),
            Link(
                "office-01", LinkEnd("rtr-east-01", "Gi0/3"), LinkEnd("rtr-office-01", "Se0"), parents=("rtr-east-01",)
            ),
        ),
    )


def sla(tree: dict[str, Any], *, target: float = 99.9, hours: dict[str, Any] | None = None) -> SystemSla:
    return SystemSla.model_validate(
        {"system": "records", "target": target, "tree": tree, **({"service_hours": hours} if hours else {})}
    )


@pytest.fixture
def history(tmp_path: Path) -> Iterator[HistoryDB]:
    db = HistoryDB.open(tmp_path / "history.sqlite3")
    db.insert([], [], [(jst(2026, 1, 1), jst(2028, 1, 1))])  # watched throughout
    yield db
    db.close()


def down(key: str, start: float, end: float, state: str = "down") -> LeafSpan:
    return LeafSpan(key, state, start, end)


def alert(start: float, end: float, summary: str, **labels: str) -> AlertSpan:
    return AlertSpan(
        f"fp-{summary}",
        Labels(labels, severity="critical"),
        Labels(summary=summary, summary_ja=f"{summary} (ja)"),
        start,
        end,
    )


MONTH_OCT = (jst(2026, 10, 1), jst(2026, 11, 1))
MONTH_NOV = (jst(2026, 11, 1), jst(2026, 12, 1))
NOW = jst(2027, 6, 1)


def test_an_outage_across_a_month_boundary_counts_its_part_in_each_month_and_once_in_the_year(
    history: HistoryDB,
) -> None:
    history.insert([down("device:srv-records-01", jst(2026, 10, 31, 23), jst(2026, 11, 1, 1))], [], [])
    report = compute(sla({"device": "srv-records-01"}), estate(), history, [], [], MONTH_OCT[0], MONTH_NOV[1], NOW)
    october, november = report.figures(*MONTH_OCT), report.figures(*MONTH_NOV)
    assert (october.downtime, november.downtime) == (HOUR, HOUR)
    assert october.service == 31 * 86400 and november.service == 30 * 86400
    assert october.availability == 1 - 3600 / (31 * 86400)  # 99.8656 %
    assert november.availability == 1 - 3600 / (30 * 86400)  # 99.8611 %
    assert (october.incidents, november.incidents, report.figures().incidents) == (1, 1, 1)
    assert report.figures().downtime == 2 * HOUR
    assert [(o.start, o.end, o.counted) for o in report.outages] == [
        (jst(2026, 10, 31, 23), jst(2026, 11, 1, 1), 2 * HOUR)
    ]


def test_overlapping_outages_of_two_parts_of_an_all_node_are_one_outage_of_their_union(history: HistoryDB) -> None:
    history.insert(
        [
            down("device:db-a", jst(2026, 11, 10, 10), jst(2026, 11, 10, 11)),
            down("device:db-b", jst(2026, 11, 10, 10, 30), jst(2026, 11, 10, 12)),
        ],
        [],
        [],
    )
    report = compute(sla({"all": [{"device": "db-a"}, {"device": "db-b"}]}), estate(), history, [], [], *MONTH_NOV, NOW)
    month = report.figures()
    assert (month.downtime, month.incidents, month.mttr, month.longest) == (2 * HOUR, 1, 2 * HOUR, 2 * HOUR)
    assert month.mtbf == 30 * 86400 - 2 * HOUR
    assert [o.leaves for o in report.outages] == [("device:db-a",)]


def test_one_redundant_link_down_degrades_and_both_down_is_an_outage(history: HistoryDB) -> None:
    history.insert(
        [
            down("link:east-west-1", jst(2026, 11, 10, 10), jst(2026, 11, 10, 12)),
            down("link:east-west-2", jst(2026, 11, 10, 11), jst(2026, 11, 10, 11, 30)),
        ],
        [],
        [],
    )
    tree = {"k_of_n": {"k": 1, "of": [{"link": "east-west-1"}, {"link": "east-west-2"}]}}
    month = compute(sla(tree), estate(), history, [], [], *MONTH_NOV, NOW).figures()
    assert (month.downtime, month.degraded, month.incidents) == (1800.0, 5400.0, 1)


def test_an_outage_partly_inside_a_maintenance_window_counts_only_the_rest(history: HistoryDB) -> None:
    history.insert([down("device:srv-records-01", jst(2026, 11, 10, 2), jst(2026, 11, 10, 4))], [], [])
    window = MaintenanceWindow.model_validate(
        {
            "name": "disk-swap",
            "matchers": ['target="srv-records-01"'],
            "owner": "ops-east",
            "reason": "disk swap",
            "location": "Asia/Tokyo",
            "schedule": {"once": {"start": "2026-11-10T01:00:00", "end": "2026-11-10T03:00:00"}},
        }
    )
    report = compute(sla({"device": "srv-records-01"}), estate(), history, [window], [], *MONTH_NOV, NOW)
    (outage,) = report.outages
    assert (outage.in_service, outage.excluded, outage.counted, outage.maintenance) == (
        2 * HOUR,
        HOUR,
        HOUR,
        ("disk-swap",),
    )
    month = report.figures()
    assert (month.downtime, month.excluded, month.incidents) == (HOUR, HOUR, 1)


WEEKDAYS = {"windows": [{"days": ["weekdays"], "start": "08:30", "end": "21:00"}]}
WEEK = (jst(2026, 11, 23), jst(2026, 11, 30))  # Monday 23 (勤労感謝の日) .. Sunday 29


def test_an_outage_outside_service_hours_is_listed_but_not_counted(history: HistoryDB) -> None:
    history.insert([down("device:srv-records-01", jst(2026, 11, 24, 22), jst(2026, 11, 24, 23))], [], [])
    report = compute(sla({"device": "srv-records-01"}, hours=WEEKDAYS), estate(), history, [], [], *WEEK, NOW)
    assert [(o.in_service, o.counted) for o in report.outages] == [(0.0, 0.0)]
    week = report.figures()
    assert (week.downtime, week.incidents, week.availability) == (0.0, 0, 1.0)


def test_a_national_holiday_has_no_weekday_service_hours(history: HistoryDB) -> None:
    history.insert([down("device:srv-records-01", jst(2026, 11, 23, 10), jst(2026, 11, 23, 11))], [], [])
    week = compute(sla({"device": "srv-records-01"}, hours=WEEKDAYS), estate(), history, [], [], *WEEK, NOW).figures()
    assert week.service == 4 * 12.5 * HOUR  # Tuesday to Friday; Monday the 23rd is 勤労感謝の日
    assert (week.downtime, week.incidents) == (0.0, 0)


def test_a_reclassified_outage_no_longer_counts_and_stays_listed_with_its_cause(history: HistoryDB) -> None:
    start, end = jst(2026, 11, 10, 10), jst(2026, 11, 10, 13)
    history.insert(
        [down("device:srv-records-01", start, end)],
        [alert(start + 120, end, "Device srv-records-01 is down", target="srv-records-01", alertname="DeviceDown")],
        [],
    )
    change = Reclassification("records", start + 60, "external", "NTT line work", "suzuki", jst(2026, 11, 11))
    history.reclassify(change)
    report = compute(
        sla({"device": "srv-records-01"}), estate(), history, [], history.reclassifications("records"), *MONTH_NOV, NOW
    )
    (outage,) = report.outages
    assert (outage.counted, outage.excluded, outage.reclassified) == (0.0, 3 * HOUR, change)
    assert (outage.cause, outage.cause_ja) == ("Device srv-records-01 is down", "Device srv-records-01 is down (ja)")
    assert (report.figures().downtime, report.figures().incidents, report.figures().availability) == (0.0, 0, 1.0)


def test_an_unreachable_branch_behind_a_cut_link_is_one_outage_caused_by_the_link(history: HistoryDB) -> None:
    start, end = jst(2026, 11, 10, 10), jst(2026, 11, 10, 11)
    history.insert(
        [
            down("link:office-01", start, end),
            down("device:rtr-office-01", start + 30, end, "unreachable"),
            down("device:srv-office-01", start + 30, end, "unreachable"),
        ],
        [alert(start, end, "WAN link office-01 is down", link="office-01", alertname="WanLinkDown")],
        [],
    )
    tree = {"all": [{"device": "rtr-office-01"}, {"device": "srv-office-01"}]}
    report = compute(sla(tree), estate(), history, [], [], *MONTH_NOV, NOW)
    (outage,) = report.outages
    assert (outage.start, outage.end, outage.cause) == (start + 30, end, "WAN link office-01 is down")
    assert (report.figures().downtime, report.figures().incidents) == (HOUR - 30, 1)


def test_the_error_budget_and_burn_rate_of_a_month_half_gone(history: HistoryDB) -> None:
    history.insert([down("device:srv-records-01", jst(2026, 11, 2), jst(2026, 11, 2, 0, 36))], [], [])
    report = compute(
        sla({"device": "srv-records-01"}, target=99.9), estate(), history, [], [], *MONTH_NOV, jst(2026, 11, 16)
    )
    month = report.figures()
    assert month.planned_service == 30 * 86400 and month.service == 15 * 86400
    assert month.budget == pytest.approx(0.001 * 30 * 86400)  # 43.2 minutes
    assert month.budget_left == pytest.approx(0.001 * 30 * 86400 - 36 * 60)  # 7.2 minutes left
    assert month.burn_rate == pytest.approx((36 * 60 / (0.001 * 30 * 86400)) / 0.5)  # 1.667: too fast
    assert month.met is False  # 1 - 2160 / 1296000 = 99.833 % of the 15 days so far, under 99.9 %
    assert month.availability == 1 - 36 * 60 / (15 * 86400)


def test_time_the_console_did_not_watch_is_neither_up_nor_down(tmp_path: Path) -> None:
    db = HistoryDB.open(tmp_path / "history.sqlite3")
    try:
        db.insert([], [], [(jst(2026, 11, 1), jst(2026, 11, 10)), (jst(2026, 11, 11), jst(2026, 12, 1))])
        month = compute(sla({"device": "srv-records-01"}), estate(), db, [], [], *MONTH_NOV, NOW).figures()
        assert (month.service, month.unwatched, month.availability) == (29 * 86400, 86400.0, 1.0)
    finally:
        db.close()
