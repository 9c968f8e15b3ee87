"""The wall's topology map: sites as nodes, configured links as lines (pure functions to a figure).

Hubs (the data centres) are the sites with two or more links; they sit on a horizontal line, in
inventory order, and the other sites (regional offices) fan out around the hub they link to, away
from the other hubs. A link's line is coloured by its state (down, unreachable behind a cut,
maintenance) and, while up, by its utilisation (below 60 %, below 90 %, above); down and cut links
are also dashed, and every link has a mid-point sign (the state's icon, or the utilisation while
up), so colour is never the only sign.

The figure has a fixed shape so that a refresh sends only what changed (`map_patch`, a Dash
`Patch`): trace i < len(LOOKS) holds the lines of the links of look `LOOKS[i]` (lines of one look
share a trace: the figure grows with links, not traces), then the links' mid-points (`MIDS`), the
offices (`OFFICES`) and the centres (`CENTRES`). `MapGeometry` is what never changes while the
inventory does not (positions, names); `MapPaint` is what the states decide, in three parts
(`lines`, `mids`, `sites`) a refresh sends separately when they change.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import plotly.graph_objects as go  # plotly ships no type hints
from dash import Patch

from dashboards.i18n import t
from dashboards.views.states import State
from model import Inventory, Site

__all__ = [
    "CENTRES",
    "COLOURS",
    "LOOKS",
    "MIDS",
    "OFFICES",
    "MapGeometry",
    "MapPaint",
    "MapState",
    "geometry",
    "hubs",
    "link_look",
    "map_patch",
    "paint",
    "positions",
    "regions",
    "topology_figure",
]

COLOURS: Mapping[str, str] = {
    "critical": "#d64545",
    "unreachable": "#7b61c9",
    "warning": "#e0a100",
    "maintenance": "#4a86c5",
    "ok": "#2e9e5b",
    "unknown": "#6b7785",
    "busy": "#e0a100",
    "full": "#ff7a1a",
}
"""The colours of console.css's state variables (plotly needs them in the figure)."""

LOOKS: tuple[tuple[str, str], ...] = (
    ("ok", "solid"),
    ("busy", "solid"),
    ("full", "solid"),
    ("warning", "solid"),
    ("maintenance", "solid"),
    ("unreachable", "dash"),
    ("critical", "dot"),
    ("unknown", "dot"),
)
"""Every (colour key, dash) a link can be drawn in: one line trace each, in this order."""
MIDS, OFFICES, CENTRES = len(LOOKS), len(LOOKS) + 1, len(LOOKS) + 2
"""The indexes of the mid-point, office and centre traces."""
_UP_LOOKS = frozenset(("ok", "busy", "full"))

SYMBOLS: Mapping[State, str] = {
    State.CRITICAL: "x",
    State.UNREACHABLE: "circle-open",
    State.WARNING: "triangle-up",
    State.MAINTENANCE: "hexagon",
    State.OK: "circle",
    State.UNKNOWN: "circle-dot",
}


@dataclass(frozen=True, slots=True)
class MapState:
    """`nodes`: the state of each device and link known to be other than unknown; `link_use`:
    each link's highest utilisation (0..1) over its ends and directions; `sites`: each site's
    state (a site missing is up)."""

    nodes: Mapping[str, State]
    link_use: Mapping[str, float]
    sites: Mapping[str, State] = field(default_factory=dict)


def hubs(inventory: Inventory) -> list[str]:
    """The hub sites (two or more links to other sites; else the first site), in inventory order."""
    order = [s.id for s in inventory.sites]
    peers = _peers(inventory)
    return [s for s in order if len(peers[s]) >= 2] or order[:1]


def _peers(inventory: Inventory) -> dict[str, list[str]]:
    site_of = {d.name: d.site for d in inventory.devices}
    peers: dict[str, list[str]] = defaultdict(list)
    for link in inventory.links:
        a, b = (site_of.get(e.device, "") for e in link.ends)
        if a and b and a != b:
            peers[a].append(b)
            peers[b].append(a)
    return peers


def regions(inventory: Inventory) -> dict[str, str]:
    """Site id -> the hub it hangs off (its first linked hub; the first hub for a site linked to
    none); hubs map to themselves."""
    peers = _peers(inventory)
    centres = hubs(inventory)
    out = {hub: hub for hub in centres}
    for site in inventory.sites:
        if site.id not in out:
            out[site.id] = next((p for p in peers[site.id] if p in centres), centres[0] if centres else site.id)
    return out


def positions(inventory: Inventory) -> dict[str, tuple[float, float]]:
    """Site id -> (x, y) in a box of about -1.4..1.4 by -1..1."""
    order = [s.id for s in inventory.sites]
    centres = hubs(inventory)
    place: dict[str, tuple[float, float]] = {}
    for i, hub in enumerate(centres):
        x = 0.0 if len(centres) == 1 else -0.55 + 1.1 * i / (len(centres) - 1)
        place[hub] = (x, 0.0)
    fans: dict[str, list[str]] = defaultdict(list)
    for site, hub in regions(inventory).items():
        if site not in place:
            fans[hub].append(site)
    for i, hub in enumerate(centres):
        many = len(centres) > 1
        outward = math.pi if i == 0 and many else 0.0 if i == len(centres) - 1 and many else math.pi / 2
        span = math.pi if many else 2 * math.pi
        members = fans.get(hub, [])
        hx, hy = place[hub]
        for j, site in enumerate(members):
            frac = (j + 0.5) / len(members)
            angle = outward - span / 2 + span * frac
            place[site] = (hx + 0.8 * math.cos(angle), hy + 0.95 * math.sin(angle))
    for site in order:  # sites with no link at all: a row at the bottom
        place.setdefault(site, (-1.3 + (0.2 * len(place)) % 2.6, -1.1))
    return place


def link_look(state: State | None, use: float | None) -> tuple[str, str]:
    """(colour key, dash) of a link in `state` at utilisation `use`: one of `LOOKS`."""
    if state in (State.CRITICAL, State.UNREACHABLE, State.MAINTENANCE, State.WARNING):
        return state.value, {State.CRITICAL: "dot", State.UNREACHABLE: "dash"}.get(state, "solid")
    if state is None and use is None:
        return "unknown", "dot"
    if use is not None and use >= 0.9:
        return "full", "solid"
    if use is not None and use >= 0.6:
        return "busy", "solid"
    return "ok", "solid"


@dataclass(frozen=True, slots=True)
class MapGeometry:
    """Where everything is drawn: each drawable link as (name, x0, y0, x1, y1), the offices and the
    centres (hubs) with their positions. Coordinates rounded to 3 decimals (bytes on the wire)."""

    links: tuple[tuple[str, float, float, float, float], ...]
    offices: tuple[Site, ...]
    centres: tuple[Site, ...]
    place: Mapping[str, tuple[float, float]]


def geometry(inventory: Inventory) -> MapGeometry:
    place = {site: (round(x, 3), round(y, 3)) for site, (x, y) in positions(inventory).items()}
    site_of = {d.name: d.site for d in inventory.devices}
    links = []
    seen: dict[frozenset[str], int] = defaultdict(int)
    for link in inventory.links:
        a, b = (site_of.get(e.device, "") for e in link.ends)
        if a not in place or b not in place:
            continue
        pair = frozenset((a, b))
        offset = 0.05 * seen[pair] * (1 if seen[pair] % 2 else -1)  # parallel links side by side
        seen[pair] += 1
        (x0, y0), (x1, y1) = place[a], place[b]
        links.append((link.name, x0, round(y0 + offset, 3), x1, round(y1 + offset, 3)))
    centres = set(hubs(inventory))
    return MapGeometry(
        tuple(links),
        tuple(s for s in inventory.sites if s.id in place and s.id not in centres),
        tuple(s for s in inventory.sites if s.id in place and s.id in centres),
        place,
    )


@dataclass(frozen=True, slots=True)
class MapPaint:
    """What the states decide: per look (in `LOOKS` order) its lines' x and y (None between
    lines); per link its mid-point colour and text; per office and centre its colour and symbol."""

    lines: tuple[tuple[tuple[float | None, ...], tuple[float | None, ...]], ...]
    mid_colours: tuple[str, ...]
    mid_texts: tuple[str, ...]
    office_looks: tuple[tuple[str, str], ...]
    centre_looks: tuple[tuple[str, str], ...]
    """(colour, symbol) per site."""

    def parts(self) -> dict[str, object]:
        """The parts a refresh sends separately: `lines`, `mids`, `sites`."""
        return {
            "lines": self.lines,
            "mids": (self.mid_colours, self.mid_texts),
            "sites": (self.office_looks, self.centre_looks),
        }


def paint(geo: MapGeometry, state: MapState) -> MapPaint:
    lines: dict[tuple[str, str], tuple[list[float | None], list[float | None]]] = {look: ([], []) for look in LOOKS}
    colours, texts = [], []
    for name, x0, y0, x1, y1 in geo.links:
        use = state.link_use.get(name)
        look = link_look(state.nodes.get(name), use)
        xs, ys = lines[look]
        xs.extend((x0, x1, None))
        ys.extend((y0, y1, None))
        colours.append(COLOURS[look[0]])
        if look[0] in _UP_LOOKS:
            texts.append(f"{use * 100:.0f}%" if use is not None else "")
        else:
            texts.append(State(look[0]).icon)

    def looks(sites: tuple[Site, ...]) -> tuple[tuple[str, str], ...]:
        states = [state.sites.get(s.id, State.OK) for s in sites]
        return tuple((COLOURS[st.value], SYMBOLS[st]) for st in states)

    return MapPaint(
        tuple((tuple(xs), tuple(ys)) for xs, ys in lines.values()),
        tuple(colours),
        tuple(texts),
        looks(geo.offices),
        looks(geo.centres),
    )


def topology_figure(geo: MapGeometry, painted: MapPaint, lang: str) -> go.Figure:
    """The whole figure: what the first refresh of a wall sends."""
    fig = go.Figure()
    for (colour, dash), (xs, ys) in zip(LOOKS, painted.lines, strict=True):
        fig.add_trace(
            go.Scatter(
                x=list(xs),
                y=list(ys),
                mode="lines",
                hoverinfo="skip",
                line={"color": COLOURS[colour], "dash": dash, "width": 4},
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[(x0 + x1) / 2 for _, x0, _, x1, _ in geo.links],
            y=[(y0 + y1) / 2 for _, _, y0, _, y1 in geo.links],
            mode="markers+text",
            text=list(painted.mid_texts),
            hovertemplate=[t("wall.map.link", lang, name=name) + ": %{text}<extra></extra>" for name, *_ in geo.links],
            textposition="top center",
            textfont={"size": 11, "color": list(painted.mid_colours)},
            marker={"size": 6, "color": list(painted.mid_colours)},
        )
    )
    for sites, looks, hub in ((geo.offices, painted.office_looks, False), (geo.centres, painted.centre_looks, True)):
        fig.add_trace(_sites(sites, geo.place, looks, hub=hub))  # offices, then hubs on top
    axis = {"visible": False, "range": [-1.75, 1.75], "fixedrange": True}
    fig.update_layout(
        template="none",
        showlegend=False,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        uirevision="wall",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"color": "#e8edf2"},
        xaxis=axis,
        yaxis={**axis, "range": [-1.2, 1.2]},
        hoverlabel={"font": {"size": 16}},
    )
    return fig


def map_patch(painted: MapPaint, parts: Collection[str]) -> Patch:
    """The figure's changes for `parts` of `painted` (see `MapPaint.parts`)."""
    patch = Patch()
    if "lines" in parts:
        for i, (xs, ys) in enumerate(painted.lines):
            patch["data"][i]["x"] = list(xs)
            patch["data"][i]["y"] = list(ys)
    if "mids" in parts:
        patch["data"][MIDS]["text"] = list(painted.mid_texts)
        patch["data"][MIDS]["marker"]["color"] = list(painted.mid_colours)
        patch["data"][MIDS]["textfont"]["color"] = list(painted.mid_colours)
    if "sites" in parts:
        for index, looks in ((OFFICES, painted.office_looks), (CENTRES, painted.centre_looks)):
            patch["data"][index]["marker"]["color"] = [colour for colour, _ in looks]
            patch["data"][index]["marker"]["symbol"] = [symbol for _, symbol in looks]
    return patch


def _sites(
    sites: tuple[Site, ...],
    place: Mapping[str, tuple[float, float]],
    looks: tuple[tuple[str, str], ...],
    *,
    hub: bool,
) -> go.Scatter:
    return go.Scatter(
        x=[place[s.id][0] for s in sites],
        y=[place[s.id][1] for s in sites],
        mode="markers+text",
        text=[s.name for s in sites],
        textposition="bottom center" if hub else "top center",
        hoverinfo="text",
        marker={
            "size": 34 if hub else 16,
            "color": [colour for colour, _ in looks],
            "symbol": [symbol for _, symbol in looks],
            "line": {"width": 2, "color": "#e8edf2"},
        },
        textfont={"size": 18 if hub else 12, "color": "#e8edf2"},
    )
