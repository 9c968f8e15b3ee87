"""The notification pipeline: from the rule engine's alerts to queued notifications.

    rules ──> receive() ──> aggregation groups (route tree, group_by)
                                 │ due (group_wait, group_interval)
                                 ▼
              flush(): mute (topology, inhibit, silence, maintenance, ack, flapping, time intervals)
                       → group → dedup via the notification log → outbox (alerts/delivery.py:
                       retry with backoff, outcome and log recorded in one transaction)

`Pipeline.flush` is that one function. Everything else here keeps the groups current and explains
each alert: `views(t)` says, per alert, why it was or was not notified (silenced by #id, inhibited
by <alert>, suppressed by <alert>, in maintenance <name>, acknowledged by <user>, flapping, within
group_wait until <t>, notified at <t> and repeat due at <t>).

Grouping follows Alertmanager's dispatcher: an alert goes to every route `match_routes` gives; per
route, alerts with the same `group_by` values form one group. A new group is flushed `group_wait`
after its first alert (at once when the alert fired longer than that ago: after a restart the
notification log decides whether anything is new), then every `group_interval`. Only alerts that
fired are grouped (pending ones never notify). Resolved alerts leave their groups once a flush has
carried them; an empty group is dropped.

Beyond Alertmanager:
- topology suppression (alerts/suppression.py): alerts of nodes cut off by down alerts are muted
  and the cutting alert's notification names the devices behind it (annotation `behind`, from the
  topology: complete at the first page, before the devices' own alerts fire);
- acknowledgement mutes an alert's repeats and escalation; when it expires while the alert fires,
  the alert is notified again at once;
- escalation: a firing alert not acknowledged within the route's `escalate_after` also goes to the
  chain's next receiver (group key `<group>/escalation/<receiver>`);
- maintenance windows mute like silences, by schedule;
- flapping: an alert that changes state too often is muted and notified once as flapping (group key
  `<group>/flapping`), and once more when it has calmed (then normally again).

Thread-safety: `receive`, `tick` and the API's `views` may run on different threads; one lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from alerts.acks import Acknowledgement, Acks
from alerts.delivery import Delivery
from alerts.explain import AlertBrief, AlertView, GroupPhase, GroupView, Mute, MuteReason, RouteMute
from alerts.flapping import FlapChange, FlapDetector
from alerts.maintenance import Maintenances
from alerts.model import Alert, Notification, common
from alerts.routing import Inhibitions, InhibitRule, Route, group_key, match_routes
from alerts.silences import Silences
from alerts.suppression import Cut, Topology
from alerts.timeintervals import TimeInterval
from model import Clock, Labels

__all__ = ["AlertView", "GroupPhase", "GroupView", "Mute", "MuteReason", "Pipeline", "RouteMute"]

log = logging.getLogger(__name__)

ESCALATION_CHECK = 5.0
"""Seconds between two looks for alerts due for escalation (not every tick: it costs a pass over
the escalating groups' alerts)."""

BEHIND_LISTED = 20
"""How many devices a cutting alert's `behind` annotation names before "and N more"."""


@dataclass(slots=True)
class _Group:
    key: str
    route: Route
    labels: Labels
    alerts: dict[str, Alert] = field(default_factory=dict)
    next_flush: float = 0.0
    flushed: bool = False
    escalated: dict[str, frozenset[str]] = field(default_factory=dict)
    """Escalation receiver -> the alerts last handed to it."""
    escalation_due: float = 0.0
    """When the escalations are handed over again even if unchanged (the log decides on repeats)."""


@dataclass(frozen=True, slots=True)
class _Moment:
    """What mutes alerts at one time `t`, computed once per flush round."""

    t: float
    inhibitions: Inhibitions
    cut: Cut | None
    firing: Mapping[str, Alert]
    victims: dict[str, list[Alert]] = field(default_factory=dict)
    """Down alert fingerprint -> the firing alerts it suppresses; filled on first use."""
    victims_known: list[bool] = field(default_factory=list)


class Pipeline:
    """Alerts in, notifications queued on `delivery`. Feed it `receive(source, alerts)` after every
    rule-group evaluation and call `tick(t)` (or `run`) to flush due groups."""

    def __init__(
        self,
        *,
        root: Route,
        delivery: Delivery,
        clock: Clock,
        registry: CollectorRegistry,
        inhibit_rules: Sequence[InhibitRule] = (),
        time_intervals: Mapping[str, TimeInterval] | None = None,
        silences: Silences | None = None,
        acks: Acks | None = None,
        maintenances: Maintenances | None = None,
        flaps: FlapDetector | None = None,
        topology: Topology | None = None,
        external_url: str = "",
    ) -> None:
        self.root = root
        self.delivery = delivery
        self.silences = silences
        self.acks = acks
        self.maintenances = maintenances
        self.flaps = flaps
        self.topology = topology
        self._clock = clock
        self._rules = tuple(inhibit_rules)
        self._intervals = dict(time_intervals or {})
        self._external_url = external_url
        self._lock = threading.RLock()
        self._sources: dict[str, dict[str, Alert]] = {}
        """Rule group key -> its alerts (pending, firing or resolved) by fingerprint."""
        self._groups: dict[str, _Group] = {}
        self._renotify: set[str] = set()
        """Alerts to notify again at the next tick whatever the log says (un-acknowledged)."""
        self._next_escalation_check = 0.0
        self._carried: dict[str, float | None] = {}
        """Resolved alerts a flush has carried (by fingerprint: their resolved_at): not grouped again
        when the rules hand them over again during their 15 minutes of retention."""
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._received = Counter("alerts_received_total", "Alerts handed to the pipeline.", registry=registry)
        self._submitted = Counter(
            "alert_notifications_queued_total", "Notifications queued for a receiver.", ["receiver"], registry=registry
        )
        self._muted = Gauge(
            "alerts_muted", "Firing alerts muted at the last flush, by reason.", ["reason"], registry=registry
        )
        self._latency = Histogram(
            "alert_pipeline_latency_seconds",
            "From when a group was due to when its notification was queued.",
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30),
            registry=registry,
        )

    # -- input ------------------------------------------------------------------------------------

    def receive(self, source: str, alerts: Sequence[Alert]) -> None:
        """The alerts of rule group `source` after an evaluation (its active and recently resolved
        ones). Alerts of the source not among them any more leave their groups."""
        t = self._clock.now()
        held = {a.fingerprint: a for a in alerts}
        fired = {fp: a for fp, a in held.items() if a.fired_at is not None}
        self._received.inc(len(held))
        with self._lock:
            previous = self._sources.get(source, {})
            self._sources[source] = held
            for fp in previous.keys() - held.keys():
                self._drop(fp)
            for fp, alert in fired.items():
                if alert.resolved and self.acks is not None:
                    self.acks.clear(fp, t)  # the episode is over (no database access without an ack)
                self._place(fp, alert, t)
            if self.flaps is not None:
                changes = self.flaps.observe_many(((fp, not a.resolved) for fp, a in fired.items()), t)
                for fp, change in changes.items():
                    self._flap_changed(fired[fp], change, t)
        self._poke()

    def _place(self, fp: str, alert: Alert, t: float) -> None:
        if alert.resolved and fp in self._carried and self._carried[fp] == alert.resolved_at:
            return
        self._carried.pop(fp, None)
        for route in match_routes(self.root, alert.labels):
            key, labels = group_key(route, alert.labels)
            group = self._groups.get(key)
            if group is None:
                group = self._groups[key] = _Group(key, route, labels, next_flush=t + route.group_wait)
            if not group.flushed and not alert.resolved and (alert.fired_at or t) + route.group_wait <= t:
                group.next_flush = min(group.next_flush, t)  # fired long ago (a restart): no second wait
            group.alerts[fp] = alert

    def _drop(self, fp: str) -> None:
        for key in [k for k, g in self._groups.items() if g.alerts.pop(fp, None) is not None and not g.alerts]:
            del self._groups[key]
        self._carried.pop(fp, None)

    def _flap_changed(self, alert: Alert, change: FlapChange, t: float) -> None:
        """Flapping started: the alert is notified once as flapping. Calmed: once more, then its
        groups carry it again (flushed now)."""
        marked = replace(
            alert,
            annotations=Labels({**dict(alert.annotations), "flapping": change.value}),
        )
        for route in match_routes(self.root, alert.labels):
            key, labels = group_key(route, alert.labels)
            self._submit(route, f"{key}/flapping", labels, [marked], t, reason=f"flapping_{change.value}")
            group = self._groups.get(key)
            if group is not None and change is FlapChange.CALMED:
                group.next_flush = t

    # -- acknowledgement --------------------------------------------------------------------------

    def acknowledge(self, fp: str, by: str, comment: str, expires_in: float | None = None) -> Acknowledgement:
        """Acknowledge the alert `fp` (KeyError when no such alert fires)."""
        if self.acks is None:
            raise RuntimeError("acknowledgements are not configured")
        with self._lock:
            if fp not in self._firing():
                raise KeyError(fp)
        return self.acks.acknowledge(fp, by, comment, self._clock.now(), expires_in)

    def unacknowledge(self, fp: str, by: str) -> Acknowledgement:
        if self.acks is None:
            raise RuntimeError("acknowledgements are not configured")
        ack = self.acks.unacknowledge(fp, by, self._clock.now())
        with self._lock:
            self._renotify.add(fp)
        self._poke()
        return ack

    def _poke(self) -> None:
        """Wake `run` (from any thread) to look at the groups now."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    # -- the pipeline -----------------------------------------------------------------------------

    def tick(self, t: float | None = None) -> int:
        """Flush every group due at `t` (default: now); the number of notifications queued."""
        t = self._clock.now() if t is None else t
        with self._lock:
            expired = self._expired_acks(t)
            again = expired | self._renotify
            self._renotify = set()
            due = [g for g in self._groups.values() if g.next_flush <= t]
            escalating: list[_Group] = []
            if t >= self._next_escalation_check:
                escalating = [g for g in self._groups.values() if g.route.escalation and g.flushed]
                self._next_escalation_check = t + ESCALATION_CHECK
            if not due and not escalating and not again:
                return 0
            moment = self._moment(t)
            sent = {group.key for group in due if self.flush(group, moment)}
            queued = len(sent)
            for group in [g for g in self._groups.values() if again & g.alerts.keys() and g.key not in sent]:
                queued += self.flush(group, moment, reason="acknowledgement_expired")
            if self.acks is not None:
                for fp in expired:  # re-paged (queued durably): the expired acknowledgement is done
                    self.acks.clear(fp, t)
            for group in escalating:
                queued += self._escalate(group, moment)
            if due:
                self._count_mutes(moment)
            return queued

    def _expired_acks(self, t: float) -> set[str]:
        """Firing alerts whose acknowledgement has expired by `t`. Expired acknowledgements stay in
        the database until the alert is re-paged (or resolves), so one that expired while the
        console was down, or before its alert was evaluated again, still pages."""
        if self.acks is None:
            return set()
        firing = self._firing()
        return {
            a.fingerprint for a in self.acks.list() if a.expires_at is not None and a.expires_at <= t
        } & firing.keys()

    def flush(self, group: _Group, moment: _Moment, *, reason: str = "") -> int:
        """The pipeline for one due group: drop what is muted (topology, inhibition, silences,
        maintenance, acknowledgement, flapping), then queue the rest for the route's receiver
        if the notification log says it is news (or a repeat is due); the outbox retries it with
        backoff and records the outcome with its log entry. 1 when a notification was queued.
        With a `reason` the notification goes out even if the log has seen it all (an
        acknowledgement expired while the alert fires: it must page again)."""
        t = moment.t
        self._latency.observe(max(t - group.next_flush, 0.0))
        group.next_flush = t + group.route.group_interval
        group.flushed = True
        alerts = [a for fp, a in sorted(group.alerts.items(), key=_alert_order) if not self._mutes(fp, a, moment)]
        for fp in [fp for fp, a in group.alerts.items() if a.resolved]:
            self._carried[fp] = group.alerts.pop(fp).resolved_at  # carried by this flush: it leaves
        if not group.alerts:
            self._groups.pop(group.key, None)
        if self._route_muted(group.route, t):
            return 0
        alerts = [self._with_behind(a, moment) for a in alerts]
        return self._submit(group.route, group.key, group.labels, alerts, t, reason=reason)

    def _submit(
        self,
        route: Route,
        key: str,
        labels: Labels,
        alerts: Sequence[Alert],
        t: float,
        *,
        receiver: str = "",
        reason: str = "",
    ) -> int:
        """Queue a notification of `alerts` for the route's (or the given) receiver: through the
        notification log's decision, or, with a `reason` (acknowledgement expired, flapping), for
        every integration regardless of it. Nothing when `alerts` is empty (all muted)."""
        if not alerts:
            return 0
        receiver = receiver or route.receiver
        notification = Notification(
            receiver=receiver,
            group_key=key,
            group_labels=labels,
            common_labels=common([a.labels for a in alerts]),
            common_annotations=common([a.annotations for a in alerts]),
            alerts=tuple(alerts),
            external_url=self._external_url,
        )
        if reason:
            queued = bool(self.delivery.enqueue(notification, self.delivery.integration_ids(receiver), t, reason))
        else:
            decisions = self.delivery.submit(notification, route.repeat_interval, t)
            queued = any(decision.notify for decision in decisions.values())
        if queued:
            self._submitted.labels(receiver).inc()
        return int(queued)

    def _escalate(self, group: _Group, moment: _Moment) -> int:
        """Send the group's unacknowledged firing alerts to the escalation receiver each is due for."""
        route, t = group.route, moment.t
        by_receiver: dict[str, list[Alert]] = {}
        for fp, alert in sorted(group.alerts.items(), key=_alert_order):
            if alert.resolved or alert.fired_at is None or self._mutes(fp, alert, moment):
                continue
            receiver = route.escalation_receiver(t - alert.fired_at)
            if receiver is not None:
                by_receiver.setdefault(receiver, []).append(alert)
        current = {receiver: frozenset(a.fingerprint for a in alerts) for receiver, alerts in by_receiver.items()}
        if current == group.escalated and t < group.escalation_due:
            return 0
        group.escalated, group.escalation_due = current, t + route.group_interval
        queued = 0
        for receiver, alerts in by_receiver.items():
            key = f"{group.key}/escalation/{receiver}"
            queued += self._submit(route, key, group.labels, alerts, t, receiver=receiver)
        return queued

    # -- muting and explaining --------------------------------------------------------------------

    def _moment(self, t: float) -> _Moment:
        firing = self._firing()
        cut = self.topology.cut(firing.values()) if self.topology is not None else None
        return _Moment(t, Inhibitions(self._rules, (a.labels for a in firing.values())), cut, firing)

    def _mutes(self, fp: str, alert: Alert, moment: _Moment, *, all_reasons: bool = False) -> list[Mute]:
        """Why `alert` is not notified at `moment.t`, in the order the pipeline applies the
        reasons (the first one alone unless `all_reasons`)."""
        found: list[Mute] = []
        t = moment.t
        if moment.cut is not None:
            causes = moment.cut.suppressed_by(alert.labels)
            if causes:
                names = ", ".join(_describe(c) for c in causes)
                args = (("source", names),)
                found.append(Mute(MuteReason.SUPPRESSED, f"suppressed by {names}", causes[0].fingerprint, args))
                if not all_reasons:
                    return found
        source = moment.inhibitions.inhibitor(alert.labels) if self._rules else None
        if source is not None:
            names = _describe_labels(source)
            found.append(Mute(MuteReason.INHIBITED, f"inhibited by {names}", args=(("source", names),)))
            if not all_reasons:
                return found
        silence = self.silences.silencing(alert.labels, t) if self.silences is not None else None
        if silence is not None:
            found.append(
                Mute(
                    MuteReason.SILENCED,
                    f"silenced by #{silence.id} ({silence.created_by}: {silence.comment})",
                    silence.id,
                    (("id", silence.id), ("by", silence.created_by), ("comment", silence.comment)),
                )
            )
            if not all_reasons:
                return found
        window = self.maintenances.in_maintenance(alert.labels, t) if self.maintenances is not None else None
        if window is not None:
            found.append(
                Mute(
                    MuteReason.MAINTENANCE,
                    f"in maintenance {window.name} ({window.owner}: {window.reason})",
                    window.name,
                    (("name", window.name), ("owner", window.owner), ("reason", window.reason)),
                )
            )
            if not all_reasons:
                return found
        ack = self.acks.active(fp, t) if self.acks is not None and not alert.resolved else None
        if ack is not None:
            until = f" until {_iso(ack.expires_at)}" if ack.expires_at is not None else ""
            expiry = (("until", _iso(ack.expires_at)),) if ack.expires_at is not None else ()
            args = (("by", ack.by), *expiry, ("comment", ack.comment))
            found.append(Mute(MuteReason.ACKNOWLEDGED, f"acknowledged by {ack.by}{until}: {ack.comment}", ack.by, args))
            if not all_reasons:
                return found
        if self.flaps is not None and self.flaps.is_flapping(fp, t):
            since = self.flaps.started_flapping(fp)
            detail = f"flapping since {_iso(since)}: notified once as flapping"
            found.append(Mute(MuteReason.FLAPPING, detail, args=(("since", _iso(since)),)))
        return found

    def _route_muted(self, route: Route, t: float) -> str:
        mute, names = self._route_mute(route, t)
        if mute is RouteMute.MUTED:
            return f"route muted by time interval {names[0]}"
        if mute is RouteMute.INACTIVE:
            return "route outside its active time intervals " + ", ".join(names)
        return ""

    def _route_mute(self, route: Route, t: float) -> tuple[RouteMute | None, tuple[str, ...]]:
        for name in route.mute_time_intervals:
            interval = self._intervals.get(name)
            if interval is not None and interval.active(t):
                return RouteMute.MUTED, (name,)
        if route.active_time_intervals and not any(
            self._intervals[n].active(t) for n in route.active_time_intervals if n in self._intervals
        ):
            return RouteMute.INACTIVE, tuple(route.active_time_intervals)
        return None, ()

    def _with_behind(self, alert: Alert, moment: _Moment) -> Alert:
        """A cutting alert with the `behind` annotation: the devices it cuts off."""
        if moment.cut is None or self.topology is None or alert.name not in self.topology.down_alerts:
            return alert
        names = moment.cut.behind(alert)
        if not names:
            return alert
        listed = ", ".join(names[:BEHIND_LISTED])
        more = f" and {len(names) - BEHIND_LISTED} more" if len(names) > BEHIND_LISTED else ""
        text = f"{len(names)} devices cut off: {listed}{more}"
        return replace(alert, annotations=Labels({**dict(alert.annotations), "behind": text}))

    def _behind(self, alert: Alert, moment: _Moment) -> list[Alert]:
        if moment.cut is None or self.topology is None or alert.name not in self.topology.down_alerts:
            return []
        if not moment.victims_known:  # once per moment: one pass over the firing alerts
            moment.victims_known.append(True)
            for other in moment.firing.values():
                for cause in moment.cut.suppressed_by(other.labels):
                    moment.victims.setdefault(cause.fingerprint, []).append(other)
        return moment.victims.get(alert.fingerprint, [])

    def _count_mutes(self, moment: _Moment) -> None:
        counts = dict.fromkeys(MuteReason, 0)
        for fp, alert in moment.firing.items():
            mutes = self._mutes(fp, alert, moment)
            if mutes:
                counts[mutes[0].reason] += 1
        for reason, count in counts.items():
            self._muted.labels(reason.value).set(count)

    def views(self, t: float | None = None) -> list[AlertView]:
        """Every alert held (pending, firing, or resolved within 15 minutes), with
        why it was or was not notified. Sorted by alert name, then labels."""
        t = self._clock.now() if t is None else t
        with self._lock:
            moment = self._moment(t)
            alerts = {fp: a for source in self._sources.values() for fp, a in source.items()}
            in_groups: dict[str, list[GroupView]] = {}
            for group in self._groups.values():  # each group's view once (it reads the log)
                view = self._group_view(group, t)
                for fp in group.alerts:
                    in_groups.setdefault(fp, []).append(view)
            out = []
            for fp, alert in sorted(alerts.items(), key=lambda item: (item[1].name, item[1].labels.pairs)):
                groups = tuple(in_groups.get(fp, ()))
                behind = tuple(a.fingerprint for a in self._behind(alert, moment))
                out.append(
                    AlertView(
                        alert=alert,
                        mutes=tuple(self._mutes(fp, alert, moment, all_reasons=True)),
                        groups=groups,
                        acknowledgement=self.acks.active(fp, t) if self.acks is not None else None,
                        flapping=self.flaps.is_flapping(fp, t) if self.flaps is not None else False,
                        behind=behind,
                    )
                )
            return out

    def briefs(self, t: float | None = None) -> list[AlertBrief]:
        """Every alert `views(t)` holds, in brief and unsorted: for aggregate views at a fraction of
        its cost (no sentences, no group views, no inhibition index)."""
        t = self._clock.now() if t is None else t
        with self._lock:
            cut = self.topology.cut(self._firing().values()) if self.topology is not None else None
            maintenances = self.maintenances
            out = []
            for source in self._sources.values():
                for fp, alert in source.items():
                    window = maintenances.in_maintenance(alert.labels, t) if maintenances is not None else None
                    ack = self.acks.active(fp, t) if self.acks is not None and not alert.resolved else None
                    out.append(
                        AlertBrief(
                            alert,
                            cut is not None and bool(cut.suppressed_by(alert.labels)),
                            window is not None,
                            ack.by if ack is not None else None,
                        )
                    )
            return out

    def _group_view(self, group: _Group, t: float) -> GroupView:
        receiver = group.route.receiver
        last = self.delivery.last_sent(receiver, group.key)
        ids = self.delivery.integration_ids(receiver)
        entry = self.delivery.entry(receiver, ids[0], group.key) if ids else None
        repeat: float | None = None
        if not group.flushed:
            phase, status = GroupPhase.GROUP_WAIT, f"within group_wait until {_iso(group.next_flush)}"
        elif last is None:
            phase, status = GroupPhase.WAITING, f"not notified yet; next check at {_iso(group.next_flush)}"
        else:
            repeat = (entry.at if entry is not None else last) + group.route.repeat_interval
            phase = GroupPhase.NOTIFIED
            status = f"notified at {_iso(last)}; repeat due at {_iso(repeat)}, next check at {_iso(group.next_flush)}"
        route_mute, intervals = self._route_mute(group.route, t)
        return GroupView(
            group.key,
            group.route.receiver,
            status,
            last,
            group.next_flush,
            self._route_muted(group.route, t),
            phase=phase,
            repeat_due=repeat,
            route_mute=route_mute,
            route_mute_intervals=intervals,
        )

    def firing(self) -> dict[str, Alert]:
        """The firing alerts by fingerprint."""
        with self._lock:
            return self._firing()

    def _firing(self) -> dict[str, Alert]:
        return {
            fp: a
            for alerts in self._sources.values()
            for fp, a in alerts.items()
            if a.fired_at is not None and not a.resolved
        }

    # -- running ----------------------------------------------------------------------------------

    def next_due(self) -> float | None:
        with self._lock:
            return min((g.next_flush for g in self._groups.values()), default=None)

    async def run(self, stop: asyncio.Event, *, resolution: float = 1.0) -> None:
        """Tick whenever a group is due (checked at least every `resolution` seconds, for
        escalations and expiring acknowledgements) until `stop` is set."""
        self._loop = asyncio.get_running_loop()
        while not stop.is_set():
            self._wake.clear()
            try:
                self.tick()
                due = self.next_due()
                wait = resolution if due is None else min(max(due - self._clock.now(), 0.0), resolution)
            except Exception:  # a bug or a broken database must not end the ticks: log, wait, go on
                log.exception("alert pipeline tick failed; next try in %gs", resolution)
                wait = resolution
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)


def _alert_order(item: tuple[str, Alert]) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """Alertmanager's order of a group's alerts: by `job`, then `instance`, then all labels."""
    labels = item[1].labels
    return labels.get("job", ""), labels.get("instance", ""), labels.pairs


def _describe(alert: Alert) -> str:
    return _describe_labels(alert.labels)


def _describe_labels(labels: Labels) -> str:
    name = labels.get("alertname", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in labels.pairs if k in ("target", "link", "site", "instance"))
    return f"{name}{{{rest}}}"


def _iso(t: float | None) -> str:
    if t is None:
        return "-"
    return datetime.datetime.fromtimestamp(t, tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
