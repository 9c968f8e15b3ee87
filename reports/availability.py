"""Availability of a business system over a period: its outages and figures (issue 8).

`compute(sla, inventory, history, maintenance, reclassified, start, end, now)` reads the recorded
state of the system's leaves (reports/history.py), builds its state over [start, end) with its
service tree (reports/service.py) twice, as it was (`actual`) and with every leaf's downtime inside
a maintenance window that covers it taken out (`counted`), and measures both against the service
hours (reports/calendars.py):

- an **outage** is a run of `actual` down time, merged across changes of which leaves are down. Its
  `in_service` seconds are those inside service hours; `excluded` those of them maintenance covers
  (or all of them when an administrator reclassified it: planned, external cause, with a reason);
  `counted` the rest. Its cause is the first alert that fired for a leaf down when it began; a
  device down only because it was unreachable is replaced by the failure that cut it off (its
  nearest parent, device or link, down at that time), so a cut counts once, with its real cause.
- the **figures** of a window (the period, or each month of it): service seconds (what the console
  watched of the service hours, up to `now`), downtime (counted), degraded seconds (redundancy lost,
  service up), availability = 1 - downtime / service, incidents (outages with counted time in the
  window), MTTR (their mean duration), MTBF ((service - downtime) / incidents), the longest,
  whether the SLA target is met, the error budget ((1 - target) x the service seconds of the
  whole window), what is left of it and the burn rate (budget spent / share of the window's service
  time elapsed: 1.0 spends exactly the budget by the window's end).

Times are Unix seconds; `now` is passed in. Nothing here reads the clock or the database directly
except through the `history` given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from alerts.maintenance import MaintenanceWindow
from model import Inventory, Labels
from reports.calendars import service_intervals
from reports.config import SystemSla
from reports.history import AlertSpan, HistoryDB, LeafSpan, Reclassification
from reports.intervals import Spans, clip, intersect, length, merged, subtract
from reports.service import LeafKind, Segment, ServiceTree, SystemState, alert_leaves, leaves_of

__all__ = ["CAUSE_WINDOW", "Estate", "Figures", "Outage", "Recorded", "SystemReport", "compute", "figures"]

CAUSE_WINDOW = 900.0
"""How long after an outage begins an alert still counts as its cause (rules' `for` delays)."""


@dataclass(frozen=True, slots=True)
class Outage:
    start: float
    end: float
    in_service: float
    """Seconds inside service hours."""
    excluded: float
    """Seconds of `in_service` excluded: covered by maintenance, or all of them when reclassified."""
    counted: float
    leaves: tuple[str, ...]
    """The leaves down when it began (keys as reports/service.py `leaf_key`)."""
    cause: str
    cause_ja: str
    cause_labels: Labels = field(default_factory=Labels)
    maintenance: tuple[str, ...] = ()
    """The maintenance windows that covered part of it."""
    reclassified: Reclassification | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Figures:
    start: float
    end: float
    service: float
    """Watched service seconds in the window up to `now`."""
    planned_service: float
    """Service seconds of the whole window (the error budget's base)."""
    downtime: float
    degraded: float
    excluded: float
    unwatched: float
    """Service seconds nothing was recorded in (the console was not running)."""
    availability: float | None
    incidents: int
    mttr: float | None
    mtbf: float | None
    longest: float
    target: float
    met: bool | None
    budget: float
    budget_left: float
    burn_rate: float | None


@dataclass(frozen=True, slots=True)
class SystemReport:
    sla: SystemSla
    start: float
    end: float
    outages: tuple[Outage, ...]
    service: Spans
    """Watched service time (merged), up to `now`."""
    down: Spans
    """Counted down time inside service hours."""
    degraded: Spans
    excluded: Spans
    unwatched: Spans
    planned: Spans
    """All service time of [start, end), watched or not, elapsed or not."""

    def figures(self, start: float | None = None, end: float | None = None) -> Figures:
        return figures(self, self.start if start is None else start, self.end if end is None else end)


@dataclass(frozen=True, slots=True)
class Recorded:
    """The history of [start, end), read once for every system of a report: leaf spans by key,
    alert spans by the node they name (`target` or `link` label), the unwatched gaps."""

    start: float
    end: float
    spans: Mapping[str, list[LeafSpan]]
    alerts: Sequence[AlertSpan]
    by_node: Mapping[str, list[AlertSpan]]
    gaps: Spans

    @classmethod
    def read(cls, history: HistoryDB, start: float, end: float, now: float) -> Recorded:
        spans: dict[str, list[LeafSpan]] = {}
        for span in history.leaf_spans(start, end):
            spans.setdefault(span.key, []).append(span)
        alerts = history.alert_spans(start - CAUSE_WINDOW, end)
        by_node: dict[str, list[AlertSpan]] = {}
        for a in alerts:
            node = a.labels.get("target") or a.labels.get("link")
            if node:
                by_node.setdefault(node, []).append(a)
        return cls(start, end, spans, alerts, by_node, merged(history.gaps(start, min(end, now))))


class Estate:
    """The inventory as the computation looks it up: each leaf's labels, each node's parents."""

    def __init__(self, inventory: Inventory) -> None:
        self.devices = {d.name: d for d in inventory.devices}
        self.links = {link.name for link in inventory.links}
        self.parents = {d.name: d.parents for d in inventory.devices} | {
            link.name: link.parents for link in inventory.links
        }

    def labels(self, kind: LeafKind, name: str) -> Labels:
        if kind is LeafKind.LINK:
            return Labels(link=name)
        device_name, _, collector = name.partition("/") if kind is LeafKind.PROBE else (name, "", "")
        device = self.devices.get(device_name)
        base = {"target": device_name, "collector": collector}
        if device is not None:
            base |= {"site": device.site, "system": device.system, "role": device.role}
        return Labels(base)


def compute(
    sla: SystemSla,
    inventory: Inventory | Estate,
    history: HistoryDB | Recorded,
    windows: Sequence[MaintenanceWindow],
    reclassified: Sequence[Reclassification],
    start: float,
    end: float,
    now: float,
) -> SystemReport:
    """The system's outages over [start, end) and what is needed for the figures of any window in
    it. `inventory` and `history` may be prepared once for many systems (`Estate`, `Recorded.read`)."""
    recorded = history if isinstance(history, Recorded) else Recorded.read(history, start, end, now)
    estate = inventory if isinstance(inventory, Estate) else Estate(inventory)
    tree = ServiceTree(sla.tree)
    wanted = {f"{kind.value}:{name}": (kind, name) for kind, name in leaves_of(sla.tree)}
    actual: dict[str, Spans] = {
        key: merged((s.start, s.end) for s in recorded.spans[key] if s.end is not None)
        for key in wanted
        if key in recorded.spans
    }
    for key, leaf in alert_leaves(sla.tree).items():
        actual[key] = merged(
            (a.start, a.end) for a in recorded.alerts if a.end is not None and all(m.matches(a.labels) for m in leaf)
        )
    covering: dict[str, Spans] = {}
    counted_down: dict[str, Spans] = {}
    for key, down in actual.items():
        covered = _maintenance(windows, estate.labels(*wanted[key]), start, end) if windows else []
        covering[key] = covered
        counted_down[key] = subtract(down, covered) if covered else down
    actual_line = tree.timeline(actual, start, end)
    counted_line = tree.timeline(counted_down, start, end)
    planned = merged(service_intervals(sla.service_hours, start, end))
    service = subtract(clip(planned, start, min(end, now)), recorded.gaps)
    counted_down_spans = intersect(_spans(counted_line, SystemState.DOWN), service)
    degraded = intersect(_spans(counted_line, SystemState.DEGRADED), service)
    outages = []
    down_after_reclass: Spans = []
    excluded_all: Spans = []
    for run_start, run_end, leaves, every in _runs(actual_line):
        run = [(run_start, run_end)]
        in_service = intersect(run, service)
        counted = intersect(counted_down_spans, run)
        change = next((r for r in reversed(reclassified) if run_start <= r.at_time < run_end), None)
        names = _windows_over(every, run, windows, covering, wanted, estate)
        if change is not None:
            counted = []
        excluded = subtract(in_service, counted)
        down_after_reclass += counted
        excluded_all += excluded
        cause, cause_ja, labels = _cause(leaves, run_start, recorded, estate)
        outages.append(
            Outage(
                run_start,
                run_end,
                length(in_service),
                length(excluded),
                length(counted),
                leaves,
                cause,
                cause_ja,
                labels,
                names,
                change,
            )
        )
    return SystemReport(
        sla,
        start,
        end,
        tuple(outages),
        service,
        merged(down_after_reclass),
        degraded,
        merged(excluded_all),
        intersect(recorded.gaps, planned),
        planned,
    )


def figures(report: SystemReport, start: float, end: float) -> Figures:
    """The figures of [start, end), a window inside the report's period."""
    service = length(clip(report.service, start, end))
    planned = length(clip(report.planned, start, end))
    downtime = length(clip(report.down, start, end))
    incidents = [o for o in report.outages if length(clip(report.down, max(o.start, start), min(o.end, end))) > 0]
    target = round(report.sla.target / 100, 10)  # 99.9 / 100 is 0.9990000000000001
    budget = (1 - target) * planned
    elapsed_share = service / planned if planned else 0.0
    availability = 1 - downtime / service if service else None
    return Figures(
        start=start,
        end=end,
        service=service,
        planned_service=planned,
        downtime=downtime,
        degraded=length(clip(report.degraded, start, end)),
        excluded=length(clip(report.excluded, start, end)),
        unwatched=length(clip(report.unwatched, start, end)),
        availability=availability,
        incidents=len(incidents),
        mttr=sum(o.duration for o in incidents) / len(incidents) if incidents else None,
        mtbf=(service - downtime) / len(incidents) if incidents else None,
        longest=max((o.duration for o in incidents), default=0.0),
        target=target,
        met=None if availability is None else availability >= target,
        budget=budget,
        budget_left=budget - downtime,
        burn_rate=(downtime / budget) / elapsed_share if budget and elapsed_share else None,
    )


# -- helpers --------------------------------------------------------------------------------------


def _runs(line: Sequence[Segment]) -> Iterable[tuple[float, float, tuple[str, ...], tuple[str, ...]]]:
    """Maximal runs of DOWN segments: (start, end, the leaves down at the start, all leaves down in it)."""
    run: list[Segment] = []
    for segment in [*line, None]:
        if segment is not None and segment.state is SystemState.DOWN and (not run or run[-1].end == segment.start):
            run.append(segment)
            continue
        if run:
            yield run[0].start, run[-1].end, run[0].down, tuple(sorted({k for s in run for k in s.down}))
            run = []
        if segment is not None and segment.state is SystemState.DOWN:
            run.append(segment)


def _spans(line: Sequence[Segment], state: SystemState) -> Spans:
    return merged((s.start, s.end) for s in line if s.state is state)


def _windows_over(
    leaves: Sequence[str],
    run: Spans,
    windows: Sequence[MaintenanceWindow],
    covering: Mapping[str, Spans],
    wanted: Mapping[str, tuple[LeafKind, str]],
    estate: Estate,
) -> tuple[str, ...]:
    """The names of the windows that covered a leaf down in `run` during it."""
    names = {
        w.name
        for key in leaves
        if key in wanted and intersect(covering.get(key, []), run)
        for w in windows
        if all(m.matches(estate.labels(*wanted[key])) for m in w.matchers) and w.occurrences(*run[0])
    }
    return tuple(sorted(names))


def _maintenance(windows: Sequence[MaintenanceWindow], labels: Labels, start: float, end: float) -> Spans:
    return merged(p for w in windows if all(m.matches(labels) for m in w.matchers) for p in w.occurrences(start, end))


def _cause(leaves: Sequence[str], at: float, recorded: Recorded, estate: Estate) -> tuple[str, str, Labels]:
    """The first alert that fired for what went down at `at` (a device unreachable replaced by its
    nearest parent down then), else words for the first such node."""
    nodes = [_culprit(key, at, recorded.spans, estate) for key in leaves]
    for _, name in nodes:
        found = [
            a
            for a in recorded.by_node.get(name.partition("/")[0], ())
            if at - CAUSE_WINDOW <= a.start <= at + CAUSE_WINDOW
        ]
        found.sort(key=lambda a: (a.labels.get("severity") != "critical", a.start))
        if found:
            a = found[0]
            summary = a.annotations.get("summary") or a.labels.get("alertname", "")
            return summary, a.annotations.get("summary_ja") or summary, a.labels
    if not nodes:
        return "", "", Labels()
    kind, name = nodes[0]
    words = {"device": ("Device {} down", "機器停止: {}"), "link": ("Link {} down", "回線停止: {}")}
    en, ja = words.get(kind, ("{} failing", "監視失敗: {}"))
    return en.format(name), ja.format(name), Labels()


def _culprit(key: str, at: float, spans: Mapping[str, list[LeafSpan]], estate: Estate) -> tuple[str, str]:
    """(kind, name) of what really failed for leaf `key` at `at`: the leaf itself, or for a device
    unreachable then, its nearest parent (device or link) down then, walking up the parents."""
    kind, _, name = key.partition(":")
    seen = {name}
    while kind == "device" and _state_at(spans.get(key, []), at) == "unreachable":
        for parent in estate.parents.get(name, ()):
            if parent in seen:
                continue
            seen.add(parent)
            parent_key = f"{'link' if parent in estate.links else 'device'}:{parent}"
            if _state_at(spans.get(parent_key, []), at) is not None:
                kind, name, key = parent_key.partition(":")[0], parent, parent_key
                break
        else:
            break
    return kind, name


def _state_at(spans: Sequence[LeafSpan], at: float) -> str | None:
    for span in spans:
        if span.start <= at and (span.end is None or at < span.end):
            return span.state
    return None
