"""The alerts page's logic, table side: what state each alert shows, the filters, the grouping as
routed, the mute, acknowledgement and link texts, the buttons of each row, and the alerts and
maintenance tables as components. Pure functions of `AlertView`s (and of the `MaintenanceItem`s
and `ConsoleActions` of `alerts_page`); the page's callbacks only call these. The action form and
what submitting it does are in `dashboards.views.alert_forms`; an alert's history panel is in
`dashboards.views.alert_history`.

Shown states, in the order the table sorts them: firing, pending, acknowledged, silenced,
maintenance, suppressed (by a parent failure or an inhibition), resolved. A muted alert shows the
first reason the pipeline applies (`AlertView.mutes[0]`); every reason is listed in its row.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import quote as url_quote

from dash import dcc, html

from alerts.explain import AlertView, GroupView, Mute, MuteReason
from alerts.model import AlertState
from dashboards import ids
from dashboards.actions import ConsoleActions, MaintenanceItem
from dashboards.authz import may
from dashboards.i18n import format_time, t
from model import Inventory
from security.access import Permission

__all__ = [
    "ACTION_PERMISSIONS",
    "Filters",
    "Group",
    "Shown",
    "ack_text",
    "action_button",
    "alert_sites",
    "alerts_page",
    "alerts_table",
    "by_group",
    "describe",
    "entity_links",
    "filter_options",
    "filter_views",
    "group_status",
    "history_button",
    "maintenance_table",
    "mute_lines",
    "mute_text",
    "route_mute_text",
    "row_actions",
    "shown_state",
    "sort_views",
]


class Shown(enum.Enum):
    """The state an alert shows in the table, in sort order."""

    FIRING = "firing"
    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"
    SILENCED = "silenced"
    MAINTENANCE = "maintenance"
    SUPPRESSED = "suppressed"
    RESOLVED = "resolved"

    @property
    def key(self) -> str:
        return f"alerts.state.{self.value}"


_BY_MUTE = {
    MuteReason.SUPPRESSED: Shown.SUPPRESSED,
    MuteReason.INHIBITED: Shown.SUPPRESSED,
    MuteReason.SILENCED: Shown.SILENCED,
    MuteReason.MAINTENANCE: Shown.MAINTENANCE,
    MuteReason.ACKNOWLEDGED: Shown.ACKNOWLEDGED,
}
_SEVERITY_RANK = {"critical": 0, "warning": 1}
_SHOWN_RANK = {state: rank for rank, state in enumerate(Shown)}


def shown_state(view: AlertView) -> Shown:
    """Resolved, else the first mute's state (flapping alone does not hide a firing one), else
    pending or firing."""
    if view.alert.resolved:
        return Shown.RESOLVED
    for mute in view.mutes:
        if mute.reason in _BY_MUTE:
            return _BY_MUTE[mute.reason]
    return Shown.PENDING if view.alert.state is AlertState.PENDING else Shown.FIRING


def sort_views(views: Iterable[AlertView]) -> list[AlertView]:
    """Critical first, then by shown state, alert name and labels."""
    return sorted(
        views,
        key=lambda v: (
            _SEVERITY_RANK.get(v.alert.labels.get("severity", ""), 2),
            _SHOWN_RANK[shown_state(v)],
            v.alert.name,
            v.alert.labels.pairs,
        ),
    )


# -- filters --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """None or "": no filter. `text` is matched case-insensitively in what the row says: label and
    annotation values, the fingerprint, the mute reasons and acknowledgement as the page writes them
    in its language (and the mutes' English details, as the API writes them)."""

    site: str | None = None
    system: str | None = None
    severity: str | None = None
    state: str | None = None
    text: str | None = None


def alert_sites(view: AlertView, inventory: Inventory) -> frozenset[str]:
    """The sites an alert concerns: its `site` label, else the sites of its link's two ends."""
    labels = view.alert.labels
    if labels.get("site"):
        return frozenset({labels["site"]})
    devices = {d.name: d.site for d in inventory.devices}
    return frozenset(
        devices[end.device]
        for link in inventory.links
        if link.name == labels.get("link")
        for end in link.ends
        if end.device in devices
    )


def filter_views(
    views: Iterable[AlertView], filters: Filters, inventory: Inventory, lang: str, tz: str
) -> list[AlertView]:
    """The views every set filter lets through, in the given order; the text is looked for in the
    row's texts in `lang`, times written in `tz`."""
    text = (filters.text or "").strip().casefold()
    out = []
    for view in views:
        labels = view.alert.labels
        if filters.site and filters.site not in alert_sites(view, inventory):
            continue
        if filters.system and labels.get("system") != filters.system:
            continue
        if filters.severity and labels.get("severity") != filters.severity:
            continue
        if filters.state and shown_state(view).value != filters.state:
            continue
        if text and text not in _searchable(view, lang, tz):
            continue
        out.append(view)
    return out


def _searchable(view: AlertView, lang: str, tz: str) -> str:
    alert = view.alert
    parts = [*alert.labels.values(), *alert.annotations.values(), alert.fingerprint, *(m.detail for m in view.mutes)]
    parts.extend(text for line in mute_lines(view, lang, tz) for text in line)
    parts.append(ack_text(view, lang, tz))
    return "\n".join(parts).casefold()


def filter_options(views: Iterable[AlertView], inventory: Inventory, lang: str) -> dict[str, list[dict[str, str]]]:
    """Dropdown options by filter ("site", "system", "severity", "state"): the inventory's sites
    and systems (by name) plus any other value the alerts carry."""
    views = list(views)
    sites = {s.id: s.name for s in inventory.sites}
    systems = {s.id: s.name for s in inventory.systems}
    for view in views:
        labels = view.alert.labels
        if labels.get("site"):
            sites.setdefault(labels["site"], labels["site"])
        if labels.get("system"):
            systems.setdefault(labels["system"], labels["system"])
    severities = sorted(
        {v.alert.labels["severity"] for v in views if v.alert.labels.get("severity")} | {"critical", "warning"}
    )
    return {
        "site": [{"label": name, "value": key} for key, name in sites.items()],
        "system": [{"label": name, "value": key} for key, name in systems.items()],
        "severity": [
            {"label": t(f"alerts.severity.{s}", lang) if s in _SEVERITY_RANK else s, "value": s} for s in severities
        ],
        "state": [{"label": t(s.key, lang), "value": s.value} for s in Shown],
    }


# -- grouping and texts ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Alerts of one aggregation group; `key` "" holds the alerts not (yet) routed (pending ones),
    with no `route` (the pipeline's view of the group, from its first alert)."""

    key: str
    receiver: str
    route: GroupView | None
    views: tuple[AlertView, ...]


def by_group(views: Iterable[AlertView]) -> list[Group]:
    """The views by aggregation group, groups in order of their first alert; an alert routed to
    several receivers is in each of its groups."""
    found: dict[str, tuple[GroupView | None, list[AlertView]]] = {}
    for view in views:
        for group in view.groups or ():
            found.setdefault(group.group_key, (group, []))[1].append(view)
        if not view.groups:
            found.setdefault("", (None, []))[1].append(view)
    return [
        Group(key, route.receiver if route is not None else "", route, tuple(members))
        for key, (route, members) in found.items()
    ]


def group_status(group: GroupView, lang: str, tz: str) -> str:
    """Where the group is in `lang`: waiting out group_wait, not notified yet, or notified and when
    it repeats; times (with seconds: group_wait is counted in them) in `tz`."""
    return t(
        f"alerts.group.{group.phase.value}",
        lang,
        until=format_time(group.next_flush, lang, tz, seconds=True),
        next=format_time(group.next_flush, lang, tz, seconds=True),
        at=_time_or_dash(group.last_notified, lang, tz),
        repeat=_time_or_dash(group.repeat_due, lang, tz),
    )


def route_mute_text(group: GroupView, lang: str) -> str:
    """Why the group's route sends nothing now, in `lang`; "" when it sends."""
    if group.route_mute is None:
        return ""
    intervals = ", ".join(group.route_mute_intervals)
    return t(f"alerts.group.route.{group.route_mute.value}", lang, intervals=intervals)


def _time_or_dash(ts: float | None, lang: str, tz: str) -> str:
    return "-" if ts is None else format_time(ts, lang, tz, seconds=True)


def mute_lines(view: AlertView, lang: str, tz: str) -> list[tuple[str, str]]:
    """(reason, what mutes it) in `lang` for every reason the alert is not notified."""
    return [(t(f"alerts.mute.{m.reason.value}", lang), mute_text(m, lang, tz)) for m in view.mutes]


_MUTE_TIMES = ("until", "since")
"""`Mute.args` that are times (`2027-01-15T10:00:31Z`), shown as `format_time` writes them."""


def mute_text(mute: Mute, lang: str, tz: str) -> str:
    """The sentence of catalog key `mute.<reason>` (`mute.acknowledged_until` with an expiry)
    filled with the mute's `args`, times in `tz`. An acknowledgement's comment follows after ": "
    when there is one, as in `ack_text`. A field the mute lacks is left empty."""
    args = dict(mute.args)
    values = {name: "" for name in ("id", "by", "comment", "name", "owner", "reason", "source", *_MUTE_TIMES)}
    values.update(args)
    for name in _MUTE_TIMES:
        values[name] = _iso_time(values[name], lang, tz)
    if mute.reason is not MuteReason.ACKNOWLEDGED:
        return t(f"mute.{mute.reason.value}", lang, **values)
    text = t("mute.acknowledged_until" if "until" in args else "mute.acknowledged", lang, **values)
    return f"{text}: {values['comment']}" if values["comment"] else text


def _iso_time(text: str, lang: str, tz: str) -> str:
    """`2027-01-15T10:00:31Z` (the pipeline's form) in `lang` and `tz`; anything else as it is."""
    try:
        when = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return text
    return format_time(when.timestamp(), lang, tz)


def ack_text(view: AlertView, lang: str, tz: str) -> str:
    """Who acknowledged the alert, when, until when and why; "" when nobody did."""
    ack = view.acknowledgement
    if ack is None:
        return ""
    text = t("alerts.ack.by", lang, by=ack.by, at=format_time(ack.at, lang, tz))
    if ack.expires_at is not None:
        text += t("alerts.ack.until", lang, at=format_time(ack.expires_at, lang, tz))
    return f"{text}: {ack.comment}" if ack.comment else text


def entity_links(view: AlertView) -> list[tuple[str, str]]:
    """(name, href) of the device (`target`) and link (`link`) the alert is about."""
    labels = view.alert.labels
    out = []
    if labels.get("target"):
        out.append((labels["target"], f"/device/{url_quote(labels['target'], safe='')}"))
    if labels.get("link"):
        out.append((labels["link"], f"/link/{url_quote(labels['link'], safe='')}"))
    return out


def describe(view: AlertView) -> str:
    """`DeviceDown srv-0`: the alert's name and what it is about."""
    labels = view.alert.labels
    about = labels.get("target") or labels.get("link") or ""
    return f"{view.alert.name} {about}".strip()


ACTION_PERMISSIONS: Mapping[str, Permission] = MappingProxyType(
    {
        "ack": Permission.ACKNOWLEDGE,
        "unack": Permission.ACKNOWLEDGE,
        "silence": Permission.SILENCE,
        "expire": Permission.SILENCE,
        "create-maintenance": Permission.SILENCE,
        "delete-maintenance": Permission.SILENCE,
    }
)
"""The permission each action of the page needs (the page shows only the buttons the user may use;
the server checks again when the form is submitted)."""


def row_actions(view: AlertView) -> list[tuple[str, str]]:
    """(action, ref) of the buttons in the alert's row: acknowledge a firing unacknowledged alert,
    un-acknowledge an acknowledged one, silence an unresolved one, expire each silence muting it."""
    fp = view.alert.fingerprint
    out = []
    unresolved = not view.alert.resolved
    if unresolved and view.alert.state is AlertState.FIRING and view.acknowledgement is None:
        out.append(("ack", fp))
    if view.acknowledgement is not None:
        out.append(("unack", fp))
    if unresolved:
        out.append(("silence", fp))
    out.extend(("expire", m.ref) for m in view.mutes if m.reason is MuteReason.SILENCED)
    return out


# -- components -----------------------------------------------------------------------------------


def action_button(action: str, ref: str, lang: str) -> html.Button:
    return html.Button(
        t(f"alerts.action.{action}", lang),
        id={"type": ids.ALERTS_ACTION, "action": action, "ref": ref},
        className=f"alerts-button alerts-button-{action}",
        n_clicks=0,
    )


def history_button(view: AlertView, lang: str) -> html.Button:
    """The row's button that shows the alert's history (loaded only when clicked)."""
    return html.Button(
        t("alerts.action.history", lang),
        id={"type": ids.ALERTS_HISTORY_OPEN, "ref": view.alert.fingerprint},
        className="alerts-button alerts-button-history",
        n_clicks=0,
    )


ROW_LIMIT = 200
"""Rows the table shows at most (the first, in the table's order): in a mass outage the page stays
quick (5,000 rows were 11 MB and 3 s per refresh) and says how many more the filters would reach."""


def alerts_table(views: Sequence[AlertView], lang: str, tz: str, *, grouped: bool, limit: int = ROW_LIMIT) -> html.Div:
    """The table of `views` (already filtered and sorted), one section per aggregation group when
    `grouped`; at most `limit` rows, then a line saying how many alerts (and groups) are not shown."""
    if not views:
        return html.Div(t("alerts.none", lang), className="alerts-empty")
    sections = by_group(views) if grouped else [Group("-", "", None, tuple(views))]
    children: list[Any] = []
    shown = started = 0
    for group in sections:
        rows = group.views[: limit - shown]
        if not rows:
            break
        started += 1
        if grouped:
            title = t("alerts.group.unrouted", lang) if not group.key else group.key
            heading = [html.Span(title, className="alerts-group-key")]
            if group.route is not None:
                heading.append(html.Span(t("alerts.group.receiver", lang, receiver=group.receiver)))
                heading.append(html.Span(group_status(group.route, lang, tz), className="alerts-group-status"))
                muted = route_mute_text(group.route, lang)
                if muted:
                    heading.append(html.Span(muted, className="alerts-group-route-muted"))
            children.append(html.H2(heading, className="alerts-group"))
        children.append(_table(rows, lang, tz))
        shown += len(rows)
    total = sum(len(group.views) for group in sections)  # an alert in two groups is a row in each
    if shown < total:
        children.append(_more(total - shown, len(sections) - started, lang))
    return html.Div(children)


def _more(alerts: int, groups: int, lang: str) -> html.Div:
    key = "alerts.more.groups" if groups else "alerts.more"
    return html.Div(t(key, lang, alerts=alerts, groups=groups), className="alerts-more")


def _table(views: Iterable[AlertView], lang: str, tz: str) -> html.Table:
    columns = ("state", "severity", "alert", "about", "since", "why", "ack", "actions")
    head = html.Thead(html.Tr([html.Th(t(f"alerts.column.{c}", lang)) for c in columns]))
    return html.Table([head, html.Tbody([_row(v, lang, tz) for v in views])], className="alerts-table")


def _row(view: AlertView, lang: str, tz: str) -> html.Tr:
    alert = view.alert
    state = shown_state(view)
    severity = alert.labels.get("severity", "")
    summary = alert.annotations.get("summary_ja" if lang == "ja" else "summary") or alert.annotations.get("summary", "")
    since = alert.resolved_at or alert.fired_at or alert.active_at
    flags = [html.Span(t("alerts.flapping", lang), className="alerts-flapping")] if view.flapping else []
    return html.Tr(
        [
            html.Td([html.Span(t(state.key, lang), className=f"alerts-state alerts-state-{state.value}"), *flags]),
            html.Td(t(f"alerts.severity.{severity}", lang) if severity in _SEVERITY_RANK else severity),
            html.Td([html.Div(alert.name, className="alerts-name"), html.Div(summary, className="alerts-summary")]),
            html.Td([dcc.Link(name, href=href, className="alerts-entity") for name, href in entity_links(view)]),
            html.Td(format_time(since, lang, tz)),
            html.Td([html.Div([html.B(reason), " ", detail]) for reason, detail in mute_lines(view, lang, tz)]),
            html.Td(ack_text(view, lang, tz)),
            html.Td(
                [
                    history_button(view, lang),
                    *(action_button(a, ref, lang) for a, ref in row_actions(view) if may(ACTION_PERMISSIONS[a])),
                ]
            ),
        ],
        className=f"alerts-row alerts-row-{state.value}",
    )


def maintenance_table(items: Sequence[MaintenanceItem], lang: str, tz: str) -> html.Div:
    """The maintenance windows; windows created here (origin "api") can be deleted here."""
    if not items:
        return html.Div(t("alerts.maintenance.none", lang), className="alerts-empty")
    columns = ("name", "matchers", "schedule", "owner", "reason", "now", "origin", "actions")
    head = html.Thead(html.Tr([html.Th(t(f"alerts.maintenance.{c}", lang)) for c in columns]))
    rows = []
    for item in items:
        now = t("alerts.maintenance.active" if item.active else "alerts.maintenance.inactive", lang)
        if item.next_change is not None:
            now += t("alerts.maintenance.next", lang, at=format_time(item.next_change, lang, tz))
        deletable = item.origin == "api" and may(ACTION_PERMISSIONS["delete-maintenance"])
        delete = [action_button("delete-maintenance", item.name, lang)] if deletable else []
        rows.append(
            html.Tr(
                [
                    html.Td(item.name),
                    html.Td(", ".join(item.matchers)),
                    html.Td(f"{item.schedule} ({item.location})"),
                    html.Td(item.owner),
                    html.Td(item.reason),
                    html.Td(now),
                    html.Td(t(f"alerts.maintenance.origin.{item.origin}", lang)),
                    html.Td(delete),
                ],
                className="alerts-window-active" if item.active else "",
            )
        )
    return html.Div(html.Table([head, html.Tbody(rows)], className="alerts-table alerts-maintenance-table"))


def alerts_page(
    views: Sequence[AlertView],
    inventory: Inventory,
    filters: Filters,
    actions: ConsoleActions | None,
    lang: str,
    tz: str,
    *,
    grouped: bool,
) -> tuple[html.Div, str, html.Div]:
    """The refreshed parts of the page: the table, the count line and the maintenance list (a
    console without alerting running says so instead)."""
    shown = sort_views(filter_views(views, filters, inventory, lang, tz))
    count = t("alerts.count", lang, shown=len(shown), total=len(views))
    if actions is None:
        windows = html.Div(t("alerts.error.unavailable", lang), className="alerts-empty")
    else:
        windows = maintenance_table(actions.maintenance(), lang, tz)
    return alerts_table(shown, lang, tz, grouped=grouped), count, windows
