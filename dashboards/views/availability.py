"""The availability page's logic (issue 8): which period is asked for, the report of it as
components (its charts are dashboards/views/availability_charts.py's plotly figures), the downloads,
and the reclassification of an outage. Pure functions of `ConsoleData` and of what the user clicked
and typed; the page's callbacks only call these.

Every figure and the report's own words (headings, categories) are written by
reports/formatting.py, as the PDF writes them, so the page, the PDF, the CSV and `/api/v1/availability`
agree; the page's own words (picker, buttons, form, messages) come from the `availability.*` catalog.
Times are local wall times in the console's time zone (`ConsoleData.timezone`).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

import plotly.graph_objects as go  # no stubs
from dash import dcc, html
from dash.development.base_component import Component

from dashboards import ids
from dashboards.actions import ActionError, ConsoleActions
from dashboards.i18n import t
from dashboards.queries import ConsoleData
from dashboards.views.availability_charts import monthly_figure, timeline_figure
from reports.availability import Figures, Outage
from reports.calendars import Language
from reports.formatting import category_text, duration, figure_rows, local_time, met_text, text
from reports.history import CATEGORIES
from reports.periods import Period, parse_period
from reports.report import EXPORT_FORMATS, AvailabilityReport, SystemAvailability, export_file

__all__ = [
    "PRESETS",
    "UNCHANGED",
    "OutageRow",
    "Outcome",
    "category_options",
    "chosen_outage",
    "default_period",
    "export_download",
    "figure_rows",
    "form_view",
    "holiday_rows",
    "maintenance_rows",
    "outage_rows",
    "page_title",
    "pending_outage",
    "perform",
    "period_of_search",
    "period_search",
    "picked_period",
    "preset_periods",
    "reclassify_at",
    "report_body",
    "report_language",
    "shown",
]

PRESETS = ("this-month", "last-month", "this-quarter", "this-fiscal-year", "last-fiscal-year")
"""The picker's preset buttons, in order (catalog keys `availability.preset.<name>`)."""
UNCHANGED = object()
"""`chosen_outage`: leave the pending outage as it is."""


def report_language(lang: str) -> Language:
    """The page's language as the reports take it ("ja" or "en")."""
    return "ja" if lang == "ja" else "en"


# -- the period -----------------------------------------------------------------------------------


def preset_periods(now: float, tz: str) -> dict[str, str]:
    """The period text of each of `PRESETS` at `now` in time zone `tz` (fiscal years April to March)."""
    today = datetime.fromtimestamp(now, ZoneInfo(tz)).date()
    year, month = today.year, today.month
    last_year, last_month = (year, month - 1) if month > 1 else (year - 1, 12)
    fiscal = year if month >= 4 else year - 1
    return {
        "this-month": f"{year:04d}-{month:02d}",
        "last-month": f"{last_year:04d}-{last_month:02d}",
        "this-quarter": f"{year:04d}-Q{(month - 1) // 3 + 1}",
        "this-fiscal-year": f"FY{fiscal:04d}",
        "last-fiscal-year": f"FY{fiscal - 1:04d}",
    }


def default_period(now: float, tz: str) -> str:
    """The period shown when the URL names none: the current fiscal year (`FY2026`)."""
    return preset_periods(now, tz)["this-fiscal-year"]


def period_of_search(search: str | None) -> str | None:
    """The `period` of a URL query (`?period=FY2026`), None when it has none."""
    values = parse_qs((search or "").lstrip("?")).get("period")
    return (values[0].strip() or None) if values else None


def period_search(period: str) -> str:
    """The URL query of `period`: `?period=2026-04..2027-03`."""
    return "?" + urlencode({"period": period}, safe=".")


def picked_period(trigger: object, typed: str | None, now: float, tz: str) -> str | None:
    """The period the picker asks for: a preset button's (`trigger` its id), else the text typed
    (None when empty)."""
    if isinstance(trigger, Mapping) and trigger.get("type") == ids.AVAILABILITY_PRESET:
        return preset_periods(now, tz).get(str(trigger.get("preset")))
    return (typed or "").strip() or None


def page_title(period: str, lang: str) -> str:
    """The page's title for `period` before its report is built: its label, else the page's name."""
    try:
        return parse_period(period).label(report_language(lang))
    except ValueError:
        return t("availability.title", lang)


# -- figures and rows -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OutageRow:
    """An outage as the table writes it; `at` is the time inside it a reclassification names."""

    cells: tuple[str, ...]
    """Start, end, duration, counted time, cause (in the page's language), maintenance windows."""
    reclassified: tuple[str, ...]
    """Category, reason, "by whom, when"; () when not reclassified."""
    state: str
    """"counted", "excluded" (nothing counted: maintenance, outside service hours) or "reclassified"."""
    start: float
    at: float


def reclassify_at(outage: Outage) -> float:
    """The time inside `outage` its reclassification names (its middle)."""
    return outage.start + outage.duration / 2


def outage_rows(outages: Iterable[Outage], lang: Language, tz: str) -> list[OutageRow]:
    out = []
    for o in outages:
        change = o.reclassified
        reclassified = (
            ()
            if change is None
            else (
                category_text(change.category, lang),
                change.reason,
                text("reclassified_by", lang, by=change.by, at=local_time(change.at, tz, lang)),
            )
        )
        state = "reclassified" if change is not None else "counted" if o.counted > 0 else "excluded"
        cells = (
            local_time(o.start, tz, lang),
            local_time(o.end, tz, lang),
            duration(o.duration, lang),
            duration(o.counted, lang),
            o.cause_ja if lang == "ja" else o.cause,
            ", ".join(o.maintenance),
        )
        out.append(OutageRow(cells, reclassified, state, o.start, reclassify_at(o)))
    return out


def holiday_rows(report: AvailabilityReport, lang: str) -> list[tuple[str, str]]:
    """(date with its weekday, name) of each public holiday of the period."""
    return [(f"{d.isoformat()} ({t(f'availability.weekday.{d.weekday()}', lang)})", n) for d, n in report.holidays]


def maintenance_rows(report: AvailabilityReport, lang: Language, tz: str) -> list[tuple[str, str, str, str]]:
    """(window, reason, start, end) of each maintenance occurrence that excluded downtime."""
    return [(n, r, local_time(a, tz, lang), local_time(b, tz, lang)) for n, r, a, b in report.maintenance]


# -- components -----------------------------------------------------------------------------------


def _graph(figure: go.Figure, kind: str) -> dcc.Graph:
    return dcc.Graph(figure=figure, config={"displayModeBar": False}, className=f"availability-graph {kind}")


def _badge(met: bool | None, lang: Language) -> html.Span:
    state = {True: "met", False: "missed", None: "unknown"}[met]
    return html.Span(met_text(met, lang), className=f"availability-badge availability-{state}")


def _card(f: Figures, lang: Language) -> html.Dl:
    rows = figure_rows(f, lang)
    items = [
        html.Div(
            [
                html.Dt(text(key, lang)),
                html.Dd(_badge(f.met, lang) if key == "met" else value, className="availability-value"),
            ],
            className=f"availability-figure availability-figure-{key}",
        )
        for key, value in rows
    ]
    return html.Dl(items, className="availability-card")


def _table(heads: Sequence[str], rows: Sequence[Sequence[Any]], css: str = "") -> html.Table:
    head = html.Thead(html.Tr([html.Th(h) for h in heads]))
    return html.Table([head, html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows])], className=css)


def _outages(s: SystemAvailability, lang: Language, tz: str, can_act: bool) -> html.Div | html.P:
    if not s.report.outages:
        return html.P(text("no_outages", lang), className="availability-empty")
    keys = ("start", "end", "duration", "counted", "cause", "maintenance", "reclassified")
    heads = [html.Th(text(k, lang)) for k in keys]
    if can_act:
        heads.append(html.Th(t("availability.action", lang), className="availability-action"))
    body = []
    for row in outage_rows(s.report.outages, lang, tz):
        cells: list[Any] = [html.Td(c) for c in row.cells]
        cells.append(html.Td([html.Div(line) for line in row.reclassified], className="availability-reclassified"))
        if can_act:
            button = html.Button(
                t("availability.reclassify", lang),
                id={"type": ids.AVAILABILITY_RECLASSIFY, "system": s.system, "at": row.at, "start": row.start},
                n_clicks=0,
                className="availability-button availability-reclassify",
            )
            cells.append(html.Td(button, className="availability-action"))
        body.append(html.Tr(cells, className=f"availability-outage availability-outage-{row.state}"))
    head = html.Thead(html.Tr(heads))
    return html.Div(html.Table([head, html.Tbody(body)], className="availability-table availability-outages"))


def _system(s: SystemAvailability, period: Period, lang: Language, tz: str, can_act: bool) -> html.Section:
    return html.Section(
        [
            html.H2([s.name, html.Span(s.system, className="availability-system-id")]),
            _card(s.total, lang),
            html.H3(text("monthly_chart", lang)),
            _graph(monthly_figure(s, lang), "availability-monthly"),
            html.H3(text("timeline", lang)),
            _graph(timeline_figure(s, period, lang, tz), "availability-timeline"),
            html.H3(text("outages", lang)),
            _outages(s, lang, tz, can_act),
        ],
        className="availability-system",
        id=f"availability-system-{s.system}",
    )


def report_body(report: AvailabilityReport, lang: Language, tz: str, *, can_act: bool) -> list[Component]:
    """The report as the page shows it: when and in which time zone, a section per system (its
    card, charts and outages, with a reclassify button per outage when `can_act`), then the
    maintenance that excluded downtime and the public holidays of the period."""
    holidays = holiday_rows(report, lang)
    windows = maintenance_rows(report, lang, tz)
    return [
        html.P(
            [
                text("generated_at", lang, time=local_time(report.generated_at, tz, lang)),
                " · ",
                text("timezone", lang, tz=tz),
            ],
            className="availability-generated",
        ),
        *(_system(s, report.period, lang, tz, can_act) for s in report.systems),
        html.Section(
            [
                html.H2(text("maintenance_section", lang)),
                _table([text(k, lang) for k in ("name", "reason", "start", "end")], windows, "availability-table")
                if windows
                else html.P(text("no_maintenance", lang), className="availability-empty"),
                html.H2(text("holidays", lang)),
                _table(
                    [text("date", lang), text("holiday", lang)], holidays, "availability-table availability-holidays"
                )
                if holidays
                else html.P(text("no_holidays", lang), className="availability-empty"),
            ],
            className="availability-exclusions",
        ),
    ]


def shown(data: ConsoleData, period: str | None, lang: str, *, can_act: bool) -> tuple[str, list[Component], bool]:
    """(title, body, whether there is a report to download) of `period` (None: the current fiscal
    year): the report; the parser's message for a bad period; an empty state when the console keeps
    no reports or no system has an SLA."""
    asked = period or default_period(data.now(), data.timezone)
    try:
        report = data.availability(asked)
    except ValueError as e:
        message = t("availability.bad_period", lang, error=str(e))
        return t("availability.title", lang), [html.P(message, className="availability-error")], False
    except LookupError:
        report = None
    if report is None or not report.systems:
        return (
            t("availability.title", lang),
            [html.P(t("availability.empty", lang), className="availability-none")],
            False,
        )
    rl = report_language(lang)
    return report.period.label(rl), report_body(report, rl, data.timezone, can_act=can_act), True


def export_download(data: ConsoleData, period: str | None, fmt: object, lang: str) -> dict[str, Any] | None:
    """What `dcc.Download` takes for the report of `period` in format `fmt` (one of
    EXPORT_FORMATS) in `lang`, as reports/report.py `export_file` writes it; None when there is no
    report (a bad period: the page already says why) or no such format."""
    if fmt not in EXPORT_FORMATS:
        return None
    try:
        report = data.availability(period or default_period(data.now(), data.timezone))
    except (ValueError, LookupError):
        return None
    body, content_type, name = export_file(report, str(fmt), report_language(lang), data.timezone)
    return {"content": base64.b64encode(body).decode(), "filename": name, "type": content_type, "base64": True}


# -- reclassification -----------------------------------------------------------------------------


def pending_outage(value: object) -> tuple[str, float, float] | None:
    """(system, a time inside the outage, its start) of the pending store's value, None for nothing."""
    if not isinstance(value, Mapping) or not isinstance(value.get("system"), str):
        return None
    at, start = value.get("at"), value.get("start")
    if not isinstance(at, int | float) or not isinstance(start, int | float):
        return None
    return value["system"], float(at), float(start)


def chosen_outage(triggered: Iterable[tuple[object, object]]) -> dict[str, Any] | object | None:
    """The pending outage after one call's triggers, each (component id, value): None after cancel,
    else the {"system", "at", "start"} of a reclassify button really clicked (a button appearing in a
    redrawn body triggers too, with no click), else UNCHANGED."""
    triggered = list(triggered)
    if any(component == ids.AVAILABILITY_CANCEL for component, _ in triggered):
        return None
    for component, clicks in triggered:
        if isinstance(component, Mapping) and component.get("type") == ids.AVAILABILITY_RECLASSIFY and clicks:
            chosen = {key: component.get(key) for key in ("system", "at", "start")}
            if pending_outage(chosen) is not None:
                return chosen
    return UNCHANGED


def form_view(pending: object, names: Mapping[str, str], lang: str, tz: str) -> tuple[str, str]:
    """(class, title) of the reclassification form: closed when nothing is pending."""
    outage = pending_outage(pending)
    if outage is None:
        return "availability-form hidden", ""
    system, _, start = outage
    when = local_time(start, tz, report_language(lang))
    return "availability-form", t("availability.form.title", lang, system=names.get(system, system), start=when)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str

    @property
    def css(self) -> str:
        return "availability-message availability-message-" + ("ok" if self.ok else "error")


def perform(
    actions: ConsoleActions | None,
    pending: object,
    category: str | None,
    reason: str | None,
    actor: str | None,
    lang: str,
    tz: str,
) -> Outcome:
    """Reclassify the pending outage as `category` for `reason`, by `actor`. Nothing is done without
    a reason or a name; the console's refusal comes back as a message with its reason."""
    outage = pending_outage(pending)
    if outage is None:
        return Outcome(False, t("availability.error.nothing", lang))
    if actions is None:
        return Outcome(False, t("availability.error.unavailable", lang))
    reason, actor = (reason or "").strip(), (actor or "").strip()
    if not reason:
        return Outcome(False, t("availability.error.reason", lang))
    if not actor:
        return Outcome(False, t("availability.error.actor", lang))
    system, at, start = outage
    category = category or ""
    try:
        actions.reclassify(system, at, category=category, reason=reason, by=actor)
    except ActionError as exc:
        return Outcome(False, t("availability.error.refused", lang, reason=exc.message))
    rl = report_language(lang)
    when = local_time(start, tz, rl)
    return Outcome(True, t("availability.done", lang, start=when, category=category_text(category, rl)))


def category_options(lang: str) -> list[dict[str, str]]:
    """The form's categories (reports.history.CATEGORIES) in `lang`."""
    return [{"label": category_text(c, report_language(lang)), "value": c} for c in CATEGORIES]
