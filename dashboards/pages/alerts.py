"""The alerts page (`/alerts`): every alert held, filtered and grouped as routed, with why each is
not notified, one alert's history on demand, and the actions of the on-call engineer (acknowledge,
un-acknowledge, silence, expire a silence) and the maintenance windows (list, editor of one-off and
recurring windows, delete).

Logic lives in `dashboards.views.alerts` (table, filters, texts), `dashboards.views.alert_forms`
(the action form) and `dashboards.views.alert_history` (the history panel); data comes through
`dashboards.queries.current()` and actions go through `dashboards.actions.optional_actions()`. An
action button sets the pending action (`ALERTS_PENDING`), which opens the form; submitting it
performs the action and, when it succeeds, clears the pending action (closing the form) and counts it
in `ALERTS_DONE`, which refreshes the table. (Closing the form on `ALERTS_DONE` instead would race:
the refreshed table's new buttons re-trigger the chooser, and Dash drops the older, closing call.)
A row's history button sets `ALERTS_HISTORY_FOR`, which loads that alert's history (one range query,
again after each action, never on the table's refresh) into the history panel.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import dash
from dash import ALL, Input, Output, State, dcc, html

from dashboards import ids
from dashboards.actions import optional_actions
from dashboards.app import request_language, triggered
from dashboards.authz import acting, current_principal, may, record, requires
from dashboards.i18n import t
from dashboards.queries import current
from dashboards.views import alert_forms as forms
from dashboards.views import alert_history as history
from dashboards.views import alerts as view
from security.access import Permission

dash.register_page(__name__, path="/alerts", title="Ops Console")

REFRESH_MS = 15_000
ACTION_BUTTONS = {"type": ids.ALERTS_ACTION, "action": ALL, "ref": ALL}
HISTORY_BUTTONS = {"type": ids.ALERTS_HISTORY_OPEN, "ref": ALL}
FORM_FIELDS = (
    (ids.ALERTS_ACTOR, "actor"),
    (ids.ALERTS_COMMENT, "comment"),
    (ids.ALERTS_DURATION, "duration"),
    (ids.ALERTS_MATCHERS, "matchers"),
    (ids.ALERTS_WINDOW_NAME, "window_name"),
    (ids.ALERTS_WINDOW_START, "window_start"),
    (ids.ALERTS_WINDOW_END, "window_end"),
    (ids.ALERTS_WINDOW_KIND, "window_kind"),
    (ids.ALERTS_WINDOW_AT, "window_at"),
    (ids.ALERTS_WINDOW_DURATION, "window_duration"),
    (ids.ALERTS_WINDOW_WEEKDAYS, "window_weekdays"),
    (ids.ALERTS_WINDOW_DAYS, "window_days"),
    (ids.ALERTS_WINDOW_LOCATION, "window_location"),
)
"""The form's inputs (their `value`) and the `FormInput` field each fills."""


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
            dcc.Store(id=ids.ALERTS_HISTORY_FOR, data=None),
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
                        className="alerts-grouping alerts-choice",
                    ),
                    html.Label(
                        [
                            html.Span(t("alerts.actor", lang), className="alerts-actor-label"),
                            dcc.Input(id=ids.ALERTS_ACTOR, value="", persistence=True, persistence_type="local"),
                        ],
                        # who acts is the logged-in user; the typed name only where there are no logins
                        className="alerts-actor hidden" if current_principal() is not None else "alerts-actor",
                    ),
                ],
                className="alerts-filters",
            ),
            _form(lang, data.timezone),
            html.Div(id=ids.ALERTS_MESSAGE, className="alerts-message"),
            _history(lang),
            html.Div(id=ids.ALERTS_COUNT, className="alerts-count"),
            html.Div(id=ids.ALERTS_TABLE),
            html.H2(t("alerts.maintenance.title", lang), className="alerts-section"),
            *([view.action_button("create-maintenance", "", lang)] if may(Permission.SILENCE) else []),
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
    content = html.Label([html.Span(label, className="alerts-field-label"), control])
    if field_id is None:
        return html.Div(content, className="alerts-field")
    return html.Div(content, id=field_id, className="alerts-field hidden")


def _choices(label: str, control: Any) -> html.Div:
    """A field of radio buttons or checkboxes: each option is a label itself, so no outer label."""
    return html.Div(
        [html.Span(label, className="alerts-field-label"), control], className="alerts-field alerts-choices"
    )


def _window_fields(lang: str, tz: str) -> list[Any]:
    kinds, weekdays = forms.window_options(lang)
    once, recurring, on_weekdays, on_days = forms.window_fields("once")
    return [
        _field(t("alerts.form.name", lang), dcc.Input(id=ids.ALERTS_WINDOW_NAME)),
        _choices(
            t("alerts.window.kind", lang),
            dcc.RadioItems(
                id=ids.ALERTS_WINDOW_KIND, options=kinds, value="once", inline=True, className="alerts-choice"
            ),
        ),
        html.Div(
            [
                _field(
                    t("alerts.form.start", lang), dcc.Input(id=ids.ALERTS_WINDOW_START, placeholder="2027-01-16 02:00")
                ),
                _field(t("alerts.form.end", lang), dcc.Input(id=ids.ALERTS_WINDOW_END, placeholder="2027-01-16 05:00")),
            ],
            id=ids.ALERTS_WINDOW_ONCE,
            className=once,
        ),
        html.Div(
            [
                _field(t("alerts.window.at", lang), dcc.Input(id=ids.ALERTS_WINDOW_AT, placeholder="02:00")),
                _field(t("alerts.window.duration", lang), dcc.Input(id=ids.ALERTS_WINDOW_DURATION, placeholder="3h")),
            ],
            id=ids.ALERTS_WINDOW_RECURRING,
            className=recurring,
        ),
        html.Div(
            _choices(
                t("alerts.window.weekdays", lang),
                dcc.Checklist(
                    id=ids.ALERTS_WINDOW_WEEKDAYS, options=weekdays, value=[], inline=True, className="alerts-choice"
                ),
            ),
            id=ids.ALERTS_WINDOW_WEEKDAYS_FIELD,
            className=on_weekdays,
        ),
        html.Div(
            _field(t("alerts.window.days", lang), dcc.Input(id=ids.ALERTS_WINDOW_DAYS, placeholder="1, 15, -1")),
            id=ids.ALERTS_WINDOW_DAYS_FIELD,
            className=on_days,
        ),
        _field(t("alerts.window.location", lang), dcc.Input(id=ids.ALERTS_WINDOW_LOCATION, value=tz)),
    ]


def _form(lang: str, tz: str) -> html.Div:
    return html.Div(
        [
            html.H2(id=ids.ALERTS_FORM_TITLE),
            html.Div(_window_fields(lang, tz), id=ids.ALERTS_WINDOW_FIELDS, className="hidden"),
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


def _history(lang: str) -> html.Div:
    return html.Div(
        [
            html.Button(
                t("alerts.history.close", lang), id=ids.ALERTS_HISTORY_CLOSE, className="alerts-button alerts-close"
            ),
            html.Div(id=ids.ALERTS_HISTORY_BODY),
        ],
        id=ids.ALERTS_HISTORY,
        className="alerts-history hidden",
    )


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
@requires(Permission.VIEW)
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
        optional_actions(),
        request_language(),
        data.timezone,
        grouped=grouping != "none",
    )


@dash.callback(
    Output(ids.ALERTS_PENDING, "data"),
    Input(ACTION_BUTTONS, "n_clicks"),
    Input(ids.ALERTS_CANCEL, "n_clicks"),
    prevent_initial_call=True,
)
@requires(Permission.VIEW)
def _choose(_clicks: list[int | None], _cancel: int | None) -> object:
    chosen = forms.chosen(triggered())
    return dash.no_update if chosen is forms.UNCHANGED else chosen


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
@requires(Permission.VIEW)
def _open_form(pending: object) -> tuple[str, ...]:
    return forms.form_state(pending, current().alerts(), request_language()).outputs()


@dash.callback(
    Output(ids.ALERTS_WINDOW_ONCE, "className"),
    Output(ids.ALERTS_WINDOW_RECURRING, "className"),
    Output(ids.ALERTS_WINDOW_WEEKDAYS_FIELD, "className"),
    Output(ids.ALERTS_WINDOW_DAYS_FIELD, "className"),
    Input(ids.ALERTS_WINDOW_KIND, "value"),
)
@requires(Permission.VIEW)
def _window_kind(kind: str | None) -> tuple[str, str, str, str]:
    return forms.window_fields(kind)


@dash.callback(
    Output(ids.ALERTS_MESSAGE, "children"),
    Output(ids.ALERTS_MESSAGE, "className"),
    Output(ids.ALERTS_DONE, "data"),
    Output(ids.ALERTS_PENDING, "data", allow_duplicate=True),
    Input(ids.ALERTS_SUBMIT, "n_clicks"),
    State(ids.ALERTS_PENDING, "data"),
    State(ids.ALERTS_DONE, "data"),
    *(State(component, "value") for component, _ in FORM_FIELDS),
    prevent_initial_call=True,
)
@requires(Permission.ACKNOWLEDGE)
def _submit(_n: int | None, pending: object, done: int | None, *typed: Any) -> tuple[str, str, Any, Any]:
    form = forms.FormInput(**{name: value for (_, name), value in zip(FORM_FIELDS, typed, strict=True)})
    form = dataclasses.replace(form, actor=acting(form.actor))
    chosen = forms.pending_action(pending)
    if chosen is not None and not may(view.ACTION_PERMISSIONS[chosen[0]]):
        needs = view.ACTION_PERMISSIONS[chosen[0]].value
        record("authz.denied", f"alerts.{chosen[0]}", {"outcome": "denied", "needs": needs, "ref": chosen[1]})
        return (
            t("alerts.error.forbidden", request_language(), needs=needs),
            "alerts-message alerts-message-error",
            dash.no_update,
            None,
        )
    outcome = forms.perform(optional_actions(), pending, form, request_language(), current().timezone)
    if not outcome.ok:
        return outcome.message, outcome.css, dash.no_update, dash.no_update
    return outcome.message, outcome.css, (done or 0) + 1, None


@dash.callback(
    Output(ids.ALERTS_HISTORY_FOR, "data"),
    Input(HISTORY_BUTTONS, "n_clicks"),
    Input(ids.ALERTS_HISTORY_CLOSE, "n_clicks"),
    prevent_initial_call=True,
)
@requires(Permission.VIEW)
def _choose_history(_clicks: list[int | None], _close: int | None) -> object:
    chosen = history.history_chosen(triggered())
    return dash.no_update if chosen is forms.UNCHANGED else chosen


@dash.callback(
    Output(ids.ALERTS_HISTORY, "className"),
    Output(ids.ALERTS_HISTORY_BODY, "children"),
    Input(ids.ALERTS_HISTORY_FOR, "data"),
    Input(ids.ALERTS_DONE, "data"),
)
@requires(Permission.VIEW)
def _show_history(fingerprint: object, _done: int | None) -> tuple[str, list[Any]]:
    if isinstance(fingerprint, str) and dash.ctx.triggered_id == ids.ALERTS_HISTORY_FOR:
        record("view.alert", fingerprint)
    return history.history_outputs(current(), fingerprint, request_language())
