"""The route tree and inhibit rules: which receivers an alert goes to, in which aggregation group,
and which firing alert inhibits it. Semantics are Alertmanager 0.25's (dispatch/route.go,
inhibit/inhibit.go).

A `Route` holds its effective settings, inheritance already applied (see
`alerts.alertconfig.AlertingConfig.root_route`), so nothing here looks at a parent. `match_routes`
walks the tree depth-first: a route matches when its matchers do; of its children the first
matching one is taken, and later ones too while the matched child has `continue_`; a route none
of whose children match is itself the match. `group_key` names the aggregation group an alert
joins on a route.

An `InhibitRule` mutes a target alert while a firing source alert has equal values for the
`equal` labels (a label both lack counts as equal). As in Alertmanager, when the target matches
both sides of the rule, sources that also match both sides are not considered, so an alert never
inhibits itself. `Inhibitions` indexes the firing alerts once per evaluation so each lookup costs
one dict probe per rule whose target side matches.

Console extensions: `escalate_after` (seconds) and `escalation` (receiver names) on a route: a
firing alert not acknowledged within `escalate_after` also goes to `escalation[0]`, after another
`escalate_after` to `escalation[1]`, and so on (the pipeline does this; the route only carries it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from alerts.matchers import Matchers, format_matchers, quote
from model import Labels

__all__ = [
    "GROUP_BY_ALL",
    "InhibitRule",
    "Inhibitions",
    "Route",
    "group_key",
    "inhibitor",
    "match_routes",
    "walk",
]

GROUP_BY_ALL = "..."
"""The `group_by` entry that groups by every label (Alertmanager's `group_by: ['...']`)."""


@dataclass(frozen=True, slots=True)
class Route:
    """One node of the route tree with its effective settings (durations in seconds).

    `key` is Alertmanager's route ID: the parent's key, `/`, this route's sorted matchers and `/`
    and the index among its siblings (`{}/{severity="page"}/0`); the root's is `{}`."""

    receiver: str
    key: str = "{}"
    group_by: tuple[str, ...] = ()
    group_wait: float = 30.0
    group_interval: float = 300.0
    repeat_interval: float = 4 * 3600.0
    matchers: Matchers = ()
    continue_: bool = False
    routes: tuple[Route, ...] = ()
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    escalate_after: float | None = None
    escalation: tuple[str, ...] = ()

    @property
    def group_by_all(self) -> bool:
        """Whether alerts are grouped by all their labels (`group_by: ['...']`)."""
        return self.group_by == (GROUP_BY_ALL,)

    def escalation_receiver(self, unacknowledged_for: float) -> str | None:
        """The escalation receiver due after an alert has fired unacknowledged for that many
        seconds: None before `escalate_after`, then `escalation[0]`, ... (the last one stays)."""
        if self.escalate_after is None or not self.escalation or unacknowledged_for < self.escalate_after:
            return None
        step = int(unacknowledged_for // self.escalate_after) - 1
        return self.escalation[min(step, len(self.escalation) - 1)]


def match_routes(root: Route, labels: Mapping[str, str]) -> list[Route]:
    """The routes an alert with `labels` goes to, in tree order (never empty for the root, which has
    no matchers)."""
    values = dict(labels.pairs) if isinstance(labels, Labels) else labels
    return _match(root, values) or []


def _match(route: Route, values: Mapping[str, str]) -> list[Route] | None:
    for matcher in route.matchers:
        if not matcher.matches(values):
            return None
    found: list[Route] = []
    for child in route.routes:
        matched = _match(child, values)
        if matched:
            found.extend(matched)
            if not child.continue_:
                break
    return found or [route]


def walk(root: Route) -> Iterable[Route]:
    """Every route of the tree, depth-first, parents before children."""
    yield root
    for child in root.routes:
        yield from walk(child)


def group_key(route: Route, labels: Labels) -> tuple[str, Labels]:
    """The aggregation group of an alert on `route`: the key (`{route key}:{group labels}`, as
    Alertmanager writes it: `{}/{team="db"}/0:{alertname="DiskFull", site="dc-east"}`) and the
    group labels (the alert's labels named in `group_by` it has; all of them with `...`)."""
    if route.group_by_all:
        grouped = labels
    else:
        grouped = Labels.from_pairs(tuple(pair for pair in labels.pairs if pair[0] in route.group_by))
    rendered = ", ".join(f"{name}={quote(value)}" for name, value in grouped.pairs)
    return f"{route.key}:{{{rendered}}}", grouped


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """`inhibit_rules` entry: alerts matching `target_matchers` are muted while an alert matching
    `source_matchers` fires with the same values of the `equal` labels."""

    source_matchers: Matchers
    target_matchers: Matchers
    equal: tuple[str, ...] = ()

    def inhibits(self, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
        """Whether `source` (a firing alert's labels) inhibits `target` under this rule."""
        if not _all(self.target_matchers, target) or not _all(self.source_matchers, source):
            return False
        if any(source.get(name, "") != target.get(name, "") for name in self.equal):
            return False
        return not (_all(self.source_matchers, target) and _all(self.target_matchers, source))

    def __str__(self) -> str:
        equal = ",".join(self.equal)
        return f"{format_matchers(self.source_matchers)} inhibits {format_matchers(self.target_matchers)} [{equal}]"


def _all(matchers: Matchers, labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


def inhibitor(rules: Iterable[InhibitRule], target: Labels, firing: Iterable[Labels]) -> Labels | None:
    """The first firing alert (by rule, then in `firing` order) that inhibits `target`, or None.
    One pass over `firing` per rule whose target side matches: for many targets against the same
    firing alerts use `Inhibitions`."""
    target_values = dict(target.pairs)
    sources = [(labels, dict(labels.pairs)) for labels in firing]
    for rule in rules:
        if not _all(rule.target_matchers, target_values):
            continue
        for labels, values in sources:
            if rule.inhibits(values, target_values):
                return labels
    return None


class Inhibitions:
    """The inhibit rules applied to one set of firing alerts, indexed for many lookups.

    Building costs one pass over `firing` per rule; `inhibitor(target)` then costs, per rule whose
    target side matches, one dict probe on the `equal` values and a scan of the sources sharing
    them (only sources matching both sides of the rule are skipped there)."""

    __slots__ = ("_index",)

    def __init__(self, rules: Iterable[InhibitRule], firing: Iterable[Labels]) -> None:
        alerts = [(labels, dict(labels.pairs)) for labels in firing]
        index: list[tuple[InhibitRule, dict[tuple[str, ...], list[tuple[Labels, dict[str, str]]]]]] = []
        for rule in rules:
            buckets: dict[tuple[str, ...], list[tuple[Labels, dict[str, str]]]] = {}
            for labels, values in alerts:
                if _all(rule.source_matchers, values):
                    key = tuple(values.get(name, "") for name in rule.equal)
                    buckets.setdefault(key, []).append((labels, values))
            index.append((rule, buckets))
        self._index = index

    def inhibitor(self, target: Labels) -> Labels | None:
        """The first firing alert that inhibits `target` (as the function `inhibitor`), or None."""
        values = dict(target.pairs)
        for rule, buckets in self._index:
            if not buckets or not _all(rule.target_matchers, values):
                continue
            candidates = buckets.get(tuple(values.get(name, "") for name in rule.equal))
            if not candidates:
                continue
            two_sided = _all(rule.source_matchers, values)
            for labels, source in candidates:
                if not (two_sided and _all(rule.target_matchers, source)):
                    return labels
        return None
