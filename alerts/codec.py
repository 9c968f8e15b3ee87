"""JSON round trip of `Alert` and `Notification`, for what is stored and read back later (the
delivery outbox keeps each queued notification as this JSON).

Contract: `notification_from_json(notification_to_json(n))` equals `n` field for field, exactly:
floats keep every bit (Python's shortest repr), `value` may be NaN or ±Inf (written as the strings
`"NaN"`, `"+Inf"`, `"-Inf"`, as Prometheus writes them, so the text stays standard JSON), times
that are None stay None, labels keep any Unicode (written as UTF-8, not `\\u` escapes). The alert
order of a notification is kept. A notification's JSON carries `"version": 1`; decoding refuses
another version and malformed input with `ValueError` naming the field.

```json
{"version": 1, "receiver": "oncall", "group_key": "{}:{alertname=\\"LinkDown\\"}",
 "group_labels": {"alertname": "LinkDown"}, "common_labels": {...}, "common_annotations": {...},
 "external_url": "", "alerts": [{"labels": {...}, "annotations": {...}, "state": "firing",
 "active_at": 1800000000.0, "value": "NaN", "fired_at": null, "resolved_at": null,
 "last_evaluated": null, "generator_url": ""}]}
```
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from alerts.model import Alert, AlertState, Notification
from model import Labels

__all__ = [
    "CODEC_VERSION",
    "alert_from_json",
    "alert_to_json",
    "notification_from_json",
    "notification_to_json",
]

CODEC_VERSION = 1
"""The `version` written into a notification's JSON; decoding accepts only this one."""

_SPECIAL = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}


def notification_to_json(notification: Notification) -> str:
    """The notification as one line of JSON (UTF-8 text, keys in a fixed order)."""
    return _dumps(
        {
            "version": CODEC_VERSION,
            "receiver": notification.receiver,
            "group_key": notification.group_key,
            "group_labels": dict(notification.group_labels),
            "common_labels": dict(notification.common_labels),
            "common_annotations": dict(notification.common_annotations),
            "external_url": notification.external_url,
            "alerts": [_alert_dict(a) for a in notification.alerts],
        }
    )


def notification_from_json(text: str) -> Notification:
    """The notification `notification_to_json` wrote. Raises ValueError for anything else."""
    data = _object(_loads(text), "notification")
    version = data.get("version")
    if version != CODEC_VERSION:
        raise ValueError(f"notification: version {version!r} is not {CODEC_VERSION}")
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise ValueError("notification.alerts: expected a list")
    return Notification(
        receiver=_str(data, "receiver", "notification"),
        group_key=_str(data, "group_key", "notification"),
        group_labels=_labels(data, "group_labels", "notification"),
        common_labels=_labels(data, "common_labels", "notification"),
        common_annotations=_labels(data, "common_annotations", "notification"),
        alerts=tuple(
            _alert(_object(a, f"notification.alerts[{i}]"), f"notification.alerts[{i}]") for i, a in enumerate(alerts)
        ),
        external_url=_str(data, "external_url", "notification"),
    )


def alert_to_json(alert: Alert) -> str:
    """One alert as JSON (the same object a notification's `alerts` list holds)."""
    return _dumps(_alert_dict(alert))


def alert_from_json(text: str) -> Alert:
    """The alert `alert_to_json` wrote. Raises ValueError for anything else."""
    return _alert(_object(_loads(text), "alert"), "alert")


def _dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _loads(text: str) -> object:
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from exc


def _refuse_constant(name: str) -> float:
    raise ValueError(f"not JSON: bare {name} (non-finite numbers are written as strings)")


def _alert_dict(alert: Alert) -> dict[str, object]:
    return {
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "state": alert.state.value,
        "active_at": alert.active_at,
        "value": _float_out(alert.value),
        "fired_at": alert.fired_at,
        "resolved_at": alert.resolved_at,
        "last_evaluated": alert.last_evaluated,
        "generator_url": alert.generator_url,
    }


def _alert(data: Mapping[str, Any], where: str) -> Alert:
    state = _str(data, "state", where)
    try:
        alert_state = AlertState(state)
    except ValueError:
        raise ValueError(f"{where}.state: {state!r} is not one of inactive, pending, firing") from None
    active_at = _time(data, "active_at", where)
    if active_at is None:
        raise ValueError(f"{where}.active_at: expected a number")
    return Alert(
        labels=_labels(data, "labels", where),
        annotations=_labels(data, "annotations", where),
        state=alert_state,
        active_at=active_at,
        value=_float_in(data.get("value"), f"{where}.value"),
        fired_at=_time(data, "fired_at", where),
        resolved_at=_time(data, "resolved_at", where),
        last_evaluated=_time(data, "last_evaluated", where),
        generator_url=_str(data, "generator_url", where),
    )


def _float_out(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return value


def _float_in(value: object, where: str) -> float:
    if isinstance(value, str) and value in _SPECIAL:
        return _SPECIAL[value]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: expected a number, NaN, +Inf or -Inf, got {value!r}")
    return float(value)


def _time(data: Mapping[str, Any], key: str, where: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}.{key}: expected Unix seconds or null, got {value!r}")
    return float(value)


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def _labels(data: Mapping[str, Any], key: str, where: str) -> Labels:
    value = data.get(key)
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError(f"{where}.{key}: expected an object of strings")
    return Labels(value)
