"""The availability page's charts (issue 8), as plotly figures of a system's part of the report:
its availability month by month against the SLA target (`monthly_figure`, its y axis as
`axis_range` gives it), and its outages over the period (`timeline_figure`). Pure functions of the
report; dashboards/views/availability.py puts them on the page.

Their words (legends, hover text) and the monthly chart's y axis are written by
reports/formatting.py, as the PDF writes them. Times are local wall times in the console's time
zone (`ConsoleData.timezone`).
"""

from __future__ import annotations

import html as markup
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import plotly.graph_objects as go  # no stubs

from reports.availability import Outage
from reports.calendars import Language
from reports.formatting import category_text, duration, local_time, month_text, percent, percent_axis, text
from reports.periods import Period
from reports.report import SystemAvailability

__all__ = ["axis_range", "monthly_figure", "timeline_figure"]

_MET_COLOURS = {True: "#2e7d32", False: "#c62828", None: "#9e9e9e"}  # as the PDF's
_TARGET_COLOUR = "#ef6c00"
_COUNTED_COLOUR = "#c62828"
_NOT_COUNTED_COLOUR = "#90a4ae"
_TEXT_COLOUR = "#1b2430"
_MIN_BAR_SHARE = 1 / 400
"""An outage's bar on the timeline is at least this share of the period wide, to be seen."""


def axis_range(values: Sequence[float | None], target: float) -> tuple[float, float, float]:
    """(bottom, top, tick step) of the monthly chart's y axis in percent: the PDF's (`percent_axis`)."""
    bottom, step, _ = percent_axis(values, target)
    return bottom, 100.0, step


def _layout(figure: go.Figure, height: int) -> None:
    figure.update_layout(
        template="plotly_white",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": _TEXT_COLOUR},
        margin={"l": 60, "r": 10, "t": 10, "b": 40},
        height=height,
        legend={"orientation": "h", "y": -0.3},
    )


def monthly_figure(s: SystemAvailability, lang: Language) -> go.Figure:
    """Each month's availability (%) as a bar, met and missed apart, against the SLA target as a
    dashed line; the y axis from just under the lowest of them (`axis_range`), not from 0."""
    months = [month_text(m.first_month, lang) for m, _ in s.months]
    values = [None if f.availability is None else f.availability * 100 for _, f in s.months]
    target = s.total.target * 100
    figure = go.Figure()
    for met, key in ((True, "legend_met"), (False, "legend_missed")):
        figure.add_trace(
            go.Bar(
                x=months,
                y=[v if f.met is met else None for v, (_, f) in zip(values, s.months, strict=True)],
                text=[percent(f.availability, lang) if f.met is met else "" for _, f in s.months],
                textposition="inside",
                insidetextanchor="end",
                marker={"color": _MET_COLOURS[met]},
                name=text(key, lang),
                hovertemplate="%{x}: %{text}<extra></extra>",
            )
        )
    figure.add_trace(
        go.Scatter(
            x=months,
            y=[target] * len(months),
            mode="lines",
            line={"color": _TARGET_COLOUR, "dash": "dash", "width": 2},
            name=text("legend_target", lang, target=percent(s.total.target, lang)),
            hoverinfo="skip",
        )
    )
    bottom, step, decimals = percent_axis(values, target)
    top = 100.0
    _layout(figure, 280)
    figure.update_layout(
        barmode="overlay",
        yaxis={"range": [bottom, top], "dtick": step, "tickformat": f".{decimals}f", "ticksuffix": "%"},
        xaxis={"type": "category"},
    )
    return figure


def _wall(t_: float, tz: str) -> str:
    return datetime.fromtimestamp(t_, UTC).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


def _hover(o: Outage, lang: Language, tz: str) -> str:
    cause = o.cause_ja if lang == "ja" else o.cause
    lines = [
        f"{local_time(o.start, tz, lang)} – {local_time(o.end, tz, lang)}",
        f"{text('cause', lang)}: {markup.escape(cause, quote=False)}",
        f"{text('duration', lang)}: {duration(o.duration, lang)}",
        f"{text('counted', lang)}: {duration(o.counted, lang)}",
    ]
    if o.maintenance:
        lines.append(f"{text('maintenance', lang)}: {markup.escape(', '.join(o.maintenance), quote=False)}")
    if o.reclassified is not None:
        lines.append(f"{text('reclassified', lang)}: {category_text(o.reclassified.category, lang)}")
    return "<br>".join(lines)


def timeline_figure(s: SystemAvailability, period: Period, lang: Language, tz: str) -> go.Figure:
    """The period as a time axis with a horizontal bar per outage (at least 1/400 of the period wide,
    to be seen), counted ones apart from those that counted nothing (maintenance, reclassified,
    outside service hours); hover: times, cause, duration, counted time."""
    shortest = (period.end - period.start) * _MIN_BAR_SHARE * 1000
    figure = go.Figure()
    for counted, key, colour in (
        (True, "legend_counted", _COUNTED_COLOUR),
        (False, "legend_not_counted", _NOT_COUNTED_COLOUR),
    ):
        picked = [o for o in s.report.outages if (o.counted > 0) is counted]
        figure.add_trace(
            go.Bar(
                orientation="h",
                base=[_wall(o.start, tz) for o in picked],
                x=[max(o.duration * 1000, shortest) for o in picked],
                y=[s.name] * len(picked),
                marker={"color": colour},
                name=text(key, lang),
                hovertext=[_hover(o, lang, tz) for o in picked],
                hoverinfo="text",
            )
        )
    _layout(figure, 170)
    monthly = len(period.months()) > 1
    figure.update_layout(
        barmode="overlay",
        showlegend=True,
        yaxis={"visible": False},
        xaxis={
            "type": "date",
            "range": [_wall(period.start, tz), _wall(period.end, tz)],
            "dtick": "M1" if monthly else None,
            "tickformat": ("%Y年%-m月" if lang == "ja" else "%b %Y") if monthly else None,
            "showgrid": True,
        },
    )
    return figure
