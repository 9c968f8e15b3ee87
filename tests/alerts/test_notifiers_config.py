"""Receiver configs from plain dicts (Alertmanager's names, defaults, exact errors), the NOTIFIERS
map, and the data every notifier shares (time format, default subject, send_resolved)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.model import Alert, AlertState, Notification, common
from alerts.notifiers import (
    NOTIFIERS,
    AlertmanagerConfig,
    AlertmanagerNotifier,
    EmailConfig,
    EmailNotifier,
    NotifierDeps,
    ReceiverConfig,
    WebhookConfig,
    WebhookNotifier,
)
from alerts.notifiers.data import default_subject, for_receiver, rfc3339
from model import FakeClock, Labels, Secret


def errors(data: dict[str, Any], **context: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        ReceiverConfig.model_validate(data, context=context or None)
    return [".".join(str(part) for part in e["loc"]) + ": " + e["msg"] for e in caught.value.errors()]


def test_receiver_with_every_kind_builds_from_a_plain_dict_with_alertmanagers_defaults(tmp_path: Path) -> None:
    (tmp_path / "smtp.pass").write_text("s3cret\n", encoding="utf-8")
    receiver = ReceiverConfig.model_validate(
        {
            "name": "oncall",
            "email_configs": [
                {
                    "to": "oncall@example.org, manager@example.org",
                    "from": "console@example.org",
                    "smarthost": "127.0.0.1:25",
                    "auth_username": "alert",
                    "auth_password": "file:smtp.pass",
                }
            ],
            "webhook_configs": [{"url": "http://127.0.0.1:9000/hook"}],
            "alertmanager_configs": [{"urls": ["http://127.0.0.1:9093"]}],
        },
        context={"base_dir": tmp_path, "environ": {}},
    )

    [email], [webhook], [alertmanager] = (
        receiver.email_configs,
        receiver.webhook_configs,
        receiver.alertmanager_configs,
    )
    assert email.to == ("oncall@example.org", "manager@example.org")
    assert email.auth_password == Secret("s3cret", reference="file:smtp.pass")
    assert (email.host, email.port, email.require_tls, email.send_resolved) == ("127.0.0.1", 25, True, False)
    assert (webhook.send_resolved, webhook.max_alerts, webhook.timeout) == (True, 0, 10.0)
    assert (alertmanager.timeout, alertmanager.resend_delay) == (10.0, 60.0)
    assert [c.kind for c in receiver.integrations()] == ["email", "webhook", "alertmanager"]


def test_every_integration_kind_has_a_factory_that_builds_its_notifier() -> None:
    deps = NotifierDeps(clock=FakeClock())
    email = EmailConfig.model_validate({"to": "a@example.org", "from": "b@example.org", "smarthost": "h:25"})
    webhook = WebhookConfig(url="http://127.0.0.1:9000/")
    alertmanager = AlertmanagerConfig(urls=("http://127.0.0.1:9093",))

    assert sorted(NOTIFIERS) == ["alertmanager", "email", "webhook"]
    assert isinstance(NOTIFIERS[email.kind](email, deps), EmailNotifier)
    assert isinstance(NOTIFIERS[webhook.kind](webhook, deps), WebhookNotifier)
    assert isinstance(NOTIFIERS[alertmanager.kind](alertmanager, deps), AlertmanagerNotifier)
    with pytest.raises(TypeError, match="the email notifier needs an EmailConfig, got WebhookConfig"):
        NOTIFIERS["email"](webhook, deps)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"email_configs": [{"to": "a@b", "from": "c@d", "smarthost": "mail"}]},
            'email_configs.0.smarthost: Value error, "mail" is not host:port (for example 127.0.0.1:25)',
        ),
        (
            {"email_configs": [{"to": "a@b", "from": "c@d", "smarthost": "m:25", "auth_username": "u"}]},
            "email_configs.0: Value error, auth_username and auth_password go together: set both or neither",
        ),
        (
            {"email_configs": [{"to": "ab", "from": "c@d", "smarthost": "m:25"}]},
            'email_configs.0.to.0: Value error, "ab" is not an email address (local@domain)',
        ),
        (
            {"webhook_configs": [{"url": "ftp://x"}]},
            'webhook_configs.0.url: Value error, "ftp://x" is not an http:// or https:// URL',
        ),
        (
            {"webhook_configs": [{"url": "http://x", "urll": 1}]},
            "webhook_configs.0.urll: Extra inputs are not permitted",
        ),
        (
            {"webhook_configs": [{"url": "http://x", "timeout": "5x"}]},
            'webhook_configs.0.timeout: Value error, "5x" is not a duration',
        ),
        (
            {"webhook_configs": [{"url": "http://x", "http_config": {"bearer_token": "env:HOOK_TOKEN"}}]},
            "webhook_configs.0.http_config.bearer_token: Value error, environment variable HOOK_TOKEN is not set",
        ),
        (
            {"alertmanager_configs": [{"urls": []}]},
            "alertmanager_configs.0.urls: Tuple should have at least 1 item after validation, not 0",
        ),
    ],
)
def test_invalid_receiver_config_says_which_field_and_what_is_wrong(data: dict[str, Any], expected: str) -> None:
    assert errors({"name": "oncall", **data}, environ={}) == [expected]


def test_a_literal_token_is_refused_and_never_echoed() -> None:
    data = {"name": "oncall", "webhook_configs": [{"url": "http://x", "http_config": {"bearer_token": "t0ken"}}]}

    with pytest.raises(ValidationError) as caught:
        ReceiverConfig.model_validate(data)

    assert "t0ken" not in str(caught.value)
    assert "is not a secret reference (use env:NAME or file:PATH)" in str(caught.value)


@pytest.mark.parametrize(
    ("ts", "text"),
    [
        (1_800_000_000.0, "2027-01-15T08:00:00Z"),
        (1_800_000_000.25, "2027-01-15T08:00:00.25Z"),
        (1_800_000_000.000001, "2027-01-15T08:00:00.000001Z"),
        (0.0, "1970-01-01T00:00:00Z"),
    ],
)
def test_times_are_written_as_go_writes_them(ts: float, text: str) -> None:
    assert rfc3339(ts) == text


def _alert(resolved: bool, **labels: str) -> Alert:
    return Alert(
        labels=Labels(labels),
        annotations=Labels(summary="回線断"),
        state=AlertState.FIRING,
        active_at=0.0,
        value=0.0,
        fired_at=1.0,
        resolved_at=2.0 if resolved else None,
    )


def _group(*alerts: Alert, group_labels: Labels) -> Notification:
    return Notification(
        receiver="oncall",
        group_key="k",
        group_labels=group_labels,
        common_labels=common([a.labels for a in alerts]),
        common_annotations=common([a.annotations for a in alerts]),
        alerts=alerts,
    )


def test_default_subject_is_alertmanagers() -> None:
    down = _alert(False, alertname="DeviceDown", site="dc-east", system="records", instance="a")
    other = _alert(False, alertname="DeviceDown", site="dc-east", system="records", instance="b")
    back = _alert(True, alertname="DeviceDown", site="dc-east", system="records", instance="c")

    assert default_subject(_group(down, other, back, group_labels=Labels(alertname="DeviceDown"))) == (
        "[FIRING:2] DeviceDown (dc-east records)"
    )
    assert default_subject(_group(back, group_labels=Labels(alertname="DeviceDown"))) == (
        "[RESOLVED] DeviceDown (c dc-east records)"
    )
    assert default_subject(_group(back, group_labels=back.labels)) == "[RESOLVED] DeviceDown c dc-east records"


def test_without_send_resolved_only_firing_alerts_are_left_and_common_labels_follow() -> None:
    firing = _alert(False, alertname="LinkDown", link="a")
    back = _alert(True, alertname="LinkDown", link="b")
    notification = _group(firing, back, group_labels=Labels(alertname="LinkDown"))

    kept = for_receiver(notification, send_resolved=False)

    assert kept is not None
    assert kept.alerts == (firing,)
    assert kept.common_labels == firing.labels
    assert for_receiver(notification, send_resolved=True) is notification
    assert for_receiver(_group(back, group_labels=Labels()), send_resolved=False) is None
