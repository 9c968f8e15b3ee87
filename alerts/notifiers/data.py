"""What the notifiers share about a notification's data: the alerts a receiver is sent (its
`send_resolved` choice), Alertmanager's time format and its default subject.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from alerts.model import Alert, Notification, common

__all__ = ["ZERO_TIME", "default_subject", "for_receiver", "rfc3339", "starts_at"]

ZERO_TIME = "0001-01-01T00:00:00Z"
"""Go's zero time as Alertmanager writes it: the `endsAt` of a firing alert in a webhook."""


def rfc3339(ts: float) -> str:
    """Unix seconds as Go writes a UTC time in JSON (RFC 3339, fraction without trailing zeros):
    `2027-01-15T08:00:00Z`, `2027-01-15T08:00:00.25Z`. Kept to the microsecond."""
    moment = datetime.fromtimestamp(round(ts, 6), tz=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def starts_at(alert: Alert) -> float:
    """When the alert started firing (Prometheus sends `FiredAt` as startsAt; `active_at` for one
    that never fired)."""
    return alert.fired_at if alert.fired_at is not None else alert.active_at


def for_receiver(notification: Notification, *, send_resolved: bool) -> Notification | None:
    """The notification as this receiver gets it: without resolved alerts unless `send_resolved`
    (common labels and annotations then recomputed over what is left), None when nothing is left."""
    if send_resolved:
        return notification
    firing = tuple(a for a in notification.alerts if not a.resolved)
    if not firing:
        return None
    if len(firing) == len(notification.alerts):
        return notification
    return dataclasses.replace(
        notification,
        alerts=firing,
        common_labels=common([a.labels for a in firing]),
        common_annotations=common([a.annotations for a in firing]),
    )


def default_subject(notification: Notification) -> str:
    """Alertmanager's default subject: `[FIRING:2] <group label values> (<other common label values>)`,
    values ordered by label name, `[RESOLVED]` when nothing fires."""
    firing = sum(1 for a in notification.alerts if not a.resolved)
    status = f"FIRING:{firing}" if notification.status == "firing" else "RESOLVED"
    subject = f"[{status}] " + " ".join(notification.group_labels.values())
    rest = [value for name, value in notification.common_labels.pairs if name not in notification.group_labels]
    if rest:
        subject += " (" + " ".join(rest) + ")"
    return subject
