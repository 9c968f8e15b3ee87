"""Reachability by topology: is a failing device down, or is every path to it down?

Devices and links name their `parents`: what the console reaches them through (a regional office
through its WAN link, a server through its switch, a link through its near-end router). A node with
no parents is reached directly. A node is **reachable** when it has no parents, or when at least one
parent is reachable and up; so a device behind a redundant pair stays reachable while one of the
pair is up.

What "up" means here:
- a device is up unless every target of it that has run failed its latest run (one answering
  collector — a ping — is enough: the host is there even if its SNMP agent is not);
- a link is up unless an end device reported its interface down (`interface_oper_up 0` with the
  link's `link` label) in that device's latest successful run. No report is not a down.

A failing target whose device is not reachable is UNREACHABLE, not DOWN. `Reachability` is fed every
run on the scheduler's loop (`observe`) and answers `state()` and `why_unreachable()`; it is not
thread-safe and needs no lock there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from model import Device, Link, Sample, Target, TargetState

__all__ = ["Reachability"]

OPER_UP = "interface_oper_up"


class Reachability:
    """The topology of `devices` and `links`, and what the latest runs said about each node."""

    def __init__(self, devices: Iterable[Device], links: Iterable[Link] = ()) -> None:
        self._parents: dict[str, tuple[str, ...]] = {}
        for device in devices:
            self._parents.setdefault(device.name, device.parents)
        self._links = {link.name for link in links}
        for link in links:
            self._parents.setdefault(link.name, link.parents)
        self._target_up: dict[str, dict[str, bool]] = {}
        """device -> {target key: up in its latest run}."""
        self._link_reports: dict[str, dict[str, bool]] = {}
        """link -> {target key: every interface of the link on that target's device was oper up}."""
        self._reported_by: dict[str, set[str]] = {}
        """target key -> the links it reported in its latest successful run."""
        self._reachable: dict[str, bool] = {}
        """Cache of `reachable()`, cleared whenever an observation changes a node's up/down."""

    # -- feeding -----------------------------------------------------------------------------------

    def observe(self, target: Target, up: bool, samples: Sequence[Sample]) -> bool:
        """Record one run of `target`. True when it changed whether some node is up (so the
        reachability of others may have changed)."""
        device = target.device.name
        was_up = self.node_up(device)
        self._target_up.setdefault(device, {})[target.key] = up
        changed = self.node_up(device) != was_up
        reports = {link: ok for link, ok in _link_reports(samples).items() if link in self._links} if up else {}
        touched = self._reported_by.pop(target.key, set()) | reports.keys()
        if reports:
            self._reported_by[target.key] = set(reports)
        for link in touched:  # only the links this target reported, now or before: not every link
            by_target = self._link_reports.get(link)
            before = None if by_target is None else by_target.get(target.key)
            after = reports.get(link)
            if before == after:
                continue
            link_was_up = self.node_up(link)
            if after is None:
                del self._link_reports[link][target.key]
            else:
                self._link_reports.setdefault(link, {})[target.key] = after
            changed = changed or self.node_up(link) != link_was_up
        if changed:
            self._reachable.clear()
        return changed

    # -- reading -----------------------------------------------------------------------------------

    def node_up(self, name: str) -> bool:
        """A link is up unless an end reported it down; a device unless every target that ran failed."""
        if name in self._links:
            return all(self._link_reports.get(name, {}).values())
        runs = self._target_up.get(name)
        return not runs or any(runs.values())

    def reachable(self, name: str) -> bool:
        """True when `name` has no parents, or a parent is reachable and up. Unknown names (and
        parent cycles, which the config refuses) count as reachable."""
        cached = self._reachable.get(name)
        if cached is not None:
            return cached
        result = self._walk(name)
        self._reachable[name] = result
        return result

    def _walk(self, name: str) -> bool:
        # Iterative depth-first evaluation (chains of offices behind routers behind links can be
        # long): a node is decided once all its parents are; a parent on the current path (a cycle,
        # which the config refuses) counts as reachable.
        stack = [(name, iter(self._parents.get(name, ())))]
        on_path = {name}
        while stack:
            node, parents = stack[-1]
            parent = next(parents, None)
            if parent is not None:
                if parent not in self._reachable and parent not in on_path:
                    on_path.add(parent)
                    stack.append((parent, iter(self._parents.get(parent, ()))))
                continue
            stack.pop()
            on_path.discard(node)
            direct = self._parents.get(node, ())
            self._reachable[node] = not direct or any(
                self._reachable.get(each, True) and self.node_up(each) for each in direct
            )
        return self._reachable[name]

    def state(self, device: str, up: bool | None) -> TargetState:
        """The recorded state of a target of `device` whose latest run gave `up` (None: not run)."""
        if up is None:
            return TargetState.UNKNOWN
        if up:
            return TargetState.UP
        return TargetState.DOWN if self.reachable(device) else TargetState.UNREACHABLE

    def why_unreachable(self, device: str) -> str:
        """`no path to rtr-west-01: east-west-1 is down, east-west-2 is down` (each parent's reason)."""
        reasons = []
        for parent in self._parents.get(device, ()):
            if not self.reachable(parent):
                reasons.append(f"{parent} is unreachable")
            elif not self.node_up(parent):
                reasons.append(f"{parent} is down")
        return f"no path to {device}: {', '.join(reasons)}"


def _link_reports(samples: Sequence[Sample]) -> dict[str, bool]:
    """{link: all of its interfaces in `samples` are oper up} from `interface_oper_up{link=...}`."""
    reports: dict[str, bool] = {}
    for sample in samples:
        if sample.name != OPER_UP:
            continue
        link = sample.labels.get("link")
        if link:
            reports[link] = reports.get(link, True) and sample.value == 1.0
    return reports
