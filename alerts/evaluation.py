"""Rule evaluation: one group at one time -> alerts (Prometheus' state machine), recorded samples,
and the ALERTS / ALERTS_FOR_STATE series.

The state machine is Prometheus' rules/alerting.go, per alert (one per output series, keyed by the
fingerprint of its labels):

- a new series makes a PENDING alert (`active_at = t`); at the first evaluation where
  `t - active_at >= for` it becomes FIRING (`fired_at = t`); `for: 0` fires at once;
- a PENDING alert whose series is gone is dropped (no notification: it never fired);
- a FIRING alert whose series is gone keeps firing while it has been gone less than
  `keep_firing_for` (counted from `keep_firing_since`, the first evaluation without it); then it is
  resolved (`state = INACTIVE`, `resolved_at = t`) and still handed out for RESOLVED_RETENTION
  (15 min) so the pipeline re-sends the resolution; after that it is forgotten;
- a series that comes back for a resolved alert starts a new PENDING alert.

A failed evaluation (QueryError, duplicate output label sets, a `limit` exceeded) leaves every
alert of that rule exactly as it was: nothing resolves, nothing new becomes pending (Prometheus
empties the rule on a `limit` error; we keep it, as a failure must never look like recovery). It
counts `rule_evaluation_failures_total{rule_group}` and raises a synthetic firing alert
`RuleEvaluationFailing{rule_group, rule, severity="critical", scope="console"}` carrying the error
text, resolved (and retained like any alert) at the rule's next successful evaluation. The rule's
ALERTS series go on being written with their unchanged state (Prometheus writes none for a failed
rule, so they end after the lookback delta).

State is saved per group after each evaluation through a `StateStore` (alerts/statedb.py) and
restored at a group's first evaluation: a restored pending alert keeps its `active_at`, so `for`
continues exactly where it was (Prometheus instead restores from ALERTS_FOR_STATE with a
`for_grace_period`); firing, keep-firing and resolved-retained alerts continue as they were.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter

from alerts import templates
from alerts.model import RESOLVED_RETENTION, Alert, AlertState, fingerprint
from alerts.rules import AlertingRule, RecordingRule, Rule, RuleGroup
from model import Clock, Labels, Sample
from store.query.result import InstantSample, QueryError, QueryResult
from store.query.values import STALE_NAN

__all__ = [
    "EVALUATION_FAILING",
    "AlertEntry",
    "GroupResult",
    "QueryEngineLike",
    "RuleEvaluator",
    "SampleSink",
    "StateStore",
    "advance",
    "rule_keys",
]

log = logging.getLogger(__name__)

EVALUATION_FAILING = "RuleEvaluationFailing"
"""The alert name of the synthetic alert a failing rule raises."""


class QueryEngineLike(Protocol):
    def instant(self, expr: str, at: float) -> QueryResult: ...


class SampleSink(Protocol):
    """Where recorded and ALERTS samples go (the Store)."""

    def append(self, samples: Sequence[Sample]) -> None: ...

    def flush(self, timeout: float = 30.0) -> bool: ...


@dataclass(slots=True)
class AlertEntry:
    """The mutable state of one alert, as persisted. `state` is INACTIVE once resolved.
    `keep_firing_since`: the first evaluation at which a firing alert's series was missing."""

    labels: Labels
    annotations: Labels
    state: AlertState
    active_at: float
    value: float
    fired_at: float | None = None
    resolved_at: float | None = None
    keep_firing_since: float | None = None
    last_evaluated: float | None = None

    def to_alert(self) -> Alert:
        return Alert(
            labels=self.labels,
            annotations=self.annotations,
            state=self.state,
            active_at=self.active_at,
            value=self.value,
            fired_at=self.fired_at,
            resolved_at=self.resolved_at,
            last_evaluated=self.last_evaluated,
        )


class StateStore(Protocol):
    """Persistence of alert state per group: `{rule key: [entries]}` (alerts/statedb.py)."""

    def load(self, group_key: str) -> dict[str, list[AlertEntry]]: ...

    def save(self, group_key: str, states: Mapping[str, Sequence[AlertEntry]]) -> None: ...


@dataclass(frozen=True, slots=True)
class GroupResult:
    """One evaluation of a group: its current alerts (active and recently resolved, failing-rule
    alerts included, sorted by labels), the samples written (recorded, ALERTS, ALERTS_FOR_STATE,
    stale markers) and one error text per failed rule (`<rule name>: <error>`)."""

    alerts: tuple[Alert, ...]
    samples: tuple[Sample, ...]
    errors: tuple[str, ...] = ()

    @property
    def error(self) -> str | None:
        return self.errors[0] if self.errors else None


def advance(
    active: dict[str, AlertEntry], found: Mapping[str, AlertEntry], t: float, for_: float, keep_firing_for: float
) -> int:
    """Step one rule's alerts to time `t` given the alerts its expression produced now (`found`,
    fresh PENDING entries with `active_at = t`). Mutates `active`; returns the number of active
    (pending or firing) alerts. This is rules/alerting.go's Eval after the query."""
    for fp, fresh in found.items():
        current = active.get(fp)
        if current is not None and current.state is not AlertState.INACTIVE:
            current.value, current.annotations, current.labels = fresh.value, fresh.annotations, fresh.labels
        else:
            active[fp] = fresh
    count = 0
    for fp, entry in list(active.items()):
        entry.last_evaluated = t
        if fp not in found:
            keep_firing = False
            if entry.state is AlertState.FIRING and keep_firing_for > 0:
                if entry.keep_firing_since is None:
                    entry.keep_firing_since = t
                keep_firing = t - entry.keep_firing_since < keep_firing_for
            if entry.state is AlertState.PENDING or (
                entry.resolved_at is not None and t - entry.resolved_at > RESOLVED_RETENTION
            ):
                del active[fp]
            if entry.state is not AlertState.INACTIVE and not keep_firing:
                entry.state = AlertState.INACTIVE
                entry.resolved_at = t
            if not keep_firing:
                continue
        else:
            entry.keep_firing_since = None
        count += 1
        if entry.state is AlertState.PENDING and t - entry.active_at >= for_:
            entry.state = AlertState.FIRING
            entry.fired_at = t
    return count


def rule_keys(group: RuleGroup) -> list[str]:
    """A key per rule that survives reordering and expression edits: kind, name, and the how-many-th
    rule of that name in the group (state is matched to rules by it after a restart)."""
    seen: dict[str, int] = {}
    keys = []
    for rule in group.rules:
        base = f"{'alert' if isinstance(rule, AlertingRule) else 'record'}:{rule.name}"
        keys.append(f"{base}#{seen.get(base, 0)}")
        seen[base] = seen.get(base, 0) + 1
    return keys


_FAILING = "!failing"
"""Suffix of the state key that holds a rule's RuleEvaluationFailing alert."""


class _RuleFailed(Exception):
    pass


class RuleEvaluator:
    """Evaluates groups through the query engine and keeps their alert state (restored from
    `state_store` at each group's first evaluation, saved after every evaluation).

    Metrics in `registry`: rule_evaluations_total{rule_group}, rule_evaluation_failures_total{rule_group}
    (`rule_group` is the group's key, `file;name`, as in Prometheus)."""

    def __init__(
        self,
        *,
        engine: QueryEngineLike,
        store: SampleSink,
        clock: Clock,
        registry: CollectorRegistry,
        state_store: StateStore | None = None,
        external_labels: Mapping[str, str] | None = None,
        external_url: str = "",
    ) -> None:
        self._engine = engine
        self._store = store
        self._clock = clock
        self._state_store = state_store
        self._external_labels = dict(external_labels or {})
        self._external_url = external_url
        self._groups: dict[str, dict[str, dict[str, AlertEntry]]] = {}
        self._written: dict[str, set[tuple[str, Labels]]] = {}
        self._evaluations = Counter("rule_evaluations_total", "Rule evaluations.", ["rule_group"], registry=registry)
        self._failures = Counter(
            "rule_evaluation_failures_total", "Rule evaluations that failed.", ["rule_group"], registry=registry
        )

    @property
    def clock(self) -> Clock:
        return self._clock

    def alerts(self, group: RuleGroup) -> list[Alert]:
        """The group's current alerts (active and retained resolved), sorted by labels."""
        states = self._groups.get(group.key, {})
        entries = [entry for per_rule in states.values() for entry in per_rule.values()]
        return [entry.to_alert() for entry in sorted(entries, key=lambda e: e.labels.pairs)]

    def evaluate_group(self, group: RuleGroup, t: float) -> GroupResult:
        """Evaluate every rule of `group` at `t` (seconds), in order; recorded samples are written
        (and flushed) before the next rule runs, so later rules see them."""
        states = self._restore(group)
        keys = rule_keys(group)
        samples: list[Sample] = []
        errors: list[str] = []
        for key, rule in zip(keys, group.rules, strict=True):
            self._evaluations.labels(group.key).inc()
            failing = states.setdefault(key + _FAILING, {})
            try:
                if isinstance(rule, AlertingRule):
                    samples.extend(self._alerting(rule, states.setdefault(key, {}), t, group.limit))
                else:
                    recorded = self._recording(rule, t, group.limit)
                    self._store.append(recorded)
                    if rule is not group.rules[-1]:
                        self._store.flush()
                    samples.extend(recorded)
                advance(failing, {}, t, 0.0, 0.0)
            except (QueryError, _RuleFailed) as exc:
                log.warning("rule %s of group %s failed: %s", rule.name, group.key, exc)
                errors.append(f"{rule.name}: {exc}")
                self._failures.labels(group.key).inc()
                entry = self._failing_alert(group, rule, str(exc), t)
                advance(failing, {fingerprint(entry.labels): entry}, t, 0.0, 0.0)
                # The rule's alerts are as they were: their ALERTS series go on (no stale marker).
                samples.extend(_series_samples(states.get(key, {}).values(), t))
            samples.extend(_series_samples(failing.values(), t))
        for key in [k for k in states if k.split(_FAILING)[0] not in keys]:
            del states[key]  # rules that are no longer in the group
        series = [s for s in samples if s.name in ("ALERTS", "ALERTS_FOR_STATE")]
        stale = self._stale_markers(group.key, series, t)
        self._store.append(series + stale)
        if self._state_store is not None:
            self._state_store.save(group.key, {k: list(v.values()) for k, v in states.items() if v})
        return GroupResult(tuple(self.alerts(group)), tuple(samples + stale), tuple(errors))

    def _restore(self, group: RuleGroup) -> dict[str, dict[str, AlertEntry]]:
        states = self._groups.get(group.key)
        if states is None:
            loaded = self._state_store.load(group.key) if self._state_store is not None else {}
            states = {key: {fingerprint(e.labels): e for e in entries} for key, entries in loaded.items()}
            self._groups[group.key] = states
        return states

    def _vector(self, expr: str, t: float) -> tuple[InstantSample, ...]:
        result = self._engine.instant(expr, t)
        if result.result_type == "vector":
            return result.vector
        if result.result_type == "scalar" and result.scalar is not None:
            return (InstantSample(Labels(), t, result.scalar[1]),)
        raise _RuleFailed(f"rule result is not a vector or scalar (got {result.result_type})")

    def _alerting(self, rule: AlertingRule, active: dict[str, AlertEntry], t: float, limit: int) -> list[Sample]:
        found: dict[str, AlertEntry] = {}
        for sample in self._vector(rule.expr, t):
            data = templates.TemplateData(sample.labels, sample.value, self._external_labels, self._external_url)
            name = f"__alert_{rule.name}"
            extra = {k: templates.expand(v, data, name) for k, v in rule.labels.items()}
            labels = sample.labels.without("__name__").merge(extra).merge({"alertname": rule.name})
            annotations = Labels({k: templates.expand(v, data, name) for k, v in rule.annotations.items()})
            fp = fingerprint(labels)
            if fp in found:
                raise _RuleFailed("vector contains metrics with the same labelset after applying alert labels")
            found[fp] = AlertEntry(labels, annotations, AlertState.PENDING, active_at=t, value=sample.value)
        before = {fp: dataclasses.replace(entry) for fp, entry in active.items()}
        count = advance(active, found, t, rule.for_, rule.keep_firing_for)
        if limit and count > limit:
            active.clear()
            active.update(before)
            raise _RuleFailed(f"exceeded limit of {limit} with {count} alerts")
        return _series_samples(active.values(), t)

    def _recording(self, rule: RecordingRule, t: float, limit: int) -> list[Sample]:
        out: list[Sample] = []
        seen: set[Labels] = set()
        for sample in self._vector(rule.expr, t):
            labels = sample.labels.without("__name__").merge(rule.labels)
            if labels in seen:
                raise _RuleFailed("vector contains metrics with the same labelset after applying rule labels")
            seen.add(labels)
            out.append(Sample(rule.name, labels, sample.value, t))
        if limit and len(out) > limit:
            raise _RuleFailed(f"exceeded limit of {limit} with {len(out)} series")
        return out

    def _failing_alert(self, group: RuleGroup, rule: Rule, error: str, t: float) -> AlertEntry:
        labels = Labels(
            alertname=EVALUATION_FAILING, rule_group=group.name, rule=rule.name, severity="critical", scope="console"
        )
        annotations = Labels(
            summary=f'Rule "{rule.name}" of group "{group.name}" cannot be evaluated',
            summary_ja=f"ルール評価失敗: {group.name} / {rule.name}",
            description=f"{group.file}: {error}. Its alerts keep their last state until it evaluates again.",
            error=error,
        )
        return AlertEntry(labels, annotations, AlertState.PENDING, active_at=t, value=1.0)

    def _stale_markers(self, group_key: str, series: list[Sample], t: float) -> list[Sample]:
        """Stale markers for ALERTS series written last time and not now (as Prometheus writes)."""
        now = {(s.name, s.labels) for s in series}
        before = self._written.get(group_key, set())
        self._written[group_key] = now
        return [
            Sample(name, labels, STALE_NAN, t)
            for name, labels in sorted(before - now, key=lambda x: (x[0], x[1].pairs))
        ]


def _series_samples(entries: Iterable[AlertEntry], t: float) -> list[Sample]:
    """ALERTS{alertstate} 1 and ALERTS_FOR_STATE = active_at for every pending or firing alert."""
    out: list[Sample] = []
    for entry in sorted(entries, key=lambda e: e.labels.pairs):
        if entry.state is AlertState.INACTIVE:
            continue
        out.append(Sample("ALERTS", entry.labels.merge({"alertstate": entry.state.value}), 1.0, t))
        out.append(Sample("ALERTS_FOR_STATE", entry.labels, entry.active_at, t))
    return out
