"""How the report writes figures and words (reports/formatting.py): exact strings, both languages."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from reports.formatting import (
    CATALOG,
    category_text,
    duration,
    local_time,
    met_text,
    month_text,
    number,
    percent,
    text,
)


@pytest.mark.parametrize(
    ("ratio", "shown"),
    [
        (1 - 3600 / (31 * 86400), "99.866%"),  # 0.9986559...: rounded, not cut
        (1 - 3600 / (30 * 86400), "99.861%"),
        (0.999, "99.900%"),
        (0.995, "99.500%"),
        (1.0, "100.000%"),
        (0.0, "0.000%"),
        (0.9999995, "100.000%"),  # half up
        (None, "—"),
    ],
)
def test_a_ratio_is_a_percentage_with_three_decimals_in_both_languages(ratio: float | None, shown: str) -> None:
    assert (percent(ratio, "en"), percent(ratio, "ja")) == (shown, shown)


@pytest.mark.parametrize(
    ("seconds", "en", "ja"),
    [
        (0, "0", "0"),
        (0.2, "<1 s", "1秒未満"),
        (30, "30 s", "30秒"),
        (59.4, "59 s", "59秒"),
        (59.6, "1 min", "1分"),  # rounds to a minute: shown in minutes
        (45 * 60, "45 min", "45分"),
        (45 * 60 + 29, "45 min", "45分"),
        (3570, "1 h 00 min", "1時間00分"),  # 59.5 minutes round up to the hour
        (2 * 3600 + 5 * 60, "2 h 05 min", "2時間05分"),
        (2208 * 3600, "2208 h 00 min", "2208時間00分"),  # no days: hours all the way
        (-48 * 60, "-48 min", "-48分"),  # an overspent error budget
        (-(3600 + 17 * 60), "-1 h 17 min", "-1時間17分"),
        (None, "—", "—"),
    ],
)
def test_a_duration_is_written_in_the_largest_unit_that_fits(seconds: float | None, en: str, ja: str) -> None:
    assert (duration(seconds, "en"), duration(seconds, "ja")) == (en, ja)


def test_a_time_is_the_local_wall_time_to_the_minute_in_both_languages() -> None:
    t = datetime(2026, 11, 10, 1, 0, 59, tzinfo=ZoneInfo("UTC")).timestamp()
    assert local_time(t, "Asia/Tokyo", "ja") == "2026-11-10 10:00"
    assert local_time(t, "Asia/Tokyo", "en") == "2026-11-10 10:00"
    assert local_time(t, "Europe/London", "en") == "2026-11-10 01:00"


def test_met_and_missed_and_unknown_targets() -> None:
    assert [met_text(m, "ja") for m in (True, False, None)] == ["達成", "未達", "—"]
    assert [met_text(m, "en") for m in (True, False, None)] == ["met", "missed", "—"]


def test_reclassification_categories_in_each_language() -> None:
    assert (category_text("planned", "ja"), category_text("external", "ja")) == ("計画停止", "外部要因")
    assert (category_text("planned", "en"), category_text("external", "en")) == ("planned outage", "external cause")
    assert category_text("vendor", "ja") == "vendor"  # unknown: as recorded


def test_a_plain_number_has_two_decimals_rounded_half_up() -> None:
    assert (number(1.36111, "en"), number(0.065, "ja"), number(2.0, "en"), number(None, "ja")) == (
        "1.36",
        "0.07",
        "2.00",
        "—",
    )


def test_months_with_and_without_the_year() -> None:
    october = date(2026, 10, 1)
    assert (month_text(october, "en"), month_text(october, "ja")) == ("Oct 2026", "2026年10月")
    assert (month_text(october, "en", year=False), month_text(october, "ja", year=False)) == ("Oct", "10月")


def test_the_catalog_uses_the_glossary_words_in_japanese() -> None:
    words = {key: text(key, "ja") for key in ("availability", "downtime", "degraded", "maintenance", "incidents")}
    assert words == {
        "availability": "稼働率",
        "downtime": "停止時間",
        "degraded": "縮退時間",
        "maintenance": "保守",
        "incidents": "障害件数",
    }
    assert (text("mttr", "ja"), text("mtbf", "ja"), text("budget", "ja")) == (
        "平均復旧時間（MTTR）",
        "平均故障間隔（MTBF）",
        "エラーバジェット",
    )
    assert (text("target", "ja"), text("target", "en")) == ("SLA目標値", "SLA target")


def test_the_title_is_filled_with_the_period_label() -> None:
    assert text("title", "ja", period="令和8年度（2026年度）") == "令和8年度（2026年度） 稼働率報告"
    assert text("title", "en", period="FY2026 (April 2026 – March 2027)") == (
        "Availability report FY2026 (April 2026 – March 2027)"
    )


def test_every_catalog_entry_has_both_languages_and_the_same_fields() -> None:
    for key, entry in CATALOG.items():
        assert set(entry) == {"en", "ja"}, key
        fields = [{part.split("}")[0] for part in words.split("{")[1:]} for words in entry.values()]
        assert fields[0] == fields[1], key
