"""dashboards/views/availability_charts.py over the history of test_availability_views.py: the
record management system (SLA 99.9 %) in 2026-Q4 with outages A (counted, across the October /
November boundary), B (1 h of 2 counted, the rest under the maintenance window disk-swap) and C
(reclassified as an external cause: nothing counted), whose figures that module's docstring works
out by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboards.views import availability_charts as c
from tests.dashboards.fakes import FakeData
from tests.dashboards.test_availability_views import NOW, TZ, estate, q4_reporting


@pytest.fixture
def data(tmp_path: Path) -> Iterator[FakeData]:
    reporting = q4_reporting(tmp_path)
    yield FakeData(inventory_=estate(), t=NOW, reporting=reporting)
    reporting.close()


def test_the_monthly_chart_has_the_bars_of_each_month_against_the_target_line(data: FakeData) -> None:
    system = data.availability("2026-Q4").systems[0]
    october, november = (1 - 3600 / (31 * 86400)) * 100, (1 - 7200 / (30 * 86400)) * 100
    figure = c.monthly_figure(system, "ja")
    met, missed, target = figure.data

    assert list(met.x) == ["2026年10月", "2026年11月", "2026年12月"]
    assert (met.name, list(met.y), list(met.text)) == ("目標達成", [None, None, 100.0], ["", "", "100.000%"])
    assert (missed.name, list(missed.y)) == ("目標未達", [october, november, None])
    assert list(missed.text) == ["99.866%", "99.722%", ""]
    assert (target.name, list(target.y), target.line.dash) == ("SLA目標値 99.900%", [99.9, 99.9, 99.9], "dash")
    assert (list(figure.layout.yaxis.range), figure.layout.yaxis.dtick) == ([99.6, 100.0], 0.1)


def test_the_y_axis_starts_just_under_the_lowest_of_the_target_and_the_months_not_at_zero() -> None:
    # 99.5 - 0.5 x 0.25 = 99.375, down to a step giving at most 6: 99.2 by 0.2 (99.3 by 0.1 gives 7)
    assert c.axis_range([99.95, 100.0], 99.5) == (99.2, 100.0, 0.2)
    assert c.axis_range([None, 97.0], 99.0) == (96.0, 100.0, 1)
    assert c.axis_range([], 99.9) == (99.85, 100.0, 0.05)


def test_the_timeline_draws_each_outage_over_the_period_counted_apart_from_not_counted(data: FakeData) -> None:
    report = data.availability("2026-Q4")
    figure = c.timeline_figure(report.systems[0], report.period, "ja", TZ)
    counted, not_counted = figure.data
    shortest = 92 * 86400 * 1000 / 400  # 5.52 h: a 2-hour outage over a quarter is drawn this wide

    assert (counted.name, list(counted.base)) == ("計上", ["2026-10-31 23:00:00", "2026-11-10 02:00:00"])
    assert list(counted.x) == [shortest, shortest]
    assert (not_counted.name, list(not_counted.base), list(not_counted.x)) == (
        "非計上（保守・再分類・サービス提供時間外）",
        ["2026-12-05 10:00:00"],
        [shortest],
    )
    assert counted.hovertext[0].split("<br>") == [
        "2026-10-31 23:00 – 2026-11-01 01:00",
        "原因: 機器停止: srv-records-01",
        "継続時間: 2時間00分",
        "計上: 2時間00分",
    ]
    assert not_counted.hovertext[0].split("<br>")[-1] == "再分類: 外部要因"
    assert list(figure.layout.xaxis.range) == ["2026-10-01 00:00:00", "2027-01-01 00:00:00"]
