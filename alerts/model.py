"""The alerting vocabulary every part of alerts/ shares: an alert as the rule engine hands it to
the notification pipeline, and the contract of a notifier.

Semantics follow Prometheus (alert states, `for`, `keep_firing_for`, resolved alerts re-sent for
15 minutes) and Alertmanager (fingerprints, grouping keys, webhook payloads).
"""

from __future__ import annotations

import enum
import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from model import Labels

__all__ = [
    "RESOLVED_RETENTION",
    "Alert",
    "AlertState",
    "Notification",
    "Notifier",
    "NotifyError",
    "common",
    "fingerprint",
]

RESOLVED_RETENTION = 15 * 60.0
"""Seconds a resolved alert is still handed to the pipeline (and re-sent), as Prometheus does."""


class AlertState(enum.Enum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


@functools.lru_cache(maxsize=65_536)
def fingerprint(labels: Labels) -> str:
    """A stable 16-hex-digit id of a label set (the same in every process and after a restart);
    remembered per label set: the pipeline asks for it of every alert at every tick."""
    digest = hashlib.sha256()
    for name, value in labels.pairs:
        digest.update(name.encode("utf-8") + b"\xff" + value.encode("utf-8") + b"\xff")
    return digest.hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert instance of one alerting rule: its labels (the rule's output labels, `alertname`
    included, plus the rule's `labels`), its templated annotations and state.

    Times are Unix seconds. `active_at`: when it first became pending (Prometheus' activeAt);
    `fired_at`: when it started firing (None while pending); `resolved_at`: when it stopped firing
    (None while active); `value`: the expression's value at the last evaluation."""

    labels: Labels
    annotations: Labels
    state: AlertState
    active_at: float
    value: float
    fired_at: float | None = None
    resolved_at: float | None = None
    last_evaluated: float | None = None
    generator_url: str = ""
    """Where the alert comes from (Prometheus' generatorURL: the rule's expression in the console)."""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")

    @property
    def resolved(self) -> bool:
        return self.resolved_at is not None


@dataclass(frozen=True, slots=True)
class Notification:
    """What a notifier sends: one group of alerts for one receiver, in Alertmanager's terms.

    `group_key` identifies the aggregation group (route + group labels) and `group_labels` are the
    `group_by` labels' values; `alerts` are the group's firing and recently resolved alerts."""

    receiver: str
    group_key: str
    group_labels: Labels
    common_labels: Labels
    common_annotations: Labels
    alerts: tuple[Alert, ...]
    external_url: str = ""

    @property
    def status(self) -> str:
        """ "firing" while any alert of the group fires, else "resolved" (Alertmanager's rule)."""
        return "firing" if any(not a.resolved for a in self.alerts) else "resolved"


class NotifyError(Exception):
    """A send failed. `retryable` is False only when sending again cannot help (a 4xx answer other
    than 429, an address the server refuses); the pipeline retries the others with backoff and
    never drops a notification."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Notifier(Protocol):
    """One receiver integration (email, webhook, Alertmanager). Raises NotifyError on failure."""

    async def notify(self, notification: Notification) -> None: ...


def common(labels: Sequence[Labels]) -> Labels:
    """The label pairs every one of `labels` has (Alertmanager's CommonLabels)."""
    if not labels:
        return Labels()
    shared: Mapping[str, str] = dict(labels[0])
    for other in labels[1:]:
        shared = {name: value for name, value in shared.items() if other.get(name) == value}
    return Labels(shared)
