"""Durable delivery against real webhook receivers (a real HTTP server on 127.0.0.1 behind the real
WebhookNotifier), a real SQLite file in tmp_path and a stepped fake clock: the notification log's
decisions, one transaction per enqueue, FIFO queues, retry with backoff through a receiver outage,
permanent failures, and restarts (a crash between send and record; a real kill -9)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from alerts.delivery import Delivery, backoff, build_integrations
from alerts.model import Alert, AlertState, Notification
from alerts.nflog import LogEntry, NotifyReason, dedup_reason
from alerts.notifiers import EmailConfig, NotifierDeps, ReceiverConfig, WebhookConfig
from alerts.outbox import DeliveryStatus, OutboxRow
from model import FakeClock, Labels
from tests.alerts.delivery_child import notification
from tests.alerts.factories import notification_of
from tests.alerts.hooks import Hook, serve_hook

T0 = 1_800_000_000.0
REPO = Path(__file__).resolve().parents[2]
ONCALL = {"receiver": "oncall", "integration": "webhook/0"}


@pytest.fixture
def hook() -> Iterator[Hook]:
    with serve_hook() as served:
        yield served


@pytest.fixture
def hook2() -> Iterator[Hook]:
    with serve_hook() as served:
        yield served


def open_delivery(
    path: Path, clock: FakeClock, *hooks: Hook, send_resolved: bool = True, **kwargs: Any
) -> tuple[Delivery, CollectorRegistry]:
    """A Delivery for receiver `oncall` with one webhook per hook (`webhook/0`, `webhook/1`, ...)."""
    config = ReceiverConfig(
        name="oncall", webhook_configs=tuple(WebhookConfig(url=h.url, send_resolved=send_resolved) for h in hooks)
    )
    registry = CollectorRegistry()
    receivers = build_integrations([config], NotifierDeps(clock=clock))
    return Delivery(path, receivers=receivers, clock=clock, registry=registry, **kwargs), registry


def metric(registry: CollectorRegistry, name: str, labels: dict[str, str] = ONCALL) -> float | None:
    return registry.get_sample_value(name, labels)


def summary(rows: list[OutboxRow]) -> list[tuple[str, str, DeliveryStatus, int, str | None, float]]:
    return [(r.group_key, r.integration, r.status, r.attempts, r.last_error, r.next_attempt_at) for r in rows]


# -- the notification log's decisions ------------------------------------------------------------

A, B, C = "a" * 16, "b" * 16, "c" * 16
ENTRY = LogEntry(firing=frozenset({A, B}), resolved=frozenset({C}), at=T0)
NOTIFYING = {
    NotifyReason.FIRST,
    NotifyReason.NEW_FIRING,
    NotifyReason.NEW_RESOLVED,
    NotifyReason.ALL_RESOLVED,
    NotifyReason.REPEAT_ELAPSED,
}


@pytest.mark.parametrize(
    ("entry", "firing", "resolved", "send_resolved", "t", "expected"),
    [
        (None, {A}, set(), True, T0, NotifyReason.FIRST),
        (None, set(), {A}, True, T0, NotifyReason.NOTHING_FIRING),
        (ENTRY, {A, B}, {C}, True, T0 + 3599, NotifyReason.UP_TO_DATE),
        (ENTRY, {A, B}, {C}, True, T0 + 3600, NotifyReason.REPEAT_ELAPSED),
        (ENTRY, {A, B, C}, set(), True, T0 + 1, NotifyReason.NEW_FIRING),
        (ENTRY, {A}, {B, C}, True, T0 + 1, NotifyReason.NEW_RESOLVED),
        (ENTRY, {A}, {B, C}, False, T0 + 1, NotifyReason.UP_TO_DATE),
        (ENTRY, {A}, set(), True, T0 + 1, NotifyReason.UP_TO_DATE),  # B gone without resolving
        (ENTRY, {A}, {B, C}, False, T0 + 3600, NotifyReason.REPEAT_ELAPSED),
        (ENTRY, set(), {A, B}, False, T0 + 1, NotifyReason.ALL_RESOLVED),
        (LogEntry(frozenset(), frozenset({A}), T0), set(), {A, B}, True, T0 + 1, NotifyReason.ALREADY_RESOLVED),
        (LogEntry(frozenset(), frozenset({A}), T0), {A}, set(), True, T0 + 1, NotifyReason.NEW_FIRING),
    ],
)
def test_dedup_reason_follows_alertmanagers_dedup_stage(
    entry: LogEntry | None, firing: set[str], resolved: set[str], send_resolved: bool, t: float, expected: NotifyReason
) -> None:
    got = dedup_reason(entry, firing, resolved, send_resolved=send_resolved, repeat_interval=3600, t=t)
    assert got is expected
    assert got.notify is (expected in NOTIFYING)


def test_backoff_doubles_from_one_second_up_to_thirty() -> None:
    assert [backoff(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]
    assert backoff(10_000) == 30


def test_build_integrations_names_each_by_kind_and_index() -> None:
    config = ReceiverConfig.model_validate(
        {
            "name": "oncall",
            "email_configs": [{"to": "a@example.org", "from": "c@example.org", "smarthost": "127.0.0.1:25"}],
            "webhook_configs": [
                {"url": "http://127.0.0.1:1/a"},
                {"url": "http://127.0.0.1:1/b", "send_resolved": False},
            ],
        }
    )
    built = build_integrations([config], NotifierDeps(clock=FakeClock(T0)))
    assert [(i, type(n).__name__, r) for i, n, r in built["oncall"]] == [
        ("email/0", "EmailNotifier", False),
        ("webhook/0", "WebhookNotifier", True),
        ("webhook/1", "WebhookNotifier", False),
    ]
    assert isinstance(config.email_configs[0], EmailConfig)


def alert(link: str, *, resolved_at: float | None = None) -> Alert:
    return Alert(
        labels=Labels(alertname="LinkDown", link=link),
        annotations=Labels(summary="回線断"),
        state=AlertState.FIRING if resolved_at is None else AlertState.INACTIVE,
        active_at=T0,
        value=0.0,
        fired_at=T0,
        resolved_at=resolved_at,
    )


def group(*alerts: Alert) -> Notification:
    return notification_of(*alerts, group_key="g")


def test_submit_decides_per_integration_and_logs_what_it_enqueued(tmp_path: Path, hook: Hook, hook2: Hook) -> None:
    clock = FakeClock(T0)
    config = ReceiverConfig(
        name="oncall",
        webhook_configs=(WebhookConfig(url=hook.url), WebhookConfig(url=hook2.url, send_resolved=False)),
    )
    receivers = build_integrations([config], NotifierDeps(clock=clock))
    delivery = Delivery(tmp_path / "d.sqlite3", receivers=receivers, clock=clock, registry=CollectorRegistry())
    x, y = alert("東西回線1"), alert("東西回線2")
    steps = [
        (T0, group(x)),
        (T0 + 60, group(x)),
        (T0 + 120, group(x, y)),
        (T0 + 180, group(x, alert("東西回線2", resolved_at=T0 + 170))),
        (T0 + 240, group(alert("東西回線1", resolved_at=T0 + 230), alert("東西回線2", resolved_at=T0 + 170))),
    ]
    assert delivery.integration_ids("oncall") == ["webhook/0", "webhook/1"]
    decisions = [delivery.submit(n, 3600, t) for t, n in steps]
    assert [(d["webhook/0"].value, d["webhook/1"].value) for d in decisions] == [
        ("first", "first"),
        ("up_to_date", "up_to_date"),
        ("new_firing", "new_firing"),
        ("new_resolved", "up_to_date"),
        ("all_resolved", "all_resolved"),
    ]
    # webhook/1 has no send_resolved: nothing to send when all resolved, but its log entry moves on
    assert [(r.integration, r.reason, r.created_at) for r in delivery.pending()] == [
        ("webhook/0", "first", T0),
        ("webhook/0", "new_firing", T0 + 120),
        ("webhook/0", "new_resolved", T0 + 180),
        ("webhook/0", "all_resolved", T0 + 240),
        ("webhook/1", "first", T0),
        ("webhook/1", "new_firing", T0 + 120),
    ]
    assert delivery.entry("oncall", "webhook/1", "g") == LogEntry(
        frozenset(), frozenset({x.fingerprint, y.fingerprint}), T0 + 240
    )
    assert delivery.needs_notify("oncall", "g", {x.fingerprint}, set(), 3600, T0 + 300) == ["webhook/0", "webhook/1"]
    assert delivery.needs_notify("oncall", "g", set(), {x.fingerprint}, 3600, T0 + 300) == []
    delivery.close()


def test_without_send_resolved_the_payload_leaves_out_resolved_alerts(tmp_path: Path, hook: Hook) -> None:
    clock = FakeClock(T0)
    delivery, _ = open_delivery(tmp_path / "d.sqlite3", clock, hook, send_resolved=False)
    firing = alert("東西回線1")
    delivery.enqueue(group(firing, alert("東西回線2", resolved_at=T0 - 10)), ["webhook/0"], T0)
    [row] = delivery.pending()
    assert row.notification() == group(firing)
    assert asyncio.run(delivery.send_due(T0)) == 1
    assert [[a["labels"]["link"] for a in p["alerts"]] for p in hook.payloads] == [["東西回線1"]]
    assert hook.payloads[0]["commonLabels"] == {"alertname": "LinkDown", "link": "東西回線1"}
    delivery.close()


def test_enqueue_writes_rows_and_log_in_one_transaction_that_survives_reopening(tmp_path: Path, hook: Hook) -> None:
    clock = FakeClock(T0)
    path = tmp_path / "d.sqlite3"
    delivery, _ = open_delivery(path, clock, hook)
    with pytest.raises(KeyError, match="receiver 'oncall' has no integration 'webhook/7'"):
        delivery.enqueue(notification("g1", T0), ["webhook/0", "webhook/7"], T0)
    assert delivery.pending() == []
    assert delivery.entry("oncall", "webhook/0", "g1") is None
    delivery.enqueue(notification("g1", T0), ["webhook/0"], T0, reason="first")
    delivery.close()

    reopened, registry = open_delivery(path, clock, hook)
    assert summary(reopened.pending()) == [("g1", "webhook/0", DeliveryStatus.PENDING, 0, None, T0)]
    assert reopened.entry("oncall", "webhook/0", "g1") == LogEntry(
        frozenset({notification("g1", T0).alerts[0].fingerprint}), frozenset(), T0
    )
    assert metric(registry, "notification_queue_length") == 1
    reopened.close()


def test_each_queue_is_sent_in_order_and_a_blocked_queue_does_not_hold_another(
    tmp_path: Path, hook: Hook, hook2: Hook
) -> None:
    clock = FakeClock(T0)
    hook.answer = lambda payload: 503 if clock.now() < T0 + 10 else 200
    delivery, registry = open_delivery(tmp_path / "d.sqlite3", clock, hook, hook2)
    for key in ("g1", "g2", "g3"):
        delivery.enqueue(notification(key, T0), ["webhook/0", "webhook/1"], T0)
    assert asyncio.run(delivery.send_due(T0)) == 3
    assert hook2.delivered() == ["g1", "g2", "g3"]
    assert hook.received == [("g1", 503)]
    assert [(r.group_key, r.attempts) for r in delivery.pending()] == [("g1", 1), ("g2", 0), ("g3", 0)]
    clock.set(T0 + 10)
    assert asyncio.run(delivery.send_due(T0 + 10)) == 3
    assert hook.delivered() == ["g1", "g2", "g3"]
    assert delivery.pending() == []
    assert metric(registry, "notification_queue_length") == 0
    delivery.close()


def test_receiver_down_two_minutes_gets_every_notification_once_in_order(tmp_path: Path, hook: Hook) -> None:
    clock = FakeClock(T0)
    hook.answer = lambda payload: 503 if clock.now() < T0 + 120 else 200
    delivery, registry = open_delivery(tmp_path / "d.sqlite3", clock, hook)
    enqueue_at = {0: "g1", 25: "g2", 50: "g3", 75: "g4", 100: "g5"}
    seen_at_100: list[tuple[str, str, DeliveryStatus, int, str | None, float]] = []
    queue_at_100 = None
    sent = 0
    for second in range(181):
        clock.set(T0 + second)
        if second in enqueue_at:
            delivery.enqueue(notification(enqueue_at[second], T0 + second), ["webhook/0"], T0 + second)
        sent += asyncio.run(delivery.send_due(T0 + second))
        if second == 100:
            seen_at_100 = summary(delivery.pending())
            queue_at_100 = metric(registry, "notification_queue_length")

    error = f"HTTP 503 Service Unavailable from {hook.url}: receiver down"
    # attempts of g1 at 0, 1, 3, 7, 15, 31, 61, 91 fail (waits 1, 2, 4, 8, 16, 30, 30, 30); 121 succeeds
    assert [key for key, status in hook.received if status == 503] == ["g1"] * 8
    assert seen_at_100 == [
        ("g1", "webhook/0", DeliveryStatus.PENDING, 8, error, T0 + 121),
        ("g2", "webhook/0", DeliveryStatus.PENDING, 0, None, T0 + 25),
        ("g3", "webhook/0", DeliveryStatus.PENDING, 0, None, T0 + 50),
        ("g4", "webhook/0", DeliveryStatus.PENDING, 0, None, T0 + 75),
        ("g5", "webhook/0", DeliveryStatus.PENDING, 0, None, T0 + 100),
    ]
    assert queue_at_100 == 5
    assert hook.delivered() == ["g1", "g2", "g3", "g4", "g5"]
    assert sent == 5
    assert metric(registry, "notifications_failed_total") == 8
    assert metric(registry, "notifications_total") == 13
    assert metric(registry, "notification_delay_seconds_count") == 5
    assert metric(registry, "notification_delay_seconds_sum") == 121 + 96 + 71 + 46 + 21
    assert metric(registry, "notification_queue_length") == 0
    assert delivery.last_sent("oncall", "g1") == T0 + 121
    [g1] = delivery.history("g1")
    assert (g1.status, g1.attempts, g1.sent_at, g1.last_error) == (DeliveryStatus.SENT, 9, T0 + 121, error)
    delivery.close()


def test_http_400_fails_the_row_for_good_and_the_next_row_proceeds(tmp_path: Path, hook: Hook) -> None:
    clock = FakeClock(T0)
    hook.answer = lambda payload: 400 if payload["groupKey"] == "bad" else 200
    delivery, registry = open_delivery(tmp_path / "d.sqlite3", clock, hook)
    delivery.enqueue(notification("bad", T0), ["webhook/0"], T0)
    delivery.enqueue(notification("good", T0), ["webhook/0"], T0)
    assert asyncio.run(delivery.send_due(T0)) == 1
    assert hook.received == [("bad", 400), ("good", 200)]
    [bad] = delivery.history("bad")
    assert (bad.status, bad.attempts, bad.failed_at, bad.last_error) == (
        DeliveryStatus.FAILED,
        1,
        T0,
        f"HTTP 400 Bad Request from {hook.url}: bad payload",
    )
    assert delivery.pending() == []
    assert metric(registry, "notifications_failed_total") == 1
    assert metric(registry, "notifications_total") == 2
    assert delivery.last_sent("oncall", "bad") is None
    assert delivery.last_sent("oncall", "good") == T0
    delivery.close()


class Crash(Exception):
    """The process dies between a send and its record."""


def test_crash_between_send_and_record_resends_that_row_once_after_restart(tmp_path: Path, hook: Hook) -> None:
    clock = FakeClock(T0)
    path = tmp_path / "d.sqlite3"

    def crash(row: OutboxRow) -> None:
        raise Crash(row.group_key)

    delivery, _ = open_delivery(path, clock, hook, after_send=crash)
    delivery.enqueue(notification("g1", T0), ["webhook/0"], T0)
    delivery.enqueue(notification("g2", T0), ["webhook/0"], T0)
    with pytest.raises(Crash, match="g1"):
        asyncio.run(delivery.send_due(T0))
    delivery.close()
    assert hook.delivered() == ["g1"]

    restarted, _ = open_delivery(path, clock, hook)
    assert [(r.group_key, r.attempts) for r in restarted.pending()] == [("g1", 0), ("g2", 0)]
    assert asyncio.run(restarted.send_due(T0)) == 2
    assert asyncio.run(restarted.send_due(T0 + 60)) == 0
    assert hook.delivered() == ["g1", "g1", "g2"]
    restarted.close()


def test_kill_9_right_after_a_send_loses_nothing_and_duplicates_only_the_one_in_flight(
    tmp_path: Path, hook: Hook
) -> None:
    path = tmp_path / "d.sqlite3"
    third_arrived, killed = threading.Event(), threading.Event()
    arrivals = Counter[str]()

    def answer(payload: dict[str, Any]) -> int:
        arrivals[payload["groupKey"]] += 1
        if sum(arrivals.values()) == 3:  # g2 is in flight: the child has sent it, not recorded it
            third_arrived.set()
            killed.wait(10)
        return 200

    hook.answer = answer
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.alerts.delivery_child", str(path), hook.url, "5", str(T0)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_third_send(child, third_arrived)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        killed.set()
        if child.poll() is None:
            child.kill()
            child.wait()

    clock = FakeClock(T0)
    restarted, _ = open_delivery(path, clock, hook)
    assert [r.group_key for r in restarted.pending()] == ["g2", "g3", "g4"]
    assert asyncio.run(restarted.send_due(T0)) == 3
    assert sorted(arrivals.items()) == [("g0", 1), ("g1", 1), ("g2", 2), ("g3", 1), ("g4", 1)]
    assert hook.delivered() == ["g0", "g1", "g2", "g2", "g3", "g4"]
    restarted.close()


def _wait_for_third_send(child: subprocess.Popen[str], third_arrived: threading.Event) -> None:
    deadline = time.monotonic() + 20
    while not third_arrived.wait(0.05):
        if child.poll() is not None:
            stderr = child.stderr.read() if child.stderr else ""
            pytest.fail(f"the child exited ({child.returncode}) before its third send:\n{stderr}", pytrace=False)
        assert time.monotonic() < deadline, "the child never sent its third notification"


def test_prune_deletes_finished_rows_seven_days_after_they_finished(tmp_path: Path, hook: Hook) -> None:
    clock = FakeClock(T0)
    hook.answer = lambda payload: 400 if payload["groupKey"] == "bad" else 200
    delivery, _ = open_delivery(tmp_path / "d.sqlite3", clock, hook)
    for key in ("bad", "good"):
        delivery.enqueue(notification(key, T0), ["webhook/0"], T0)
    asyncio.run(delivery.send_due(T0))
    clock.set(T0 + 3600)
    delivery.enqueue(notification("later", T0 + 3600), ["webhook/0"], T0 + 3600)
    week = 7 * 86400
    assert delivery.prune(T0 + week) == 0
    assert delivery.prune(T0 + week + 1) == 2
    assert [(r.group_key, r.status) for r in delivery.history("later")] == [("later", DeliveryStatus.PENDING)]
    assert delivery.history("good") == []
    assert delivery.entry("oncall", "webhook/0", "good") is None
    assert delivery.entry("oncall", "webhook/0", "later") is not None
    delivery.close()


def test_run_sends_what_is_queued_and_wakes_up_for_each_enqueue(tmp_path: Path, hook: Hook) -> None:
    clock = FakeClock(T0)
    delivery, _ = open_delivery(tmp_path / "d.sqlite3", clock, hook)
    delivery.enqueue(notification("before", T0), ["webhook/0"], T0)

    async def scenario() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(delivery.run(stop))
        await _until(lambda: hook.delivered() == ["before"])
        delivery.enqueue(notification("after", T0), ["webhook/0"], T0)
        await _until(lambda: hook.delivered() == ["before", "after"])
        stop.set()
        await asyncio.wait_for(runner, 5)

    asyncio.run(scenario())
    assert delivery.pending() == []
    delivery.close()


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)
