"""The wall's view logic: server-side aggregates of the console, and their rendering.

`wall_model(data)` reads the facade once per refresh (the alerts in brief: `AlertBrief`) and
reduces it to what a wall screen shows, however many alerts fire: one `Tile` per site and per
business system (worst state and counts), the state of every device and link for the map, at most
`TICKER_SIZE` critical alerts, and the console's own health. Sites beyond what the panel holds
(`SITE_TILES`) are folded (`fold_sites`): the centres and every site with a problem keep their
tile, the sites that are up fold into one tile per centre they hang off.

`refresh(data, lang, sent)` renders the model into the refresh callback's outputs and sends only
what changed since the browser's last refresh: `sent` (kept in the page) holds a digest of each
part it has; an unchanged part goes as `no_update`, a changed map as a `Patch` of the part of its
paint that changed (the whole figure only on a page's first refresh or a new inventory or
language). A refresh stays a few kB, and under 50 kB with everything changing at once.

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

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from dash import html, no_update

from alerts.explain import AlertBrief
from alerts.model import AlertState
from dashboards.i18n import format_time, t
from dashboards.queries import ConsoleData
from dashboards.views import topology
from dashboards.views.states import State, worst
from dashboards.views.topology import MapState
from model import Inventory, Labels
from store.query.result import QueryError

__all__ = [
    "LINK_UP_EXPR",
    "LINK_USE_EXPR",
    "SITE_TILES",
    "TICKER_SIZE",
    "UNREACHABLE_EXPR",
    "Health",
    "Refresh",
    "TickerItem",
    "Tile",
    "WallModel",
    "age_text",
    "alert_state",
    "fold_sites",
    "refresh",
    "wall_model",
]

TICKER_SIZE = 8
SITE_TILES = 30
"""Site tiles the sites panel holds at 1920x1080 (three columns of ten); beyond, sites fold."""
UNREACHABLE_EXPR = "max by (target) (target_unreachable) == 1"
LINK_UP_EXPR = 'min by (link) (interface_oper_up{link!=""})'
LINK_USE_EXPR = 'max by (link) (interface_utilisation_ratio{link!=""})'
CONSOLE_SCOPE = "console"


@dataclass(frozen=True, slots=True)
class Tile:
    """One site or business system. `firing`: its firing alerts (muted ones included);
    `critical`: those of severity critical that are neither suppressed nor in maintenance.
    A tile of `folded` > 0 sites stands for that many (`fold_sites`): `name` is then the centre
    they hang off, or empty for the sites that did not fit."""

    id: str
    name: str
    state: State
    firing: int = 0
    critical: int = 0
    folded: int = 0


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


def alert_state(brief: AlertBrief) -> State:
    if brief.maintenance:
        return State.MAINTENANCE
    if brief.suppressed or brief.alert.name == "DeviceUnreachable":
        return State.UNREACHABLE
    return State.CRITICAL if brief.alert.labels.get("severity") == "critical" else State.WARNING


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

    def nodes(self, labels: Labels) -> list[str]:
        node = labels.get("target", "") or labels.get("link", "")
        return [node] if node else list(self.groups.get(labels.get("link_group", ""), ()))

    def homes(self, labels: Labels, nodes: Sequence[str]) -> tuple[set[str], set[str]]:
        """The sites and systems an alert with `labels` belongs to."""
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


def _health(data: ConsoleData, console: list[AlertBrief], failed: list[tuple[str, bool, str]]) -> Health:
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
    console: list[AlertBrief] = []
    critical: list[AlertBrief] = []
    for brief in data.alert_briefs():
        alert = brief.alert
        if alert.state is not AlertState.FIRING or alert.resolved:
            continue
        labels = alert.labels
        if labels.get("scope") == CONSOLE_SCOPE:
            console.append(brief)
            continue
        state = alert_state(brief)
        targets = places.nodes(labels)
        if labels.get("target") or labels.get("link"):
            nodes[targets[0]].append(state)
        in_sites, in_systems = places.homes(labels, targets)
        for site in in_sites:
            sites.add(site, state)
        for system in in_systems:
            systems.add(system, state)
        if state is State.CRITICAL:
            critical.append(brief)
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
    ticker = sorted(critical, key=lambda b: -(b.alert.fired_at or b.alert.active_at))[:TICKER_SIZE]
    site_tiles = sites.tiles(((s.id, s.name) for s in inventory.sites), by_site)
    return WallModel(
        at=now,
        sites=fold_sites(site_tiles, inventory, SITE_TILES),
        systems=systems.tiles(((s.id, s.name) for s in inventory.systems), by_system),
        map=MapState(node_states, link_use, {tile.id: tile.state for tile in site_tiles if tile.state is not State.OK}),
        ticker=tuple(_ticker_item(b) for b in ticker),
        critical_total=len(critical),
        health=_health(data, console, failed),
    )


def _ticker_item(brief: AlertBrief) -> TickerItem:
    alert = brief.alert
    return TickerItem(
        fingerprint=alert.fingerprint,
        summary=alert.annotations.get("summary", "") or alert.name,
        summary_ja=alert.annotations.get("summary_ja", ""),
        node=alert.labels.get("target", "") or alert.labels.get("link", ""),
        fired_at=alert.fired_at or alert.active_at,
        acknowledged_by=brief.acknowledged_by,
    )


def fold_sites(tiles: Sequence[Tile], inventory: Inventory, limit: int) -> tuple[Tile, ...]:
    """At most `limit` (>= 3) tiles for `tiles` (one per site, inventory order). When they do not
    fit, the centres (hubs) and every site not up keep their own tile, in inventory order, and the
    sites that are up fold into one tile per centre they hang off (into one tile if even that does
    not fit). When the tiles of their own still do not fit, the worst keep them (centres and
    inventory order first among equals) and the rest fold into one tile of their worst state."""
    if len(tiles) <= limit:
        return tuple(tiles)
    centres = set(topology.hubs(inventory))
    hub_of = topology.regions(inventory)
    names = {s.id: s.name for s in inventory.sites}
    own = [tile for tile in tiles if tile.id in centres or tile.state is not State.OK]
    up: dict[str, list[Tile]] = defaultdict(list)
    for tile in tiles:
        if tile.id not in centres and tile.state is State.OK:
            up[hub_of.get(tile.id, "")].append(tile)
    folds = [_fold(f"{hub}/up", names.get(hub, hub), members) for hub, members in up.items()]
    if len(own) + len(folds) > limit and len(folds) > 1:
        folds = [_fold("up", "", [tile for members in up.values() for tile in members])]
    room = limit - len(folds)
    if len(own) <= room:
        return (*own, *folds)
    ranked = sorted(own, key=lambda tile: (tile.state.rank, tile.id not in centres))
    kept = {tile.id for tile in ranked[: room - 1]}
    rest = _fold("more", "", [tile for tile in own if tile.id not in kept])
    return (*(tile for tile in own if tile.id in kept), rest, *folds)


def _fold(key: str, name: str, tiles: Sequence[Tile]) -> Tile:
    return Tile(
        key,
        name,
        worst(tile.state for tile in tiles),
        sum(tile.firing for tile in tiles),
        sum(tile.critical for tile in tiles),
        folded=len(tiles),
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
    return html.Span(f"{state.icon}\u00a0{t(state.key, lang)}", className="wall-state")


def tile(item: Tile, lang: str) -> html.Div:
    counts = t("wall.tile.counts", lang, firing=item.firing, critical=item.critical)
    name = item.name
    if item.folded:
        name = (
            t("wall.tile.folded", lang, hub=item.name, n=item.folded)
            if item.name
            else t("wall.tile.more", lang, n=item.folded)
        )
    return html.Div(
        [
            html.Div(name, className="wall-tile-name"),
            state_label(item.state, lang),
            html.Div(counts, className="wall-tile-counts"),
        ],
        className=f"wall-tile {item.state.css}" + (" wall-tile-folded" if item.folded else ""),
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


SENT_PARTS = ("sites", "systems", "map", "map.lines", "map.mids", "map.sites", "ticker", "health")
"""The parts a refresh tracks in the page's `sent` digests (`map`: the figure's geometry)."""


def digest(value: object) -> str:
    """A short digest of a part as sent (its repr: frozen dataclasses, tuples, strings)."""
    return hashlib.blake2b(repr(value).encode(), digest_size=8).hexdigest()


class Refresh(NamedTuple):
    """The wall refresh callback's outputs, in order (each part may be `no_update`)."""

    sites: object
    systems: object
    map: object
    """A whole figure, a `Patch` or `no_update`."""
    ticker: object
    health: object
    refreshed_text: str
    """The refresh's time, written in the language and time zone."""
    refreshed_at: float
    """The refresh's time (Unix seconds), for the page's staleness check."""
    sent: dict[str, str]
    """The digests of what the page has after this refresh."""


def refresh(data: ConsoleData, lang: str, sent: Mapping[str, str] | None = None) -> Refresh:
    """What the page needs to show the wall now, given the digests `sent` of what it has: parts
    whose digest is in `sent` go as `no_update`; the map as a whole figure when its geometry is new
    to the page, else as a `Patch` of its paint's changed parts. With no `sent`, everything: the
    page's first render."""
    sent = sent or {}
    model = wall_model(data)
    inventory = data.inventory()
    geo = topology.geometry(inventory)
    painted = topology.paint(geo, model.map)
    ages = tuple(age_text(model.at - item.fired_at, lang) for item in model.ticker)
    now = {
        "sites": digest((lang, model.sites)),
        "systems": digest((lang, model.systems)),
        "map": digest((lang, geo)),
        **{f"map.{name}": digest(part) for name, part in painted.parts().items()},
        "ticker": digest((lang, ages, model.ticker, model.critical_total)),
        "health": digest((lang, model.health)),
    }

    def changed(part: str) -> bool:
        return sent.get(part) != now[part]

    if changed("map"):
        figure: object = topology.topology_figure(geo, painted, lang)
    else:
        parts = [name for name in painted.parts() if changed(f"map.{name}")]
        figure = topology.map_patch(painted, parts) if parts else no_update
    return Refresh(
        [tile(item, lang) for item in model.sites] if changed("sites") else no_update,
        [tile(item, lang) for item in model.systems] if changed("systems") else no_update,
        figure,
        ticker_children(model, lang) if changed("ticker") else no_update,
        health_children(model.health, lang) if changed("health") else no_update,
        format_time(model.at, lang, data.timezone, seconds=True),
        model.at,
        now,
    )
