"""The `availability:` config section: what it accepts and the exact problems it reports."""

from __future__ import annotations

from pathlib import Path

import pytest

import config
from reports.service import AllNode, DeviceLeaf, KOfNNode, LinkLeaf

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.yaml"


def load(section: str) -> config.Config:
    """The demo config with `section` instead of its own `availability:`."""
    shipped = DEMO.read_text().split("\navailability:")[0]
    return config.load(shipped + "\n" + section, source="demo.yaml", base_dir=DEMO.parent)


def problems(section: str) -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        load(section)
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


def test_a_service_tree_with_redundant_links_and_weekday_hours_loads() -> None:
    loaded = load(
        """
availability:
  systems:
    - system: records
      target: 99.5
      service_hours: {windows: [{days: [weekdays], start: "08:30", end: "21:00"}]}
      tree: {all: [{device: mf-records-01}, {k_of_n: {k: 1, of: [{link: east-west-1}, {link: east-west-2}]}}]}
"""
    )
    assert loaded.availability is not None
    (sla,) = loaded.availability.systems
    assert (sla.system, sla.target, sla.service_hours.is_always) == ("records", 99.5, False)
    assert sla.tree == AllNode(
        all=(
            DeviceLeaf(device="mf-records-01"),
            KOfNNode.model_validate({"k_of_n": {"k": 1, "of": [{"link": "east-west-1"}, {"link": "east-west-2"}]}}),
        )
    )
    assert isinstance(sla.tree.all[1], KOfNNode) and sla.tree.all[1].k_of_n.of[0] == LinkLeaf(link="east-west-1")


def test_a_bad_node_and_a_target_over_100_are_named_by_their_paths() -> None:
    assert problems(
        """
availability:
  systems:
    - system: records
      target: 101
      tree: {all: [{device: mf-records-01}, {devices: x}, {k_of_n: {k: 3, of: [{link: east-west-1}]}}]}
"""
    ) == [
        "availability.systems[0].target: 101 must be at most 100.0",
        "availability.systems[0].tree.all[1]: expected one key, one of all, any, k_of_n, device, link, probe, alerts",
        "availability.systems[0].tree.all[2].k_of_n.of: k is 3 but there are only 1 children",
    ]


def test_unknown_systems_devices_links_and_a_system_listed_twice_are_problems() -> None:
    assert problems(
        """
availability:
  systems:
    - system: records
      target: 99.5
      tree: {all: [{device: nope-01}, {link: east-west-9}, {probe: {device: gone-01, collector: http}}]}
    - system: records
      target: 99.5
      tree: {device: mf-records-01}
    - system: payroll
      target: 99
      tree: {alerts: ['alertname="BatchFailed"']}
"""
    ) == [
        "availability.systems[0].tree.all[0].device: unknown device 'nope-01'",
        "availability.systems[0].tree.all[1].link: unknown link 'east-west-9'",
        "availability.systems[0].tree.all[2].probe.device: unknown device 'gone-01'",
        "availability.systems[1].system: system 'records' is listed twice",
        "availability.systems[2].system: unknown system 'payroll' (not in systems:)",
    ]


def test_a_bad_alert_matcher_says_what_is_wrong() -> None:
    assert problems(
        """
availability:
  systems:
    - system: records
      target: 99.5
      tree: {alerts: ['alertname=~"("']}
"""
    ) == [
        "availability.systems[0].tree.alerts: bad matcher 'alertname=~\"(\"': invalid regex '(' for label"
        " alertname: missing ), unterminated subpattern at position 11"
    ]
