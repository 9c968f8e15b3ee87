"""The notification log's vocabulary and its decision: Alertmanager's nflog and `DedupStage`.

The log holds one `LogEntry` per (receiver, integration, group key): the fingerprints of the firing
and of the resolved alerts last *enqueued*, when, and when the integration last confirmed a send.
`dedup_reason` decides from it whether an integration needs a notification about a group, and why
(a `NotifyReason`). Decisions are Alertmanager's `DedupStage` with one deviation: the entry's time
is the enqueue time (Alertmanager logs after the send) and a repeat is due once
`t - entry >= repeat_interval` (Alertmanager: strictly after), so a 4h repeat interval at 5m group
ticks repeats after 4h, not 4h05m. An entry that has expired (`alerts.delivery` prunes them, as
Alertmanager does) is no entry: the group is treated as never notified.

Pure: no storage and no clock. The log is stored, and entries are written, by `alerts.delivery`.
Times are Unix seconds.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Set

from alerts.model import Notification

__all__ = ["LogEntry", "NotifyReason", "dedup_reason", "fingerprints"]


class NotifyReason(enum.Enum):
    """Why an integration is (or is not) notified about a group: Alertmanager's DedupStage cases."""

    FIRST = "first"  # never notified and something fires
    NEW_FIRING = "new_firing"  # an alert fires that the last notification did not list as firing
    ALL_RESOLVED = "all_resolved"  # nothing fires any more, the last notification had firing alerts
    NEW_RESOLVED = "new_resolved"  # send_resolved and an alert resolved since the last notification
    REPEAT_ELAPSED = "repeat_elapsed"  # nothing changed and repeat_interval has elapsed
    NOTHING_FIRING = "nothing_firing"  # never notified and only resolved alerts: the receiver never knew
    ALREADY_RESOLVED = "already_resolved"  # nothing fires now, nothing fired at the last notification
    UP_TO_DATE = "up_to_date"  # nothing changed within repeat_interval

    @property
    def notify(self) -> bool:
        """Whether the integration is notified."""
        return self not in _QUIET


_QUIET = frozenset({NotifyReason.NOTHING_FIRING, NotifyReason.ALREADY_RESOLVED, NotifyReason.UP_TO_DATE})


@dataclasses.dataclass(frozen=True, slots=True)
class LogEntry:
    """A notification log entry: the fingerprints last enqueued, when (`at`), and the last
    confirmed send (`sent_at`, None before the first)."""

    firing: frozenset[str]
    resolved: frozenset[str]
    at: float
    sent_at: float | None = None


def dedup_reason(
    entry: LogEntry | None,
    firing: Set[str],
    resolved: Set[str],
    *,
    send_resolved: bool,
    repeat_interval: float,
    t: float,
) -> NotifyReason:
    """Whether a group with these firing and resolved fingerprints needs a notification, given the
    integration's log entry (Alertmanager's `DedupStage.needsUpdate`; repeat: see the module)."""
    if entry is None:
        return NotifyReason.FIRST if firing else NotifyReason.NOTHING_FIRING
    if not firing <= entry.firing:
        return NotifyReason.NEW_FIRING
    if not firing:
        # Sent whatever send_resolved says, so the log forgets the firing alerts (Alertmanager).
        return NotifyReason.ALL_RESOLVED if entry.firing else NotifyReason.ALREADY_RESOLVED
    if send_resolved and not resolved <= entry.resolved:
        return NotifyReason.NEW_RESOLVED
    if t - entry.at >= repeat_interval:
        return NotifyReason.REPEAT_ELAPSED
    return NotifyReason.UP_TO_DATE


def fingerprints(notification: Notification) -> tuple[frozenset[str], frozenset[str]]:
    """The fingerprints of the notification's (firing, resolved) alerts, as a log entry holds them."""
    firing = frozenset(a.fingerprint for a in notification.alerts if not a.resolved)
    resolved = frozenset(a.fingerprint for a in notification.alerts if a.resolved)
    return firing, resolved
