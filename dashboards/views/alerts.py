"""The alerts page's logic: what state each alert shows, the filters, the grouping as routed, the
mute, acknowledgement and link texts, the action form and what submitting it does, and the table
and maintenance list as components. Pure functions of `AlertView`s (and of a `ConsoleActions` for
`perform`); the page's callbacks only call these.

Shown states, in the order the table sorts them: firing, pending, acknowledged, silenced,
maintenance, suppressed (by a parent failure or an inhibition), resolved. A muted alert shows the
first reason the pipeline applies (`AlertView.mutes[0]`); every reason is listed in its row.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote as url_quote

from dash import dcc, html

from alerts.explain import AlertView, GroupView, Mute, MuteReason
from alerts.matchers import quote
from alerts.model import AlertState
from config.durations import parse_duration
from dashboards import ids
from dashboards.actions import ActionError, ConsoleActions, MaintenanceItem
from dashboards.i18n import format_time, t
from model import Inventory

__all__ = [
    "DEFAULT_SILENCE",
    "Filters",
    "FormInput",
    "FormState",
    "Outcome",
    "Shown",
    "alert_sites",
    "alerts_page",
    "alerts_table",
    "by_group",
    "chosen",
    "filter_views",
    "form_state",
    "group_status",
    "maintenance_table",
    "matchers_from_text",
    "mute_lines",
    "mute_text",
    "perform",
    "prefilled_matchers",
    "route_mute_text",
    "row_actions",
    "shown_state",
    "sort_views",
]

DEFAULT_SILENCE = "2h"
"""The silence duration the form proposes."""


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
    """None or "": no filter. `text` is matched case-insensitively in label and annotation values,
    the fingerprint and the mute details."""

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


def filter_views(views: Iterable[AlertView], filters: Filters, inventory: Inventory) -> list[AlertView]:
    """The views every set filter lets through, in the given order."""
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
        if text and text not in _searchable(view):
            continue
        out.append(view)
    return out


def _searchable(view: AlertView) -> str:
    alert = view.alert
    parts = [*alert.labels.values(), *alert.annotations.values(), alert.fingerprint, *(m.detail for m in view.mutes)]
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


def prefilled_matchers(view: AlertView) -> str:
    """The silence form's matchers for one alert: one equality matcher per label, a line each."""
    return "\n".join(f"{name}={quote(value)}" for name, value in sorted(view.alert.labels.items()))


def matchers_from_text(text: str) -> list[str]:
    """The matchers typed in the form: one per non-blank line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


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


# -- the action form ------------------------------------------------------------------------------

_FIELDS = {
    # action: (comment, duration, matchers, window fields)
    "ack": (True, True, False, False),
    "unack": (False, False, False, False),
    "silence": (True, True, True, False),
    "expire": (False, False, False, False),
    "create-maintenance": (True, False, True, True),
    "delete-maintenance": (False, False, False, False),
}


@dataclass(frozen=True)
class FormState:
    """What the action form shows for the pending action (closed when `title` is "")."""

    title: str = ""
    comment: bool = False
    duration: bool = False
    duration_label: str = ""
    duration_value: str = ""
    matchers: bool = False
    matchers_value: str = ""
    window: bool = False

    @property
    def open(self) -> bool:
        return bool(self.title)

    def outputs(self) -> tuple[str, ...]:
        """The page's form outputs: form class, title, window fields class, matchers field class
        and value, duration field class, label and value, comment field class and value (emptied)."""

        def shown(visible: bool, base: str = "alerts-field") -> str:
            return base if visible else f"{base} hidden".strip()

        return (
            shown(self.open, "alerts-form"),
            self.title,
            shown(self.window, ""),
            shown(self.matchers),
            self.matchers_value,
            shown(self.duration),
            self.duration_label,
            self.duration_value,
            shown(self.comment),
            "",
        )


UNCHANGED = object()
"""`chosen`: leave the pending action as it is."""


def chosen(triggered_id: object, clicked: bool) -> dict[str, str] | object | None:
    """The pending action after a trigger: an action button's {"action", "ref"} when it was really
    clicked (a button appearing in a refreshed table triggers too, with no click), None after
    cancel or a successful action, else UNCHANGED."""
    if isinstance(triggered_id, Mapping):
        chosen_action = pending_action(triggered_id)
        if clicked and chosen_action is not None:
            return {"action": chosen_action[0], "ref": chosen_action[1]}
        return UNCHANGED
    if triggered_id in (ids.ALERTS_CANCEL, ids.ALERTS_DONE):
        return None
    return UNCHANGED


def pending_action(value: object) -> tuple[str, str] | None:
    """(action, ref) of the pending store's value, None for nothing (or anything unknown)."""
    if isinstance(value, Mapping) and value.get("action") in _FIELDS and isinstance(value.get("ref"), str):
        return str(value["action"]), str(value["ref"])
    return None


def form_state(pending: object, views: Sequence[AlertView], lang: str) -> FormState:
    """The form for the pending action; an alert that is gone closes it."""
    chosen_action = pending_action(pending)
    if chosen_action is None:
        return FormState()
    action, ref = chosen_action
    comment, duration, matchers, window = _FIELDS[action]
    view = next((v for v in views if v.alert.fingerprint == ref), None)
    if action in ("ack", "unack", "silence") and view is None:
        return FormState()
    what = describe(view) if view is not None else ref
    return FormState(
        title=t(f"alerts.form.{action}", lang, what=what),
        comment=comment,
        duration=duration,
        duration_label=t(f"alerts.form.duration.{action}", lang) if duration else "",
        duration_value=DEFAULT_SILENCE if action == "silence" else "",
        matchers=matchers,
        matchers_value=prefilled_matchers(view) if action == "silence" and view is not None else "",
        window=window,
    )


@dataclass(frozen=True)
class FormInput:
    """What the user typed in the form (None: an empty field)."""

    actor: str | None = None
    comment: str | None = None
    duration: str | None = None
    matchers: str | None = None
    window_name: str | None = None
    window_start: str | None = None
    window_end: str | None = None


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str

    @property
    def css(self) -> str:
        return "alerts-message alerts-message-ok" if self.ok else "alerts-message alerts-message-error"


def perform(actions: ConsoleActions | None, pending: object, form: FormInput, lang: str, tz: str) -> Outcome:
    """Do the pending action with what the form holds. Refusals come back as a message, the
    console's reason included; nothing is done without a name for who acts."""
    chosen_action = pending_action(pending)
    if chosen_action is None:
        return Outcome(False, t("alerts.error.nothing", lang))
    action, ref = chosen_action
    if actions is None:
        return Outcome(False, t("alerts.error.unavailable", lang))
    actor = (form.actor or "").strip()
    if not actor:
        return Outcome(False, t("alerts.error.actor", lang))
    comment = (form.comment or "").strip()
    try:
        duration = _duration(form.duration, required=action == "silence")
        if action == "ack":
            actions.acknowledge(ref, by=actor, comment=comment, expires_in=duration)
        elif action == "unack":
            actions.unacknowledge(ref, by=actor)
        elif action == "silence":
            ref = actions.silence(
                matchers_from_text(form.matchers or ""), duration=duration or 0.0, by=actor, comment=comment
            )
        elif action == "expire":
            actions.expire_silence(ref)
        elif action == "create-maintenance":
            ref = (form.window_name or "").strip()
            actions.create_maintenance(_once_window(form, actor, comment, tz), by=actor)
        else:
            actions.delete_maintenance(ref)
    except ActionError as exc:
        return Outcome(False, t("alerts.error.refused", lang, reason=exc.message))
    return Outcome(True, t(f"alerts.done.{action}", lang, ref=ref))


def _duration(text: str | None, *, required: bool) -> float | None:
    text = (text or "").strip()
    if not text:
        if required:
            raise ActionError("duration: a duration such as 2h is required")
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ActionError(f"duration: {exc}") from None


def _once_window(form: FormInput, actor: str, reason: str, tz: str) -> dict[str, Any]:
    """A one-off window from the editor: times as typed (`YYYY-MM-DD HH:MM`) in the console's zone."""
    return {
        "name": (form.window_name or "").strip(),
        "matchers": matchers_from_text(form.matchers or ""),
        "owner": actor,
        "reason": reason,
        "location": tz,
        "schedule": {"once": {"start": (form.window_start or "").strip(), "end": (form.window_end or "").strip()}},
    }


# -- components -----------------------------------------------------------------------------------


def action_button(action: str, ref: str, lang: str) -> html.Button:
    return html.Button(
        t(f"alerts.action.{action}", lang),
        id={"type": ids.ALERTS_ACTION, "action": action, "ref": ref},
        className=f"alerts-button alerts-button-{action}",
        n_clicks=0,
    )


def alerts_table(views: Sequence[AlertView], lang: str, tz: str, *, grouped: bool) -> html.Div:
    """The table of `views` (already filtered and sorted), one section per aggregation group when
    `grouped`."""
    if not views:
        return html.Div(t("alerts.none", lang), className="alerts-empty")
    sections = by_group(views) if grouped else [Group("-", "", None, tuple(views))]
    children: list[Any] = []
    for group in sections:
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
        children.append(_table(group.views, lang, tz))
    return html.Div(children)


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
            html.Td([action_button(action, ref, lang) for action, ref in row_actions(view)]),
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
        delete = [action_button("delete-maintenance", item.name, lang)] if item.origin == "api" else []
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
    shown = sort_views(filter_views(views, filters, inventory))
    count = t("alerts.count", lang, shown=len(shown), total=len(views))
    if actions is None:
        windows = html.Div(t("alerts.error.unavailable", lang), className="alerts-empty")
    else:
        windows = maintenance_table(actions.maintenance(), lang, tz)
    return alerts_table(shown, lang, tz, grouped=grouped), count, windows
