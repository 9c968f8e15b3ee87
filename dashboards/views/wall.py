"""The wall's view logic: server-side aggregates of the console, and their rendering.

`wall_model(data)` reads the facade once per refresh and reduces it to what a wall screen shows,
however many alerts fire: one `Tile` per site and per business system (worst state and counts), the
state of every device and link for the map, at most `TICKER_SIZE` critical alerts, and the console's
own health. `refresh(data, lang)` renders that into the refresh callback's outputs; nothing else
goes to the browser (a refresh stays a few kB with 5,000 alerts firing).

How an alert colours things (`alert_state`): muted by a maintenance window -> maintenance; muted as
suppressed (behind a cut) or `DeviceUnreachable` -> unreachable; else its severity (critical or
warning). Acknowledgement does not change a state (the ticker says who acknowledged). An alert
belongs to the node its `target` or `link` label names (links of its `link_group` too), to the
tiles of its `site` and `system` labels, else to those of the devices of its nodes (for a link: the
far end, the one not among the link's parents). Alerts of `scope="console"` (CollectorBlind,
SchedulerSkippingRuns) go to the health panel only.

Nodes no alert names take their state from three instant queries: `target_unreachable` (devices
behind a cut before any alert fires), the links' `interface_oper_up` (down) and
`interface_utilisation_ratio` (the map's colour of an up link). A query that fails is shown in
the health panel (the wall must never look green for want of data).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from dash import html

from alerts.explain import AlertView, MuteReason
from alerts.model import AlertState
from dashboards.i18n import format_time, t
from dashboards.queries import ConsoleData
from dashboards.views.states import State, worst
from dashboards.views.topology import MapState, topology_figure
from model import Inventory
from store.query.result import QueryError

__all__ = [
    "LINK_UP_EXPR",
    "LINK_USE_EXPR",
    "STATE_ICONS",
    "TICKER_SIZE",
    "UNREACHABLE_EXPR",
    "Health",
    "TickerItem",
    "Tile",
    "WallModel",
    "age_text",
    "alert_state",
    "refresh",
    "wall_model",
]

TICKER_SIZE = 8
UNREACHABLE_EXPR = "max by (target) (target_unreachable) == 1"
LINK_UP_EXPR = 'min by (link) (interface_oper_up{link!=""})'
LINK_USE_EXPR = 'max by (link) (interface_utilisation_ratio{link!=""})'
CONSOLE_SCOPE = "console"
STATE_ICONS: Mapping[State, str] = {
    State.CRITICAL: "✖",
    State.UNREACHABLE: "◌",
    State.WARNING: "▲",
    State.MAINTENANCE: "⚙",
    State.OK: "●",
    State.UNKNOWN: "?",
}
"""A sign per state besides its colour and word (colour-blind safe)."""


@dataclass(frozen=True, slots=True)
class Tile:
    """One site or business system. `firing`: its firing alerts (muted ones included);
    `critical`: those of severity critical that are neither suppressed nor in maintenance."""

    id: str
    name: str
    state: State
    firing: int = 0
    critical: int = 0


@dataclass(frozen=True, slots=True)
class TickerItem:
    fingerprint: str
    summary: str
    summary_ja: str
    node: str
    fired_at: float
    acknowledged_by: str | None


@dataclass(frozen=True, slots=True)
class Health:
    """The console's own health: `components` (name, ok, detail) from `health()` plus failed
    queries; `alerts`: names of firing console alerts; `state` OK, WARNING or CRITICAL."""

    state: State
    components: tuple[tuple[str, bool, str], ...]
    alerts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WallModel:
    at: float
    sites: tuple[Tile, ...]
    systems: tuple[Tile, ...]
    map: MapState
    ticker: tuple[TickerItem, ...]
    critical_total: int
    """Critical alerts the ticker could show (it shows the newest `TICKER_SIZE`)."""
    health: Health


def alert_state(view: AlertView) -> State:
    reasons = {mute.reason for mute in view.mutes}
    if MuteReason.MAINTENANCE in reasons:
        return State.MAINTENANCE
    if MuteReason.SUPPRESSED in reasons or view.alert.name == "DeviceUnreachable":
        return State.UNREACHABLE
    return State.CRITICAL if view.alert.labels.get("severity") == "critical" else State.WARNING


@dataclass
class _Tally:
    states: dict[str, list[State]] = field(default_factory=lambda: defaultdict(list))
    firing: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    critical: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, key: str, state: State) -> None:
        self.states[key].append(state)
        self.firing[key] += 1
        self.critical[key] += state is State.CRITICAL

    def tiles(self, items: Iterable[tuple[str, str]], extra: Mapping[str, list[State]]) -> tuple[Tile, ...]:
        return tuple(
            Tile(
                key,
                name,
                worst([*self.states.get(key, ()), *extra.get(key, ())]),
                self.firing.get(key, 0),
                self.critical.get(key, 0),
            )
            for key, name in items
        )


class _Places:
    """Where nodes are: device -> (site, system), link -> its far-end devices, group -> links."""

    def __init__(self, inventory: Inventory) -> None:
        self.devices = {d.name: (d.site, d.system) for d in inventory.devices}
        self.links = {
            link.name: tuple(e.device for e in link.ends if e.device not in link.parents)
            or tuple(e.device for e in link.ends)
            for link in inventory.links
        }
        self.groups: dict[str, list[str]] = defaultdict(list)
        for link in inventory.links:
            if link.group:
                self.groups[link.group].append(link.name)

    def nodes(self, view: AlertView) -> list[str]:
        labels = view.alert.labels
        node = labels.get("target", "") or labels.get("link", "")
        return [node] if node else list(self.groups.get(labels.get("link_group", ""), ()))

    def homes(self, view: AlertView, nodes: Sequence[str]) -> tuple[set[str], set[str]]:
        """The sites and systems an alert belongs to."""
        labels = view.alert.labels
        devices = [d for n in nodes for d in ((n,) if n in self.devices else self.links.get(n, ()))]
        sites = {labels["site"]} if labels.get("site") else {self.devices[d][0] for d in devices if d in self.devices}
        systems = (
            {labels["system"]} if labels.get("system") else {self.devices[d][1] for d in devices if d in self.devices}
        )
        return sites, systems


def _vector(data: ConsoleData, expr: str, failed: list[tuple[str, bool, str]]) -> dict[str, float]:
    """`expr`'s instant vector by the value of its one `by` label; a failure is noted in `failed`."""
    label = "target" if "(target)" in expr else "link"
    try:
        result = data.instant(expr)
    except QueryError as e:
        failed.append(("query", False, f"{expr}: {e}"))
        return {}
    return {s.labels.get(label, ""): s.value for s in result.vector}


def _health(data: ConsoleData, console: list[AlertView], failed: list[tuple[str, bool, str]]) -> Health:
    try:
        report = data.health()
        components = [(name, c.ok, c.detail) for name, c in sorted(report.components.items())]
    except Exception as e:  # a wall whose health check breaks must say so, not look green
        components = [("health", False, f"{type(e).__name__}: {e}")]
    components += failed
    names = tuple(sorted({v.alert.name for v in console}))
    states = [State.CRITICAL for _, ok, _ in components if not ok]
    states += [State.CRITICAL if v.alert.labels.get("severity") == "critical" else State.WARNING for v in console]
    return Health(worst(states), tuple(components), names)


def wall_model(data: ConsoleData) -> WallModel:
    """Everything a wall refresh shows, from one read of `data`."""
    now = data.now()
    inventory = data.inventory()
    places = _Places(inventory)
    failed: list[tuple[str, bool, str]] = []
    sites, systems = _Tally(), _Tally()
    nodes: dict[str, list[State]] = defaultdict(list)
    console: list[AlertView] = []
    critical: list[AlertView] = []
    for view in data.alerts():
        alert = view.alert
        if alert.state is not AlertState.FIRING or alert.resolved:
            continue
        if alert.labels.get("scope") == CONSOLE_SCOPE:
            console.append(view)
            continue
        state = alert_state(view)
        targets = places.nodes(view)
        if alert.labels.get("target") or alert.labels.get("link"):
            nodes[targets[0]].append(state)
        in_sites, in_systems = places.homes(view, targets)
        for site in in_sites:
            sites.add(site, state)
        for system in in_systems:
            systems.add(system, state)
        if state is State.CRITICAL:
            critical.append(view)
    node_states = {node: worst(states) for node, states in nodes.items()}
    unreachable = _vector(data, UNREACHABLE_EXPR, failed)
    link_up = _vector(data, LINK_UP_EXPR, failed)
    link_use = _vector(data, LINK_USE_EXPR, failed)
    by_site: dict[str, list[State]] = defaultdict(list)
    by_system: dict[str, list[State]] = defaultdict(list)
    for device in inventory.devices:
        if device.name not in node_states and unreachable.get(device.name) == 1:
            node_states[device.name] = State.UNREACHABLE
            by_site[device.site].append(State.UNREACHABLE)
            by_system[device.system].append(State.UNREACHABLE)
    for link in inventory.links:
        if link.name not in node_states and link.name in link_up:
            node_states[link.name] = State.OK if link_up[link.name] > 0 else State.CRITICAL
    ticker = sorted(critical, key=lambda v: -(v.alert.fired_at or v.alert.active_at))[:TICKER_SIZE]
    return WallModel(
        at=now,
        sites=sites.tiles(((s.id, s.name) for s in inventory.sites), by_site),
        systems=systems.tiles(((s.id, s.name) for s in inventory.systems), by_system),
        map=MapState(node_states, link_use),
        ticker=tuple(_ticker_item(v, now) for v in ticker),
        critical_total=len(critical),
        health=_health(data, console, failed),
    )


def _ticker_item(view: AlertView, now: float) -> TickerItem:
    alert, ack = view.alert, view.acknowledgement
    return TickerItem(
        fingerprint=alert.fingerprint,
        summary=alert.annotations.get("summary", "") or alert.name,
        summary_ja=alert.annotations.get("summary_ja", ""),
        node=alert.labels.get("target", "") or alert.labels.get("link", ""),
        fired_at=alert.fired_at or alert.active_at,
        acknowledged_by=ack.by if ack is not None and ack.active(now) else None,
    )


def age_text(seconds: float, lang: str) -> str:
    """`3分前` / `3 min ago`: the largest whole unit (s, min, h, d)."""
    s = max(0, int(seconds))
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if s >= size:
            return t(f"wall.age.{unit}", lang, n=s // size)
    return t("wall.age.seconds", lang, n=s)


# -- rendering ------------------------------------------------------------------------------------


def state_label(state: State, lang: str) -> html.Span:
    return html.Span(f"{STATE_ICONS[state]}\u00a0{t(state.key, lang)}", className="wall-state")


def tile(item: Tile, lang: str) -> html.Div:
    counts = t("wall.tile.counts", lang, firing=item.firing, critical=item.critical)
    return html.Div(
        [
            html.Div(item.name, className="wall-tile-name"),
            state_label(item.state, lang),
            html.Div(counts, className="wall-tile-counts"),
        ],
        className=f"wall-tile {item.state.css}",
        title=item.id,
    )


def ticker_children(model: WallModel, lang: str) -> list[html.Div]:
    if not model.ticker:
        return [html.Div(t("wall.ticker.none", lang), className="wall-ticker-none")]
    rows = []
    for item in model.ticker:
        by = item.acknowledged_by
        ack = t("wall.ticker.ack", lang, by=by) if by else t("wall.ticker.unack", lang)
        rows.append(
            html.Div(
                [
                    html.Span(age_text(model.at - item.fired_at, lang), className="wall-ticker-age"),
                    html.Span((item.summary_ja if lang == "ja" else "") or item.summary, className="wall-ticker-text"),
                    html.Span(ack, className="wall-ticker-ack" + (" acked" if item.acknowledged_by else "")),
                ],
                className="wall-ticker-row",
            )
        )
    if model.critical_total > len(model.ticker):
        rows.append(
            html.Div(
                t("wall.ticker.more", lang, count=model.critical_total - len(model.ticker)),
                className="wall-ticker-more",
            )
        )
    return rows


def health_children(health: Health, lang: str) -> list[html.Span]:
    chips = [
        html.Span(
            [t("wall.health", lang), " ", state_label(health.state, lang)],
            className=f"wall-health-state {health.state.css}",
        )
    ]
    for name, ok, detail in health.components:
        label = t(f"wall.health.{name}", lang) if f"wall.health.{name}" in _KNOWN_COMPONENTS else name
        word = t("wall.health.ok" if ok else "wall.health.failed", lang)
        chips.append(html.Span(f"{label}: {word}", className="wall-chip " + ("ok" if ok else "failed"), title=detail))
    for name in health.alerts:
        key = f"wall.console.{name}"
        chips.append(html.Span(t(key, lang) if key in _KNOWN_ALERTS else name, className="wall-chip failed"))
    return chips


_KNOWN_COMPONENTS = frozenset(f"wall.health.{n}" for n in ("store", "scheduler", "query", "health"))
_KNOWN_ALERTS = frozenset(f"wall.console.{n}" for n in ("CollectorBlind", "SchedulerSkippingRuns"))


def refresh(data: ConsoleData, lang: str) -> tuple[object, ...]:
    """The wall refresh callback's outputs: site tiles, system tiles, map figure, ticker, health,
    the refresh's time as text, and the refresh's time (Unix seconds) for the staleness check."""
    model = wall_model(data)
    return (
        [tile(item, lang) for item in model.sites],
        [tile(item, lang) for item in model.systems],
        topology_figure(data.inventory(), model.map, {s.id: s.state for s in model.sites}, lang),
        ticker_children(model, lang),
        health_children(model.health, lang),
        format_time(model.at, lang, data.timezone, seconds=True),
        model.at,
    )
