"""Scheduling rule groups on an asyncio loop at their interval, with Prometheus' stable offset."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

from alerts.evaluation import RuleEvaluator
from alerts.manager import RuleManager, group_offset, next_slot
from alerts.model import Alert, AlertState
from alerts.rules import RuleGroup
from model import SystemClock
from tests.alerts.conftest import World, group

EVERY_100MS = group("""
groups:
  - name: always
    interval: 100ms
    rules:
      - alert: Always
        expr: vector(1)
""")


def test_the_offset_is_a_stable_hash_of_the_group_key_within_the_interval() -> None:
    g = RuleGroup(name="devices", interval=60.0, rules=(), file="rules/estate.yaml")
    assert group_offset(g) == group_offset(RuleGroup("devices", 60.0, (), "rules/estate.yaml"))
    assert 0 <= group_offset(g) < 60
    assert group_offset(g) != group_offset(RuleGroup("links", 60.0, (), "rules/estate.yaml"))


def test_the_next_slot_is_after_now_and_on_the_groups_phase() -> None:
    g = RuleGroup(name="devices", interval=60.0, rules=(), file="rules/estate.yaml")
    offset = group_offset(g)
    now = 1_800_000_000.0 + offset  # exactly on a slot: the next one is a full interval later
    assert next_slot(g, now) == now + 60
    assert next_slot(g, now - 0.5) == now


def test_the_manager_evaluates_on_the_interval_and_hands_alerts_to_on_alerts(world: World) -> None:
    evaluator = RuleEvaluator(engine=world.engine, store=world.store, clock=SystemClock(), registry=CollectorRegistry())
    calls: list[Sequence[Alert]] = []
    keys: list[str] = []
    two = threading.Event()

    async def on_alerts(group_key: str, alerts: Sequence[Alert]) -> None:
        keys.append(group_key)
        calls.append(alerts)
        if len(calls) >= 2:
            two.set()

    manager = RuleManager(evaluator=evaluator, groups=[EVERY_100MS], on_alerts=on_alerts, registry=CollectorRegistry())
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    try:
        manager.start(loop)
        assert two.wait(10)
        asyncio.run_coroutine_threadsafe(manager.shutdown(), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
    first, second = calls[0][0], calls[1][0]
    assert keys[:2] == [EVERY_100MS.key, EVERY_100MS.key]
    assert (first.name, first.state, second.state) == ("Always", AlertState.FIRING, AlertState.FIRING)
    assert second.active_at == first.active_at
    # evaluated at slot times: offset + k * interval
    slots = ((second.last_evaluated or 0) - group_offset(EVERY_100MS)) / 0.1
    assert abs(slots - round(slots)) < 1e-6
