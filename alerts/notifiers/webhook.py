"""The webhook notifier: Alertmanager's webhook JSON, version 4, so existing receivers work.

```json
{"receiver": "oncall", "status": "firing",
 "alerts": [{"status": "firing", "labels": {...}, "annotations": {...},
             "startsAt": "2027-01-15T08:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "...", "fingerprint": "..."}],
 "groupLabels": {...}, "commonLabels": {...}, "commonAnnotations": {...},
 "externalURL": "...", "version": "4", "groupKey": "...", "truncatedAlerts": 0}
```

A firing alert's `endsAt` is Go's zero time, a resolved one's is when it resolved. Without
`send_resolved` resolved alerts are left out (nothing is sent when none fires); `max_alerts` keeps
the first N alerts and counts the rest in `truncatedAlerts`. Sent through `post_json` (errors there).
"""

from __future__ import annotations

import httpx

from alerts.model import Alert, Notification
from alerts.notifiers.base import NotifierDeps
from alerts.notifiers.config import IntegrationConfig, WebhookConfig
from alerts.notifiers.data import ZERO_TIME, for_receiver, rfc3339, starts_at
from alerts.notifiers.http import post_json, shown_url

__all__ = ["WEBHOOK_VERSION", "WebhookNotifier", "create_webhook_notifier", "webhook_payload"]

WEBHOOK_VERSION = "4"


class WebhookNotifier:
    """POSTs each notification to one webhook URL."""

    def __init__(self, config: WebhookConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._config = config
        self._transport = transport

    async def notify(self, notification: Notification) -> None:
        sent = for_receiver(notification, send_resolved=self._config.send_resolved)
        if sent is None:
            return
        await post_json(
            self._config.url,
            webhook_payload(sent, max_alerts=self._config.max_alerts),
            timeout=self._config.timeout,
            http_config=self._config.http_config,
            transport=self._transport,
        )

    def __repr__(self) -> str:
        return f"WebhookNotifier({shown_url(self._config.url)!r})"


def webhook_payload(notification: Notification, *, max_alerts: int = 0) -> dict[str, object]:
    """The version 4 payload of `notification`, its alerts cut to `max_alerts` (0: all)."""
    alerts = notification.alerts
    truncated = 0
    if max_alerts and len(alerts) > max_alerts:
        truncated = len(alerts) - max_alerts
        alerts = alerts[:max_alerts]
    return {
        "receiver": notification.receiver,
        "status": notification.status,
        "alerts": [_alert(a) for a in alerts],
        "groupLabels": dict(notification.group_labels),
        "commonLabels": dict(notification.common_labels),
        "commonAnnotations": dict(notification.common_annotations),
        "externalURL": notification.external_url,
        "version": WEBHOOK_VERSION,
        "groupKey": notification.group_key,
        "truncatedAlerts": truncated,
    }


def _alert(alert: Alert) -> dict[str, object]:
    return {
        "status": "resolved" if alert.resolved else "firing",
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "startsAt": rfc3339(starts_at(alert)),
        "endsAt": rfc3339(alert.resolved_at) if alert.resolved_at is not None else ZERO_TIME,
        "generatorURL": alert.generator_url,
        "fingerprint": alert.fingerprint,
    }


def create_webhook_notifier(config: IntegrationConfig, deps: NotifierDeps) -> WebhookNotifier:
    """The registry's factory."""
    if not isinstance(config, WebhookConfig):
        raise TypeError(f"the webhook notifier needs a WebhookConfig, got {type(config).__name__}")
    return WebhookNotifier(config, transport=deps.transport)
