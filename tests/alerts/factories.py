"""Building blocks the alerting tests share."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from alerts.acks import Acks
from alerts.delivery import Delivery, build_integrations
from alerts.maintenance import Maintenances, MaintenanceWindow
from alerts.model import Alert, Notification, common
from alerts.mutedb import MuteDB
from alerts.notifiers import NotifierDeps, ReceiverConfig, WebhookConfig
from alerts.pipeline import Pipeline
from alerts.routing import Route
from alerts.silences import Silences
from model import Clock, Labels

LINK_DOWN_GROUP = '{}:{alertname="LinkDown"}'


def notification_of(
    *alerts: Alert,
    receiver: str = "oncall",
    group_key: str = LINK_DOWN_GROUP,
    group_labels: dict[str, str] | None = None,
    external_url: str = "",
) -> Notification:
    """A notification of `alerts` with their common labels and annotations (Alertmanager's)."""
    return Notification(
        receiver=receiver,
        group_key=group_key,
        group_labels=Labels(group_labels or {"alertname": "LinkDown"}),
        common_labels=common([a.labels for a in alerts]),
        common_annotations=common([a.annotations for a in alerts]),
        alerts=alerts,
        external_url=external_url,
    )


@contextlib.contextmanager
def webhook_pipeline(
    tmp_path: Path, clock: Clock, url: str, root: Route, windows: Sequence[dict[str, Any]] = ()
) -> Iterator[Pipeline]:
    """A Pipeline with silences, acknowledgements and the config maintenance `windows`, its outbox
    notifying receiver `oncall` (one webhook to `url`); its SQLite files in tmp_path, closed on exit."""
    mutedb = MuteDB(tmp_path / "mutes.sqlite3")
    maintenances = Maintenances(mutedb)
    maintenances.sync_from_config([MaintenanceWindow.model_validate(w) for w in windows])
    receivers = build_integrations(
        [ReceiverConfig(name="oncall", webhook_configs=(WebhookConfig.model_validate({"url": url}),))],
        NotifierDeps(clock=clock),
    )
    delivery = Delivery(tmp_path / "notify.sqlite3", receivers=receivers, clock=clock, registry=CollectorRegistry())
    try:
        yield Pipeline(
            root=root,
            delivery=delivery,
            clock=clock,
            registry=CollectorRegistry(),
            silences=Silences(mutedb),
            acks=Acks(mutedb),
            maintenances=maintenances,
        )
    finally:
        delivery.close()
        mutedb.close()
