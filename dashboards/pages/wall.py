"""The wall page (being built: issue 7)."""

from __future__ import annotations

import dash
from dash import html

from dashboards.app import request_language
from dashboards.i18n import t

dash.register_page(__name__, path="/wall", title="Ops Console")


def layout(**query: str) -> html.Div:
    lang = request_language()
    return html.Div([html.H1(t("wall.title", lang), className="page-title")], className="page page-wall")
