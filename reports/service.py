"""Business systems as service trees, and a system's state over time.

A system's tree says what it depends on. Leaves: a device (`device: srv-records-01`), a link
(`link: east-west-1`), a probe of a device (`probe: {device: web-records, collector: http}`) or
alerts (`alerts: ['alertname="BatchFailed"']`: down while a firing alert matches every matcher).
Inner nodes say how much of their children the system needs: `all` (every child), `any` (one is
enough) or `k_of_n` (`{k: 1, of: [...]}`: at least k, e.g. 1 of 2 inter-centre links).

    tree:
      all:
        - device: srv-records-01
        - k_of_n: {k: 1, of: [{link: east-west-1}, {link: east-west-2}]}
        - any: [{device: db-east-01}, {device: db-west-01}]

A leaf is up or down at each instant (a device unreachable behind a cut counts as down; the
outage's cause is then the failure that cut it off, see reports/availability.py). A node with n
children of which it needs k is down when fewer than k are not down, degraded when it has enough
but not all (redundancy lost) or a child is degraded, else up.

`ServiceTree.timeline(down, start, end)` sweeps the leaves' down intervals once, in time order,
updating only the nodes above a leaf that changes: a fiscal year of hundreds of leaves is a few
thousand steps.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from alerts.matchers import Matchers, parse_matchers

__all__ = [
    "LeafKind",
    "Segment",
    "ServiceTree",
    "SystemState",
    "TreeConfig",
    "alert_leaves",
    "leaf_key",
    "leaves_of",
]


class SystemState(enum.Enum):
    """Worst last; `rank` orders them."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"


class LeafKind(enum.Enum):
    DEVICE = "device"
    LINK = "link"
    PROBE = "probe"
    ALERTS = "alerts"


def leaf_key(kind: LeafKind, name: str) -> str:
    """The key a leaf's down intervals are given under: `device:srv-01`, `link:east-west-1`,
    `probe:web-01/http`, `alerts:{alertname="X"}`."""
    return f"{kind.value}:{name}"


# -- config ---------------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceLeaf(_Strict):
    device: str = Field(min_length=1)


class LinkLeaf(_Strict):
    link: str = Field(min_length=1)


class ProbeRef(_Strict):
    device: str = Field(min_length=1)
    collector: str = Field(min_length=1)
    """The probe's collector kind (`http`, `tcp`, `ping`), as in `up{collector=...}`."""


class ProbeLeaf(_Strict):
    probe: ProbeRef


class AlertsLeaf(_Strict):
    alerts: tuple[str, ...] = Field(min_length=1)
    """Matchers in Alertmanager's syntax; the leaf is down while a firing alert matches them all."""

    @field_validator("alerts")
    @classmethod
    def _parse(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        parse_matchers(list(value))  # raises ValueError with the matcher's problem
        return value

    def matchers(self) -> Matchers:
        return parse_matchers(list(self.alerts))


class AllNode(_Strict):
    all: tuple[TreeConfig, ...] = Field(min_length=1)


class AnyNode(_Strict):
    any: tuple[TreeConfig, ...] = Field(min_length=1)


class KOfNBody(_Strict):
    k: int = Field(ge=1)
    of: tuple[TreeConfig, ...] = Field(min_length=1)

    @field_validator("of")
    @classmethod
    def _enough(cls, value: tuple[TreeConfig, ...], info: Any) -> tuple[TreeConfig, ...]:
        k = info.data.get("k")
        if isinstance(k, int) and k > len(value):
            raise ValueError(f"k is {k} but there are only {len(value)} children")
        return value


class KOfNNode(_Strict):
    k_of_n: KOfNBody


_KEYS = ("all", "any", "k_of_n", "device", "link", "probe", "alerts")


def _node_kind(value: object) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        return key if key in _KEYS else None
    if isinstance(value, BaseModel):
        return next((k for k in _KEYS if k in type(value).model_fields), None)
    return None


TreeConfig = Annotated[
    Annotated[AllNode, Tag("all")]
    | Annotated[AnyNode, Tag("any")]
    | Annotated[KOfNNode, Tag("k_of_n")]
    | Annotated[DeviceLeaf, Tag("device")]
    | Annotated[LinkLeaf, Tag("link")]
    | Annotated[ProbeLeaf, Tag("probe")]
    | Annotated[AlertsLeaf, Tag("alerts")],
    Discriminator(
        _node_kind,
        custom_error_type="tree_node",
        custom_error_message=f"expected one key, one of {', '.join(_KEYS)}",
    ),
]
"""One node of a service tree, as written in the config."""

AllNode.model_rebuild()
AnyNode.model_rebuild()
KOfNBody.model_rebuild()


def leaves_of(node: TreeConfig) -> list[tuple[LeafKind, str]]:
    """Every leaf under `node` as (kind, name), in order (a leaf named twice, twice)."""
    match node:
        case DeviceLeaf(device=name):
            return [(LeafKind.DEVICE, name)]
        case LinkLeaf(link=name):
            return [(LeafKind.LINK, name)]
        case ProbeLeaf(probe=ref):
            return [(LeafKind.PROBE, f"{ref.device}/{ref.collector}")]
        case AlertsLeaf():
            return [(LeafKind.ALERTS, _alerts_name(node))]
        case AllNode(all=children) | AnyNode(any=children):
            return [leaf for child in children for leaf in leaves_of(child)]
        case KOfNNode(k_of_n=body):
            return [leaf for child in body.of for leaf in leaves_of(child)]
    raise TypeError(f"not a tree node: {node!r}")


def alert_leaves(node: TreeConfig) -> dict[str, Matchers]:
    """The `alerts:` leaves under `node`: leaf key -> their matchers."""
    match node:
        case AlertsLeaf():
            return {leaf_key(LeafKind.ALERTS, _alerts_name(node)): node.matchers()}
        case AllNode(all=children) | AnyNode(any=children):
            return {k: v for child in children for k, v in alert_leaves(child).items()}
        case KOfNNode(k_of_n=body):
            return {k: v for child in body.of for k, v in alert_leaves(child).items()}
    return {}


def _alerts_name(leaf: AlertsLeaf) -> str:
    return "{" + ",".join(leaf.alerts) + "}"


# -- the sweep ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """[start, end) in one state; `down`: the keys of the leaves down during it (sorted)."""

    start: float
    end: float
    state: SystemState
    down: tuple[str, ...] = ()


class ServiceTree:
    """A tree flattened for the sweep: node i has `need[i]` of `size[i]` children, `parent[i]`."""

    def __init__(self, root: TreeConfig) -> None:
        self.parent: list[int] = []
        self.need: list[int] = []
        self.size: list[int] = []
        self.leaves: dict[str, list[int]] = {}
        self._add(root, -1)

    def _add(self, node: TreeConfig, parent: int) -> None:
        index = len(self.parent)
        self.parent.append(parent)
        match node:
            case AllNode(all=children):
                self.need.append(len(children))
            case AnyNode(any=children):
                self.need.append(1)
            case KOfNNode(k_of_n=body):
                children = body.of
                self.need.append(body.k)
            case _:
                (kind, name), children = leaves_of(node)[0], ()
                self.need.append(0)
                self.leaves.setdefault(leaf_key(kind, name), []).append(index)
        self.size.append(len(children))
        for child in children:
            self._add(child, index)

    def timeline(self, down: Mapping[str, Sequence[tuple[float, float]]], start: float, end: float) -> list[Segment]:
        """The system's state over [start, end) given each leaf's down intervals (keys as
        `leaf_key`; a leaf not given is up), as consecutive segments; adjacent segments of one
        state and one set of down leaves are merged."""
        events: list[tuple[float, int, str]] = []
        for key, intervals in down.items():
            if key not in self.leaves:
                continue
            for s, e in intervals:
                clipped = (max(s, start), min(e, end))
                if clipped[0] < clipped[1]:
                    events.append((clipped[0], 1, key))
                    events.append((clipped[1], -1, key))
        events.sort()
        sweep = _Sweep(self)
        out: list[Segment] = []
        t = start
        for at, changes in _grouped(events, end):
            if at > t:
                root = sweep.state[0] if sweep.state else SystemState.UP
                if out and out[-1].state is root and not sweep.changed:
                    out[-1] = Segment(out[-1].start, at, root, out[-1].down)
                else:
                    out.append(Segment(t, at, root, tuple(sorted(sweep.down))))
                sweep.changed = False
                t = at
            for step, key in changes:
                sweep.apply(key, step)
        return out


class _Sweep:
    """The sweep's state: per node its state and how many of its children are down or degraded;
    per leaf key how many of its intervals are open; the keys down; whether they changed."""

    def __init__(self, tree: ServiceTree) -> None:
        self.tree = tree
        n = len(tree.parent)
        self.count = dict.fromkeys(tree.leaves, 0)
        self.down: set[str] = set()
        self.downs = [0] * n
        self.degraded = [0] * n
        self.state = [SystemState.UP] * n
        self.changed = False

    def apply(self, key: str, step: int) -> None:
        before = self.count[key] > 0
        self.count[key] += step
        now = self.count[key] > 0
        if now == before:
            return
        self.changed = True
        if now:
            self.down.add(key)
        else:
            self.down.discard(key)
        for leaf in self.tree.leaves[key]:
            self._set(leaf, SystemState.DOWN if now else SystemState.UP)

    def _set(self, node: int, new: SystemState) -> None:
        """Node `node` is now in `new`: update its parents' counts and states up the tree."""
        tree, state, downs, degraded = self.tree, self.state, self.downs, self.degraded
        while node >= 0 and state[node] is not new:
            old, state[node] = state[node], new
            parent = tree.parent[node]
            if parent < 0:
                return
            downs[parent] += (new is SystemState.DOWN) - (old is SystemState.DOWN)
            degraded[parent] += (new is SystemState.DEGRADED) - (old is SystemState.DEGRADED)
            standing = tree.size[parent] - downs[parent]
            if standing < tree.need[parent]:
                new = SystemState.DOWN
            elif standing < tree.size[parent] or degraded[parent]:
                new = SystemState.DEGRADED
            else:
                new = SystemState.UP
            node = parent


def _grouped(events: list[tuple[float, int, str]], end: float) -> Iterator[tuple[float, list[tuple[int, str]]]]:
    """The sorted events by time, then (end, []) to close the last segment."""
    i = 0
    while i < len(events):
        at = events[i][0]
        group = []
        while i < len(events) and events[i][0] == at:
            group.append((events[i][1], events[i][2]))
            i += 1
        yield at, group
    yield end, []
