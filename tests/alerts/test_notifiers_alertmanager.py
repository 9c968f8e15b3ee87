"""The Alertmanager notifier against a real Alertmanager (Debian's prometheus-alertmanager 0.25),
started by the test on 127.0.0.1 without gossip: what it shows in GET /api/v2/alerts after our
POST /api/v2/alerts, resolution, and a cluster with a member down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from alerts.model import Alert, AlertState, Notification, NotifyError
from alerts.notifiers import NOTIFIERS, AlertmanagerConfig, NotifierDeps
from alerts.notifiers.alertmanager import postable_alerts
from model import FakeClock, Labels
from tests.alerts.alertmanagers import alertmanager as running_alertmanager
from tests.alerts.factories import notification_of
from tests.helpers import free_port

pytestmark = pytest.mark.slow

INSTALL = "apt-get install -y --no-install-recommends prometheus-alertmanager"
CONFIG = """\
route:
  receiver: blackhole
receivers:
  - name: blackhole
"""


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    """A private Alertmanager on a free port; yields its base URL."""
    with running_alertmanager(tmp_path, "am", config=CONFIG) as url:
        yield url


def shown(url: str) -> dict[str, dict[str, Any]]:
    """GET /api/v2/alerts, keyed by the `link` label."""
    answer = httpx.get(f"{url}/api/v2/alerts", trust_env=False, timeout=5)
    answer.raise_for_status()
    return {item["labels"]["link"]: item for item in answer.json()}


def alert(link: str, *, now: float, resolved: bool = False) -> Alert:
    return Alert(
        labels=Labels(alertname="LinkDown", site="dc-east", link=link, severity="critical"),
        annotations=Labels(summary="回線断", description=f"{link} が停止"),
        state=AlertState.INACTIVE if resolved else AlertState.FIRING,
        active_at=now - 120,
        value=0.0,
        fired_at=now - 60,
        resolved_at=now - 1 if resolved else None,
        generator_url="http://console.example/alerts?rule=LinkDown",
    )


def group(*alerts: Alert) -> Notification:
    return notification_of(*alerts, receiver="cluster")


def send(urls: list[str], notification: Notification, *, now: float) -> None:
    config = AlertmanagerConfig.model_validate({"urls": urls, "timeout": "2s", "resend_delay": "1m"})
    notifier = NOTIFIERS["alertmanager"](config, NotifierDeps(clock=FakeClock(now)))
    asyncio.run(notifier.notify(notification))


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_two_firing_alerts_show_in_alertmanager_with_exact_labels_and_annotations(alertmanager: str) -> None:
    now = float(int(time.time()))

    send([alertmanager], group(alert("東西回線1", now=now), alert("東西回線2", now=now)), now=now)

    alerts = shown(alertmanager)
    assert sorted(alerts) == ["東西回線1", "東西回線2"]
    for link, item in alerts.items():
        assert item["labels"] == {"alertname": "LinkDown", "site": "dc-east", "link": link, "severity": "critical"}
        assert item["annotations"] == {"summary": "回線断", "description": f"{link} が停止"}
        assert item["status"]["state"] == "active"
        assert item["generatorURL"] == "http://console.example/alerts?rule=LinkDown"
        assert ts(item["startsAt"]) == now - 60
        assert ts(item["endsAt"]) == now + 240  # 4 x resend_delay, as Prometheus sends


def test_resolved_alert_leaves_alertmanagers_active_list(alertmanager: str) -> None:
    now = float(int(time.time()))
    send([alertmanager], group(alert("東西回線1", now=now), alert("東西回線2", now=now)), now=now)

    send(
        [alertmanager], group(alert("東西回線1", now=now + 1), alert("東西回線2", now=now + 1, resolved=True)), now=now
    )

    assert sorted(shown(alertmanager)) == ["東西回線1"]


def test_cluster_send_succeeds_when_one_member_accepts(alertmanager: str) -> None:
    now = float(int(time.time()))
    down = f"http://127.0.0.1:{free_port()}"

    send([down, alertmanager], group(alert("東西回線1", now=now)), now=now)

    assert sorted(shown(alertmanager)) == ["東西回線1"]


def test_rejected_alert_is_a_permanent_error_naming_alertmanagers_reason(alertmanager: str) -> None:
    empty = Alert(labels=Labels(), annotations=Labels(), state=AlertState.FIRING, active_at=0.0, value=0.0)

    with pytest.raises(NotifyError) as caught:
        send([alertmanager], group(empty), now=float(int(time.time())))

    assert caught.value.retryable is False
    assert str(caught.value) == (
        f"no Alertmanager accepted the alerts: HTTP 400 Bad Request from {alertmanager}/api/v2/alerts: "
        '"at least one label pair required"'
    )


def test_all_members_down_is_one_retryable_error_listing_each() -> None:
    first, second = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"

    with pytest.raises(NotifyError) as caught:
        send([first, second], group(alert("東西回線1", now=0.0)), now=0.0)

    assert caught.value.retryable is True
    assert str(caught.value) == (
        "no Alertmanager accepted the alerts: "
        f"cannot connect to {first}/api/v2/alerts: Connection refused; "
        f"cannot connect to {second}/api/v2/alerts: Connection refused"
    )


def test_postable_alerts_follow_prometheus() -> None:
    firing = alert("東西回線1", now=1_800_000_000.0)
    plain = Alert(
        labels=Labels(alertname="Watchdog"), annotations=Labels(), state=AlertState.FIRING, active_at=1.5, value=1.0
    )

    assert postable_alerts((firing, plain), valid_until=1_800_000_240.0) == [
        {
            "labels": {"alertname": "LinkDown", "link": "東西回線1", "severity": "critical", "site": "dc-east"},
            "annotations": {"description": "東西回線1 が停止", "summary": "回線断"},
            "startsAt": "2027-01-15T07:59:00Z",
            "endsAt": "2027-01-15T08:04:00Z",
            "generatorURL": "http://console.example/alerts?rule=LinkDown",
        },
        {
            "labels": {"alertname": "Watchdog"},
            "annotations": {},
            "startsAt": "1970-01-01T00:00:01.5Z",
            "endsAt": "2027-01-15T08:04:00Z",
        },
    ]
