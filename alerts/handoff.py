"""Alertmanager mode: the console hands notification to an Alertmanager cluster.

    handoff = AlertmanagerHandoff(config.alerting.alertmanager, clock=clock, registry=registry)
    RuleManager(..., on_alerts=<pipeline.receive and handoff.receive, both>)
    asyncio.create_task(handoff.run(stop))      # sends and reads back until `stop` is set
    handoff.silences()                          # the Alertmanager's silences, read back
    handoff.mark_views(pipeline.views())        # the console's views with the Alertmanager's mutes
    handoff.create_silence(...)                 # from the API's thread: POSTed to the Alertmanager
    handoff.peers()                             # each peer: up, last error, failures, alerts waiting

Sending is what Prometheus' notifier does: every firing and recently resolved alert (one that
fired; never a pending one) goes to EVERY peer (`/api/v2/alerts`; the cluster dedups), a firing
one again every `resend_delay` with `endsAt = now + 4 * resend_delay` (so Alertmanager resolves
it by itself if the console stops), a resolved one once with `endsAt` = when it resolved. Each
peer has its own memory of what it accepted and its own loop: a peer that is down is retried on
its next round (after 1, 2, 4 ... 30 s, and whenever new alerts come) and never delays the others.
An answer that cannot improve (HTTP 400) drops the batch for that peer, counted and logged, as
Prometheus drops it; its firing alerts go again after `resend_delay`. Prometheus validates for
4 × max(resend delay, evaluation interval) because it sends only after an evaluation; the console
re-sends from the alerts it holds on its own clock, so 4 × `resend_delay` is the margin.

Reading back: every `poll_interval` the silences (`/api/v2/silences`) and the alerts' status
(`/api/v2/alerts`: `silencedBy`, `inhibitedBy`) are read from the first peer that answers; the
console shows them read-only, and an alert Alertmanager silences or inhibits gets that mute in the
console's views. When no peer answers the last reading is kept, with the error (`read_back()`).
Silences are created and expired in the Alertmanager (`post_silence`, `delete_silence`, or their
blocking forms for the API's threads), checked first as the console's own silences are.

Metrics (`peer` is the base URL without user info): `am_handoff_alerts_sent_total{peer}` (alerts
accepted), `am_handoff_send_failures_total{peer}` (failed POSTs), `am_handoff_alerts_dropped_total{peer}`,
`am_handoff_alerts_waiting{peer}` (due and not yet accepted), `am_handoff_peer_up{peer}` (the last
POST succeeded), `am_handoff_read_failures_total` (readings no peer answered). Times are Unix seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge

from alerts import amsilences
from alerts.alertconfig import AlertmanagerHandoffConfig
from alerts.amsilences import ReadBack, RemoteSilence
from alerts.delivery import backoff
from alerts.explain import AlertView, Mute, MuteReason
from alerts.matchers import Matcher
from alerts.model import Alert, NotifyError
from alerts.notifiers.alertmanager import VALIDITY_RESENDS, AlertmanagerClient, postable_alerts
from alerts.notifiers.data import rfc3339
from model import Clock

__all__ = ["SEND_CHECK", "AlertmanagerHandoff", "PeerStatus"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

SEND_CHECK = 1.0
"""Seconds between two looks, per peer, for alerts due (new, resolved, or due for a resend)."""


@dataclass(frozen=True, slots=True)
class PeerStatus:
    """One peer as the API shows it: `up` when its last POST succeeded; `waiting` alerts are due
    for it and not accepted yet; `failures` counts failed POSTs since the start."""

    peer: str
    up: bool
    last_success: float | None
    last_error: str
    last_error_at: float | None
    failing_since: float | None
    failures: int
    waiting: int


@dataclass(slots=True)
class _Peer:
    client: AlertmanagerClient
    sent: dict[str, tuple[float | None, float | None, float]] = field(default_factory=dict)
    """Fingerprint -> (fired_at, resolved_at) of the alert as last accepted (or dropped), and when."""
    up: bool = True
    last_success: float | None = None
    last_error: str = ""
    last_error_at: float | None = None
    failing_since: float | None = None
    failures: int = 0
    waiting: int = 0


class AlertmanagerHandoff:
    """The alerts held, handed to every peer of one Alertmanager cluster, and what it says back.
    Thread-safe: `receive` on the loop, the API's reads and silence calls from other threads."""

    def __init__(
        self,
        config: AlertmanagerHandoffConfig,
        *,
        clock: Clock,
        registry: CollectorRegistry,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._peers = [
            _Peer(AlertmanagerClient(url, timeout=config.timeout, http_config=config.http_config, transport=transport))
            for url in config.peers
        ]
        self._lock = threading.Lock()
        self._held: dict[str, dict[str, Alert]] = {}
        """Rule group key -> its alerts that fired (firing or resolved) by fingerprint."""
        self._read = ReadBack()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakes: list[asyncio.Event] = []
        self._sent = Counter("am_handoff_alerts_sent_total", "Alerts a peer accepted.", ["peer"], registry=registry)
        self._failures = Counter(
            "am_handoff_send_failures_total", "POSTs of alerts to a peer that failed.", ["peer"], registry=registry
        )
        self._dropped = Counter(
            "am_handoff_alerts_dropped_total", "Alerts a peer refused for good (HTTP 4xx).", ["peer"], registry=registry
        )
        self._waiting = Gauge(
            "am_handoff_alerts_waiting", "Alerts due for a peer and not accepted yet.", ["peer"], registry=registry
        )
        self._up = Gauge("am_handoff_peer_up", "1 when the last POST to a peer succeeded.", ["peer"], registry=registry)
        self._read_failures = Counter(
            "am_handoff_read_failures_total", "Readings of silences and alerts no peer answered.", registry=registry
        )
        for peer in self._peers:
            self._up.labels(peer.client.shown).set(1)

    # -- alerts in and out ------------------------------------------------------------------------

    def receive(self, source: str, alerts: Sequence[Alert]) -> None:
        """The alerts of rule group `source` after an evaluation, as `Pipeline.receive` takes them;
        those that fired are handed over, and those the group no longer has are forgotten."""
        fired = {a.fingerprint: a for a in alerts if a.fired_at is not None}
        with self._lock:
            if fired:
                self._held[source] = fired
            else:
                self._held.pop(source, None)
        self._poke()

    async def send_round(self, t: float | None = None) -> None:
        """Send every peer, concurrently, what is due for it at `t` (default: now)."""
        t = self._clock.now() if t is None else t
        await asyncio.gather(*(self._send(peer, t) for peer in self._peers))

    async def _send(self, peer: _Peer, t: float) -> bool:
        """POST what is due for `peer`; False after a retryable failure (retry it soon)."""
        with self._lock:
            alerts = self._due(peer, t)
        shown = peer.client.shown
        self._waiting.labels(shown).set(len(alerts))
        if not alerts:
            return True
        payload = postable_alerts(tuple(alerts), valid_until=t + VALIDITY_RESENDS * self._config.resend_delay)
        try:
            await peer.client.post_alerts(payload)
        except NotifyError as exc:
            self._failed(peer, alerts, exc, t)
            return not exc.retryable
        with self._lock:
            self._mark(peer, alerts, t)
            if not peer.up:
                log.info("Alertmanager %s accepts alerts again (failing since %s)", shown, _iso(peer.failing_since))
            peer.up, peer.last_success, peer.failing_since, peer.waiting = True, t, None, 0
        self._sent.labels(shown).inc(len(alerts))
        self._up.labels(shown).set(1)
        self._waiting.labels(shown).set(0)
        return True

    def _due(self, peer: _Peer, t: float) -> list[Alert]:
        """(Holding the lock) what `peer` must get at `t`: alerts it never accepted, those whose
        episode changed since (resolved, or fired again), and firing ones due for their resend."""
        alerts = {fp: a for held in self._held.values() for fp, a in held.items()}
        for fp in peer.sent.keys() - alerts.keys():
            del peer.sent[fp]
        due = []
        for fp, alert in alerts.items():
            mark = peer.sent.get(fp)
            if (
                mark is None
                or mark[:2] != (alert.fired_at, alert.resolved_at)
                or (not alert.resolved and t >= mark[2] + self._config.resend_delay)
            ):
                due.append(alert)
        return sorted(due, key=lambda a: a.labels.pairs)

    def _mark(self, peer: _Peer, alerts: Sequence[Alert], t: float) -> None:
        for alert in alerts:
            peer.sent[alert.fingerprint] = (alert.fired_at, alert.resolved_at, t)

    def _failed(self, peer: _Peer, alerts: Sequence[Alert], exc: NotifyError, t: float) -> None:
        shown = peer.client.shown
        self._failures.labels(shown).inc()
        with self._lock:
            if not exc.retryable:  # sending these again cannot help: dropped until their resend
                self._mark(peer, alerts, t)
            elif peer.failing_since is None:
                peer.failing_since = t
                log.warning("Alertmanager %s does not accept alerts: %s; retrying", shown, exc)
            peer.up, peer.last_error, peer.last_error_at = False, str(exc), t
            peer.failures += 1
            peer.waiting = 0 if not exc.retryable else len(alerts)
        if not exc.retryable:
            self._dropped.labels(shown).inc(len(alerts))
            log.error("Alertmanager %s refused %d alerts, dropped: %s", shown, len(alerts), exc)
        self._up.labels(shown).set(0)
        self._waiting.labels(shown).set(0 if not exc.retryable else len(alerts))

    def peers(self) -> list[PeerStatus]:
        """Every peer, in config order."""
        with self._lock:
            return [
                PeerStatus(
                    p.client.shown,
                    p.up,
                    p.last_success,
                    p.last_error,
                    p.last_error_at,
                    p.failing_since,
                    p.failures,
                    p.waiting,
                )
                for p in self._peers
            ]

    # -- reading back -----------------------------------------------------------------------------

    async def refresh(self) -> bool:
        """Read silences and alert statuses from the first peer that answers (amsilences.read_back);
        False when none did: the last reading stays, with the error."""
        try:
            reading = await amsilences.read_back([p.client for p in self._peers], self._clock.now())
        except NotifyError as exc:
            with self._lock:
                self._read = dataclasses.replace(self._read, error=str(exc), failed_at=self._clock.now())
            self._read_failures.inc()
            log.warning("reading silences and alerts back failed: %s", exc)
            return False
        with self._lock:
            self._read = reading
        return True

    def read_back(self) -> ReadBack:
        """The last reading (with the silences created or expired through the console since)."""
        return self._read

    def silences(self) -> list[RemoteSilence]:
        """The Alertmanager's silences as last read, by id (read-only: see `create_silence`)."""
        return list(self._read.silences)

    def silence(self, silence_id: str) -> RemoteSilence:
        """One silence as last read. Raises NotFound (alerts.mutedb)."""
        return self._read.silence(silence_id)

    def mutes(self, alert: Alert) -> tuple[Mute, ...]:
        """Why the Alertmanager mutes `alert`, as last read (amsilences.mutes)."""
        return amsilences.mutes(self._read, alert)

    def mark_views(self, views: Sequence[AlertView]) -> list[AlertView]:
        """`views` (the pipeline's) as Alertmanager mode shows them: the Alertmanager's mutes added
        in the pipeline's order of reasons, and no aggregation groups (the console routes nothing)."""
        order = list(MuteReason)
        reading = self._read
        out = []
        for view in views:
            mutes = sorted((*view.mutes, *amsilences.mutes(reading, view.alert)), key=lambda m: order.index(m.reason))
            out.append(dataclasses.replace(view, mutes=tuple(mutes), groups=()))
        return out

    # -- silences in the Alertmanager -------------------------------------------------------------

    async def post_silence(
        self, matchers: Sequence[Matcher], *, starts_at: float, ends_at: float, created_by: str, comment: str
    ) -> RemoteSilence:
        """Create a silence in the first peer that answers (amsilences.post_silence: ValueError,
        or a retryable NotifyError when no peer answers); listed at once, statuses read again soon."""
        clients = [p.client for p in self._peers]
        created = await amsilences.post_silence(
            clients,
            matchers,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=created_by,
            comment=comment,
            t=self._clock.now(),
        )
        self._keep(created)
        return created

    async def delete_silence(self, silence_id: str) -> RemoteSilence:
        """Expire the silence now in the first peer that has it (amsilences.delete_silence:
        NotFound, ValueError, or a retryable NotifyError when no peer answers)."""
        expired = await amsilences.delete_silence([p.client for p in self._peers], silence_id, self._clock.now())
        self._keep(expired)
        return expired

    def create_silence(
        self, matchers: Sequence[Matcher], *, starts_at: float, ends_at: float, created_by: str, comment: str
    ) -> RemoteSilence:
        """`post_silence` from a thread without a running event loop (the API's)."""
        coroutine = self.post_silence(
            matchers, starts_at=starts_at, ends_at=ends_at, created_by=created_by, comment=comment
        )
        return _blocking(coroutine)

    def expire_silence(self, silence_id: str) -> RemoteSilence:
        """`delete_silence` from a thread without a running event loop (the API's)."""
        return _blocking(self.delete_silence(silence_id))

    def _keep(self, remote: RemoteSilence) -> None:
        """Show a silence just created or expired at once, and read the statuses again soon."""
        with self._lock:
            self._read = self._read.keeping(remote)
        self._poke(read=True)

    # -- running ----------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Send to each peer on its own, and read back every `poll_interval`, until `stop` is set."""
        self._loop = asyncio.get_running_loop()
        self._wakes = [asyncio.Event() for _ in range(len(self._peers) + 1)]
        tasks = [
            asyncio.create_task(self._keep_sending(peer, wake), name=f"handoff:{peer.client.shown}")
            for peer, wake in zip(self._peers, self._wakes, strict=False)
        ]
        tasks.append(asyncio.create_task(self._keep_reading(self._wakes[-1]), name="handoff:read"))
        self._poke()  # alerts received before the start go at once
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep_sending(self, peer: _Peer, wake: asyncio.Event) -> None:
        failures = 0
        while True:
            wake.clear()
            try:
                ok = await self._send(peer, self._clock.now())
            except Exception:  # a bug must not end the sending: log, wait, go on
                log.exception("sending to Alertmanager %s failed", peer.client.shown)
                ok = False
            failures = 0 if ok else failures + 1
            wait = SEND_CHECK if ok else min(backoff(failures), self._config.resend_delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=wait)

    async def _keep_reading(self, wake: asyncio.Event) -> None:
        while True:
            wake.clear()
            try:
                await self.refresh()
            except Exception:
                log.exception("reading silences and alerts back from Alertmanager failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=self._config.poll_interval)

    def _poke(self, *, read: bool = False) -> None:
        """Wake (from any thread) the senders, news to send, or with `read` the reader: a silence
        changed and the statuses must follow."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            for wake in self._wakes[-1:] if read else self._wakes[:-1]:
                loop.call_soon_threadsafe(wake.set)


def _iso(t: float | None) -> str:
    return "-" if t is None else rfc3339(t)


def _blocking(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run `coroutine` to its end on a loop of its own; RuntimeError in a thread running a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    coroutine.close()
    raise RuntimeError("called on a running event loop: await post_silence or delete_silence instead")
