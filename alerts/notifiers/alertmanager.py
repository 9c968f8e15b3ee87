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

`AlertmanagerClient` is one member's API v2 as the console uses it (this notifier, and Alertmanager
mode in alerts/handoff.py): post alerts, read alerts and silences, create and expire silences.
Its errors are `NotifyError`s worded as alerts/notifiers/http.py words them; an answer that is not
the JSON expected is a retryable NotifyError too (another member may answer).
"""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

import httpx

from alerts.model import Alert, Notification, NotifyError
from alerts.notifiers.base import NotifierDeps
from alerts.notifiers.config import AlertmanagerConfig, HttpConfig, IntegrationConfig
from alerts.notifiers.data import for_receiver, rfc3339, starts_at
from alerts.notifiers.http import (
    USER_AGENT,
    _credentials,
    _snippet,
    _status_error,
    _transport_error,
    post_json,
    request_settings,
    shown_url,
)
from model import Clock

__all__ = [
    "ALERTS_PATH",
    "SILENCES_PATH",
    "SILENCE_PATH",
    "AlertmanagerClient",
    "AlertmanagerNotifier",
    "create_alertmanager_notifier",
    "postable_alerts",
]

ALERTS_PATH = "/api/v2/alerts"
SILENCES_PATH = "/api/v2/silences"
SILENCE_PATH = "/api/v2/silence/"
VALIDITY_RESENDS = 4
"""A firing alert is valid for this many resend delays (Prometheus' `4 * resendDelay`)."""


class AlertmanagerNotifier:
    """Sends each notification's alerts to all URLs of one Alertmanager cluster."""

    def __init__(
        self, config: AlertmanagerConfig, *, clock: Clock, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._config = config
        self._clock = clock
        self._members = [
            AlertmanagerClient(url, timeout=config.timeout, http_config=config.http_config, transport=transport)
            for url in config.urls
        ]

    async def notify(self, notification: Notification) -> None:
        sent = for_receiver(notification, send_resolved=self._config.send_resolved)
        if sent is None:
            return
        valid_until = self._clock.now() + VALIDITY_RESENDS * self._config.resend_delay
        payload = postable_alerts(sent.alerts, valid_until=valid_until)
        results = await asyncio.gather(*(m.post_alerts(payload) for m in self._members), return_exceptions=True)
        errors: list[NotifyError] = []
        for result in results:
            if isinstance(result, NotifyError):
                errors.append(result)
            elif isinstance(result, BaseException):
                raise result
        if len(errors) < len(self._members):
            return
        retryable = any(e.retryable for e in errors)
        text = "; ".join(str(e) for e in errors)
        raise NotifyError(f"no Alertmanager accepted the alerts: {text}", retryable=retryable) from errors[0]

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


class AlertmanagerClient:
    """One Alertmanager's API v2 at base URL `url` (a path prefix allowed). `timeout` (seconds)
    bounds each request; `http_config` authenticates and sets TLS; `transport` is for tests.
    Every method raises NotifyError (alerts/notifiers/http.py's table) when the member does not
    answer as expected."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        http_config: HttpConfig | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base = url.rstrip("/")
        self.shown = shown_url(self.base)
        """The base URL without its user info: what messages, metrics and the API show."""
        self._timeout = timeout
        self._http_config = http_config or HttpConfig()
        self._transport = transport

    async def post_alerts(self, payload: list[dict[str, object]]) -> None:
        """POST `payload` (`postable_alerts`) to `/api/v2/alerts`."""
        await post_json(
            self.base + ALERTS_PATH,
            payload,
            timeout=self._timeout,
            http_config=self._http_config,
            transport=self._transport,
        )

    async def alerts(self) -> list[dict[str, Any]]:
        """GET `/api/v2/alerts`: the member's active, silenced and inhibited alerts (gettable alerts)."""
        return _objects(await self._exchange("GET", ALERTS_PATH), self.base + ALERTS_PATH)

    async def silences(self) -> list[dict[str, Any]]:
        """GET `/api/v2/silences`: every silence the member holds, expired ones included."""
        return _objects(await self._exchange("GET", SILENCES_PATH), self.base + SILENCES_PATH)

    async def silence(self, silence_id: str) -> dict[str, Any] | None:
        """GET `/api/v2/silence/<id>`; None when the member answers 404 (it has no such silence)."""
        path = SILENCE_PATH + urllib.parse.quote(silence_id, safe="")
        answer = await self._exchange("GET", path, absent_ok=True)
        if answer is None:
            return None
        [found] = _objects([answer], self.base + path)
        return found

    async def create_silence(self, body: Mapping[str, object]) -> str:
        """POST a postable silence to `/api/v2/silences`; the new silence's id."""
        answer = await self._exchange("POST", SILENCES_PATH, body)
        silence_id = answer.get("silenceID") if isinstance(answer, dict) else None
        if not isinstance(silence_id, str) or not silence_id:
            raise NotifyError(f"no silenceID in the answer from {self.shown}{SILENCES_PATH}", retryable=True)
        return silence_id

    async def expire_silence(self, silence_id: str) -> None:
        """DELETE `/api/v2/silence/<id>`: Alertmanager ends it now."""
        await self._exchange("DELETE", SILENCE_PATH + urllib.parse.quote(silence_id, safe=""))

    async def _exchange(self, method: str, path: str, payload: object = None, *, absent_ok: bool = False) -> object:
        """One request; its answer's JSON (None for an empty body, or a 404 when `absent_ok`)."""
        url = self.base + path
        content = None
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if payload is not None:
            content = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        auth, extensions, verify = request_settings(self._http_config, url, headers)
        deadline = asyncio.timeout(self._timeout)
        try:
            async with (
                deadline,
                httpx.AsyncClient(
                    verify=verify, timeout=self._timeout, trust_env=False, transport=self._transport
                ) as c,
            ):
                response = await c.request(
                    method, url, content=content, headers=headers, auth=auth, extensions=extensions
                )
                if absent_ok and response.status_code == httpx.codes.NOT_FOUND:
                    return None
                if not httpx.codes.is_success(response.status_code):
                    snippet = await _snippet(response, hidden=_credentials(self._http_config, url))
                    raise _status_error(response, shown_url(url), snippet)
        except (TimeoutError, httpx.TimeoutException) as exc:
            if isinstance(exc, TimeoutError) and not deadline.expired():
                raise
            raise NotifyError(f"no answer within {self._timeout:g}s from {shown_url(url)}", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise _transport_error(exc, shown_url(url)) from exc
        if not response.content.strip():
            return None
        try:
            return json.loads(response.content)
        except ValueError as exc:
            raise NotifyError(f"the answer from {shown_url(url)} is not JSON: {exc}", retryable=True) from exc

    def __repr__(self) -> str:
        return f"AlertmanagerClient({self.shown!r})"


def _objects(answer: object, url: str) -> list[dict[str, Any]]:
    """`answer` if it is a JSON list of objects, else a retryable NotifyError naming `url`."""
    if not isinstance(answer, list) or not all(isinstance(item, dict) for item in answer):
        raise NotifyError(f"the answer from {shown_url(url)} is not a list of objects", retryable=True)
    return answer
