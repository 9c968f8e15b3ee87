"""A live config reload, alerting side: rule groups replaced on the running manager (staying groups
keep their alerts' clocks, gone groups' alerts leave the pipeline, a console without rules gets
some), the config's maintenance windows replaced, and which config sections changed."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest
from prometheus_client import CollectorRegistry

import config
from alerts.alertconfig import AlertingConfig
from alerts.evaluation import GroupResult, RuleEvaluator
from alerts.maintenance import MaintenanceWindow
from alerts.manager import RuleManager, next_slot
from alerts.model import Alert, AlertState
from alerts.reload import LIVE, changed_sections, restart_needed
from alerts.rules import RuleGroup, load_rules
from alerts.service import Alerting, RulesChange
from model import FakeClock, Inventory
from tests.alerts.conftest import T0, World

R = TypeVar("R")

RULES = """
groups:
  - name: devices
    interval: 1h
    rules:
      - alert: DeviceDown
        expr: up == 0
        for: 5m
  - name: links
    interval: 1h
    rules:
      - alert: LinkDown
        expr: link_oper_up == 0
"""

RELOADED = """
groups:
  - name: devices
    interval: 1h
    rules:
      - alert: DeviceDown
        expr: up == 0
        for: 5m
      - alert: DeviceSlow
        expr: probe_duration_seconds > 2
  - name: probes
    interval: 1h
    rules:
      - alert: ProbeFailing
        expr: probe_success == 0
"""

DEVICES, LINKS = load_rules(RULES, source="rules.yaml")
DEVICES_2, PROBES = load_rules(RELOADED, source="rules.yaml")
RTR = {"device": "rtr-east-01"}
LINK = {"link": "east-west-1"}


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A real event loop running in its own thread, as the console runs its alerting."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def on(loop: asyncio.AbstractEventLoop, coroutine: Coroutine[Any, Any, R]) -> R:
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(10)


def rule_tasks(loop: asyncio.AbstractEventLoop) -> list[str]:
    """The names of the group tasks running on `loop`."""

    async def names() -> list[str]:
        return sorted(t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("rules:") and not t.done())

    return on(loop, names())


def open_alerting(
    world: World, tmp_path: Path, groups: Sequence[RuleGroup], settings: AlertingConfig | None = None
) -> Alerting:
    return Alerting.open(
        groups,
        settings,
        Inventory(),
        engine=world.engine,
        store=world.store,
        clock=world.clock,
        registry=CollectorRegistry(),
        data_dir=tmp_path / "console",
    )


@pytest.fixture
def running(world: World, tmp_path: Path, loop: asyncio.AbstractEventLoop) -> Iterator[list[Alerting]]:
    """Started alertings, stopped and closed at the end of the test."""
    started: list[Alerting] = []
    yield started
    for alerting in started:
        alerting.stop(loop, timeout=10)
        alerting.close()


def start(alerting: Alerting, loop: asyncio.AbstractEventLoop, running: list[Alerting]) -> Alerting:
    alerting.start(loop)
    running.append(alerting)
    return alerting


def evaluate(alerting: Alerting, loop: asyncio.AbstractEventLoop, world: World, group: RuleGroup, t: float) -> None:
    """The manager's evaluation of `group` at `t` (its slot, as the group's task would run it)."""
    assert alerting.manager is not None
    world.clock.set(t)
    on(loop, alerting.manager.evaluate(group, t))


def held(alerting: Alerting) -> list[tuple[str, AlertState, float, float | None]]:
    """Every alert the pipeline holds: name, state, active_at, fired_at."""
    return [(v.alert.name, v.alert.state, v.alert.active_at, v.alert.fired_at) for v in alerting.pipeline.views()]


# -- rule groups --------------------------------------------------------------------------------


def test_replacing_groups_keeps_a_staying_groups_firing_alert_with_its_clocks(
    world: World, tmp_path: Path, loop: asyncio.AbstractEventLoop, running: list[Alerting]
) -> None:
    alerting = start(open_alerting(world, tmp_path, [DEVICES, LINKS]), loop, running)
    for t in (T0, T0 + 300, T0 + 360):
        world.put("up", RTR, 0, t)
    evaluate(alerting, loop, world, DEVICES, T0)
    evaluate(alerting, loop, world, DEVICES, T0 + 300)
    assert held(alerting) == [("DeviceDown", AlertState.FIRING, T0, T0 + 300)]

    change = on(loop, alerting.replace_rules([DEVICES_2, PROBES]))

    assert change == RulesChange(
        groups_before=2, groups_after=2, rules_before=2, rules_after=3, gone=("rules.yaml;links",)
    )
    assert rule_tasks(loop) == ["rules:rules.yaml;devices", "rules:rules.yaml;probes"]
    evaluate(alerting, loop, world, DEVICES_2, T0 + 360)
    assert held(alerting) == [("DeviceDown", AlertState.FIRING, T0, T0 + 300)]
    assert alerting.pipeline.views()[0].alert.last_evaluated == T0 + 360


def test_a_removed_groups_alerts_leave_the_pipeline(
    world: World, tmp_path: Path, loop: asyncio.AbstractEventLoop, running: list[Alerting]
) -> None:
    alerting = start(open_alerting(world, tmp_path, [DEVICES, LINKS]), loop, running)
    world.put("up", RTR, 0, T0)
    world.put("link_oper_up", LINK, 0, T0)
    evaluate(alerting, loop, world, DEVICES, T0)
    evaluate(alerting, loop, world, LINKS, T0)
    assert held(alerting) == [
        ("DeviceDown", AlertState.PENDING, T0, None),
        ("LinkDown", AlertState.FIRING, T0, T0),
    ]

    change = on(loop, alerting.replace_rules([DEVICES]))

    assert change == RulesChange(
        groups_before=2, groups_after=1, rules_before=2, rules_after=1, gone=("rules.yaml;links",)
    )
    assert held(alerting) == [("DeviceDown", AlertState.PENDING, T0, None)]
    assert alerting.pipeline.firing() == {}
    assert rule_tasks(loop) == ["rules:rules.yaml;devices"]


def test_a_console_started_without_rules_gets_its_first_groups_on_reload(
    world: World, tmp_path: Path, loop: asyncio.AbstractEventLoop, running: list[Alerting]
) -> None:
    registry = CollectorRegistry()
    alerting = Alerting.open(
        [],
        None,
        Inventory(),
        engine=world.engine,
        store=world.store,
        clock=world.clock,
        registry=registry,
        data_dir=tmp_path / "console",
    )
    start(alerting, loop, running)
    assert alerting.manager is None

    first = on(loop, alerting.replace_rules([DEVICES]))

    assert first == RulesChange(groups_before=0, groups_after=1, rules_before=0, rules_after=1)
    manager = alerting.manager
    assert manager is not None and manager.groups == (DEVICES,)
    assert rule_tasks(loop) == ["rules:rules.yaml;devices"]
    world.put("up", RTR, 0, T0)
    evaluate(alerting, loop, world, DEVICES, T0)
    assert held(alerting) == [("DeviceDown", AlertState.PENDING, T0, None)]
    assert registry.get_sample_value("rule_evaluations_total", {"rule_group": "rules.yaml;devices"}) == 1.0

    second = on(loop, alerting.replace_rules([DEVICES, LINKS]))  # the same manager: no metric registered twice

    assert second == RulesChange(groups_before=1, groups_after=2, rules_before=1, rules_after=2)
    assert alerting.manager is manager
    assert rule_tasks(loop) == ["rules:rules.yaml;devices", "rules:rules.yaml;links"]


def test_reloading_no_rules_into_a_console_without_rules_builds_nothing(
    world: World, tmp_path: Path, loop: asyncio.AbstractEventLoop, running: list[Alerting]
) -> None:
    alerting = start(open_alerting(world, tmp_path, []), loop, running)

    assert on(loop, alerting.replace_rules([])) == RulesChange(0, 0, 0, 0)
    assert alerting.manager is None


def test_two_groups_with_one_key_are_refused_and_the_running_groups_go_on(
    world: World, tmp_path: Path, loop: asyncio.AbstractEventLoop, running: list[Alerting]
) -> None:
    alerting = start(open_alerting(world, tmp_path, [DEVICES, LINKS]), loop, running)

    with pytest.raises(ValueError) as refused:
        on(loop, alerting.replace_rules([DEVICES, DEVICES_2]))
    assert str(refused.value) == "rule group keys must be unique: rules.yaml;devices"
    assert rule_tasks(loop) == ["rules:rules.yaml;devices", "rules:rules.yaml;links"]


def test_no_rules_are_replaced_after_shutdown(
    world: World, tmp_path: Path, loop: asyncio.AbstractEventLoop, running: list[Alerting]
) -> None:
    alerting = start(open_alerting(world, tmp_path, [DEVICES]), loop, running)
    on(loop, alerting.shutdown())

    with pytest.raises(RuntimeError) as refused:
        on(loop, alerting.replace_rules([DEVICES, LINKS]))
    assert str(refused.value) == "alerting is shut down: rules cannot be replaced"
    assert rule_tasks(loop) == []


class _HeldEvaluator(RuleEvaluator):
    """Holds each evaluation until `release` is set; counts evaluations running at once."""

    def __init__(self, world: World, clock: FakeClock) -> None:
        super().__init__(engine=world.engine, store=world.store, clock=clock, registry=CollectorRegistry())
        self.entered = threading.Event()
        self.release = threading.Event()
        self.running = 0
        self.most = 0
        self.slots: list[float] = []
        self._count = threading.Lock()

    def evaluate_group(self, group: RuleGroup, t: float) -> GroupResult:
        with self._count:
            self.running += 1
            self.most = max(self.most, self.running)
            self.slots.append(t)
        self.entered.set()
        self.release.wait(10)
        try:
            return super().evaluate_group(group, t)
        finally:
            with self._count:
                self.running -= 1


def test_replace_waits_for_an_evaluation_in_progress_and_hands_its_alerts_over(
    world: World, loop: asyncio.AbstractEventLoop
) -> None:
    slot = next_slot(DEVICES, T0)
    clock = FakeClock(slot - 0.05)  # the group's task sleeps 50 ms, then evaluates the slot
    evaluator = _HeldEvaluator(world, clock)
    handed: list[tuple[str, int]] = []

    def on_alerts(key: str, alerts: Sequence[Alert]) -> None:
        handed.append((key, len(alerts)))

    manager = RuleManager(
        evaluator=evaluator, groups=[DEVICES, LINKS], on_alerts=on_alerts, registry=CollectorRegistry()
    )
    manager.start(loop)
    try:
        assert evaluator.entered.wait(10)
        clock.set(slot + 1)  # the evaluation took a second: the group's next slot is an hour on
        replacing = asyncio.run_coroutine_threadsafe(manager.replace([DEVICES_2, PROBES]), loop)
        time.sleep(0.2)
        assert not replacing.done()  # it waits for the evaluation in progress
        evaluator.release.set()
        assert replacing.result(10) == ("rules.yaml;links",)
        assert (evaluator.running, evaluator.most, evaluator.slots) == (0, 1, [slot])
        assert handed == [("rules.yaml;devices", 0)]
        assert rule_tasks(loop) == ["rules:rules.yaml;devices", "rules:rules.yaml;probes"]
    finally:
        evaluator.release.set()
        on(loop, manager.shutdown())
    assert rule_tasks(loop) == []


# -- maintenance windows ------------------------------------------------------------------------


def window(name: str, duration: str = "1h") -> MaintenanceWindow:
    return MaintenanceWindow.model_validate(
        {
            "name": name,
            "matchers": ['site="dc-east"'],
            "owner": "netops",
            "reason": "firmware",
            "schedule": {"daily": {"start": "02:00", "duration": duration}},
        }
    )


def test_replace_windows_adds_and_removes_config_windows_and_keeps_api_ones(world: World, tmp_path: Path) -> None:
    settings = AlertingConfig(maintenance_windows=(window("nightly"), window("weekly")))
    alerting = open_alerting(world, tmp_path, [], settings)
    try:
        maintenances = alerting.pipeline.maintenances
        assert maintenances is not None
        maintenances.create(window("firmware"), "sato", T0)
        maintenances.create(window("db-patch"), "sato", T0)

        replaced = alerting.replace_windows([window("weekly", "2h"), window("db-patch")])

        assert replaced == ["db-patch"]
        assert [(r.window.name, r.origin.value, r.created_by, r.window.schedule) for r in maintenances.list()] == [
            ("db-patch", "config", "config", window("db-patch").schedule),
            ("firmware", "api", "sato", window("firmware").schedule),
            ("weekly", "config", "config", window("weekly", "2h").schedule),
        ]
    finally:
        alerting.close()


# -- changed sections ---------------------------------------------------------------------------

CONFIG = """
sites: [{id: dc-east, name: 東日本センター}]
systems: [{id: wan, name: WAN}]
devices:
  - name: rtr-east-01
    site: dc-east
    system: wan
    role: router
    address: 127.0.0.1
rule_files: [rules/*.yaml]
alerting:
  route: {receiver: oncall, group_by: [alertname, site]}
  receivers:
    - name: oncall
      webhook_configs:
        - url: http://127.0.0.1:9000/hook
          http_config: {bearer_token: "env:HOOK_TOKEN"}
  maintenance_windows:
    - name: nightly
      matchers: ['site="dc-east"']
      owner: netops
      reason: backups
      schedule: {daily: {start: "02:00", duration: 1h}}
"""

OLD_TOKEN = "tok-3f9a-old"
NEW_TOKEN = "tok-77c1-new"


def load(text: str, tmp_path: Path, token: str = OLD_TOKEN) -> config.Config:
    return config.load(text, source="console.yaml", base_dir=tmp_path, environ={"HOOK_TOKEN": token})


def test_the_same_file_again_changes_no_section(tmp_path: Path) -> None:
    assert changed_sections(load(CONFIG, tmp_path), load(CONFIG, tmp_path)) == []


def test_changed_sections_are_named_in_file_order_with_alerting_split(tmp_path: Path) -> None:
    edited = (
        CONFIG.replace("address: 127.0.0.1", "address: 127.0.0.2")
        .replace("rule_files: [rules/*.yaml]", "rule_files: [rules/*.yaml, extra/*.yaml]")
        .replace("duration: 1h", "duration: 2h")
        .replace("group_by: [alertname, site]", "group_by: [alertname]")
    )

    changed = changed_sections(load(CONFIG, tmp_path), load(edited, tmp_path))

    assert changed == ["devices", "rule_files", "alerting", "alerting.maintenance_windows"]
    assert restart_needed(changed) == ["devices", "alerting"]


def test_rule_files_and_maintenance_windows_apply_without_a_restart(tmp_path: Path) -> None:
    edited = CONFIG.replace("rule_files: [rules/*.yaml]", "rule_files: []").replace("duration: 1h", "duration: 2h")

    changed = changed_sections(load(CONFIG, tmp_path), load(edited, tmp_path))

    assert changed == ["rule_files", "alerting.maintenance_windows"]
    assert restart_needed(changed) == []
    assert sorted(LIVE) == ["alerting.maintenance_windows", "rule_files"]


def test_windows_removed_with_the_whole_alerting_section_change_both_parts(tmp_path: Path) -> None:
    without = CONFIG.split("alerting:", maxsplit=1)[0]

    assert changed_sections(load(CONFIG, tmp_path), load(without, tmp_path)) == [
        "alerting",
        "alerting.maintenance_windows",
    ]
    assert changed_sections(load(without, tmp_path), load(without + "alerting: {}\n", tmp_path)) == []


def test_a_changed_secret_changes_its_section_and_its_value_is_shown_nowhere(tmp_path: Path) -> None:
    changed = changed_sections(load(CONFIG, tmp_path, OLD_TOKEN), load(CONFIG, tmp_path, NEW_TOKEN))
    later = restart_needed(changed)

    assert changed == ["alerting"]
    assert later == ["alerting"]
    for shown in (repr(changed), str(changed), repr(later)):
        assert OLD_TOKEN not in shown and NEW_TOKEN not in shown


def test_a_config_without_its_document_cannot_be_compared(tmp_path: Path) -> None:
    loaded = load(CONFIG, tmp_path)
    bare = config.Config(console=loaded.console, inventory=loaded.inventory, source="built.yaml")

    with pytest.raises(ValueError) as refused:
        changed_sections(loaded, bare)
    assert str(refused.value) == "built.yaml: the config has no document to compare (load it with config.load)"
