"""The availability page (`/availability?period=FY2026`, issue 8): per business system its figures
for the period against the SLA target, its monthly availability and its outages over the period
as charts, and its outages as a table with a reclassify action each; then the maintenance that
excluded downtime and the public holidays of the period. Downloads of the same report (CSV of the
figures or the outages, PDF, JSON) in the page's language.

Logic lives in `dashboards.views.availability` (its charts in `dashboards.views.availability_charts`);
data comes through `dashboards.queries.current()` and reclassifications go through
`dashboards.actions.optional_actions()`. The period is kept in the URL (the page's `dcc.Location`,
refresh=False: picking a period redraws the body, not the page); without one the current fiscal
year is shown. A reclassify button sets the pending outage (`AVAILABILITY_PENDING`), which opens the
form; submitting it reclassifies the outage and, when it succeeds, clears the pending outage
(closing the form) and counts it in `AVAILABILITY_DONE`, which redraws the figures.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, dcc, html

from dashboards import ids
from dashboards.actions import optional_actions
from dashboards.app import request_language, triggered
from dashboards.authz import acting, current_principal, may, record, requires
from dashboards.i18n import t
from dashboards.queries import current
from dashboards.views import availability as view
from reports.report import EXPORT_FORMATS
from security.access import Permission

dash.register_page(__name__, path="/availability", title="Ops Console", permission="reports")

PRESET_BUTTONS = {"type": ids.AVAILABILITY_PRESET, "preset": ALL}
EXPORT_BUTTONS = {"type": ids.AVAILABILITY_EXPORT, "format": ALL}
RECLASSIFY_BUTTONS = {"type": ids.AVAILABILITY_RECLASSIFY, "system": ALL, "at": ALL, "start": ALL}


def layout(period: str | None = None, **query: str) -> html.Div:
    lang = request_language()
    data = current()
    asked = (period or "").strip() or None
    shown = asked or view.default_period(data.now(), data.timezone)
    return html.Div(
        [
            dcc.Location(id=ids.AVAILABILITY_URL, refresh=False, search=view.period_search(asked) if asked else ""),
            dcc.Store(id=ids.AVAILABILITY_PENDING, data=None),
            dcc.Store(id=ids.AVAILABILITY_DONE, data=0),
            dcc.Download(id=ids.AVAILABILITY_DOWNLOAD),
            html.H1(view.page_title(shown, lang), id=ids.AVAILABILITY_TITLE, className="page-title"),
            _picker(shown, lang),
            html.Div(
                [
                    html.Span(t("availability.export", lang), className="availability-label"),
                    *(
                        html.Button(
                            t(f"availability.export.{fmt}", lang),
                            id={"type": ids.AVAILABILITY_EXPORT, "format": fmt},
                            n_clicks=0,
                            className="availability-button",
                        )
                        for fmt in EXPORT_FORMATS
                    ),
                ],
                id=ids.AVAILABILITY_EXPORTS,
                className="availability-exports",
            ),
            html.Div([html.Div(id=ids.AVAILABILITY_MESSAGE), _form(lang)], className="availability-dialog"),
            html.Div(id=ids.AVAILABILITY_BODY, className="availability-body"),
        ],
        className="page page-availability",
    )


def _picker(period: str, lang: str) -> html.Div:
    return html.Div(
        [
            html.Label(
                [
                    html.Span(t("availability.period", lang), className="availability-label"),
                    dcc.Input(
                        id=ids.AVAILABILITY_PERIOD,
                        value=period,
                        type="text",
                        debounce=False,
                        placeholder=t("availability.period.placeholder", lang),
                        className="availability-period",
                        spellCheck=False,
                    ),
                ],
                className="availability-period-field",
            ),
            html.Button(
                t("availability.show", lang), id=ids.AVAILABILITY_SHOW, n_clicks=0, className="availability-button"
            ),
            *(
                html.Button(
                    t(f"availability.preset.{name}", lang),
                    id={"type": ids.AVAILABILITY_PRESET, "preset": name},
                    n_clicks=0,
                    className="availability-button availability-preset",
                )
                for name in view.PRESETS
            ),
        ],
        className="availability-picker",
    )


def _field(label: str, control: Any) -> html.Div:
    return html.Div(
        html.Label([html.Span(label, className="availability-field-label"), control]), className="availability-field"
    )


def _form(lang: str) -> html.Div:
    return html.Div(
        [
            html.H2(id=ids.AVAILABILITY_FORM_TITLE),
            html.P(t("availability.form.note", lang), className="availability-note"),
            html.Div(
                [
                    html.Span(t("availability.form.category", lang), className="availability-field-label"),
                    dcc.RadioItems(
                        id=ids.AVAILABILITY_CATEGORY,
                        options=view.category_options(lang),
                        value="planned",
                        inline=True,
                        className="availability-choice",
                    ),
                ],
                className="availability-field",
            ),
            _field(t("availability.form.reason", lang), dcc.Input(id=ids.AVAILABILITY_REASON, value="")),
            html.Div(
                _field(
                    t("availability.form.actor", lang),
                    dcc.Input(id=ids.AVAILABILITY_ACTOR, value="", persistence=True, persistence_type="local"),
                ),
                # who acts is the logged-in user; the typed name only where there are no logins
                className="hidden" if current_principal() is not None else "",
            ),
            html.Div(
                [
                    html.Button(
                        t("availability.form.submit", lang), id=ids.AVAILABILITY_SUBMIT, className="availability-button"
                    ),
                    html.Button(
                        t("availability.form.cancel", lang), id=ids.AVAILABILITY_CANCEL, className="availability-button"
                    ),
                ],
                className="availability-form-buttons",
            ),
        ],
        id=ids.AVAILABILITY_FORM,
        className="availability-form hidden",
    )


@dash.callback(
    Output(ids.AVAILABILITY_URL, "search"),
    Output(ids.AVAILABILITY_PERIOD, "value"),
    Input(ids.AVAILABILITY_SHOW, "n_clicks"),
    Input(ids.AVAILABILITY_PERIOD, "n_submit"),
    Input(PRESET_BUTTONS, "n_clicks"),
    State(ids.AVAILABILITY_PERIOD, "value"),
    prevent_initial_call=True,
)
@requires(Permission.REPORTS)
def _pick(_show: int | None, _submit: int | None, _presets: list[int | None], typed: str | None) -> tuple[Any, Any]:
    data = current()
    period = view.picked_period(dash.ctx.triggered_id, typed, data.now(), data.timezone)
    if period is None:
        return dash.no_update, dash.no_update
    return view.period_search(period), period


@dash.callback(
    Output(ids.AVAILABILITY_TITLE, "children"),
    Output(ids.AVAILABILITY_BODY, "children"),
    Output(ids.AVAILABILITY_EXPORTS, "className"),
    Input(ids.AVAILABILITY_URL, "search"),
    Input(ids.AVAILABILITY_DONE, "data"),
)
@requires(Permission.REPORTS)
def _show(search: str | None, _done: int | None) -> tuple[str, list[Any], str]:
    title, body, found = view.shown(
        current(),
        view.period_of_search(search),
        request_language(),
        can_act=optional_actions() is not None and may(Permission.RECLASSIFY),
    )
    return title, body, "availability-exports" if found else "availability-exports hidden"


@dash.callback(
    Output(ids.AVAILABILITY_DOWNLOAD, "data"),
    Input(EXPORT_BUTTONS, "n_clicks"),
    State(ids.AVAILABILITY_URL, "search"),
    prevent_initial_call=True,
)
@requires(Permission.REPORTS)
def _export(clicks: list[int | None], search: str | None) -> Any:
    trigger = dash.ctx.triggered_id
    if not any(clicks) or not isinstance(trigger, dict):
        return dash.no_update
    period = view.period_of_search(search)
    found = view.export_download(current(), period, trigger.get("format"), request_language())
    if found is None:
        return dash.no_update
    record("report.export", found["filename"], {"period": period or "", "format": trigger.get("format")})
    return found


@dash.callback(
    Output(ids.AVAILABILITY_PENDING, "data"),
    Input(RECLASSIFY_BUTTONS, "n_clicks"),
    Input(ids.AVAILABILITY_CANCEL, "n_clicks"),
    prevent_initial_call=True,
)
@requires(Permission.REPORTS)
def _choose(_clicks: list[int | None], _cancel: int | None) -> object:
    chosen = view.chosen_outage(triggered())
    return dash.no_update if chosen is view.UNCHANGED else chosen


@dash.callback(
    Output(ids.AVAILABILITY_FORM, "className"),
    Output(ids.AVAILABILITY_FORM_TITLE, "children"),
    Output(ids.AVAILABILITY_REASON, "value"),
    Input(ids.AVAILABILITY_PENDING, "data"),
)
@requires(Permission.REPORTS)
def _open_form(pending: object) -> tuple[str, str, str]:
    data = current()
    names = dict(data.availability_systems())
    return (*view.form_view(pending, names, request_language(), data.timezone), "")


@dash.callback(
    Output(ids.AVAILABILITY_MESSAGE, "children"),
    Output(ids.AVAILABILITY_MESSAGE, "className"),
    Output(ids.AVAILABILITY_DONE, "data"),
    Output(ids.AVAILABILITY_PENDING, "data", allow_duplicate=True),
    Input(ids.AVAILABILITY_SUBMIT, "n_clicks"),
    State(ids.AVAILABILITY_PENDING, "data"),
    State(ids.AVAILABILITY_DONE, "data"),
    State(ids.AVAILABILITY_CATEGORY, "value"),
    State(ids.AVAILABILITY_REASON, "value"),
    State(ids.AVAILABILITY_ACTOR, "value"),
    prevent_initial_call=True,
)
@requires(Permission.RECLASSIFY)
def _submit(
    _n: int | None, pending: object, done: int | None, category: str | None, reason: str | None, actor: str | None
) -> tuple[str, str, Any, Any]:
    outcome = view.perform(
        optional_actions(), pending, category, reason, acting(actor), request_language(), current().timezone
    )
    if not outcome.ok:
        return outcome.message, outcome.css, dash.no_update, dash.no_update
    return outcome.message, outcome.css, (done or 0) + 1, None
