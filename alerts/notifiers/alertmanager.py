"""The Alertmanager notifier: POST `/api/v2/alerts` to every member of an Alertmanager cluster.

The body is a JSON list of postable alerts, as Prometheus sends them:

```json
[{"labels": {...}, "annotations": {...}, "startsAt": "2027-01-15T08:00:00Z",
  "endsAt": "2027-01-15T08:04:00Z", "generatorURL": "..."}]
```

`startsAt` is when the alert started firing; `endsAt` is when it resolved, or for a firing alert
`now + 4 * resend_delay` (Prometheus' `ValidUntil`), so Alertmanager resolves it by itself if the
console stops re-sending. `generatorURL` is left out when empty (Alertmanager checks it is a URI).

Every URL gets every notification, concurrently (the members gossip among themselves). As in
Prometheus, the send succeeds when at least one member accepts; when all fail, the NotifyError
lists each failure and is retryable unless every failure is not.
"""

from __future__ import annotations

import asyncio

import httpx

from alerts.model import Alert, Notification, NotifyError
from alerts.notifiers.base import NotifierDeps
from alerts.notifiers.config import AlertmanagerConfig, IntegrationConfig
from alerts.notifiers.data import for_receiver, rfc3339, starts_at
from alerts.notifiers.http import post_json, shown_url
from model import Clock

__all__ = ["ALERTS_PATH", "AlertmanagerNotifier", "create_alertmanager_notifier", "postable_alerts"]

ALERTS_PATH = "/api/v2/alerts"
VALIDITY_RESENDS = 4
"""A firing alert is valid for this many resend delays (Prometheus' `4 * resendDelay`)."""


class AlertmanagerNotifier:
    """Sends each notification's alerts to all URLs of one Alertmanager cluster."""

    def __init__(
        self, config: AlertmanagerConfig, *, clock: Clock, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._config = config
        self._clock = clock
        self._transport = transport

    async def notify(self, notification: Notification) -> None:
        sent = for_receiver(notification, send_resolved=self._config.send_resolved)
        if sent is None:
            return
        valid_until = self._clock.now() + VALIDITY_RESENDS * self._config.resend_delay
        payload = postable_alerts(sent.alerts, valid_until=valid_until)
        urls = [url.rstrip("/") + ALERTS_PATH for url in self._config.urls]
        results = await asyncio.gather(*(self._post(url, payload) for url in urls), return_exceptions=True)
        errors: list[NotifyError] = []
        for result in results:
            if isinstance(result, NotifyError):
                errors.append(result)
            elif isinstance(result, BaseException):
                raise result
        if len(errors) < len(urls):
            return
        retryable = any(e.retryable for e in errors)
        text = "; ".join(str(e) for e in errors)
        raise NotifyError(f"no Alertmanager accepted the alerts: {text}", retryable=retryable) from errors[0]

    async def _post(self, url: str, payload: list[dict[str, object]]) -> None:
        await post_json(
            url, payload, timeout=self._config.timeout, http_config=self._config.http_config, transport=self._transport
        )

    def __repr__(self) -> str:
        return f"AlertmanagerNotifier({[shown_url(url) for url in self._config.urls]!r})"


def postable_alerts(alerts: tuple[Alert, ...], *, valid_until: float) -> list[dict[str, object]]:
    """Alertmanager API v2 postable alerts; firing ones end at `valid_until` (Unix seconds)."""
    body: list[dict[str, object]] = []
    for alert in alerts:
        item: dict[str, object] = {
            "labels": dict(alert.labels),
            "annotations": dict(alert.annotations),
            "startsAt": rfc3339(starts_at(alert)),
            "endsAt": rfc3339(alert.resolved_at if alert.resolved_at is not None else valid_until),
        }
        if alert.generator_url:
            item["generatorURL"] = alert.generator_url
        body.append(item)
    return body


def create_alertmanager_notifier(config: IntegrationConfig, deps: NotifierDeps) -> AlertmanagerNotifier:
    """The registry's factory."""
    if not isinstance(config, AlertmanagerConfig):
        raise TypeError(f"the Alertmanager notifier needs an AlertmanagerConfig, got {type(config).__name__}")
    return AlertmanagerNotifier(config, clock=deps.clock, transport=deps.transport)
