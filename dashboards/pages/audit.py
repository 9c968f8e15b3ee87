"""The audit log page (`/audit`, issue 9), for administrators: who did what, when, from where, and
with what outcome, newest first, filtered by time, actor, action and text; whether the log's hash
chain is intact; the CSV and JSON exports of the same filters.

Logic lives in `dashboards.views.audit`; data comes through `dashboards.queries.current()`. The
filters can be given in the URL (`/audit?actor=yamada&action=login`) and are read from the inputs
after that. The chain is checked when the page opens and on "verify again" (it reads every entry,
so not on every change of the filters).
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, dcc, html

from dashboards import ids
from dashboards.app import request_language
from dashboards.authz import requires
from dashboards.i18n import t
from dashboards.queries import current
from dashboards.views import audit as view
from security.access import Permission

dash.register_page(__name__, path="/audit", title="Ops Console", permission="audit")


def layout(
    since: str = "", until: str = "", actor: str = "", action: str = "", text: str = "", **query: str
) -> html.Div:
    lang = request_language()
    return html.Div(
        [
            html.H1(t("audit.title", lang), className="page-title"),
            html.Div(
                [
                    html.Div(id=ids.AUDIT_CHAIN, className="audit-chain"),
                    html.Button(t("audit.verify", lang), id=ids.AUDIT_VERIFY, n_clicks=0, className="audit-button"),
                ],
                className="audit-chain-bar",
            ),
            _filters(view.Filters.of(since, until, actor, action, text), lang),
            html.Div(
                [
                    html.Div(id=ids.AUDIT_COUNT, className="audit-count"),
                    html.Div(
                        [
                            html.Span(t("audit.export", lang), className="audit-label"),
                            html.A(
                                t("audit.export.csv", lang), id=ids.AUDIT_CSV, download="", className="audit-button"
                            ),
                            html.A(
                                t("audit.export.json", lang), id=ids.AUDIT_JSON, download="", className="audit-button"
                            ),
                        ],
                        id=ids.AUDIT_EXPORTS,
                        className="audit-exports hidden",
                    ),
                ],
                className="audit-summary",
            ),
            html.Div(id=ids.AUDIT_TABLE, className="audit-body"),
        ],
        className="page page-audit",
    )


def _field(label: str, control: Any) -> html.Label:
    return html.Label([html.Span(label, className="audit-label"), control], className="audit-field")


def _time_input(component_id: str, value: str, lang: str) -> dcc.Input:
    """A time filter: `2026-11-27 18:30`, or a date alone for its midnight."""
    return dcc.Input(
        id=component_id,
        value=value,
        debounce=True,
        placeholder=t("audit.filter.time.placeholder", lang),
        spellCheck=False,
        className="audit-time-filter",
    )


def _filters(filters: view.Filters, lang: str) -> html.Div:
    return html.Div(
        [
            _field(t("audit.filter.since", lang), _time_input(ids.AUDIT_SINCE, filters.since, lang)),
            _field(t("audit.filter.until", lang), _time_input(ids.AUDIT_UNTIL, filters.until, lang)),
            _field(
                t("audit.filter.actor", lang),
                dcc.Input(
                    id=ids.AUDIT_ACTOR,
                    value=filters.actor,
                    debounce=True,
                    placeholder=t("audit.filter.actor.placeholder", lang),
                    spellCheck=False,
                    className="audit-actor-filter",
                ),
            ),
            _field(
                t("audit.filter.action", lang),
                dcc.Dropdown(
                    id=ids.AUDIT_ACTION,
                    options=view.action_options(lang),
                    value=filters.action or None,
                    placeholder=t("audit.filter.action.placeholder", lang),
                    className="audit-action-filter",
                ),
            ),
            _field(
                t("audit.filter.text", lang),
                dcc.Input(
                    id=ids.AUDIT_TEXT,
                    type="search",
                    value=filters.text,
                    debounce=True,
                    placeholder=t("audit.filter.text.placeholder", lang),
                    className="audit-text-filter",
                ),
            ),
        ],
        className="audit-filters",
    )


@dash.callback(
    Output(ids.AUDIT_TABLE, "children"),
    Output(ids.AUDIT_COUNT, "children"),
    Output(ids.AUDIT_CSV, "href"),
    Output(ids.AUDIT_JSON, "href"),
    Output(ids.AUDIT_EXPORTS, "className"),
    Input(ids.AUDIT_SINCE, "value"),
    Input(ids.AUDIT_UNTIL, "value"),
    Input(ids.AUDIT_ACTOR, "value"),
    Input(ids.AUDIT_ACTION, "value"),
    Input(ids.AUDIT_TEXT, "value"),
)
@requires(Permission.AUDIT)
def _show(since: object, until: object, actor: object, action: object, text: object) -> tuple[Any, ...]:
    found = view.shown(current(), view.Filters.of(since, until, actor, action, text), request_language())
    exports = "audit-exports" if found.exports else "audit-exports hidden"
    return found.body, found.count, found.links["csv"], found.links["json"], exports


@dash.callback(
    Output(ids.AUDIT_CHAIN, "children"),
    Output(ids.AUDIT_CHAIN, "className"),
    Input(ids.AUDIT_VERIFY, "n_clicks"),
)
@requires(Permission.AUDIT)
def _chain(_clicks: int | None) -> tuple[str, str]:
    return view.chain_shown(current(), request_language())
