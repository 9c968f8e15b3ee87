"""The availability report as a PDF (issue 8): `render_pdf(report, lang, tz)`.

A4 portrait, built with reportlab (platypus for the flow, reportlab.graphics for the charts), all
of it real text in one embedded Japanese TrueType font, IPAGothic from Debian's
`fonts-ipafont-gothic` (IPAexGothic is taken too); its Latin glyphs serve the English report.
In order:

1. the title (the period's label), when it was generated and the time zone the times are in;
2. the summary: per system its availability, SLA target, met or missed, downtime and incidents;
3. per system: its monthly availability as bars against the SLA target (a dashed line; the y axis
   starts just under the lowest of them, not at 0, so that 99.9 against 99.5 shows), its outages
   over the period (counted in red, not counted in grey), the figures of the period, the figures
   of each month, and its outages with their cause, maintenance and reclassification (the
   original cause stays);
4. the exclusions: the maintenance occurrences that excluded downtime, the reclassified outages,
   and the Japanese public holidays of the period.

Figures and words are written by reports/formatting.py, as on the web page. Nothing here reads
the clock: the PDF's creation date is the report's `generated_at`, and the same report gives the
same bytes.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, Line, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Table,
    TableStyle,
)

from reports.availability import Figures, Outage
from reports.calendars import Language
from reports.formatting import (
    category_text,
    duration,
    figure_rows,
    local_time,
    met_text,
    month_text,
    percent,
    percent_axis,
    text,
)
from reports.periods import Period
from reports.report import AvailabilityReport, SystemAvailability

__all__ = ["FONT_PACKAGE", "FontNotFoundError", "find_font", "render_pdf"]

FONT_PACKAGE: Final = "fonts-ipafont-gothic"
"""The Debian package of the font the PDF embeds (scripts/setup.sh installs it)."""
_FONT_ROOT: Final = Path("/usr/share/fonts")
_FONTS: Final = (  # (the name registered with reportlab, the file); the first found is used
    ("IPAGothic", "ipag.ttf"),
    ("IPAexGothic", "ipaexg.ttf"),
)
_FONT_DIRS: Final = (  # where Debian (opentype/, since 12) and older releases (truetype/) put them
    "opentype/ipafont-gothic",
    "truetype/ipafont-gothic",
    "opentype/ipaexfont-gothic",
    "truetype/ipaexfont-gothic",
)

_MARGIN: Final[float] = 15 * mm
_WIDTH: Final[float] = A4[0] - 2 * _MARGIN
_MET_COLOUR: Final = colors.HexColor("#2e7d32")
_MISSED_COLOUR: Final = colors.HexColor("#c62828")
_UNKNOWN_COLOUR: Final = colors.HexColor("#9e9e9e")
_TARGET_COLOUR: Final = colors.HexColor("#ef6c00")
_COUNTED_COLOUR: Final = colors.HexColor("#c62828")
_NOT_COUNTED_COLOUR: Final = colors.HexColor("#90a4ae")
_HEADER_COLOUR: Final = colors.HexColor("#e8eef4")
_LANE_COLOUR: Final = colors.HexColor("#f3f5f7")
_GRID_COLOUR: Final = colors.HexColor("#b0bec5")
_WEEKDAYS: Final[dict[Language, tuple[str, ...]]] = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "ja": ("月", "火", "水", "木", "金", "土", "日"),
}


class FontNotFoundError(RuntimeError):
    """No Japanese TrueType font to embed: the message names the Debian package to install."""


def find_font(root: Path = _FONT_ROOT) -> tuple[str, Path]:
    """(name, path) of the Japanese TrueType font to embed: IPAGothic (`ipag.ttf`, Debian's
    fonts-ipafont-gothic), else IPAexGothic (`ipaexg.ttf`), under `root`. Raises FontNotFoundError."""
    for name, file in _FONTS:
        known = [root / folder / file for folder in _FONT_DIRS]
        found = [p for p in known if p.is_file()] or sorted(p for p in root.rglob(file) if p.is_file())
        if found:
            return name, found[0]
    raise FontNotFoundError(
        f"no Japanese TrueType font for the PDF report: neither IPAGothic (ipag.ttf) nor IPAexGothic (ipaexg.ttf)"
        f" is under {root}; install Debian's {FONT_PACKAGE} (apt-get install -y {FONT_PACKAGE}, as scripts/setup.sh"
        " does)"
    )


def _register_font(font: tuple[str, Path] | None) -> str:
    """Register the font with reportlab once per process (its registry is global; a name is
    registered once, with the first file given for it) and return its name."""
    name, path = font or find_font()
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, str(path)))
    return name


@dataclass(frozen=True, slots=True)
class _Styles:
    font: str
    title: ParagraphStyle
    heading: ParagraphStyle
    subheading: ParagraphStyle
    body: ParagraphStyle
    cell: ParagraphStyle
    number: ParagraphStyle
    head: ParagraphStyle


def _styles(font: str, lang: Language) -> _Styles:
    wrap = "CJK" if lang == "ja" else None  # Japanese breaks between any two characters

    def style(name: str, size: float, **more: Any) -> ParagraphStyle:
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=size * 1.3, wordWrap=wrap, **more)

    return _Styles(
        font=font,
        title=style("title", 16, spaceAfter=6),
        heading=style("heading", 13, spaceBefore=10, spaceAfter=4),
        subheading=style("subheading", 10, spaceBefore=8, spaceAfter=3),
        body=style("body", 9),
        cell=style("cell", 7.5),
        number=style("number", 7.5, alignment=TA_RIGHT),
        head=style("head", 7.5),
    )


def render_pdf(report: AvailabilityReport, lang: Language, tz: str, *, font: tuple[str, Path] | None = None) -> bytes:
    """The report as PDF bytes in `lang`, times shown as local times in `tz` (an IANA zone).
    `font` is (name, path of a TrueType file); by default `find_font()`. Raises FontNotFoundError."""
    styles = _styles(_register_font(font), lang)
    title = text("title", lang, period=report.period.label(lang))
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN,
        title=title,
        author="Ops Console",
        creator="Ops Console",
        lang="ja-JP" if lang == "ja" else "en",
        initialFontName=styles.font,  # no Helvetica: every glyph comes from the embedded font
        invariant=True,  # no clock, no random document id: the creation date is set in decorate()
    )
    story: list[Flowable] = _cover(report, lang, tz, styles)
    for index, system in enumerate(report.systems):
        if index:
            story.append(PageBreak())
        story += _system(system, report.period, lang, tz, styles)
    story.append(PageBreak())
    story += _exclusions(report, lang, tz, styles)
    created = _pdf_date(report.generated_at, tz)

    def decorate(canvas: Any, _doc: Any) -> None:
        canvas.setDateFormatter(lambda *_: created)
        canvas.saveState()
        canvas.setFont(styles.font, 7)
        canvas.setFillColor(colors.grey)
        canvas.drawString(_MARGIN, _MARGIN / 2, title)
        canvas.drawRightString(A4[0] - _MARGIN, _MARGIN / 2, text("page", lang, page=canvas.getPageNumber()))
        canvas.restoreState()

    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()


def _pdf_date(t: float, tz: str) -> str:
    local = datetime.fromtimestamp(t, UTC).astimezone(ZoneInfo(tz))
    offset = local.strftime("%z")  # +0900
    return f"D:{local:%Y%m%d%H%M%S}{offset[:3]}'{offset[3:5]}'"


# -- sections -------------------------------------------------------------------------------------


def _cover(report: AvailabilityReport, lang: Language, tz: str, st: _Styles) -> list[Flowable]:
    rows = [
        [s.name, percent(s.total.availability, lang), percent(s.total.target, lang), met_text(s.total.met, lang),
         duration(s.total.downtime, lang), str(s.total.incidents)]
        for s in report.systems
    ]  # fmt: skip
    heads = ["system", "availability", "target", "met", "downtime", "incidents"]
    return [
        Paragraph(escape(text("title", lang, period=report.period.label(lang))), st.title),
        Paragraph(escape(text("generated_at", lang, time=local_time(report.generated_at, tz, lang))), st.body),
        Paragraph(escape(text("timezone", lang, tz=tz)), st.body),
        Paragraph(escape(text("summary", lang)), st.heading),
        _table([text(h, lang) for h in heads], rows, [150, 75, 75, 60, 90, 60], st, numbers=range(1, 6)),
    ]


def _system(s: SystemAvailability, period: Period, lang: Language, tz: str, st: _Styles) -> list[Flowable]:
    charts = KeepTogether(
        [
            Paragraph(escape(s.name), st.heading),
            Paragraph(escape(text("monthly_chart", lang)), st.subheading),
            _availability_chart(s, lang, st.font),
            Paragraph(escape(text("timeline", lang)), st.subheading),
            _timeline(s.report.outages, period, lang, st.font),
        ]
    )
    monthly = [
        [month_text(m.first_month, lang), percent(f.availability, lang), met_text(f.met, lang),
         duration(f.downtime, lang), str(f.incidents), duration(f.budget_left, lang)]
        for m, f in s.months
    ]  # fmt: skip
    monthly_heads = [text(k, lang) for k in ("month", "availability", "met", "downtime", "incidents", "budget_left")]
    out: list[Flowable] = [
        charts,
        Paragraph(escape(text("figures", lang)), st.subheading),
        _figures_table(s.total, lang, st),
        Paragraph(escape(text("monthly", lang)), st.subheading),
        _table(monthly_heads, monthly, [100, 80, 70, 90, 70, 100], st, numbers=(1, 3, 4, 5)),
        Paragraph(escape(text("outages", lang)), st.subheading),
    ]
    if not s.report.outages:
        return [*out, Paragraph(escape(text("no_outages", lang)), st.body)]
    heads = [f"{text('start', lang)} / {text('end', lang)}", text("duration", lang), text("counted", lang),
             text("cause", lang), text("maintenance", lang), text("reclassified", lang)]  # fmt: skip
    rows = [_outage_row(o, lang, tz) for o in s.report.outages]
    return [*out, _table(heads, rows, [72, 52, 52, 140, 76, 118], st, numbers=(1, 2))]


def _outage_row(o: Outage, lang: Language, tz: str) -> list[str]:
    change = o.reclassified
    reclassified = (
        ""
        if change is None
        else "\n".join(
            (
                category_text(change.category, lang),
                change.reason,
                text("reclassified_by", lang, by=change.by, at=local_time(change.at, tz, lang)),
            )
        )
    )
    return [
        f"{local_time(o.start, tz, lang)}\n{local_time(o.end, tz, lang)}",
        duration(o.duration, lang),
        duration(o.counted, lang),
        o.cause_ja if lang == "ja" else o.cause,
        "\n".join(o.maintenance),
        reclassified,
    ]


def _figures_table(f: Figures, lang: Language, st: _Styles) -> Table:
    pairs = figure_rows(f, lang, always_unwatched=True)
    half = math.ceil(len(pairs) / 2)
    left, right = pairs[:half], [*pairs[half:], ("", "")]
    rows = [[text(a, lang), x, text(b, lang) if b else "", y] for (a, x), (b, y) in zip(left, right, strict=True)]
    cells = [[_cell(v, st.number if i % 2 else st.head) for i, v in enumerate(row)] for row in rows]
    table = Table(cells, colWidths=[130, 125, 130, 125], hAlign="LEFT")
    table.setStyle(_table_style(st, [(0, 0), (0, -1)], [(2, 0), (2, -1)]))
    return table


def _exclusions(report: AvailabilityReport, lang: Language, tz: str, st: _Styles) -> list[Flowable]:
    out: list[Flowable] = [
        Paragraph(escape(text("exclusions", lang)), st.heading),
        Paragraph(escape(text("maintenance_section", lang)), st.subheading),
    ]
    if report.maintenance:
        heads = [text(k, lang) for k in ("name", "reason", "start", "end")]
        rows = [[n, r, local_time(a, tz, lang), local_time(b, tz, lang)] for n, r, a, b in report.maintenance]
        out.append(_table(heads, rows, [120, 190, 100, 100], st))
    else:
        out.append(Paragraph(escape(text("no_maintenance", lang)), st.body))
    out.append(Paragraph(escape(text("reclassifications", lang)), st.subheading))
    changes = [(s, o) for s in report.systems for o in s.report.outages if o.reclassified is not None]
    if changes:
        heads = [text(k, lang) for k in ("system", "start", "cause", "category", "reason", "by", "at")]
        rows = [
            [s.name, local_time(o.start, tz, lang), o.cause_ja if lang == "ja" else o.cause,
             category_text(c.category, lang), c.reason, c.by, local_time(c.at, tz, lang)]
            for s, o in changes
            if (c := o.reclassified) is not None
        ]  # fmt: skip
        out.append(_table(heads, rows, [80, 72, 96, 60, 86, 44, 72], st))
    else:
        out.append(Paragraph(escape(text("no_reclassifications", lang)), st.body))
    out.append(Paragraph(escape(text("holidays", lang)), st.subheading))
    if report.holidays:
        rows = [[f"{d.isoformat()} ({_weekday(d, lang)})", name] for d, name in report.holidays]
        out.append(_table([text("date", lang), text("holiday", lang)], rows, [120, 200], st))
    else:
        out.append(Paragraph(escape(text("no_holidays", lang)), st.body))
    return out


def _weekday(day: date, lang: Language) -> str:
    return _WEEKDAYS[lang][day.weekday()]


# -- tables ---------------------------------------------------------------------------------------


def _cell(value: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(value).replace("\n", "<br/>"), style)


def _table(
    heads: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    st: _Styles,
    numbers: Iterable[int] = (),
) -> Table:
    """A table of text cells with a header row repeated on each page; columns `numbers` right-aligned."""
    right = set(numbers)
    cells = [[_cell(h, st.head) for h in heads]]
    cells += [[_cell(v, st.number if i in right else st.cell) for i, v in enumerate(row)] for row in rows]
    table = Table(cells, colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    table.setStyle(_table_style(st, [(0, 0), (-1, 0)]))
    return table


def _table_style(st: _Styles, *shaded: list[tuple[int, int]]) -> TableStyle:
    """Thin grid, text from the top, the `shaded` (first cell, last cell) ranges as headers."""
    return TableStyle(
        [
            ("FONTNAME", (0, 0), (-1, -1), st.font),  # the cells' own font, else Helvetica is listed
            ("GRID", (0, 0), (-1, -1), 0.25, _GRID_COLOUR),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            *(("BACKGROUND", first, last, _HEADER_COLOUR) for first, last in shaded),
        ]
    )


# -- charts ---------------------------------------------------------------------------------------


def _availability_chart(s: SystemAvailability, lang: Language, font: str) -> Drawing:
    """Bars of each month's availability (green met, red missed) and the SLA target as a dashed line."""
    values = [None if f.availability is None else f.availability * 100 for _, f in s.months]
    target = s.total.target * 100
    bottom, step, decimals = percent_axis(values, target)
    many = len(s.months) > 6  # month names slanted, bar labels smaller
    drawing = Drawing(_WIDTH, 190 if many else 175, initialFontName=font)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 50, 53 if many else 38, _WIDTH - 60, 120
    chart.data = [[bottom if v is None else max(v, bottom) for v in values]]
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = bottom, 100.0, step
    chart.valueAxis.labelTextFormat = lambda v: f"{v:.{decimals}f}%"
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = colors.HexColor("#e0e0e0")
    chart.categoryAxis.categoryNames = [month_text(m.first_month, lang) for m, _ in s.months]
    for labels in (chart.valueAxis.labels, chart.categoryAxis.labels, chart.barLabels):
        labels.fontName, labels.fontSize = font, 7
    if many:
        chart.categoryAxis.labels.angle, chart.categoryAxis.labels.boxAnchor = 30, "ne"
        chart.barLabels.fontSize = 6
    chart.barLabelFormat = "values"
    chart.barLabelArray = [[percent(f.availability, lang) for _, f in s.months]]
    chart.barLabels.nudge = 6
    chart.bars.strokeColor = None
    chart.groupSpacing = 16  # bars 10 wide, 16 apart (reportlab scales both to fit)
    for i, (_, f) in enumerate(s.months):
        chart.bars[(0, i)].fillColor = {True: _MET_COLOUR, False: _MISSED_COLOUR, None: _UNKNOWN_COLOUR}[f.met]
    drawing.add(chart)
    y = chart.y + (target - bottom) / (100 - bottom) * chart.height
    drawing.add(Line(chart.x, y, chart.x + chart.width, y, strokeColor=_TARGET_COLOUR, strokeWidth=1.2,
                     strokeDashArray=[4, 2]))  # fmt: skip
    legend = [
        (_MET_COLOUR, text("legend_met", lang), False),
        (_MISSED_COLOUR, text("legend_missed", lang), False),
        (_TARGET_COLOUR, text("legend_target", lang, target=percent(s.total.target, lang)), True),
    ]
    _legend(drawing, legend, chart.x, 4, font)
    return drawing


def _timeline(outages: Sequence[Outage], period: Period, lang: Language, font: str) -> Drawing:
    """The period as a lane with a bar per outage (at least 2 points wide to be seen): red when some
    of it counted, grey when none did; month boundaries marked and named."""
    drawing = Drawing(_WIDTH, 62, initialFontName=font)
    left, right, lane_y, lane_h = 50.0, _WIDTH - 10, 30.0, 18.0
    span = period.end - period.start

    def x(t: float) -> float:
        return left + (min(max(t, period.start), period.end) - period.start) / span * (right - left)

    drawing.add(Rect(left, lane_y, right - left, lane_h, fillColor=_LANE_COLOUR, strokeColor=_GRID_COLOUR,
                     strokeWidth=0.5))  # fmt: skip
    months = period.months()
    for i, month in enumerate(months):
        # with many months only the first and each January carry the year, so that the names fit
        words = month_text(month.first_month, lang, year=len(months) <= 6 or i == 0 or month.first_month.month == 1)
        drawing.add(Line(x(month.start), lane_y - 3, x(month.start), lane_y + lane_h, strokeColor=_GRID_COLOUR))
        drawing.add(String(x(month.start) + 2, lane_y - 10, words, fontName=font, fontSize=7))
    for o in outages:
        start = x(o.start)
        colour = _COUNTED_COLOUR if o.counted > 0 else _NOT_COUNTED_COLOUR
        drawing.add(Rect(start, lane_y + 2, max(x(o.end) - start, 2.0), lane_h - 4, fillColor=colour,
                         strokeColor=None))  # fmt: skip
    legend = [
        (_COUNTED_COLOUR, text("legend_counted", lang), False),
        (_NOT_COUNTED_COLOUR, text("legend_not_counted", lang), False),
    ]
    _legend(drawing, legend, left, 2, font)
    return drawing


def _legend(drawing: Drawing, entries: Sequence[tuple[Any, str, bool]], x: float, y: float, font: str) -> None:
    """A row of swatches (a square, or a dashed line when the flag is set) and their words, from (x, y)."""
    for colour, words, dashed in entries:
        if dashed:
            drawing.add(Line(x, y + 4, x + 8, y + 4, strokeColor=colour, strokeWidth=1.2, strokeDashArray=[3, 1]))
        else:
            drawing.add(Rect(x, y, 8, 8, fillColor=colour, strokeColor=None))
        drawing.add(String(x + 11, y + 1, words, fontName=font, fontSize=7))
        x += 11 + pdfmetrics.stringWidth(words, font, 7) + 14
