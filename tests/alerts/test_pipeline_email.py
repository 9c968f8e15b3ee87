"""The notification pipeline (alerts/pipeline.py) grouping alerts into the real email notifier through
the real outbox (alerts/delivery.py), sending to a real SMTP server (aiosmtpd on 127.0.0.1), on a
fake clock with SQLite files in tmp_path."""

from __future__ import annotations

import asyncio
import email
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from prometheus_client import CollectorRegistry

from alerts.delivery import Delivery, build_integrations
from alerts.model import Alert, AlertState
from alerts.notifiers import EmailConfig, NotifierDeps, ReceiverConfig
from alerts.pipeline import Pipeline
from alerts.routing import Route
from model import FakeClock, Labels
from tests.alerts.test_notifiers_email import Received, Recorder, authenticator, config, parts
from tests.helpers import free_port

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
ROUTE = Route(receiver="oncall", group_by=("alertname",), group_wait=30.0, group_interval=300.0, repeat_interval=3600.0)


def alert(name: str, instance: str, summary: str, *, resolved_at: float | None = None, **labels: str) -> Alert:
    return Alert(
        labels=Labels({"alertname": name, "instance": instance, **labels}),
        annotations=Labels(summary=summary),
        state=AlertState.INACTIVE if resolved_at is not None else AlertState.FIRING,
        active_at=T0 - 60,
        value=0.0,
        fired_at=T0,
        resolved_at=resolved_at,
    )


def devices() -> list[Alert]:
    return [
        alert("DeviceDown", f"srv-west-0{i}", f"機器停止: srv-west-0{i}", site="dc-west", system="records")
        for i in (1, 2, 3)
    ]


def link(instance: str, resolved_at: float | None = None) -> Alert:
    """東西回線1 seen down from one of its two routers: the two alerts share link, site and summary."""
    summary = "拠点間回線（WAN）停止: 東西回線1"
    return alert("LinkDown", instance, summary, resolved_at=resolved_at, link="東西回線1", site="dc-east", system="wan")


@dataclass
class Mail:
    """A pipeline whose receiver `oncall` has the given email integrations, and the SMTP server."""

    clock: FakeClock
    pipeline: Pipeline
    delivery: Delivery
    received: list[Received]

    def run(self, seconds: int, alerts: Sequence[Alert]) -> None:
        """Step the clock a second at a time: the rules hand over `alerts` every 15 s, the pipeline
        ticks and the outbox sends what is due."""
        for _ in range(seconds):
            self.clock.advance(1.0)
            if int(self.clock.now() - T0) % 15 == 0:
                self.pipeline.receive("rules", alerts)
            self.pipeline.tick()
            asyncio.run(self.delivery.send_due(self.clock.now()))

    def to(self, address: str) -> list[EmailMessage]:
        """The messages received for `address`, in order (integrations send in parallel)."""
        return [r.message for r in self.received if address in r.rcpt_tos]


@pytest.fixture
def smtp_port() -> Iterator[tuple[int, Recorder]]:
    """A plain SMTP server with AUTH on 127.0.0.1 that records what it receives."""
    recorder = Recorder()
    port = free_port()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        yield port, recorder
    finally:
        controller.stop()


@pytest.fixture
def mail(tmp_path: Path, smtp_port: tuple[int, Recorder], request: pytest.FixtureRequest) -> Iterator[Mail]:
    """Parametrized indirectly with the receiver's email configs as `config()` overrides (default:
    one config to oncall@example.org)."""
    port, recorder = smtp_port
    overrides: list[dict[str, object]] = getattr(request, "param", [{"to": "oncall@example.org"}])
    clock = FakeClock(T0)
    emails: tuple[EmailConfig, ...] = tuple(config(port, **o) for o in overrides)
    receivers = build_integrations([ReceiverConfig(name="oncall", email_configs=emails)], NotifierDeps(clock=clock))
    delivery = Delivery(tmp_path / "notify.sqlite3", receivers=receivers, clock=clock, registry=CollectorRegistry())
    pipeline = Pipeline(root=ROUTE, delivery=delivery, clock=clock, registry=CollectorRegistry())
    try:
        yield Mail(clock, pipeline, delivery, recorder.received)
    finally:
        delivery.close()


def listed(message: EmailMessage) -> list[str]:
    """The `instance` of every alert the plain-text body lists, sorted (the pipeline orders a
    group's alerts by fingerprint, not by labels as Alertmanager does)."""
    prefix = "  instance = "
    lines = parts(message)["text/plain"].splitlines()
    return sorted(line.removeprefix(prefix) for line in lines if line.startswith(prefix))


def test_five_alerts_in_two_groups_are_two_emails_each_listing_its_groups_alerts(mail: Mail) -> None:
    firing = [*devices(), link("rtr-east-01"), link("rtr-east-02")]

    mail.run(29, firing)
    assert mail.received == []  # group_wait
    mail.run(3600, firing)  # and nothing again within repeat_interval

    by_subject = {message["Subject"]: message for message in mail.to("oncall@example.org")}
    assert len(mail.received) == 2
    assert sorted(by_subject) == [
        "[FIRING:2] LinkDown (東西回線1 dc-east wan)",
        "[FIRING:3] DeviceDown (dc-west records)",
    ]
    assert listed(by_subject["[FIRING:3] DeviceDown (dc-west records)"]) == [
        "srv-west-01",
        "srv-west-02",
        "srv-west-03",
    ]
    assert listed(by_subject["[FIRING:2] LinkDown (東西回線1 dc-east wan)"]) == ["rtr-east-01", "rtr-east-02"]


JAPANESE_SUBJECT = {
    "to": "oncall@example.org",
    "headers": {"Subject": "【障害・要対応】$subject 「$summary」 担当: 東日本ネットワーク運用"},
}


@pytest.mark.parametrize("mail", [[JAPANESE_SUBJECT]], indirect=True)
def test_a_japanese_subject_goes_out_rfc2047_encoded_and_decodes_exactly(mail: Mail) -> None:
    mail.run(31, [link("rtr-east-01"), link("rtr-east-02")])

    [received] = mail.received
    head = received.raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # encoded words, folded: nothing raw on the wire
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    message = email.message_from_bytes(received.raw, policy=policy.default)
    assert message["Subject"] == (
        "【障害・要対応】[FIRING:2] LinkDown (東西回線1 dc-east wan) 「拠点間回線（WAN）停止: 東西回線1」"
        " 担当: 東日本ネットワーク運用"
    )
    assert "  summary = 拠点間回線（WAN）停止: 東西回線1" in parts(received.message)["text/plain"]


ONCALL_AND_MANAGER = [
    {"to": "oncall@example.org"},  # send_resolved: false, the default for email
    {"to": "manager@example.org", "send_resolved": True},
]


@pytest.mark.parametrize("mail", [ONCALL_AND_MANAGER], indirect=True)
def test_resolved_alerts_are_emailed_only_to_an_integration_with_send_resolved(mail: Mail) -> None:
    mail.run(60, [link("rtr-east-01"), link("rtr-east-02")])  # both notified at +30 s
    mail.run(300, [link("rtr-east-01"), link("rtr-east-02", resolved_at=T0 + 60)])  # flush at +330 s
    mail.run(300, [link("rtr-east-01", resolved_at=T0 + 360), link("rtr-east-02", resolved_at=T0 + 60)])

    assert [m["Subject"] for m in mail.to("oncall@example.org")] == ["[FIRING:2] LinkDown (東西回線1 dc-east wan)"]
    manager = mail.to("manager@example.org")
    assert [m["Subject"] for m in manager] == [
        "[FIRING:2] LinkDown (東西回線1 dc-east wan)",
        "[FIRING:1] LinkDown (東西回線1 dc-east wan)",  # at +330 s: rtr-east-02 resolved, news only with send_resolved
        # At +630 s all are resolved; rtr-east-02 left the group once the flush at +330 s carried it.
        "[RESOLVED] LinkDown (rtr-east-01 東西回線1 dc-east wan)",
    ]
    assert [(listed(m), "Resolved (1)" in parts(m)["text/plain"]) for m in manager] == [
        (["rtr-east-01", "rtr-east-02"], False),
        (["rtr-east-01", "rtr-east-02"], True),
        (["rtr-east-01"], True),
    ]
    assert len(mail.received) == 4
    assert mail.delivery.pending() == []
