"""The webhook notifier against a real HTTP server on 127.0.0.1: Alertmanager's version 4 payload
byte for byte (as JSON), its headers and auth, and the HTTP error contract of `post_json`."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from alerts.model import Alert, AlertState, Notification, NotifyError
from alerts.notifiers import NOTIFIERS, NotifierDeps, WebhookConfig
from model import FakeClock, Labels, Secret
from tests.alerts.factories import notification_of
from tests.collectors.probe_support import self_signed
from tests.helpers import free_port

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Hook:
    """What the server answers (status, body, seconds to wait first) and what it was sent."""

    url: str
    status: int = 200
    body: bytes = b""
    delay: float = 0.0
    requests: list[Request] = field(default_factory=list)


@pytest.fixture
def hook() -> Iterator[Hook]:
    yield from _serve(None)


def _serve(tls: ssl.SSLContext | None) -> Iterator[Hook]:
    state = Hook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            time.sleep(state.delay)
            self.send_response(state.status)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    scheme = "https" if tls is not None else "http"
    state.url = f"{scheme}://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


FIRING = Alert(
    labels=Labels(alertname="LinkDown", site="dc-east", link="東西回線1", severity="critical"),
    annotations=Labels(summary="回線断", description="東西回線1 が停止"),
    state=AlertState.FIRING,
    active_at=T0 - 60,
    value=0.0,
    fired_at=T0,
    generator_url="http://console.example/graph?g0.expr=interface_oper_up+%3D%3D+0",
)
RESOLVED = Alert(
    labels=Labels(alertname="LinkDown", site="dc-east", link="東西回線2", severity="critical"),
    annotations=Labels(summary="回線断", description="東西回線2 が停止"),
    state=AlertState.INACTIVE,
    active_at=T0 - 120,
    value=1.0,
    fired_at=T0 - 60.5,
    resolved_at=T0 + 240.25,
)


def group(*alerts: Alert) -> Notification:
    return notification_of(*alerts, external_url="http://console.example")


def send(config: dict[str, Any], notification: Notification) -> None:
    notifier = NOTIFIERS["webhook"](WebhookConfig.model_validate(config), NotifierDeps(clock=FakeClock(T0)))
    asyncio.run(notifier.notify(notification))


EXPECTED_ALERTS = [
    {
        "status": "firing",
        "labels": {"alertname": "LinkDown", "link": "東西回線1", "severity": "critical", "site": "dc-east"},
        "annotations": {"description": "東西回線1 が停止", "summary": "回線断"},
        "startsAt": "2027-01-15T08:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://console.example/graph?g0.expr=interface_oper_up+%3D%3D+0",
        "fingerprint": FIRING.fingerprint,
    },
    {
        "status": "resolved",
        "labels": {"alertname": "LinkDown", "link": "東西回線2", "severity": "critical", "site": "dc-east"},
        "annotations": {"description": "東西回線2 が停止", "summary": "回線断"},
        "startsAt": "2027-01-15T07:58:59.5Z",
        "endsAt": "2027-01-15T08:04:00.25Z",
        "generatorURL": "",
        "fingerprint": RESOLVED.fingerprint,
    },
]


def test_firing_and_resolved_group_is_alertmanagers_version_4_payload(hook: Hook) -> None:
    send({"url": hook.url}, group(FIRING, RESOLVED))

    [request] = hook.requests
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "ops-console"
    assert "authorization" not in request.headers
    assert request.json() == {
        "receiver": "oncall",
        "status": "firing",
        "alerts": EXPECTED_ALERTS,
        "groupLabels": {"alertname": "LinkDown"},
        "commonLabels": {"alertname": "LinkDown", "severity": "critical", "site": "dc-east"},
        "commonAnnotations": {"summary": "回線断"},
        "externalURL": "http://console.example",
        "version": "4",
        "groupKey": '{}:{alertname="LinkDown"}',
        "truncatedAlerts": 0,
    }
    assert "回線断".encode() in request.body  # UTF-8 as Go writes it, not \\u escapes


def test_max_alerts_keeps_the_first_alerts_and_counts_the_rest(hook: Hook) -> None:
    send({"url": hook.url, "max_alerts": 1}, group(FIRING, RESOLVED))

    payload = hook.requests[0].json()
    assert payload["alerts"] == EXPECTED_ALERTS[:1]
    assert payload["truncatedAlerts"] == 1


def test_without_send_resolved_resolved_alerts_are_left_out_and_common_labels_recomputed(hook: Hook) -> None:
    send({"url": hook.url, "send_resolved": False}, group(FIRING, RESOLVED))
    send({"url": hook.url, "send_resolved": False}, group(RESOLVED))

    [request] = hook.requests
    payload = request.json()
    assert payload["alerts"] == EXPECTED_ALERTS[:1]
    assert payload["commonLabels"] == dict(FIRING.labels)
    assert payload["commonAnnotations"] == dict(FIRING.annotations)


def test_all_resolved_group_has_status_resolved(hook: Hook) -> None:
    send({"url": hook.url}, group(RESOLVED))

    assert hook.requests[0].json()["status"] == "resolved"


def test_bearer_token_is_sent_as_authorization_header(hook: Hook) -> None:
    token = Secret("t0ken", reference="env:HOOK_TOKEN")
    send({"url": hook.url, "http_config": {"bearer_token": token}}, group(FIRING))

    assert hook.requests[0].headers["authorization"] == "Bearer t0ken"


def test_basic_auth_password_is_resolved_from_the_environment_reference(hook: Hook) -> None:
    config = WebhookConfig.model_validate(
        {"url": hook.url, "http_config": {"basic_auth": {"username": "console", "password": "env:HOOK_PASSWORD"}}},
        context={"environ": {"HOOK_PASSWORD": "pa55"}},
    )
    notifier = NOTIFIERS["webhook"](config, NotifierDeps(clock=FakeClock(T0)))

    asyncio.run(notifier.notify(group(FIRING)))

    expected = "Basic " + base64.b64encode(b"console:pa55").decode()
    assert hook.requests[0].headers["authorization"] == expected


def test_server_error_is_retryable_with_status_and_body(hook: Hook) -> None:
    hook.status, hook.body = 500, b"receiver   broken\n(database down)"

    with pytest.raises(NotifyError) as caught:
        send({"url": hook.url}, group(FIRING))

    assert caught.value.retryable is True
    assert str(caught.value) == f"HTTP 500 Internal Server Error from {hook.url}: receiver broken (database down)"


def test_too_many_requests_is_retryable(hook: Hook) -> None:
    hook.status = 429

    with pytest.raises(NotifyError) as caught:
        send({"url": hook.url}, group(FIRING))

    assert caught.value.retryable is True
    assert str(caught.value) == f"HTTP 429 Too Many Requests from {hook.url}"


def test_bad_request_is_permanent_and_the_body_is_cut_short(hook: Hook) -> None:
    hook.status, hook.body = 400, b"x" * 5000

    with pytest.raises(NotifyError) as caught:
        send({"url": hook.url}, group(FIRING))

    assert caught.value.retryable is False
    assert str(caught.value) == f"HTTP 400 Bad Request from {hook.url}: {'x' * 200}…"


def test_no_answer_within_the_timeout_is_retryable(hook: Hook) -> None:
    hook.delay = 1.0

    with pytest.raises(NotifyError) as caught:
        send({"url": hook.url, "timeout": "300ms"}, group(FIRING))

    assert caught.value.retryable is True
    assert str(caught.value) == f"no answer within 0.3s from {hook.url}"


def test_connection_refused_is_retryable(hook: Hook) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"

    with pytest.raises(NotifyError) as caught:
        send({"url": url}, group(FIRING))

    assert caught.value.retryable is True
    assert str(caught.value) == f"cannot connect to {url}: Connection refused"


@pytest.fixture
def tls_hook(tmp_path: Path) -> Iterator[tuple[Hook, Path]]:
    """The hook server over HTTPS with a certificate for 127.0.0.1 made here; yields it and the CA file."""
    cert = self_signed(tmp_path, days=1)
    for state in _serve(cert.server_context()):
        yield state, cert.cert_file


def test_https_with_the_configured_ca_file_delivers(tls_hook: tuple[Hook, Path]) -> None:
    hook, ca_file = tls_hook

    send({"url": hook.url, "http_config": {"tls_config": {"ca_file": str(ca_file)}}}, group(FIRING))

    assert hook.requests[0].json()["alerts"] == EXPECTED_ALERTS[:1]


def test_https_with_an_untrusted_certificate_is_a_retryable_tls_error(tls_hook: tuple[Hook, Path]) -> None:
    hook, _ = tls_hook

    with pytest.raises(NotifyError) as caught:
        send({"url": hook.url}, group(FIRING))

    assert caught.value.retryable is True
    assert str(caught.value) == f"TLS failed for {hook.url}: certificate verify failed: self-signed certificate"
    assert hook.requests == []
