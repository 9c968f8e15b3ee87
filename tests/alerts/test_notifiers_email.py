"""The email notifier against a real SMTP server (aiosmtpd on 127.0.0.1): one message per
notification, multipart text + HTML, Japanese subjects and bodies that decode exactly, AUTH,
STARTTLS with a certificate the test makes, and the error contract."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from alerts.model import Alert, AlertState, Notification, NotifyError
from alerts.notifiers import NOTIFIERS, EmailConfig, NotifierDeps
from model import FakeClock, Labels, Secret
from tests.alerts.factories import notification_of
from tests.collectors.probe_support import self_signed
from tests.helpers import free_port

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Recorder:
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"alert", b"s3cret")
    return AuthResult(success=True) if ok else AuthResult(success=False, handled=False)


@dataclass
class Smtp:
    port: int
    recorder: Recorder


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    """A plain SMTP server with AUTH (no TLS) on 127.0.0.1."""
    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        yield Smtp(port, recorder)
    finally:
        controller.stop()


def alert(name: str, *, resolved: bool = False, **labels: str) -> Alert:
    return Alert(
        labels=Labels({"alertname": name, **labels}),
        annotations=Labels(summary="回線断", description=f"{labels.get('link', '')} の拠点間回線（WAN）が停止"),
        state=AlertState.INACTIVE if resolved else AlertState.FIRING,
        active_at=T0 - 60,
        value=0.0,
        fired_at=T0,
        resolved_at=T0 + 300 if resolved else None,
        generator_url="http://console.example/alerts?rule=LinkDown",
    )


def group(*alerts: Alert, group_labels: dict[str, str] | None = None) -> Notification:
    return notification_of(*alerts, group_labels=group_labels, external_url="http://console.example")


TWO_LINKS = (
    alert("LinkDown", site="dc-east", system="wan", link="東西回線1", instance="rtr-east-01"),
    alert("LinkDown", site="dc-east", system="wan", link="東西回線1", instance="rtr-east-02"),
)


def config(port: int, **overrides: Any) -> EmailConfig:
    data: dict[str, Any] = {
        "to": "oncall@example.org, manager@example.org",
        "from": "console@example.org",
        "smarthost": f"127.0.0.1:{port}",
        "require_tls": False,
        "auth_username": "alert",
        "auth_password": Secret("s3cret", reference="env:SMTP_PASSWORD"),
    }
    data.update(overrides)
    return EmailConfig.model_validate(data)


def send(cfg: EmailConfig, *notifications: Notification) -> None:
    notifier = NOTIFIERS["email"](cfg, NotifierDeps(clock=FakeClock(T0 + 30)))

    async def run() -> None:
        for notification in notifications:
            await notifier.notify(notification)

    asyncio.run(run())


def parts(message: EmailMessage) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in message.iter_parts():
        assert isinstance(part, EmailMessage)
        out[part.get_content_type()] = part.get_content()
    return out


def test_firing_group_is_one_multipart_message_to_all_recipients_with_alertmanagers_subject(smtp: Smtp) -> None:
    send(config(smtp.port), group(*TWO_LINKS))

    [received] = smtp.recorder.received
    assert received.mail_from == "console@example.org"
    assert received.rcpt_tos == ["oncall@example.org", "manager@example.org"]
    message = received.message
    assert message["Subject"] == "[FIRING:2] LinkDown (東西回線1 dc-east wan)"
    assert message["From"] == "console@example.org"
    assert message["To"] == "oncall@example.org, manager@example.org"
    assert message["Date"] == "Fri, 15 Jan 2027 08:00:30 +0000"
    assert message.get_content_type() == "multipart/alternative"
    bodies = parts(message)
    assert list(bodies) == ["text/plain", "text/html"]
    assert "Firing (2)" in bodies["text/plain"]
    assert "  instance = rtr-east-01" in bodies["text/plain"]
    assert "  instance = rtr-east-02" in bodies["text/plain"]
    assert "  description = 東西回線1 の拠点間回線（WAN）が停止" in bodies["text/plain"]
    assert "Started: 2027-01-15T08:00:00Z" in bodies["text/plain"]
    assert "<li>summary = 回線断</li>" in bodies["text/html"]


def test_japanese_subject_goes_on_the_wire_as_rfc2047_utf8_and_decodes_exactly(smtp: Smtp) -> None:
    send(config(smtp.port, headers={"Subject": "$subject 「$summary」"}), group(*TWO_LINKS))

    [received] = smtp.recorder.received
    raw_headers = received.raw.split(b"\r\n\r\n", 1)[0]
    assert raw_headers.isascii()
    assert b"=?utf-8?b?" in raw_headers
    assert all(len(line) <= 78 for line in raw_headers.split(b"\r\n"))
    assert received.message["Subject"] == "[FIRING:2] LinkDown (東西回線1 dc-east wan) 「回線断」"


def test_each_notification_is_its_own_message_with_only_its_groups_alerts(smtp: Smtp) -> None:
    west = alert("DeviceDown", site="dc-west", system="records", instance="srv-west-07")
    send(config(smtp.port), group(*TWO_LINKS), group(west, group_labels={"alertname": "DeviceDown"}))

    first, second = smtp.recorder.received
    assert first.message["Subject"] == "[FIRING:2] LinkDown (東西回線1 dc-east wan)"
    assert second.message["Subject"] == "[FIRING:1] DeviceDown (srv-west-07 dc-west records)"
    assert "srv-west-07" not in parts(first.message)["text/plain"]
    assert "rtr-east-01" not in parts(second.message)["text/plain"]


def test_resolved_alerts_are_left_out_by_default_as_in_alertmanager(smtp: Smtp) -> None:
    back = alert("LinkDown", resolved=True, site="dc-east", system="wan", link="東西回線1", instance="rtr-east-02")
    send(config(smtp.port), group(TWO_LINKS[0], back), group(back))

    [received] = smtp.recorder.received  # the all-resolved group sends nothing
    assert received.message["Subject"] == "[FIRING:1] LinkDown (rtr-east-01 東西回線1 dc-east wan)"
    assert "rtr-east-02" not in parts(received.message)["text/plain"]


def test_send_resolved_sends_the_resolved_group_with_both_times(smtp: Smtp) -> None:
    back = alert("LinkDown", resolved=True, site="dc-east", system="wan", link="東西回線1", instance="rtr-east-02")
    send(config(smtp.port, send_resolved=True, html=""), group(back))

    [received] = smtp.recorder.received
    message = received.message
    assert message["Subject"] == "[RESOLVED] LinkDown (rtr-east-02 東西回線1 dc-east wan)"
    assert message.get_content_type() == "text/plain"  # html: "" leaves the HTML part out
    text = message.get_content()
    assert "Resolved (1)" in text
    assert "Resolved: 2027-01-15T08:05:00Z" in text


def test_wrong_password_is_a_permanent_error(smtp: Smtp) -> None:
    wrong = config(smtp.port, auth_password=Secret("nope", reference="env:SMTP_PASSWORD"))

    with pytest.raises(NotifyError) as caught:
        send(wrong, group(*TWO_LINKS))

    assert caught.value.retryable is False
    assert str(caught.value) == (
        f"authentication as alert at 127.0.0.1:{smtp.port} failed: 535 5.7.8 Authentication credentials invalid"
    )
    assert "nope" not in str(caught.value)
    assert smtp.recorder.received == []


def test_server_down_is_a_retryable_error() -> None:
    port = free_port()

    with pytest.raises(NotifyError) as caught:
        send(config(port), group(*TWO_LINKS))

    assert caught.value.retryable is True
    assert str(caught.value) == f"cannot connect to smarthost 127.0.0.1:{port}: Connection refused"


def test_require_tls_against_a_server_without_starttls_is_a_permanent_error(smtp: Smtp) -> None:
    with pytest.raises(NotifyError) as caught:
        send(config(smtp.port, require_tls=True), group(*TWO_LINKS))

    assert caught.value.retryable is False
    assert str(caught.value) == f"smarthost 127.0.0.1:{smtp.port} does not offer STARTTLS and require_tls is true"


@pytest.fixture
def starttls_smtp(tmp_path: Path) -> Iterator[tuple[Smtp, Path]]:
    """An SMTP server that offers STARTTLS (a self-signed certificate for 127.0.0.1) and AUTH only
    over TLS; yields it and the certificate to trust."""
    cert = self_signed(tmp_path, days=1)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert.cert_file, cert.key_file)
    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
    )
    controller.start()
    try:
        yield Smtp(port, recorder), cert.cert_file
    finally:
        controller.stop()


def test_starttls_with_a_trusted_certificate_delivers_after_auth(starttls_smtp: tuple[Smtp, Path]) -> None:
    server, ca_file = starttls_smtp

    send(config(server.port, require_tls=True, tls_config={"ca_file": str(ca_file)}), group(*TWO_LINKS))

    [received] = server.recorder.received
    assert received.message["Subject"] == "[FIRING:2] LinkDown (東西回線1 dc-east wan)"


def test_starttls_with_an_untrusted_certificate_is_a_retryable_tls_error(starttls_smtp: tuple[Smtp, Path]) -> None:
    server, _ = starttls_smtp

    with pytest.raises(NotifyError) as caught:
        send(config(server.port, require_tls=True), group(*TWO_LINKS))

    assert caught.value.retryable is True
    assert str(caught.value) == (
        f"sending to smarthost 127.0.0.1:{server.port} failed: TLS certificate verify failed: self-signed certificate"
    )
    assert server.recorder.received == []


def test_password_is_never_sent_in_the_clear_to_a_remote_host() -> None:
    cfg = EmailConfig.model_validate(
        {
            "to": ["oncall@example.org"],
            "from": "console@example.org",
            "smarthost": "192.0.2.10:25",
            "require_tls": False,
            "auth_username": "alert",
            "auth_password": Secret("s3cret", reference="env:SMTP_PASSWORD"),
        }
    )
    from alerts.notifiers.email import _secure_and_login

    class NoTls:
        def ehlo(self) -> None:
            pass

        def has_extn(self, name: str) -> bool:
            return True

    with pytest.raises(NotifyError) as caught:
        _secure_and_login(NoTls(), cfg)  # type: ignore[arg-type]

    assert caught.value.retryable is False
    assert str(caught.value) == (
        "refusing to send the password for alert unencrypted to 192.0.2.10:25 "
        "(set require_tls: true or use a relay on this host)"
    )
