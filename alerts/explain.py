"""What the notification pipeline says about each alert: why it is or is not notified.

`Pipeline.views()` (alerts/pipeline.py) gives an `AlertView` per alert: its mutes (each a
`MuteReason` with an English sentence, `detail`, for the API and log, and the same facts as `args`
for pages that write it in their own language) and, per aggregation group, a `GroupView`: where it
goes, its phase (within group_wait / waiting / notified) and when it is next looked at.

`Pipeline.briefs()` gives the same alerts in brief (`AlertBrief`): suppressed or not, in
maintenance or not, acknowledged by whom. Aggregate views (the wall) read those: no sentences, no
group views, a few dictionary look-ups per alert.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from alerts.acks import Acknowledgement
from alerts.model import Alert

__all__ = ["AlertBrief", "AlertView", "GroupPhase", "GroupView", "Mute", "MuteReason", "RouteMute"]


class MuteReason(enum.Enum):
    SUPPRESSED = "suppressed"
    INHIBITED = "inhibited"
    SILENCED = "silenced"
    MAINTENANCE = "maintenance"
    ACKNOWLEDGED = "acknowledged"
    FLAPPING = "flapping"


@dataclass(frozen=True, slots=True)
class Mute:
    """One reason an alert is not notified; `detail` is the English sentence the API shows, `args`
    its parts for a page to say it in its own language."""

    reason: MuteReason
    detail: str
    ref: str = ""
    """What mutes it: a silence id, an alert fingerprint, a window name, a user."""
    args: tuple[tuple[str, str], ...] = ()
    """(name, value) by reason: silenced `id`, `by`, `comment`; suppressed and inhibited `source`
    (the muting alerts described); maintenance `name`, `owner`, `reason`; acknowledged `by`,
    `until` (only with an expiry), `comment`; flapping `since`. Times as `2027-01-15T10:00:31Z`."""


class GroupPhase(enum.Enum):
    """Where an aggregation group is: waiting out `group_wait`, flushed but nothing notified yet
    (all muted), or notified."""

    GROUP_WAIT = "group_wait"
    WAITING = "waiting"
    NOTIFIED = "notified"


class RouteMute(enum.Enum):
    """Why a route sends nothing now: one of its `mute_time_intervals` is active, or none of its
    `active_time_intervals` is."""

    MUTED = "muted"
    INACTIVE = "inactive"


@dataclass(frozen=True, slots=True)
class GroupView:
    """An alert's place in one aggregation group: where it goes and when."""

    group_key: str
    receiver: str
    status: str
    """"within group_wait until <t>", "not notified yet; next check at <t>", "notified at <t>;
    repeat due at <t>, next check at <t>" (English, for the API; `phase` and the times say it)."""
    last_notified: float | None
    next_flush: float
    route_muted: str = ""
    """Why the route sends nothing now (mute_time_intervals / active_time_intervals), or ""."""
    phase: GroupPhase = field(kw_only=True)
    repeat_due: float | None = field(default=None, kw_only=True)
    """When the notification is repeated if nothing changes (NOTIFIED only), Unix seconds."""
    route_mute: RouteMute | None = field(default=None, kw_only=True)
    route_mute_intervals: tuple[str, ...] = field(default=(), kw_only=True)
    """The time intervals behind `route_mute`: the active mute interval, or the active intervals."""


@dataclass(frozen=True, slots=True)
class AlertView:
    """One alert as the API shows it."""

    alert: Alert
    mutes: tuple[Mute, ...]
    groups: tuple[GroupView, ...]
    acknowledgement: Acknowledgement | None
    flapping: bool
    behind: tuple[str, ...] = ()
    """Fingerprints of the alerts this one suppresses (it cuts their nodes off)."""


@dataclass(frozen=True, slots=True)
class AlertBrief:
    """One held alert in brief: what an aggregate view needs. `suppressed`: behind a cut (topology
    suppression); `maintenance`: muted by an active maintenance window; `acknowledged_by`: the user
    whose acknowledgement is in force, else None."""

    alert: Alert
    suppressed: bool
    maintenance: bool
    acknowledged_by: str | None

    @classmethod
    def of(cls, view: AlertView, t: float) -> AlertBrief:
        """The brief of a full view at `t` (what `Pipeline.briefs(t)` says of the same alert)."""
        reasons = {mute.reason for mute in view.mutes}
        ack = view.acknowledgement
        return cls(
            view.alert,
            MuteReason.SUPPRESSED in reasons,
            MuteReason.MAINTENANCE in reasons,
            ack.by if ack is not None and ack.active(t) and not view.alert.resolved else None,
        )
