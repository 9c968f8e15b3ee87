"""The error paths that hold a secret, against real servers on 127.0.0.1 (net-snmp's snmpd, aiosmtpd,
an HTTP receiver, waitress), with canary secrets: the error text recorded (a target's error, the
outbox's last error, the exception) and every log line must not contain one. Our own log lines are
checked without the redacting filter (code must not log secrets in the first place); with the filter
installed, nothing logged by anyone shows one."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from prometheus_client import CollectorRegistry

import config
from alerts.delivery import Delivery, build_integrations
from alerts.model import NotifyError
from alerts.notifiers import NOTIFIERS, EmailConfig, NotifierDeps, ReceiverConfig, WebhookConfig
from alerts.outbox import DeliveryStatus
from model import FakeClock, Secret
from security.secrets import RedactingFilter, install_redaction, secret_values
from tests.alerts.delivery_child import notification
from tests.collectors.snmpd_agent import Agent, running_snmpd
from tests.collectors.test_snmp import SNMPD_CONF, run_scheduled, snmp_target
from tests.helpers import free_port, serve_wsgi
from tests.security.canaries import AUTH_KEY, COMMUNITY, PRIV_KEY, SMTP_PASSWORD, WEBHOOK_TOKEN, leaked

T0 = 1_800_000_000.0
OURS = ("collectors", "alerts", "config", "security", "model", "store", "ops_console")
"""Our loggers' name prefixes."""
UTF8_COMMUNITY = "共同体-canary-5e1f"
UTF8_AUTH_KEY = "認証鍵-canary-3a7b"
UTF8_PRIV_KEY = "暗号鍵-canary-8c2d"
SHORT_KEY = "cnry-9b"  # 7 characters: SNMPv3 keys need 8
URL_PASSWORD = "canary-urlpw-6d4e"
SNMP_CANARIES = (COMMUNITY, AUTH_KEY, PRIV_KEY, UTF8_COMMUNITY, UTF8_AUTH_KEY, UTF8_PRIV_KEY, SHORT_KEY)


def logged(caplog: pytest.LogCaptureFixture, *, ours_only: bool) -> str:
    """Every captured record's message and exception text (ours only, or everyone's)."""
    records = [r for r in caplog.records if not ours_only or r.name.startswith(OURS)]
    return "\n".join(f"{r.name}: {r.getMessage()}\n{r.exc_text or ''}" for r in records)


@pytest.fixture
def redaction() -> Iterator[Callable[[Iterable[str]], None]]:
    """`install(values)`: the redacting filter on the root's handlers (caplog's included), for one test."""
    installed: list[RedactingFilter] = []

    def install(values: Iterable[str]) -> None:
        kept = set(values)
        installed.append(install_redaction(lambda: kept))

    yield install
    for handler in logging.getLogger().handlers:
        for redacting in installed:
            handler.removeFilter(redacting)


# -- SNMP: net-snmp's snmpd ----------------------------------------------------------------------
UTF8_CONF = f"""\
rocommunity {UTF8_COMMUNITY} 127.0.0.1
createUser utf8-user SHA-256 "{UTF8_AUTH_KEY}" AES256 "{UTF8_PRIV_KEY}"
rouser utf8-user priv
"""


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    with running_snmpd(tmp_path_factory.mktemp("snmpd"), SNMPD_CONF + UTF8_CONF) as started:
        yield started


def snmp_health(targets: list[Any]) -> dict[str, tuple[bool | None, str | None, str]]:
    async def one_run(scheduler: Any) -> dict[str, tuple[bool | None, str | None, str]]:
        await scheduler.run_once_all()
        return {key: (h.up, h.last_cause, h.last_error or "") for key, h in scheduler.health().items()}

    result: dict[str, tuple[bool | None, str | None, str]] = run_scheduled(targets, one_run)
    return result


def v3(name: str, agent: Agent, user: str, auth: str, priv: str, **spec: Any) -> Any:
    return snmp_target(
        name,
        agent,
        version="3",
        user=user,
        auth_protocol="sha256",
        auth_key=Secret(auth, reference="env:SNMP_AUTH"),
        priv_protocol="aes256-blumenthal",
        priv_key=Secret(priv, reference="env:SNMP_PRIV"),
        **spec,
    )


def v2c(name: str, agent: Agent, community: str, **spec: Any) -> Any:
    return snmp_target(name, agent, version="2c", community=Secret(community, reference="env:SNMP_COMMUNITY"), **spec)


def test_snmp_credential_errors_name_the_cause_but_never_the_secret(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fast: dict[str, Any] = {"request_timeout": 0.3, "retries": 0}
    targets = [
        v2c("wrong-community", agent, COMMUNITY, **fast),
        v2c("wrong-utf8-community", agent, "誤り-" + UTF8_COMMUNITY, **fast),
        v3("wrong-auth-key", agent, "sha256-aes256", AUTH_KEY, "priv-key-2", **fast),
        v3("wrong-priv-key", agent, "utf8-user", UTF8_AUTH_KEY, PRIV_KEY, **fast),
        v3("unknown-user", agent, "nobody", AUTH_KEY, PRIV_KEY, **fast),
        v3("short-key", agent, "monitor", SHORT_KEY, PRIV_KEY, **fast),
    ]

    health = snmp_health(targets)

    where = f"SNMP 127.0.0.1:{agent.port}"
    timeout = "no answer within 0.3s (a wrong community or privacy key looks the same), 1 attempt"
    assert health == {
        "wrong-community/snmp": (False, "timeout", f"{where}: {timeout} (v2c community)"),
        "wrong-utf8-community/snmp": (False, "timeout", f"{where}: {timeout} (v2c community)"),
        "wrong-auth-key/snmp": (
            False,
            "auth",
            f"{where}: wrong digest: check the auth key and auth protocol (v3 user 'sha256-aes256')",
        ),
        "wrong-priv-key/snmp": (False, "timeout", f"{where}: {timeout} (v3 user 'utf8-user')"),
        "unknown-user/snmp": (
            False,
            "unknown_user",
            f"{where}: the agent does not know this user: check the user name (v3 user 'nobody')",
        ),
        "short-key/snmp": (False, "config", "user 'monitor': the auth key must have at least 8 characters"),
    }
    assert leaked(logged(caplog, ours_only=False), SNMP_CANARIES) == []
    assert [r.name for r in caplog.records if r.levelno >= logging.ERROR] == []  # no "unexpected error"


def test_non_ascii_community_and_keys_are_sent_as_utf8_as_net_snmp_reads_them(agent: Agent) -> None:
    targets = [
        v2c("utf8-community", agent, UTF8_COMMUNITY),
        v3("utf8-user", agent, "utf8-user", UTF8_AUTH_KEY, UTF8_PRIV_KEY),
    ]

    health = snmp_health(targets)

    assert health == {"utf8-community/snmp": (True, None, ""), "utf8-user/snmp": (True, None, "")}


# -- SMTP: aiosmtpd with AUTH --------------------------------------------------------------------
def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"alert", b"right-password")
    return AuthResult(success=ok, handled=False)


class _Accept:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        return "250 OK"


@pytest.fixture
def smtp_port() -> Iterator[int]:
    port = free_port()
    controller = Controller(
        _Accept(), hostname="127.0.0.1", port=port, authenticator=_authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def test_smtp_login_failure_never_shows_the_password(smtp_port: int, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    email = EmailConfig.model_validate(
        {
            "to": "oncall@example.org",
            "from": "console@example.org",
            "smarthost": f"127.0.0.1:{smtp_port}",
            "require_tls": False,
            "auth_username": "alert",
            "auth_password": Secret(SMTP_PASSWORD, reference="env:SMTP_PASSWORD"),
        }
    )
    notifier = NOTIFIERS["email"](email, NotifierDeps(clock=FakeClock(T0)))

    with pytest.raises(NotifyError) as caught:
        asyncio.run(notifier.notify(notification("g1", T0)))

    assert str(caught.value) == (
        f"authentication as alert at 127.0.0.1:{smtp_port} failed: 535 5.7.8 Authentication credentials invalid"
    )
    assert leaked(repr(caught.value)) == []
    assert leaked(logged(caplog, ours_only=False)) == []


# -- webhooks: a receiver that quotes what it got ------------------------------------------------
@contextlib.contextmanager
def quoting_receiver() -> Iterator[str]:
    """An HTTP receiver on 127.0.0.1 that refuses every POST with 401, quoting the Authorization
    header it got (as some proxies' error pages do). Yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            body = f"rejected Authorization: {self.headers.get('Authorization', '')}".encode()
            self.send_response(401)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_webhook_failure_recorded_in_the_outbox_never_repeats_the_token_the_receiver_quotes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = Secret(WEBHOOK_TOKEN, reference="env:WEBHOOK_TOKEN")
    with quoting_receiver() as url:
        hook = WebhookConfig.model_validate({"url": url, "http_config": {"bearer_token": token}})
        receivers = build_integrations(
            [ReceiverConfig(name="oncall", webhook_configs=(hook,))], NotifierDeps(clock=FakeClock(T0))
        )
        delivery = Delivery(
            tmp_path / "delivery.sqlite3", receivers=receivers, clock=FakeClock(T0), registry=CollectorRegistry()
        )
        delivery.enqueue(notification("g1", T0), ["webhook/0"], T0)
        asyncio.run(delivery.send_due(T0))
        [row] = delivery.history("g1")
        delivery.close()

    assert (row.status, row.last_error) == (
        DeliveryStatus.FAILED,
        f"HTTP 401 Unauthorized from {url}: rejected Authorization: Bearer <secret>",
    )
    assert leaked(logged(caplog, ours_only=False)) == []


def test_a_password_in_a_webhook_url_shows_in_no_error_and_with_the_filter_in_no_log_line(
    caplog: pytest.LogCaptureFixture, redaction: Callable[[Iterable[str]], None]
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="httpx")  # run_console.main (another test) may have quietened it
    closed = free_port()
    with quoting_receiver() as url:
        refused = WebhookConfig(url=f"http://hook:{URL_PASSWORD}@127.0.0.1:{closed}/hook")
        answered = WebhookConfig(url=url.replace("http://", f"http://hook:{URL_PASSWORD}@"))
        errors = [_notify_error(refused), _notify_error(answered)]
        ours = logged(caplog, ours_only=True)
        caplog.clear()
        redaction(secret_values(answered))  # type: ignore[arg-type]
        _notify_error(answered)  # httpx logs each request's URL: only the filter keeps its password out

    basic = base64.b64encode(f"hook:{URL_PASSWORD}".encode()).decode()
    assert errors == [
        f"cannot connect to http://127.0.0.1:{closed}/hook: Connection refused",
        f"HTTP 401 Unauthorized from {url}: rejected Authorization: Basic {basic}",
    ]
    assert leaked(ours, (URL_PASSWORD,)) == []
    assert leaked(logged(caplog, ours_only=False), (URL_PASSWORD,)) == []
    assert "HTTP Request: POST http://hook:<secret>@127.0.0.1" in caplog.text


def _notify_error(hook: WebhookConfig) -> str:
    notifier = NOTIFIERS["webhook"](hook, NotifierDeps(clock=FakeClock(T0)))
    with pytest.raises(NotifyError) as caught:
        asyncio.run(notifier.notify(notification("g1", T0)))
    return str(caught.value)


# -- exporter and HTTP probe: waitress answering 401 ---------------------------------------------
def _unauthorized(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("401 Unauthorized", [("Content-Type", "text/plain")])
    return [b"who are you?"]


def test_exporter_and_probe_errors_leave_out_the_password_of_their_url(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(serve_wsgi(_unauthorized))
        with_password = base.replace("http://", f"http://scrape:{URL_PASSWORD}@")
        loaded = config.load(
            "sites: [{id: dc-east, name: East}]\nsystems: [{id: records, name: Records}]\ndevices:\n"
            "  - name: srv-01\n    site: dc-east\n    system: records\n    role: server\n    address: 127.0.0.1\n"
            "    collectors:\n"
            f"      exporter: {{url: '{with_password}/metrics'}}\n"
            f"      http: {{url: '{with_password}/health'}}\n",
            environ={},
        )
        health = snmp_health(list(loaded.inventory.targets()))

    assert health == {
        "srv-01/exporter": (False, "auth", f"HTTP 401 Unauthorized from {base}/metrics"),
        "srv-01/http": (False, "http_status", f"status 401 from {base}/health is not 2xx"),
    }
    assert leaked(logged(caplog, ours_only=True), (URL_PASSWORD,)) == []
