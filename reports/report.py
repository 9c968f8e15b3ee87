"""An availability report: every system's figures for a period and each of its months, its outages,
the holidays and maintenance that shaped it; and the report as JSON and CSV (the PDF is
reports/pdf.py). One function builds it (`build_report`); the page, the API, the CLI and the PDF
all show what it returns, so they agree to the second.

JSON (`report_json`, what `/api/v1/availability` and `report --format json` give): times as ISO 8601
in UTC with a `Z`, durations in seconds, ratios in 0..1 (availability, target), `null` where a
figure has no meaning (no service time, no incident). CSV (`figures_csv`, `outages_csv`): one row per
system and month plus one for the whole period, or one per outage; headers and words in the
report's language, numbers as in the JSON (UTF-8 with a byte order mark so that Excel reads the
Japanese).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from alerts.maintenance import MaintenanceWindow
from model import Inventory
from reports.availability import Estate, Figures, Outage, Recorded, SystemReport, compute
from reports.calendars import Language, holidays_between
from reports.config import AvailabilityConfig
from reports.history import HistoryDB
from reports.periods import Period

__all__ = [
    "EXPORT_FORMATS",
    "AvailabilityReport",
    "SystemAvailability",
    "build_report",
    "export_file",
    "figures_csv",
    "outages_csv",
    "report_json",
]

EXPORT_FORMATS = ("csv", "outages-csv", "json", "pdf")
"""What `export_file` writes: the figures as CSV, the outages as CSV, the JSON of the API, the PDF."""


@dataclass(frozen=True, slots=True)
class SystemAvailability:
    system: str
    name: str
    report: SystemReport
    total: Figures
    months: tuple[tuple[Period, Figures], ...]


@dataclass(frozen=True, slots=True)
class AvailabilityReport:
    period: Period
    generated_at: float
    systems: tuple[SystemAvailability, ...]
    holidays: tuple[tuple[date, str], ...]
    maintenance: tuple[tuple[str, str, float, float], ...]
    """(window name, reason, start, end) of every occurrence of a window in the period that
    excluded downtime."""


def build_report(
    config: AvailabilityConfig,
    inventory: Inventory,
    history: HistoryDB,
    windows: Sequence[MaintenanceWindow],
    period: Period,
    now: float,
    systems: Sequence[str] | None = None,
) -> AvailabilityReport:
    """The report of `systems` (ids; default every system with an SLA) for `period` as of `now`.
    Raises KeyError for a system with no SLA in `config`."""
    names = {s.id: s.name for s in inventory.systems}
    chosen = [config.sla(s) for s in systems] if systems else list(config.systems)
    recorded = Recorded.read(history, period.start, period.end, now)
    estate = Estate(inventory)
    out = []
    used: set[str] = set()
    for sla in chosen:
        changes = history.reclassifications(sla.system)
        report = compute(sla, estate, recorded, windows, changes, period.start, period.end, now)
        months = tuple((month, report.figures(month.start, month.end)) for month in period.months())
        out.append(SystemAvailability(sla.system, names.get(sla.system, sla.system), report, report.figures(), months))
        used.update(name for o in report.outages for name in o.maintenance)
    occurrences = tuple(
        (w.name, w.reason, s, e) for w in windows if w.name in used for s, e in w.occurrences(period.start, period.end)
    )
    holidays = tuple(holidays_between(period.first_day, period.last_day).items())
    return AvailabilityReport(period, now, tuple(out), holidays, tuple(sorted(occurrences, key=lambda o: o[2])))


# -- JSON -----------------------------------------------------------------------------------------


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def figures_json(f: Figures) -> dict[str, Any]:
    return {
        "start": iso(f.start),
        "end": iso(f.end),
        "availability": f.availability,
        "target": f.target,
        "met": f.met,
        "serviceSeconds": f.service,
        "plannedServiceSeconds": f.planned_service,
        "downtimeSeconds": f.downtime,
        "degradedSeconds": f.degraded,
        "excludedSeconds": f.excluded,
        "unwatchedSeconds": f.unwatched,
        "incidents": f.incidents,
        "mttrSeconds": f.mttr,
        "mtbfSeconds": f.mtbf,
        "longestOutageSeconds": f.longest,
        "errorBudgetSeconds": f.budget,
        "errorBudgetLeftSeconds": f.budget_left,
        "burnRate": f.burn_rate,
    }


def outage_json(o: Outage) -> dict[str, Any]:
    change = o.reclassified
    return {
        "start": iso(o.start),
        "end": iso(o.end),
        "durationSeconds": o.duration,
        "inServiceSeconds": o.in_service,
        "excludedSeconds": o.excluded,
        "countedSeconds": o.counted,
        "cause": o.cause,
        "causeJa": o.cause_ja,
        "causeLabels": dict(o.cause_labels),
        "leaves": list(o.leaves),
        "maintenance": list(o.maintenance),
        "reclassified": None
        if change is None
        else {"category": change.category, "reason": change.reason, "by": change.by, "at": iso(change.at)},
    }


def report_json(report: AvailabilityReport, lang: Language = "en") -> dict[str, Any]:
    return {
        "period": {
            "kind": report.period.kind,
            "label": report.period.label(lang),
            "start": iso(report.period.start),
            "end": iso(report.period.end),
            "timezone": report.period.tz,
        },
        "generatedAt": iso(report.generated_at),
        "systems": [
            {
                "system": s.system,
                "name": s.name,
                "total": figures_json(s.total),
                "months": [{"month": m.first_month.strftime("%Y-%m"), **figures_json(f)} for m, f in s.months],
                "outages": [outage_json(o) for o in s.report.outages],
            }
            for s in report.systems
        ],
        "holidays": [{"date": d.isoformat(), "name": name} for d, name in report.holidays],
        "maintenance": [
            {"name": name, "reason": reason, "start": iso(start), "end": iso(end)}
            for name, reason, start, end in report.maintenance
        ],
    }


# -- CSV ------------------------------------------------------------------------------------------

_FIGURE_HEADERS = {
    "en": (
        "system", "name", "period", "availability", "target", "met", "service_seconds", "downtime_seconds",
        "degraded_seconds", "excluded_seconds", "unwatched_seconds", "incidents", "mttr_seconds", "mtbf_seconds",
        "longest_outage_seconds", "error_budget_seconds", "error_budget_left_seconds", "burn_rate",
    ),
    "ja": (
        "システムID", "業務システム", "期間", "稼働率", "目標", "達成", "サービス時間（秒）", "停止時間（秒）",
        "縮退時間（秒）", "除外時間（秒）", "未監視時間（秒）", "障害件数", "MTTR（秒）", "MTBF（秒）",
        "最長停止（秒）", "エラーバジェット（秒）", "残りエラーバジェット（秒）", "消費速度",
    ),
}  # fmt: skip
_OUTAGE_HEADERS = {
    "en": (
        "system", "name", "start", "end", "duration_seconds", "in_service_seconds", "excluded_seconds",
        "counted_seconds", "cause", "maintenance", "reclassified_as", "reclassified_reason", "reclassified_by",
    ),
    "ja": (
        "システムID", "業務システム", "開始", "終了", "継続時間（秒）", "サービス時間内（秒）", "除外（秒）",
        "計上（秒）", "原因", "保守", "再分類", "再分類の理由", "再分類者",
    ),
}  # fmt: skip
_MET = {"en": ("missed", "met"), "ja": ("未達", "達成")}


def _csv(rows: list[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(rows)
    return "\ufeff" + buffer.getvalue()


def _number(x: float | None) -> str:
    return "" if x is None else repr(round(x, 9))


def _figure_row(s: SystemAvailability, label: str, f: Figures, lang: Language) -> list[object]:
    met = "" if f.met is None else _MET[lang][f.met]
    return [
        s.system, s.name, label, _number(f.availability), _number(f.target), met, _number(f.service),
        _number(f.downtime), _number(f.degraded), _number(f.excluded), _number(f.unwatched), f.incidents,
        _number(f.mttr), _number(f.mtbf), _number(f.longest), _number(f.budget), _number(f.budget_left),
        _number(f.burn_rate),
    ]  # fmt: skip


def figures_csv(report: AvailabilityReport, lang: Language = "en") -> str:
    """One row per system and month, then one per system for the whole period."""
    rows: list[Sequence[object]] = [_FIGURE_HEADERS[lang]]
    for s in report.systems:
        rows += [_figure_row(s, m.first_month.strftime("%Y-%m"), f, lang) for m, f in s.months]
        rows.append(_figure_row(s, report.period.label(lang), s.total, lang))
    return _csv(rows)


def _outage_row(s: SystemAvailability, o: Outage, lang: Language) -> list[object]:
    change = o.reclassified
    return [
        s.system, s.name, iso(o.start), iso(o.end), _number(o.duration), _number(o.in_service),
        _number(o.excluded), _number(o.counted), o.cause_ja if lang == "ja" else o.cause,
        " ".join(o.maintenance), change.category if change else "", change.reason if change else "",
        change.by if change else "",
    ]  # fmt: skip


def outages_csv(report: AvailabilityReport, lang: Language = "en") -> str:
    rows: list[Sequence[object]] = [_OUTAGE_HEADERS[lang]]
    rows += [_outage_row(s, o, lang) for s in report.systems for o in s.report.outages]
    return _csv(rows)


def export_file(report: AvailabilityReport, fmt: str, lang: Language, tz: str) -> tuple[bytes, str, str]:
    """(body, content type, file name) of `report` in `fmt` (one of EXPORT_FORMATS)."""
    stem = f"availability-{report.period.first_month:%Y-%m}-{report.period.kind}-{lang}"
    if fmt == "csv":
        return figures_csv(report, lang).encode(), "text/csv; charset=utf-8", stem + ".csv"
    if fmt == "outages-csv":
        return outages_csv(report, lang).encode(), "text/csv; charset=utf-8", stem + "-outages.csv"
    if fmt == "json":
        text = json.dumps(report_json(report, lang), ensure_ascii=False, indent=1)
        return text.encode(), "application/json", stem + ".json"
    if fmt == "pdf":
        from reports.pdf import render_pdf  # reportlab loads only when a PDF is asked for

        return render_pdf(report, lang, tz), "application/pdf", stem + ".pdf"
    raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
