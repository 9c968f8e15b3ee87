"""Topology-aware suppression: an alert about a node (device or link) that cannot be reached
because every path to it runs through a node that is down is suppressed by the alerts saying so.

No inhibit rule is written by hand: the inventory's `parents` (the same graph the collectors use
for UNREACHABLE, collectors/topology.py) say what is behind what. A node is **down** while a firing
alert of one of the `down_alerts` names it (its `target` or `link` label); a node is **reachable**
when it has no parents, or when at least one parent is reachable and not down. An alert whose node
is not reachable is suppressed by the down alerts of the cut: for each parent, its own down alerts
when it is down, else (recursively) those that cut it. So with a WAN pair cut, the alerts of
every device behind it name the two link alerts; the link alerts themselves (their near end is
reachable) are not suppressed and page once, naming the devices behind them (`Cut.behind`).

    cut = Topology(parents, down_alerts={"DeviceDown", "WanLinkDown"}).cut(firing_alerts)
    cut.suppressed_by(alert.labels)      # () when it is not suppressed
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from alerts.model import Alert
from model import Labels

__all__ = ["DEFAULT_DOWN_ALERTS", "NODE_LABELS", "Cut", "Topology"]

NODE_LABELS = ("target", "link")
"""The labels that name an alert's node, in order: a device's target name, or a link's name."""

DEFAULT_DOWN_ALERTS = frozenset({"DeviceDown", "WanLinkDown"})
"""The shipped rules (config/rules/estate.yaml) that say a node is down."""


def node_of(labels: Labels) -> str:
    """The node an alert is about ("" for none)."""
    for name in NODE_LABELS:
        value = labels.get(name, "")
        if value:
            return value
    return ""


class Topology:
    """The parents graph of the inventory and which alert names mean "this node is down"."""

    def __init__(
        self,
        parents: Mapping[str, Iterable[str]],
        down_alerts: Iterable[str] = DEFAULT_DOWN_ALERTS,
        *,
        devices: Iterable[str] | None = None,
    ) -> None:
        self.parents = {node: tuple(ps) for node, ps in parents.items()}
        self.down_alerts = frozenset(down_alerts)
        self.devices = frozenset(devices) if devices is not None else frozenset(self.parents)
        """The nodes `Cut.behind` names (devices; the links behind them are implied)."""

    def cut(self, firing: Iterable[Alert]) -> Cut:
        """What the firing alerts cut off (computed lazily, per node, once)."""
        down: dict[str, list[Alert]] = {}
        for alert in firing:
            if alert.name in self.down_alerts:
                node = node_of(alert.labels)
                if node:
                    down.setdefault(node, []).append(alert)
        return Cut(self.parents, down, self.devices)


class Cut:
    """The reachability of every node given the down nodes of one moment."""

    def __init__(
        self, parents: Mapping[str, tuple[str, ...]], down: Mapping[str, list[Alert]], devices: frozenset[str]
    ) -> None:
        self._parents = parents
        self._down = down
        self._devices = devices
        self._reachable: dict[str, bool] = {}
        self._causes: dict[str, tuple[Alert, ...]] = {}

    def reachable(self, node: str) -> bool:
        known = self._reachable.get(node)
        if known is not None:
            return known
        self._reachable[node] = True  # a cycle in parents must not recurse forever
        parents = self._parents.get(node, ())
        result = not parents or any(self.reachable(p) and p not in self._down for p in parents)
        self._reachable[node] = result
        return result

    def causes(self, node: str) -> tuple[Alert, ...]:
        """The down alerts that cut `node` off (empty when it is reachable)."""
        known = self._causes.get(node)
        if known is not None:
            return known
        self._causes[node] = ()
        if self.reachable(node):
            return ()
        found: dict[str, Alert] = {}
        for parent in self._parents.get(node, ()):
            behind = self._down.get(parent) or self.causes(parent)
            for alert in behind:
                found.setdefault(alert.fingerprint, alert)
        result = tuple(sorted(found.values(), key=lambda a: a.labels.pairs))
        self._causes[node] = result
        return result

    def suppressed_by(self, labels: Labels) -> tuple[Alert, ...]:
        """The alerts that suppress an alert with `labels` (empty: not suppressed)."""
        node = node_of(labels)
        if not node or node not in self._parents:
            return ()
        return self.causes(node)

    def behind(self, alert: Alert) -> list[str]:
        """The devices `alert` (a down alert) cuts off, sorted: known from the topology as soon as
        the alert fires, before the alerts of those devices do."""
        if not self._down:
            return []
        fp = alert.fingerprint
        return sorted(n for n in self._devices if any(c.fingerprint == fp for c in self.causes(n)))
