"""How the availability report's figures and words are written, in English or Japanese: one place
for the PDF (reports/pdf.py) and the web page, so both show the very strings the other does.

- `percent(0.998656, lang)` -> "99.866%": a ratio (0..1) as a percentage with 3 decimals, rounded half
  up; "—" when the figure has no meaning (`None`: no service time);
- `duration(7500, "ja")` -> "2時間05分": from one hour on, hours and zero-padded minutes
  ("2 h 05 min"); under an hour, minutes ("45 min", "45分"); under a minute, seconds ("30 s",
  "30秒"). Rounded to the unit shown; 0 is "0", a negative duration (an overspent error budget)
  takes a "-";
- `local_time(t, "Asia/Tokyo", lang)` -> "2026-11-10 10:00": Unix seconds as a local wall time
  (minutes; seconds are dropped, not rounded);
- `met_text`, `category_text`, `number`, `month_text`: a met target, a reclassification category,
  a plain number such as a burn rate, a month;
- `text(key, lang, **fields)`: the report's headings and labels from `CATALOG` (key -> en and ja),
  Japanese words as in the glossary (稼働率, 停止時間, 縮退, 保守, 障害件数 ...).

Pure functions: nothing reads the clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Final
from zoneinfo import ZoneInfo

from reports.availability import Figures
from reports.calendars import Language

__all__ = [
    "CATALOG",
    "NONE",
    "category_text",
    "duration",
    "figure_rows",
    "local_time",
    "met_text",
    "month_text",
    "number",
    "percent",
    "percent_axis",
    "text",
]

NONE: Final = "—"
"""What a figure without meaning (`None`) is shown as, in both languages."""

_UNITS: Final[dict[Language, tuple[str, str, str, str]]] = {
    # (hours, minutes, seconds, under one second) patterns
    "en": ("{h} h {m:02d} min", "{m} min", "{s} s", "<1 s"),
    "ja": ("{h}時間{m:02d}分", "{m}分", "{s}秒", "1秒未満"),
}
_MET: Final[dict[Language, tuple[str, str]]] = {"en": ("missed", "met"), "ja": ("未達", "達成")}
_CATEGORIES: Final[dict[str, dict[Language, str]]] = {
    "planned": {"en": "planned outage", "ja": "計画停止"},
    "external": {"en": "external cause", "ja": "外部要因"},
}
_MONTHS_EN: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

CATALOG: Final[dict[str, dict[Language, str]]] = {
    # titles and sections
    "title": {"en": "Availability report {period}", "ja": "{period} 稼働率報告"},
    "generated_at": {"en": "Generated at {time}", "ja": "作成日時 {time}"},
    "timezone": {"en": "Time zone: {tz} (all times are local)", "ja": "時間帯: {tz}（時刻はすべて現地時刻）"},
    "summary": {"en": "Summary", "ja": "概要"},
    "figures": {"en": "Figures for the period", "ja": "期間の指標"},
    "monthly": {"en": "Monthly figures", "ja": "月別の指標"},
    "monthly_chart": {"en": "Monthly availability against the SLA target", "ja": "月別稼働率とSLA目標値"},
    "timeline": {"en": "Outages over the period", "ja": "期間中の停止"},
    "outages": {"en": "Outages", "ja": "停止一覧"},
    "exclusions": {"en": "Exclusions", "ja": "除外"},
    "maintenance_section": {
        "en": "Maintenance that excluded downtime",
        "ja": "停止時間を除外した保守",
    },
    "reclassifications": {"en": "Reclassified outages", "ja": "再分類された停止"},
    "holidays": {"en": "Japanese public holidays in the period", "ja": "期間中の祝日"},
    "no_outages": {"en": "No outages in the period.", "ja": "期間中の停止はありません。"},
    "no_maintenance": {"en": "No maintenance excluded downtime.", "ja": "保守による除外はありません。"},
    "no_reclassifications": {"en": "No outage was reclassified.", "ja": "再分類された停止はありません。"},
    "no_holidays": {"en": "No public holidays in the period.", "ja": "期間中の祝日はありません。"},
    "page": {"en": "page {page}", "ja": "{page} ページ"},
    # figures
    "system": {"en": "System", "ja": "業務システム"},
    "month": {"en": "Month", "ja": "月"},
    "availability": {"en": "Availability", "ja": "稼働率"},
    "target": {"en": "SLA target", "ja": "SLA目標値"},
    "met": {"en": "Met / missed", "ja": "達成・未達"},
    "service": {"en": "Service hours", "ja": "サービス提供時間"},
    "downtime": {"en": "Downtime", "ja": "停止時間"},
    "degraded": {"en": "Degraded", "ja": "縮退時間"},
    "excluded": {"en": "Excluded", "ja": "除外時間"},
    "unwatched": {"en": "Not watched", "ja": "未監視時間"},
    "incidents": {"en": "Incidents", "ja": "障害件数"},
    "mttr": {"en": "MTTR", "ja": "平均復旧時間（MTTR）"},
    "mtbf": {"en": "MTBF", "ja": "平均故障間隔（MTBF）"},
    "longest": {"en": "Longest outage", "ja": "最長停止"},
    "budget": {"en": "Error budget", "ja": "エラーバジェット"},
    "budget_left": {"en": "Budget left", "ja": "残りエラーバジェット"},
    "burn_rate": {"en": "Burn rate", "ja": "消費速度"},
    # outages and exclusions
    "start": {"en": "Start", "ja": "開始"},
    "end": {"en": "End", "ja": "終了"},
    "duration": {"en": "Duration", "ja": "継続時間"},
    "counted": {"en": "Counted", "ja": "計上"},
    "cause": {"en": "Cause", "ja": "原因"},
    "maintenance": {"en": "Maintenance", "ja": "保守"},
    "reclassified": {"en": "Reclassified", "ja": "再分類"},
    "reclassified_by": {"en": "by {by}, {at}", "ja": "{by}（{at}）"},
    "category": {"en": "Category", "ja": "区分"},
    "reason": {"en": "Reason", "ja": "理由"},
    "by": {"en": "By", "ja": "実施者"},
    "at": {"en": "At", "ja": "日時"},
    "name": {"en": "Name", "ja": "名称"},
    "date": {"en": "Date", "ja": "日付"},
    "holiday": {"en": "Holiday", "ja": "祝日"},
    # chart legends
    "legend_met": {"en": "target met", "ja": "目標達成"},
    "legend_missed": {"en": "target missed", "ja": "目標未達"},
    "legend_target": {"en": "SLA target {target}", "ja": "SLA目標値 {target}"},
    "legend_counted": {"en": "counted", "ja": "計上"},
    "legend_not_counted": {
        "en": "not counted (maintenance, reclassified, outside service hours)",
        "ja": "非計上（保守・再分類・サービス提供時間外）",
    },
}
"""The report's headings and labels: key -> {"en": ..., "ja": ...}; `{name}` fields are filled by `text`."""


def text(key: str, lang: Language, **fields: object) -> str:
    """The catalog entry `key` in `lang`, with `fields` filled in. Raises KeyError for an unknown key."""
    template = CATALOG[key][lang]
    return template.format(**fields) if fields else template


def percent(ratio: float | None, lang: Language) -> str:
    """A ratio (0..1) as a percentage with 3 decimals, rounded half up: 0.998656 -> "99.866%"; None -> "—"."""
    del lang  # written the same in both languages
    if ratio is None:
        return NONE
    value = Decimal(repr(ratio)).scaleb(2).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    return f"{value}%"


def duration(seconds: float | None, lang: Language) -> str:
    """Seconds as "2 h 05 min" / "2時間05分" (an hour or more), "45 min" / "45分", "30 s" / "30秒";
    0 -> "0"; None -> "—"; rounded to the unit shown; negative ones take a "-"."""
    if seconds is None:
        return NONE
    if seconds == 0:
        return "0"
    sign = "-" if seconds < 0 else ""
    hours_minutes, minutes, plain_seconds, under_one = _UNITS[lang]
    size = abs(seconds)
    if size < 0.5:
        return sign + under_one
    if _half_up(size) < 60:
        return sign + plain_seconds.format(s=_half_up(size))
    total_minutes = _half_up(size / 60)
    if total_minutes < 60:
        return sign + minutes.format(m=total_minutes)
    h, m = divmod(total_minutes, 60)
    return sign + hours_minutes.format(h=h, m=m)


def _half_up(x: float) -> int:
    return math.floor(x + 0.5)


def local_time(t: float, tz: str, lang: Language) -> str:
    """Unix seconds `t` as the wall time in `tz` to the minute: "2026-11-10 10:00" (both languages)."""
    del lang
    return datetime.fromtimestamp(t, UTC).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def met_text(met: bool | None, lang: Language) -> str:
    """Whether the SLA target was met: "met" / "達成", "missed" / "未達", "—" when unknown."""
    return NONE if met is None else _MET[lang][met]


def category_text(category: str, lang: Language) -> str:
    """A reclassification category (reports.history.CATEGORIES) in `lang`: planned -> 計画停止,
    external -> 外部要因; an unknown one as it is."""
    words = _CATEGORIES.get(category)
    return category if words is None else words[lang]


def number(value: float | None, lang: Language, decimals: int = 2) -> str:
    """A plain number such as a burn rate: 1.6667 -> "1.67"; None -> "—"."""
    del lang
    if value is None:
        return NONE
    return f"{Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)}"


def month_text(month: date, lang: Language, *, year: bool = True) -> str:
    """A calendar month: "Oct 2026" / "2026年10月"; without the year "Oct" / "10月"."""
    if lang == "ja":
        return f"{month.year}年{month.month}月" if year else f"{month.month}月"
    name = _MONTHS_EN[month.month - 1]
    return f"{name} {month.year}" if year else name


def figure_rows(f: Figures, lang: Language, *, always_unwatched: bool = False) -> list[tuple[str, str]]:
    """(catalog key, value) of a system's figures, in the order the page and the PDF show them; the
    unwatched time last, when there is some (always with `always_unwatched`)."""
    rows = [
        ("availability", percent(f.availability, lang)),
        ("target", percent(f.target, lang)),
        ("met", met_text(f.met, lang)),
        ("service", duration(f.service, lang)),
        ("downtime", duration(f.downtime, lang)),
        ("degraded", duration(f.degraded, lang)),
        ("excluded", duration(f.excluded, lang)),
        ("incidents", str(f.incidents)),
        ("mttr", duration(f.mttr, lang)),
        ("mtbf", duration(f.mtbf, lang)),
        ("longest", duration(f.longest, lang)),
        ("budget", duration(f.budget, lang)),
        ("budget_left", duration(f.budget_left, lang)),
        ("burn_rate", number(f.burn_rate, lang)),
    ]
    return rows + ([("unwatched", duration(f.unwatched, lang))] if always_unwatched or f.unwatched > 0 else [])


def percent_axis(values: Sequence[float | None], target: float) -> tuple[float, float, int]:
    """(bottom, step, decimals) of a percentage axis up to 100 that shows `target` and every value
    (the monthly charts of the page and the PDF): a margin under the lowest of them, rounded down to
    a step that gives at most 6 steps."""
    lowest = min([target, *(v for v in values if v is not None)])
    lower = max(0.0, lowest - max(100 - lowest, 0.05) * 0.25)
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20):
        bottom = math.floor(round(lower / step, 6)) * step
        if (100 - bottom) / step <= 6:
            return round(bottom, 6), step, max(0, -math.floor(math.log10(step)))
    return 0.0, 20.0, 0
