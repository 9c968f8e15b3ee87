"""The JSON codec of alerts and notifications: exact round trips (NaN and infinities, None times,
Japanese labels, float bits, alert order), the written text, and the errors for bad input."""

from __future__ import annotations

import json
import math

import pytest

from alerts.codec import alert_from_json, alert_to_json, notification_from_json, notification_to_json
from alerts.model import Alert, AlertState, Notification
from model import Labels
from tests.alerts.factories import notification_of

T0 = 1_800_000_000.0

FIRING = Alert(
    labels=Labels(alertname="LinkDown", link="東西回線1", site="dc-east"),
    annotations=Labels(summary="回線断", description="東西回線1 が停止"),
    state=AlertState.FIRING,
    active_at=T0 - 60.125,
    value=0.1 + 0.2,
    fired_at=T0,
    last_evaluated=T0 + 30,
    generator_url="http://console.example/graph?g0.expr=up+%3D%3D+0",
)
RESOLVED = Alert(
    labels=Labels(alertname="LinkDown", link="東西回線2", site="dc-east"),
    annotations=Labels(summary="回線断"),
    state=AlertState.INACTIVE,
    active_at=T0 - 120,
    value=-math.inf,
    fired_at=T0 - 60.5,
    resolved_at=T0 + 240.25,
)
PENDING = Alert(
    labels=Labels(alertname="CpuHigh", target="サーバー1"),
    annotations=Labels(),
    state=AlertState.PENDING,
    active_at=T0,
    value=math.nan,
)


def group(*alerts: Alert) -> Notification:
    return notification_of(*alerts, receiver="当番", external_url="http://console.example")


def test_notification_round_trips_exactly_with_japanese_labels_and_alert_order() -> None:
    notification = group(RESOLVED, FIRING)
    back = notification_from_json(notification_to_json(notification))
    assert back == notification
    assert [a.value for a in back.alerts] == [-math.inf, 0.30000000000000004]
    assert back.alerts[1].active_at == T0 - 60.125


def test_nan_value_and_none_times_round_trip() -> None:
    back = alert_from_json(alert_to_json(PENDING))
    assert math.isnan(back.value)
    assert (back.fired_at, back.resolved_at, back.last_evaluated) == (None, None, None)
    assert (back.labels, back.annotations, back.state, back.active_at) == (
        PENDING.labels,
        Labels(),
        AlertState.PENDING,
        T0,
    )


def test_alert_json_is_standard_json_with_utf8_text_and_named_infinities() -> None:
    text = alert_to_json(PENDING)
    assert text == (
        '{"labels":{"alertname":"CpuHigh","target":"サーバー1"},"annotations":{},"state":"pending",'
        '"active_at":1800000000.0,"value":"NaN","fired_at":null,"resolved_at":null,"last_evaluated":null,'
        '"generator_url":""}'
    )
    assert json.loads(alert_to_json(RESOLVED))["value"] == "-Inf"
    assert json.loads(notification_to_json(group(FIRING)))["version"] == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON: Expecting value: line 1 column 1 (char 0)"),
        ("[]", "notification: expected an object, got list"),
        ('{"version": 2}', "notification: version 2 is not 1"),
        ('{"version": 1, "alerts": {}}', "notification.alerts: expected a list"),
        (
            '{"version": 1, "alerts": [], "receiver": 5}',
            "notification.receiver: expected a string, got 5",
        ),
    ],
)
def test_bad_notification_json_is_refused_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        notification_from_json(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"state": "firin"}, "alert.state: 'firin' is not one of inactive, pending, firing"),
        ({"value": "nan"}, "alert.value: expected a number, NaN, +Inf or -Inf, got 'nan'"),
        ({"active_at": None}, "alert.active_at: expected a number"),
        ({"fired_at": "2027-01-15"}, "alert.fired_at: expected Unix seconds or null, got '2027-01-15'"),
        ({"labels": {"a": 1}}, "alert.labels: expected an object of strings"),
    ],
)
def test_bad_alert_json_is_refused_naming_the_field(change: dict[str, object], message: str) -> None:
    data = {**json.loads(alert_to_json(FIRING)), **change}
    with pytest.raises(ValueError) as raised:
        alert_from_json(json.dumps(data))
    assert str(raised.value) == message


def test_bare_nan_constant_is_not_accepted() -> None:
    with pytest.raises(ValueError) as raised:
        alert_from_json(alert_to_json(FIRING).replace("0.30000000000000004", "NaN"))
    assert str(raised.value) == "not JSON: bare NaN (non-finite numbers are written as strings)"
