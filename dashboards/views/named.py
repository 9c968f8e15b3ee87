"""The layout the pages of one named thing share (`/device/<name>`, `/link/<name>`): its title, a
"not in the inventory" message for an unknown name, else the range picker and the body its
callback fills."""

from __future__ import annotations

from dash import dcc, html

from dashboards import ids
from dashboards.i18n import t
from dashboards.views.timerange import range_key, range_options

__all__ = ["named_page"]


def named_page(
    page: str, name: str, known: bool, range_value: str | None, lang: str, *, url_id: str, name_id: str, body_id: str
) -> html.Div:
    """The page `page` ("device", "link") of `name`; catalog keys `<page>.title` and `<page>.unknown`."""
    title = html.H1(t(f"{page}.title", lang, name=name), className="page-title")
    if not known:
        return html.Div(
            [title, html.P(t(f"{page}.unknown", lang, name=name), className="not-found")], className=f"page page-{page}"
        )
    return html.Div(
        [
            title,
            dcc.Location(id=url_id, refresh=False),
            dcc.Store(id=name_id, data=name),
            dcc.RadioItems(
                id=ids.RANGE,
                options=range_options(lang),
                value=range_key(range_value),
                className="range-picker",
                inline=True,
            ),
            dcc.Loading(html.Div(id=body_id), type="dot"),
        ],
        className=f"page page-{page}",
    )
