"""The wall's topology map: sites as nodes, configured links as lines (a pure `data -> go.Figure`).

Hubs (the data centres) are the sites with two or more links; they sit on a horizontal line, in
inventory order, and the other sites (regional offices) fan out around the hub they link to, away
from the other hubs. A link's line is coloured by its state (down, unreachable behind a cut,
maintenance) and, while up, by its utilisation (below 60 %, below 90 %, above); down and cut links
are also dashed, and every link has a hover label and a mid-point sign, so colour is never the only
sign. Lines of one look share one trace: the figure's size grows with links, not traces.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import plotly.graph_objects as go  # plotly ships no type hints

from dashboards.i18n import t
from dashboards.views.states import State
from model import Inventory, Site

__all__ = ["COLOURS", "MapState", "hubs", "link_look", "positions", "topology_figure"]

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
    each link's highest utilisation (0..1) over its ends and directions."""

    nodes: Mapping[str, State]
    link_use: Mapping[str, float]


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


def positions(inventory: Inventory) -> dict[str, tuple[float, float]]:
    """Site id -> (x, y) in a box of about -1.4..1.4 by -1..1."""
    order = [s.id for s in inventory.sites]
    peers = _peers(inventory)
    centres = hubs(inventory)
    place: dict[str, tuple[float, float]] = {}
    for i, hub in enumerate(centres):
        x = 0.0 if len(centres) == 1 else -0.55 + 1.1 * i / (len(centres) - 1)
        place[hub] = (x, 0.0)
    fans: dict[str, list[str]] = defaultdict(list)
    for site in order:
        if site not in place:
            fans[next((p for p in peers[site] if p in place), centres[0] if centres else site)].append(site)
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


def link_look(state: State | None, use: float | None) -> tuple[str, str, str]:
    """(colour key, dash, catalog key of the look) of a link in `state` at utilisation `use`."""
    if state in (State.CRITICAL, State.UNREACHABLE, State.MAINTENANCE, State.WARNING):
        dash = {State.CRITICAL: "dot", State.UNREACHABLE: "dash"}.get(state, "solid")
        return state.value, dash, state.key
    if state is None and use is None:
        return "unknown", "dot", State.UNKNOWN.key
    if use is not None and use >= 0.9:
        return "full", "solid", "wall.map.full"
    if use is not None and use >= 0.6:
        return "busy", "solid", "wall.map.busy"
    return "ok", "solid", "wall.map.up"


def topology_figure(inventory: Inventory, state: MapState, site_states: Mapping[str, State], lang: str) -> go.Figure:
    place = positions(inventory)
    site_of = {d.name: d.site for d in inventory.devices}
    lines: dict[tuple[str, str], tuple[list[float | None], list[float | None]]] = defaultdict(lambda: ([], []))
    mids: tuple[list[float], list[float], list[str], list[str], list[str]] = ([], [], [], [], [])
    seen: dict[frozenset[str], int] = defaultdict(int)
    for link in inventory.links:
        a, b = (site_of.get(e.device, "") for e in link.ends)
        if a not in place or b not in place:
            continue
        pair = frozenset((a, b))
        offset = 0.05 * seen[pair] * (1 if seen[pair] % 2 else -1)  # parallel links side by side
        seen[pair] += 1
        (x0, y0), (x1, y1) = place[a], place[b]
        y0, y1 = y0 + offset, y1 + offset
        use = state.link_use.get(link.name)
        colour, dash, look = link_look(state.nodes.get(link.name), use)
        xs, ys = lines[(colour, dash)]
        xs.extend((x0, x1, None))
        ys.extend((y0, y1, None))
        use_text = f"{use * 100:.0f}%" if use is not None else "—"
        mids[0].append((x0 + x1) / 2)
        mids[1].append((y0 + y1) / 2)
        mids[2].append(COLOURS[colour])
        mids[3].append(use_text if colour in ("ok", "busy", "full") else "✖" if colour == "critical" else "")
        mids[4].append(t("wall.map.link", lang, name=link.name, state=t(look, lang), use=use_text))
    fig = go.Figure()
    for (colour, dash), (xs, ys) in sorted(lines.items()):
        fig.add_trace(
            go.Scatter(
                x=xs, y=ys, mode="lines", hoverinfo="skip", line={"color": COLOURS[colour], "dash": dash, "width": 4}
            )
        )
    fig.add_trace(
        go.Scatter(
            x=mids[0],
            y=mids[1],
            mode="markers+text",
            text=mids[3],
            hovertext=mids[4],
            hoverinfo="text",
            textposition="top center",
            textfont={"size": 11, "color": mids[2]},
            marker={"size": 6, "color": mids[2]},
        )
    )
    centres = set(hubs(inventory))
    for hub in (False, True):  # offices, then hubs on top (the wall's CSS sizes their labels apart)
        fig.add_trace(
            _sites(
                [s for s in inventory.sites if s.id in place and (s.id in centres) is hub],
                place,
                site_states,
                lang,
                hub=hub,
            )
        )
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


def _sites(
    sites: list[Site],
    place: Mapping[str, tuple[float, float]],
    site_states: Mapping[str, State],
    lang: str,
    *,
    hub: bool,
) -> go.Scatter:
    states = [site_states.get(s.id, State.OK) for s in sites]
    return go.Scatter(
        x=[place[s.id][0] for s in sites],
        y=[place[s.id][1] for s in sites],
        mode="markers+text",
        text=[s.name for s in sites],
        textposition="bottom center" if hub else "top center",
        hovertext=[f"{s.name}: {t(st.key, lang)}" for s, st in zip(sites, states, strict=True)],
        hoverinfo="text",
        marker={
            "size": 34 if hub else 16,
            "color": [COLOURS[st.value] for st in states],
            "symbol": [SYMBOLS[st] for st in states],
            "line": {"width": 2, "color": "#e8edf2"},
        },
        textfont={"size": 18 if hub else 12, "color": "#e8edf2"},
    )
