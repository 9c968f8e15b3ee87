"""Rule evaluation stepped through time with a fake clock, over a real store and query engine."""

from __future__ import annotations

import math
import sqlite3

from alerts.evaluation import GroupResult
from alerts.model import Alert, AlertState
from model import Labels, Sample
from tests.alerts.conftest import T0, World, group

HIGH_CPU = group("""
groups:
  - name: hosts
    interval: 1m
    rules:
      - alert: HighCpu
        expr: cpu > 0.9
        for: 5m
        labels: {severity: warning, host: "{{ $labels.target }}"}
        annotations:
          summary: "{{ $labels.target }} at {{ $value | humanizePercentage }}"
""")

LINK_DOWN = group("""
groups:
  - name: links
    rules:
      - alert: LinkDown
        expr: link_up == 0
        keep_firing_for: 2m
""")


def cpu(world: World, t: float, value: float = 0.95) -> None:
    world.put("cpu", {"target": "db-01"}, value, t)


def only(result: GroupResult) -> Alert:
    [alert] = result.alerts
    return alert


CPU_LABELS = Labels(alertname="HighCpu", host="db-01", severity="warning", target="db-01")


def test_a_new_series_makes_a_pending_alert_with_templated_labels_and_annotations(world: World) -> None:
    cpu(world, T0)
    result = world.evaluator.evaluate_group(HIGH_CPU, T0)
    assert result.alerts == (
        Alert(
            labels=CPU_LABELS,
            annotations=Labels(summary="db-01 at 95%"),
            state=AlertState.PENDING,
            active_at=T0,
            value=0.95,
            last_evaluated=T0,
        ),
    )
    assert result.errors == ()


def test_pending_alert_fires_once_for_elapses(world: World) -> None:
    for step in range(6):
        cpu(world, T0 + 60 * step)
        result = world.evaluator.evaluate_group(HIGH_CPU, T0 + 60 * step)
        alert = only(result)
        if step < 5:
            assert (alert.state, alert.fired_at) == (AlertState.PENDING, None), step
    assert (alert.state, alert.active_at, alert.fired_at) == (AlertState.FIRING, T0, T0 + 300)


def test_for_zero_fires_at_the_first_evaluation(world: World) -> None:
    world.put("link_up", {"link": "east-west-1"}, 0.0, T0)
    alert = only(world.evaluator.evaluate_group(LINK_DOWN, T0))
    assert (alert.state, alert.active_at, alert.fired_at) == (AlertState.FIRING, T0, T0)


def test_a_pending_alert_whose_series_goes_is_dropped_without_resolving(world: World) -> None:
    cpu(world, T0)
    world.evaluator.evaluate_group(HIGH_CPU, T0)
    cpu(world, T0 + 60, 0.5)
    assert world.evaluator.evaluate_group(HIGH_CPU, T0 + 60).alerts == ()


def fire_link(world: World) -> None:
    world.put("link_up", {"link": "east-west-1"}, 0.0, T0)
    world.evaluator.evaluate_group(LINK_DOWN, T0)
    world.put("link_up", {"link": "east-west-1"}, 1.0, T0 + 60)


def test_keep_firing_for_keeps_a_gone_alert_firing_then_resolves_it(world: World) -> None:
    fire_link(world)
    states = []
    for t in (T0 + 60, T0 + 120, T0 + 180):
        alert = only(world.evaluator.evaluate_group(LINK_DOWN, t))
        states.append((alert.state, alert.resolved_at))
    # Gone since T0+60: still firing while gone for less than 2m (at +60 and +120), resolved at +180.
    assert states == [(AlertState.FIRING, None), (AlertState.FIRING, None), (AlertState.INACTIVE, T0 + 180)]


def test_a_series_back_during_keep_firing_restarts_the_keep_firing_clock(world: World) -> None:
    fire_link(world)
    world.evaluator.evaluate_group(LINK_DOWN, T0 + 60)  # gone: keep firing since +60
    world.put("link_up", {"link": "east-west-1"}, 0.0, T0 + 120)  # back
    world.evaluator.evaluate_group(LINK_DOWN, T0 + 120)
    world.put("link_up", {"link": "east-west-1"}, 1.0, T0 + 180)  # gone again: since +180
    for t in (T0 + 180, T0 + 240):
        assert only(world.evaluator.evaluate_group(LINK_DOWN, t)).state is AlertState.FIRING
    alert = only(world.evaluator.evaluate_group(LINK_DOWN, T0 + 300))
    assert (alert.state, alert.active_at, alert.fired_at, alert.resolved_at) == (
        AlertState.INACTIVE,
        T0,
        T0,
        T0 + 300,
    )


def resolve_cpu(world: World) -> float:
    """HighCpu firing at T0+300, resolved at T0+360; returns the resolve time."""
    for step in range(6):
        cpu(world, T0 + 60 * step)
        world.evaluator.evaluate_group(HIGH_CPU, T0 + 60 * step)
    cpu(world, T0 + 360, 0.1)
    alert = only(world.evaluator.evaluate_group(HIGH_CPU, T0 + 360))
    assert (alert.state, alert.fired_at, alert.resolved_at) == (AlertState.INACTIVE, T0 + 300, T0 + 360)
    return T0 + 360


def test_a_resolved_alert_is_handed_out_for_15_minutes_then_forgotten(world: World) -> None:
    resolved = resolve_cpu(world)
    for t in (resolved + 60, resolved + 900):
        cpu(world, t, 0.1)
        alert = only(world.evaluator.evaluate_group(HIGH_CPU, t))
        assert (alert.state, alert.resolved_at, alert.last_evaluated) == (AlertState.INACTIVE, resolved, t)
    cpu(world, resolved + 960, 0.1)
    assert world.evaluator.evaluate_group(HIGH_CPU, resolved + 960).alerts == ()


def test_a_resolved_alert_whose_series_returns_starts_pending_again(world: World) -> None:
    resolved = resolve_cpu(world)
    cpu(world, resolved + 60)
    alert = only(world.evaluator.evaluate_group(HIGH_CPU, resolved + 60))
    assert (alert.state, alert.active_at, alert.fired_at, alert.resolved_at) == (
        AlertState.PENDING,
        resolved + 60,
        None,
        None,
    )


def test_alerts_and_alerts_for_state_series_are_written_for_active_alerts(world: World) -> None:
    cpu(world, T0)
    result = world.evaluator.evaluate_group(HIGH_CPU, T0)
    assert list(result.samples) == [
        Sample("ALERTS", CPU_LABELS.merge({"alertstate": "pending"}), 1.0, T0),
        Sample("ALERTS_FOR_STATE", CPU_LABELS, T0, T0),
    ]
    for step in range(1, 6):
        cpu(world, T0 + 60 * step)
        result = world.evaluator.evaluate_group(HIGH_CPU, T0 + 60 * step)
    firing, stale = result.samples[0], result.samples[2]
    assert firing == Sample("ALERTS", CPU_LABELS.merge({"alertstate": "firing"}), 1.0, T0 + 300)
    assert result.samples[1] == Sample("ALERTS_FOR_STATE", CPU_LABELS, T0, T0 + 300)
    # the pending series ends with a stale marker, as Prometheus writes it
    assert (stale.name, stale.labels, stale.ts, math.isnan(stale.value)) == (
        "ALERTS",
        CPU_LABELS.merge({"alertstate": "pending"}),
        T0 + 300,
        True,
    )
    world.store.flush()
    answer = world.engine.instant("ALERTS", T0 + 300)
    assert [(dict(s.labels), s.value) for s in answer.vector] == [
        ({"__name__": "ALERTS", **CPU_LABELS, "alertstate": "firing"}, 1.0)
    ]
    answer = world.engine.instant("ALERTS_FOR_STATE", T0 + 300)
    assert [(dict(s.labels), s.value) for s in answer.vector] == [({"__name__": "ALERTS_FOR_STATE", **CPU_LABELS}, T0)]


RECORDING = group("""
groups:
  - name: rollups
    rules:
      - record: site:up:avg
        expr: avg by (site) (up)
        labels: {source: rule}
      - alert: SiteMostlyDown
        expr: site:up:avg < 0.6
""")


def test_recording_rule_writes_its_samples_and_later_rules_see_them(world: World) -> None:
    for target, site, value in (("a", "east", 1.0), ("b", "east", 0.0), ("c", "west", 1.0)):
        world.put("up", {"target": target, "site": site}, value, T0)
    result = world.evaluator.evaluate_group(RECORDING, T0)
    assert list(result.samples[:2]) == [
        Sample("site:up:avg", Labels(site="east", source="rule"), 0.5, T0),
        Sample("site:up:avg", Labels(site="west", source="rule"), 1.0, T0),
    ]
    assert [(a.labels, a.state) for a in result.alerts] == [
        (Labels(alertname="SiteMostlyDown", site="east", source="rule"), AlertState.FIRING)
    ]
    answer = world.engine.instant("site:up:avg", T0)
    assert [(dict(s.labels), s.value) for s in answer.vector] == [
        ({"__name__": "site:up:avg", "site": "east", "source": "rule"}, 0.5),
        ({"__name__": "site:up:avg", "site": "west", "source": "rule"}, 1.0),
    ]


JOINED = group("""
groups:
  - name: joined
    rules:
      - alert: Joined
        expr: x * on (job) y > 0
""")

ERROR = (
    'found duplicate series for the match group {job="a"} on the right hand-side of the operation: '
    '[{__name__="y", job="a", other="2"}, {__name__="y", job="a"}];'
    "many-to-many matching not allowed: matching labels must be unique on one side"
)


def failures(world: World) -> float | None:
    return world.registry.get_sample_value("rule_evaluation_failures_total", {"rule_group": "test.yaml;joined"})


def test_a_failed_evaluation_resolves_nothing_and_raises_rule_evaluation_failing(world: World) -> None:
    world.put("x", {"job": "a", "inst": "1"}, 1.0, T0)
    world.put("y", {"job": "a"}, 1.0, T0)
    world.evaluator.evaluate_group(JOINED, T0)
    # The data turns many-to-many and x disappears: the query fails, the alert must not resolve.
    world.gone("x", {"job": "a", "inst": "1"}, T0 + 60)
    world.put("y", {"job": "a", "other": "2"}, 1.0, T0 + 60)
    result = world.evaluator.evaluate_group(JOINED, T0 + 60)
    assert result.errors == (f"Joined: {ERROR}",)
    joined, failing = result.alerts
    assert (joined.labels, joined.state, joined.fired_at, joined.resolved_at) == (
        Labels(alertname="Joined", job="a"),
        AlertState.FIRING,
        T0,
        None,
    )
    assert failing == Alert(
        labels=Labels(
            alertname="RuleEvaluationFailing", rule="Joined", rule_group="joined", scope="console", severity="critical"
        ),
        annotations=Labels(
            summary='Rule "Joined" of group "joined" cannot be evaluated',
            summary_ja="ルール評価失敗: joined / Joined",
            description=f"test.yaml: {ERROR}. Its alerts keep their last state until it evaluates again.",
            error=ERROR,
        ),
        state=AlertState.FIRING,
        active_at=T0 + 60,
        value=1.0,
        fired_at=T0 + 60,
        last_evaluated=T0 + 60,
    )
    assert failures(world) == 1.0
    assert [(s.name, s.labels["alertname"], s.labels.get("alertstate")) for s in result.samples] == [
        ("ALERTS", "Joined", "firing"),  # unchanged, and no stale marker
        ("ALERTS_FOR_STATE", "Joined", None),
        ("ALERTS", "RuleEvaluationFailing", "firing"),
        ("ALERTS_FOR_STATE", "RuleEvaluationFailing", None),
    ]
    # Fixed: the rule evaluates again; x is gone, so Joined resolves now, and so does the failure.
    world.gone("y", {"job": "a", "other": "2"}, T0 + 120)
    joined, failing = world.evaluator.evaluate_group(JOINED, T0 + 120).alerts
    assert (joined.state, joined.resolved_at) == (AlertState.INACTIVE, T0 + 120)
    assert (failing.labels["alertname"], failing.state, failing.resolved_at) == (
        "RuleEvaluationFailing",
        AlertState.INACTIVE,
        T0 + 120,
    )
    assert failures(world) == 1.0


def test_a_failed_evaluation_starts_no_new_pending_alert(world: World) -> None:
    world.put("x", {"job": "a"}, 1.0, T0)
    world.put("y", {"job": "a"}, 1.0, T0)
    world.put("y", {"job": "a", "other": "2"}, 1.0, T0)
    result = world.evaluator.evaluate_group(JOINED, T0)
    assert [a.name for a in result.alerts] == ["RuleEvaluationFailing"]
    assert [s.name for s in result.samples] == ["ALERTS", "ALERTS_FOR_STATE"]


LIMITED = group("""
groups:
  - name: limited
    limit: 1
    rules:
      - alert: Down
        expr: up == 0
""")


def test_a_limit_exceeded_fails_the_rule_and_keeps_its_alerts(world: World) -> None:
    world.put("up", {"target": "a"}, 0.0, T0)
    world.evaluator.evaluate_group(LIMITED, T0)
    world.put("up", {"target": "b"}, 0.0, T0 + 60)
    result = world.evaluator.evaluate_group(LIMITED, T0 + 60)
    assert result.errors == ("Down: exceeded limit of 1 with 2 alerts",)
    assert [(a.name, a.labels.get("target"), a.state) for a in result.alerts] == [
        ("Down", "a", AlertState.FIRING),
        ("RuleEvaluationFailing", None, AlertState.FIRING),
    ]


# -- restarts: a new evaluator over the same SQLite file continues exactly --------------------------


def test_restart_while_pending_continues_the_for_timer(world: World) -> None:
    for step in range(3):
        cpu(world, T0 + 60 * step)
        world.evaluator.evaluate_group(HIGH_CPU, T0 + 60 * step)
    world.restart()
    for step in range(3, 6):
        cpu(world, T0 + 60 * step)
        alert = only(world.evaluator.evaluate_group(HIGH_CPU, T0 + 60 * step))
    assert (alert.state, alert.active_at, alert.fired_at) == (AlertState.FIRING, T0, T0 + 300)


def test_restart_while_firing_keeps_active_at_and_fired_at(world: World) -> None:
    for step in range(6):
        cpu(world, T0 + 60 * step)
        before = only(world.evaluator.evaluate_group(HIGH_CPU, T0 + 60 * step))
    world.restart()
    assert world.evaluator.alerts(HIGH_CPU) == []  # nothing is read before the group's first evaluation
    cpu(world, T0 + 360, 0.97)
    alert = only(world.evaluator.evaluate_group(HIGH_CPU, T0 + 360))
    assert alert == Alert(
        labels=before.labels,
        annotations=Labels(summary="db-01 at 97%"),
        state=AlertState.FIRING,
        active_at=T0,
        value=0.97,
        fired_at=T0 + 300,
        last_evaluated=T0 + 360,
    )


def test_restart_while_keeping_firing_continues_the_keep_firing_clock(world: World) -> None:
    fire_link(world)
    world.evaluator.evaluate_group(LINK_DOWN, T0 + 60)  # gone since +60
    world.restart()
    assert only(world.evaluator.evaluate_group(LINK_DOWN, T0 + 120)).state is AlertState.FIRING
    alert = only(world.evaluator.evaluate_group(LINK_DOWN, T0 + 180))
    assert (alert.state, alert.active_at, alert.resolved_at) == (AlertState.INACTIVE, T0, T0 + 180)


def test_restart_while_resolved_keeps_handing_it_out_until_retention_ends(world: World) -> None:
    resolved = resolve_cpu(world)
    world.restart()
    cpu(world, resolved + 900, 0.1)
    alert = only(world.evaluator.evaluate_group(HIGH_CPU, resolved + 900))
    assert (alert.state, alert.active_at, alert.fired_at, alert.resolved_at) == (
        AlertState.INACTIVE,
        T0,
        T0 + 300,
        resolved,
    )
    world.restart()
    cpu(world, resolved + 960, 0.1)
    assert world.evaluator.evaluate_group(HIGH_CPU, resolved + 960).alerts == ()


def test_restart_while_a_rule_fails_keeps_the_failure_alert(world: World) -> None:
    world.put("x", {"job": "a"}, 1.0, T0)
    world.put("y", {"job": "a"}, 1.0, T0)
    world.put("y", {"job": "a", "other": "2"}, 1.0, T0)
    world.evaluator.evaluate_group(JOINED, T0)
    world.restart()
    failing = only(world.evaluator.evaluate_group(JOINED, T0 + 60))
    assert (failing.name, failing.state, failing.active_at) == ("RuleEvaluationFailing", AlertState.FIRING, T0)


def test_the_state_file_is_in_wal_mode(world: World) -> None:
    with sqlite3.connect(world.state_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
