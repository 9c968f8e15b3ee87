"""The alerts page (`/alerts`): every alert held, filtered and grouped as routed, with why each is
not notified, and the actions of the on-call engineer (acknowledge, un-acknowledge, silence,
expire a silence) and the maintenance windows (list, one-off window editor, delete).

Logic lives in `dashboards.views.alerts`; data comes through `dashboards.queries.current()` and
actions go through `dashboards.actions.current_actions()`. An action button sets the pending
action (`ALERTS_PENDING`), which opens the form; submitting it performs the action and counts it
in `ALERTS_DONE`, which closes the form and refreshes the table.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, dcc, html

from dashboards import ids
from dashboards.actions import ConsoleActions, current_actions
from dashboards.app import request_language
from dashboards.i18n import t
from dashboards.queries import current
from dashboards.views import alerts as view

dash.register_page(__name__, path="/alerts", title="Ops Console")

REFRESH_MS = 15_000
ACTION_BUTTONS = {"type": ids.ALERTS_ACTION, "action": ALL, "ref": ALL}


def layout(**query: str) -> html.Div:
    lang = request_language()
    data = current()
    options = view.filter_options(data.alerts(), data.inventory(), lang)
    return html.Div(
        [
            html.H1(t("alerts.title", lang), className="page-title"),
            dcc.Interval(id=ids.ALERTS_TICK, interval=REFRESH_MS),
            dcc.Store(id=ids.ALERTS_PENDING, data=None),
            dcc.Store(id=ids.ALERTS_DONE, data=0),
            html.Div(
                [
                    _dropdown(ids.ALERTS_FILTER_SITE, "site", options, lang),
                    _dropdown(ids.ALERTS_FILTER_SYSTEM, "system", options, lang),
                    _dropdown(ids.ALERTS_FILTER_SEVERITY, "severity", options, lang),
                    _dropdown(ids.ALERTS_FILTER_STATE, "state", options, lang),
                    dcc.Input(
                        id=ids.ALERTS_FILTER_TEXT,
                        type="search",
                        debounce=True,
                        placeholder=t("alerts.filter.text", lang),
                        className="alerts-filter-text",
                    ),
                    dcc.RadioItems(
                        id=ids.ALERTS_GROUPING,
                        options=[{"label": t(f"alerts.grouping.{g}", lang), "value": g} for g in ("route", "none")],
                        value="route",
                        inline=True,
                        className="alerts-grouping",
                    ),
                    html.Label(
                        [
                            t("alerts.actor", lang),
                            dcc.Input(id=ids.ALERTS_ACTOR, value="", persistence=True, persistence_type="local"),
                        ],
                        className="alerts-actor",
                    ),
                ],
                className="alerts-filters",
            ),
            _form(lang),
            html.Div(id=ids.ALERTS_MESSAGE, className="alerts-message"),
            html.Div(id=ids.ALERTS_COUNT, className="alerts-count"),
            html.Div(id=ids.ALERTS_TABLE),
            html.H2(t("alerts.maintenance.title", lang), className="alerts-section"),
            view.action_button("create-maintenance", "", lang),
            html.Div(id=ids.ALERTS_MAINTENANCE),
        ],
        className="page page-alerts",
    )


def _dropdown(component_id: str, name: str, options: dict[str, list[dict[str, str]]], lang: str) -> dcc.Dropdown:
    return dcc.Dropdown(
        id=component_id,
        options=options[name],
        placeholder=t(f"alerts.filter.{name}", lang),
        className="alerts-filter",
    )


def _field(label: Any, control: Any, field_id: str | None = None) -> html.Div:
    content = html.Label([html.Span(label), control])
    if field_id is None:
        return html.Div(content, className="alerts-field")
    return html.Div(content, id=field_id, className="alerts-field hidden")


def _form(lang: str) -> html.Div:
    window = [
        _field(t("alerts.form.name", lang), dcc.Input(id=ids.ALERTS_WINDOW_NAME)),
        _field(t("alerts.form.start", lang), dcc.Input(id=ids.ALERTS_WINDOW_START, placeholder="2027-01-16 02:00")),
        _field(t("alerts.form.end", lang), dcc.Input(id=ids.ALERTS_WINDOW_END, placeholder="2027-01-16 05:00")),
    ]
    return html.Div(
        [
            html.H2(id=ids.ALERTS_FORM_TITLE),
            html.Div(window, id=ids.ALERTS_WINDOW_FIELDS, className="hidden"),
            _field(
                t("alerts.form.matchers", lang), dcc.Textarea(id=ids.ALERTS_MATCHERS, rows=5), ids.ALERTS_MATCHERS_FIELD
            ),
            _field(
                html.Span(id=ids.ALERTS_DURATION_LABEL), dcc.Input(id=ids.ALERTS_DURATION), ids.ALERTS_DURATION_FIELD
            ),
            _field(t("alerts.form.comment", lang), dcc.Input(id=ids.ALERTS_COMMENT), ids.ALERTS_COMMENT_FIELD),
            html.Div(
                [
                    html.Button(t("alerts.form.submit", lang), id=ids.ALERTS_SUBMIT, className="alerts-button"),
                    html.Button(t("alerts.form.cancel", lang), id=ids.ALERTS_CANCEL, className="alerts-button"),
                ],
                className="alerts-form-buttons",
            ),
        ],
        id=ids.ALERTS_FORM,
        className="alerts-form hidden",
    )


def _actions() -> ConsoleActions | None:
    try:
        return current_actions()
    except LookupError:
        return None


@dash.callback(
    Output(ids.ALERTS_TABLE, "children"),
    Output(ids.ALERTS_COUNT, "children"),
    Output(ids.ALERTS_MAINTENANCE, "children"),
    Input(ids.ALERTS_TICK, "n_intervals"),
    Input(ids.ALERTS_FILTER_SITE, "value"),
    Input(ids.ALERTS_FILTER_SYSTEM, "value"),
    Input(ids.ALERTS_FILTER_SEVERITY, "value"),
    Input(ids.ALERTS_FILTER_STATE, "value"),
    Input(ids.ALERTS_FILTER_TEXT, "value"),
    Input(ids.ALERTS_GROUPING, "value"),
    Input(ids.ALERTS_DONE, "data"),
)
def _refresh(
    _tick: int | None,
    site: str | None,
    system: str | None,
    severity: str | None,
    state: str | None,
    text: str | None,
    grouping: str | None,
    _done: int | None,
) -> tuple[Any, str, Any]:
    data = current()
    return view.alerts_page(
        data.alerts(),
        data.inventory(),
        view.Filters(site, system, severity, state, text),
        _actions(),
        request_language(),
        data.timezone,
        grouped=grouping != "none",
    )


@dash.callback(
    Output(ids.ALERTS_PENDING, "data"),
    Input(ACTION_BUTTONS, "n_clicks"),
    Input(ids.ALERTS_CANCEL, "n_clicks"),
    Input(ids.ALERTS_DONE, "data"),
    prevent_initial_call=True,
)
def _choose(_clicks: list[int | None], _cancel: int | None, _done: int | None) -> object:
    chosen = view.chosen(dash.ctx.triggered_id, bool(dash.ctx.triggered and dash.ctx.triggered[0]["value"]))
    return dash.no_update if chosen is view.UNCHANGED else chosen


@dash.callback(
    Output(ids.ALERTS_FORM, "className"),
    Output(ids.ALERTS_FORM_TITLE, "children"),
    Output(ids.ALERTS_WINDOW_FIELDS, "className"),
    Output(ids.ALERTS_MATCHERS_FIELD, "className"),
    Output(ids.ALERTS_MATCHERS, "value"),
    Output(ids.ALERTS_DURATION_FIELD, "className"),
    Output(ids.ALERTS_DURATION_LABEL, "children"),
    Output(ids.ALERTS_DURATION, "value"),
    Output(ids.ALERTS_COMMENT_FIELD, "className"),
    Output(ids.ALERTS_COMMENT, "value"),
    Input(ids.ALERTS_PENDING, "data"),
)
def _open_form(pending: object) -> tuple[str, ...]:
    return view.form_state(pending, current().alerts(), request_language()).outputs()


@dash.callback(
    Output(ids.ALERTS_MESSAGE, "children"),
    Output(ids.ALERTS_MESSAGE, "className"),
    Output(ids.ALERTS_DONE, "data"),
    Input(ids.ALERTS_SUBMIT, "n_clicks"),
    State(ids.ALERTS_PENDING, "data"),
    State(ids.ALERTS_ACTOR, "value"),
    State(ids.ALERTS_COMMENT, "value"),
    State(ids.ALERTS_DURATION, "value"),
    State(ids.ALERTS_MATCHERS, "value"),
    State(ids.ALERTS_WINDOW_NAME, "value"),
    State(ids.ALERTS_WINDOW_START, "value"),
    State(ids.ALERTS_WINDOW_END, "value"),
    State(ids.ALERTS_DONE, "data"),
    prevent_initial_call=True,
)
def _submit(_n: int | None, pending: object, *typed_and_done: Any) -> tuple[str, str, Any]:
    *typed, done = typed_and_done
    outcome = view.perform(_actions(), pending, view.FormInput(*typed), request_language(), current().timezone)
    return outcome.message, outcome.css, (done or 0) + 1 if outcome.ok else dash.no_update
