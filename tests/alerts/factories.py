"""Building blocks the alerting tests share."""

from __future__ import annotations

from alerts.model import Alert, Notification, common
from model import Labels

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
