"""The console process that test_delivery's kill -9 test kills: it queues COUNT notifications
(group keys g0, g1, ...) for one webhook in a Delivery over DB, then sends them in order to URL, with
a fake clock at T0. The test SIGKILLs it while a send is in flight.

Run: `python -m tests.alerts.delivery_child DB URL COUNT T0` from the repository root.
Also holds the notification builder the test shares with it.
"""

from __future__ import annotations

import asyncio
import sys

from prometheus_client import CollectorRegistry

from alerts.delivery import Delivery, build_integrations
from alerts.model import Alert, AlertState, Notification
from alerts.notifiers import NotifierDeps, ReceiverConfig, WebhookConfig
from model import FakeClock, Labels


def notification(group_key: str, t: float, *, resolved_at: float | None = None) -> Notification:
    """A one-alert notification of group `group_key` for receiver `oncall`."""
    alert = Alert(
        labels=Labels(alertname="LinkDown", link="東西回線1", group=group_key),
        annotations=Labels(summary="回線断"),
        state=AlertState.FIRING if resolved_at is None else AlertState.INACTIVE,
        active_at=t,
        value=0.0,
        fired_at=t,
        resolved_at=resolved_at,
    )
    return Notification(
        receiver="oncall",
        group_key=group_key,
        group_labels=Labels(group=group_key),
        common_labels=alert.labels,
        common_annotations=alert.annotations,
        alerts=(alert,),
    )


def main(argv: list[str]) -> None:
    db, url, count, t0 = argv[0], argv[1], int(argv[2]), float(argv[3])
    clock = FakeClock(t0)
    receivers = build_integrations(
        [ReceiverConfig(name="oncall", webhook_configs=(WebhookConfig(url=url),))], NotifierDeps(clock=clock)
    )
    delivery = Delivery(db, receivers=receivers, clock=clock, registry=CollectorRegistry())
    for i in range(count):
        delivery.enqueue(notification(f"g{i}", t0), ["webhook/0"], t0)
    asyncio.run(delivery.send_due(t0))


if __name__ == "__main__":
    main(sys.argv[1:])
