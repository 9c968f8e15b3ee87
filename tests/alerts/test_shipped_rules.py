"""The shipped rule files: our loader and Prometheus' promtool both accept them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from alerts.model import AlertState
from alerts.rules import AlertingRule, RuleGroup, expand_rule_globs, load_rule_files
from model import Labels
from tests.alerts.conftest import T0, World
from tests.helpers import require

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
FILES = expand_rule_globs(CONFIG_DIR, ["rules/*.yaml"])


def test_the_shipped_rules_load_and_every_alert_has_severity_and_annotations() -> None:
    groups = load_rule_files(FILES)
    alerts = [rule for group in groups for rule in group.rules if isinstance(rule, AlertingRule)]
    assert len(alerts) == 16
    for rule in alerts:
        assert rule.labels["severity"] in ("critical", "warning"), rule.name
        assert rule.labels["scope"] in ("console", "device", "link", "service", "resource"), rule.name
        assert {"summary", "summary_ja", "description"} <= set(rule.annotations), rule.name


def test_there_is_one_collector_blind_alert_and_it_is_console_scoped() -> None:
    alerts = [r for g in load_rule_files(FILES) for r in g.rules if isinstance(r, AlertingRule)]
    [blind] = [r for r in alerts if r.name == "CollectorBlind"]
    assert (blind.expr, blind.labels["scope"]) == ("avg(up) < 0.5 or absent(up)", "console")


@pytest.mark.slow
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_promtool_check_rules_accepts_the_shipped_file(path: Path) -> None:
    promtool = require("promtool", install="apt-get install -y prometheus")
    done = subprocess.run(
        [promtool, "check", "rules", str(path)], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def shipped(name: str) -> RuleGroup:
    [found] = [g for g in load_rule_files(FILES) if g.name == name]
    return found


def put_up(world: World, t: float, down: set[str]) -> None:
    for target in ("rtr-east-01", "rtr-east-02", "sw-east-core-01", "db-east-01"):
        labels = {"target": target, "site": "dc-east", "system": "wan", "role": "router", "collector": "snmp"}
        world.put("up", labels, 0.0 if target in down else 1.0, t)
        world.put("target_unreachable", labels, 0.0, t)


def test_most_targets_down_makes_one_collector_blind_alert(world: World) -> None:
    down = {"rtr-east-01", "rtr-east-02", "sw-east-core-01"}
    for t in (T0, T0 + 60):
        put_up(world, t, down)
        result = world.evaluator.evaluate_group(shipped("console"), t)
    [blind] = result.alerts
    assert (blind.labels, blind.state, blind.value) == (
        Labels(alertname="CollectorBlind", scope="console", severity="critical"),
        AlertState.FIRING,
        0.25,
    )
    assert blind.annotations["summary"] == "The console cannot poll the estate (25% of targets up)"
    devices = world.evaluator.evaluate_group(shipped("devices"), T0 + 60)
    assert sorted(a.labels["target"] for a in devices.alerts if a.name == "DeviceDown") == sorted(down)


def test_one_link_of_the_pair_down_loses_redundancy_and_both_down_is_the_group_down(world: World) -> None:
    links = shipped("links")

    def put_links(t: float, down: set[str]) -> None:
        for link in ("east-west-1", "east-west-2"):
            for end in ("rtr-east", "rtr-west"):
                value = 0.0 if link in down and end == "rtr-east" else 1.0
                world.put("interface_oper_up", {"target": end, "ifname": "Gi0/1", "link": link}, value, t)

    for t in (T0, T0 + 60):
        put_links(t, {"east-west-1"})
        result = world.evaluator.evaluate_group(links, t)
    assert sorted((a.name, a.labels.get("link", a.labels.get("link_group"))) for a in result.alerts) == [
        ("LinkRedundancyLost", "east-west"),
        ("WanLinkDown", "east-west-1"),
    ]
    for t in (T0 + 120, T0 + 180):
        put_links(t, {"east-west-1", "east-west-2"})
        result = world.evaluator.evaluate_group(links, t)
    assert [(a.name, a.state) for a in result.alerts if "link_group" in a.labels] == [
        ("LinkGroupDown", AlertState.FIRING),
        ("LinkRedundancyLost", AlertState.INACTIVE),
    ]
