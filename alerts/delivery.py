"""Durable delivery of notifications: the notification log (dedup), the outbox and retry with backoff.

The pipeline asks `needs_notify` (or `decide`, which gives the reasons) which integrations of a
receiver must hear about an aggregation group, then `enqueue`s the notification for them; `submit`
does both in one transaction. `send_due` (or `run`, its loop) sends what is due and records it.
All state is in one SQLite file (WAL), so a restart loses nothing:

- **Notification log** (table `nflog`, Alertmanager's nflog): one `alerts.nflog.LogEntry` per
  (receiver, integration, group key), written on enqueue; `sent_at` when the integration confirms a
  send. Decisions are `alerts.nflog.dedup_reason` (Alertmanager's `DedupStage`). `prune` drops
  entries older than `RETENTION` (Alertmanager expires them too): a group is then treated as never
  notified.
- **Outbox** (table `outbox`, rows `alerts.outbox.OutboxRow`): one row per (notification,
  integration) with the notification as JSON (`alerts.codec`), its resolved alerts left out for an
  integration without `send_resolved`, and no row at all when nothing fires for it (as
  Alertmanager's RetryStage; its log entry is still written). The rows of one (receiver,
  integration) queue go out in order (FIFO); queues are sent in parallel, at most `concurrency`
  sends at a time. A row is `pending` until `sent`, or `failed` for good (a non-retryable
  `NotifyError`, or a stored payload that cannot be decoded): failed rows are kept, counted, logged
  and listed, and the queue moves on. After a retryable failure (or any other exception of a
  notifier: a bug delays, never drops) the row waits `backoff(attempts)` (1s, 2s, 4s, ... at most
  30s; no jitter) and the rows behind it wait too. `prune` deletes sent and failed rows `RETENTION`
  after they finished; `run` prunes hourly.
- **Transactions**: `enqueue` writes its rows and log entries in one transaction; a send's outcome
  (row status, attempts, error, and the log entry's `sent_at`) in another. The send itself runs
  outside any transaction and outside the lock.
- **At least once**: a row whose send succeeded but whose outcome was not recorded (the process died
  in between) is still pending and is sent again after a restart, so a kill duplicates at most the
  sends in flight at that moment (one per queue) and loses nothing. Rows of a receiver or
  integration no longer configured stay pending, listed by `pending`, until it is configured again.

Metrics on the given registry, labelled `{receiver, integration}` with the integration id
(`webhook/0`: kind, and index among the receiver's integrations of that kind):
`notifications_total` (send attempts), `notifications_failed_total` (failed attempts; Alertmanager
counts attempts in `notification_requests_*` and whole notifications in `notifications_*`),
`notification_latency_seconds` (duration of one attempt), `notification_delay_seconds`
(`sent_at - created_at` of each sent row), `notification_queue_length` (pending rows).
Times are Unix seconds; time comes from the `t` arguments and the injected clock, never the wall.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from alerts.codec import notification_to_json
from alerts.model import Notification, Notifier, NotifyError
from alerts.nflog import LogEntry, NotifyReason, dedup_reason, fingerprints
from alerts.notifiers import NOTIFIERS, NotifierDeps, NotifierRegistry, ReceiverConfig
from alerts.notifiers.data import for_receiver
from alerts.outbox import ROW_COLUMNS, DeliveryStatus, OutboxRow, outbox_row
from alerts.outbox import SCHEMA as OUTBOX_SCHEMA
from model import Clock
from store.sqlitetx import transaction

__all__ = [
    "MAX_BACKOFF",
    "RETENTION",
    "Delivery",
    "Integration",
    "backoff",
    "build_integrations",
]

log = logging.getLogger(__name__)

RETENTION = 7 * 86400.0
"""Seconds sent and failed outbox rows, and notification log entries, are kept."""
MAX_BACKOFF = 30.0
"""The longest wait between two attempts of one row, in seconds."""
_IDLE_WAIT = 60.0  # run(): longest sleep with nothing due (a safety net: enqueue wakes it)
_ERROR_WAIT = 5.0  # run(): sleep after a pass that raised (the database, not a notifier)
_PRUNE_EVERY = 3600.0

Integration = tuple[str, Notifier, bool]
"""One integration of a receiver: its id (`webhook/0`), its notifier and its `send_resolved`."""

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS nflog (
        receiver TEXT NOT NULL, integration TEXT NOT NULL, group_key TEXT NOT NULL,
        firing TEXT NOT NULL, resolved TEXT NOT NULL, at REAL NOT NULL, sent_at REAL,
        PRIMARY KEY (receiver, group_key, integration))""",
    *OUTBOX_SCHEMA,
)
_DELAY_BUCKETS = (0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 12 * 3600, 86400)


def backoff(attempts: int) -> float:
    """Seconds to wait after `attempts` failed attempts (>= 1): 1, 2, 4, 8, 16, then MAX_BACKOFF."""
    return min(MAX_BACKOFF, 2.0 ** min(attempts - 1, 16))


def build_integrations(
    receivers: Iterable[ReceiverConfig], deps: NotifierDeps, *, notifiers: NotifierRegistry = NOTIFIERS
) -> dict[str, list[Integration]]:
    """The integrations of each receiver, ids `<kind>/<index among that kind>` in config order."""
    out: dict[str, list[Integration]] = {}
    for receiver in receivers:
        seen: dict[str, int] = {}
        integrations = out.setdefault(receiver.name, [])
        for config in receiver.integrations():
            index = seen.get(config.kind, 0)
            seen[config.kind] = index + 1
            integrations.append((f"{config.kind}/{index}", notifiers[config.kind](config, deps), config.send_resolved))
    return out


class Delivery:
    """The notification log and the outbox over one SQLite file, and the sender of the outbox.

    `source` is a path (the file is created, WAL, `synchronous=FULL` so a commit survives a power
    cut) or an open connection shared with others (`isolation_level=None`,
    `check_same_thread=False`; pass the `lock` every user of it holds; `close()` leaves it open).
    `receivers` maps each receiver name to its integrations. `after_send` is a test seam: called
    after a successful send, before its outcome is recorded (raising there is a crash in between).
    Thread-safe; `send_due` and `run` belong to one event loop, and only one Delivery per file sends.
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | sqlite3.Connection,
        *,
        lock: threading.Lock | None = None,
        receivers: Mapping[str, Sequence[Integration]],
        clock: Clock,
        registry: CollectorRegistry,
        concurrency: int = 8,
        after_send: Callable[[OutboxRow], None] | None = None,
    ) -> None:
        if isinstance(source, sqlite3.Connection):
            self._db, self._owned = source, False
        else:
            Path(source).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(os.fspath(source), check_same_thread=False, isolation_level=None)
            self._owned = True
        self._lock = lock if lock is not None else threading.Lock()
        self._receivers = {name: {i[0]: i for i in integrations} for name, integrations in receivers.items()}
        self._clock = clock
        self._concurrency = concurrency
        self._after_send = after_send
        self._busy: set[tuple[str, str]] = set()
        self._waker: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None
        self._gauged: set[tuple[str, str]] = set()
        with self._lock:
            if self._owned:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
            for statement in _SCHEMA:
                self._db.execute(statement)
        labels = ["receiver", "integration"]
        self._attempts = Counter("notifications_total", "Notification send attempts.", labels, registry=registry)
        self._failures = Counter(
            "notifications_failed_total", "Notification send attempts that failed.", labels, registry=registry
        )
        self._latency = Histogram(
            "notification_latency_seconds", "Duration of a notification send attempt.", labels, registry=registry
        )
        self._delay = Histogram(
            "notification_delay_seconds",
            "Time from enqueue to confirmed send of a notification.",
            labels,
            buckets=_DELAY_BUCKETS,
            registry=registry,
        )
        self._queue = Gauge("notification_queue_length", "Notifications waiting to be sent.", labels, registry=registry)
        self._refresh_queue_length()

    def close(self) -> None:
        """Close the connection if this object opened it."""
        if self._owned:
            with self._lock:
                self._db.close()

    def integration_ids(self, receiver: str) -> list[str]:
        """The ids of the receiver's integrations in config order. Raises KeyError for an unknown one."""
        return list(self._integrations(receiver))

    # -- notification log --------------------------------------------------------------------

    def entry(self, receiver: str, integration: str, group_key: str) -> LogEntry | None:
        """The log entry of one integration for one group (None: never notified, or pruned)."""
        with self._lock:
            return self._entries(receiver, group_key).get(integration)

    def decide(
        self, receiver: str, group_key: str, firing: Set[str], resolved: Set[str], repeat_interval: float, t: float
    ) -> dict[str, NotifyReason]:
        """The decision for each integration of `receiver` (in config order). Raises KeyError for an
        unknown receiver."""
        integrations = self._integrations(receiver)
        with self._lock:
            return self._decide(receiver, integrations, group_key, firing, resolved, repeat_interval, t)

    def needs_notify(
        self, receiver: str, group_key: str, firing: Set[str], resolved: Set[str], repeat_interval: float, t: float
    ) -> list[str]:
        """The ids of the integrations of `receiver` that need a notification about the group."""
        decisions = self.decide(receiver, group_key, firing, resolved, repeat_interval, t)
        return [integration for integration, reason in decisions.items() if reason.notify]

    def enqueue(
        self, notification: Notification, integration_ids: Iterable[str], t: float, reason: str = ""
    ) -> list[int]:
        """Queue `notification` for these integrations of its receiver and log it, in one
        transaction. Returns the new rows' ids (an integration without send_resolved gets no row
        when nothing fires). Raises KeyError for an unknown receiver or integration."""
        known = self._integrations(notification.receiver)
        chosen = list(dict.fromkeys(integration_ids))
        for integration in chosen:
            if integration not in known:
                raise KeyError(f"receiver {notification.receiver!r} has no integration {integration!r}")
        with self._transaction():
            ids = [self._insert(notification, known[i], t, reason) for i in chosen]
        self._refresh_queue_length()
        self.wake()
        return [row_id for row_id in ids if row_id is not None]

    def submit(self, notification: Notification, repeat_interval: float, t: float) -> dict[str, NotifyReason]:
        """Decide for every integration of the notification's receiver and queue it for those that
        need it, in one transaction. Returns the decisions (reason values are the rows' `reason`)."""
        integrations = self._integrations(notification.receiver)
        firing, resolved = fingerprints(notification)
        receiver, group_key = notification.receiver, notification.group_key
        with self._transaction():
            decisions = self._decide(receiver, integrations, group_key, firing, resolved, repeat_interval, t)
            for integration, reason in decisions.items():
                if reason.notify:
                    self._insert(notification, integrations[integration], t, reason.value)
        log.debug("group %s of receiver %s: %s", group_key, receiver, {i: r.value for i, r in decisions.items()})
        if any(reason.notify for reason in decisions.values()):
            self._refresh_queue_length()
            self.wake()
        return decisions

    # -- sending -----------------------------------------------------------------------------

    async def send_due(self, t: float) -> int:
        """Send every queue whose head row is due at `t`, each queue in order until it is empty,
        its head must wait or it fails retryably. Returns how many rows were sent. A queue already
        being sent (by another call) is skipped. Raises the first exception that is not a
        notifier's (the database, `after_send`), after the other queues finished."""
        start = self._clock.monotonic()
        with self._lock:
            queues = [q for q in self._heads() if q[:2] not in self._busy and q[2] <= t]
            self._busy.update(q[:2] for q in queues)
        gate = asyncio.Semaphore(self._concurrency)
        try:
            results = await asyncio.gather(
                *(self._drain(receiver, integration, t, start, gate) for receiver, integration, _ in queues),
                return_exceptions=True,
            )
        finally:
            with self._lock:
                self._busy.difference_update(q[:2] for q in queues)
            self._refresh_queue_length()
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(r for r in results if isinstance(r, int))

    def next_due(self) -> float | None:
        """When the earliest head row of a configured queue is due (None: nothing pending)."""
        with self._lock:
            return min((q[2] for q in self._heads()), default=None)

    def wake(self) -> None:
        """Make `run` look at the outbox now (from any thread)."""
        waker = self._waker
        if waker is None:
            return
        loop, event = waker
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop is closed: run() has ended
                loop.call_soon_threadsafe(event.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Send what is due until `stop` is set: after each pass sleep until the next head row is
        due, `wake()` is called or `_IDLE_WAIT` passed. Prunes once an hour."""
        wakeup = asyncio.Event()
        self._waker = (asyncio.get_running_loop(), wakeup)
        pruned = -_PRUNE_EVERY
        try:
            while not stop.is_set():
                wakeup.clear()
                try:
                    now = self._clock.now()
                    if now - pruned >= _PRUNE_EVERY:
                        self.prune(now)
                        pruned = now
                    await self.send_due(now)
                    due = self.next_due()
                    wait = _IDLE_WAIT if due is None else min(_IDLE_WAIT, max(0.0, due - self._clock.now()))
                except Exception:
                    log.exception("notification delivery pass failed; next try in %gs", _ERROR_WAIT)
                    wait = _ERROR_WAIT
                await _first_of(stop, wakeup, wait)
        finally:
            self._waker = None

    def prune(self, t: float) -> int:
        """Delete sent and failed rows, and log entries, older than RETENTION at `t`; returns the
        number of rows deleted."""
        horizon = t - RETENTION
        with self._transaction() as db:
            deleted = db.execute(
                "DELETE FROM outbox WHERE status != 'pending' AND COALESCE(sent_at, failed_at) < ?", (horizon,)
            ).rowcount
            db.execute("DELETE FROM nflog WHERE at < ?", (horizon,))
        return deleted

    # -- queries for the API -----------------------------------------------------------------

    def last_sent(self, receiver: str, group_key: str) -> float | None:
        """When any integration of `receiver` last confirmed a send about the group."""
        with self._lock:
            row = self._db.execute(
                "SELECT MAX(sent_at) FROM nflog WHERE receiver = ? AND group_key = ?", (receiver, group_key)
            ).fetchone()
        return None if row is None else row[0]

    def pending(self, receiver: str | None = None) -> list[OutboxRow]:
        """Rows waiting to be sent, by receiver, integration and queue order."""
        if receiver is None:
            return self._rows("WHERE status = 'pending' ORDER BY receiver, integration, id", ())
        return self._rows("WHERE status = 'pending' AND receiver = ? ORDER BY integration, id", (receiver,))

    def history(self, group_key: str, limit: int = 50) -> list[OutboxRow]:
        """The group's rows of every status (kept RETENTION after they finished), newest first."""
        return self._rows("WHERE group_key = ? ORDER BY id DESC LIMIT ?", (group_key, limit))

    # -- internals ---------------------------------------------------------------------------

    async def _drain(self, receiver: str, integration: str, t: float, start: float, gate: asyncio.Semaphore) -> int:
        """Send one queue's due rows in order; returns how many were sent."""
        sent = 0
        while True:
            now = t + (self._clock.monotonic() - start)
            with self._lock:
                head = self._head(receiver, integration)
            if head is None or head.next_attempt_at > now:
                return sent
            async with gate:
                status = await self._attempt(head, self._receivers[receiver][integration][1], t, start)
            if status is DeliveryStatus.PENDING:
                return sent
            sent += status is DeliveryStatus.SENT

    async def _attempt(self, row: OutboxRow, notifier: Notifier, t: float, start: float) -> DeliveryStatus:
        """One attempt to send `row`, recorded; returns the row's status after it."""
        labels = (row.receiver, row.integration)
        self._attempts.labels(*labels).inc()
        began = self._clock.monotonic()
        error, retryable = await _send(row, notifier)
        self._latency.labels(*labels).observe(self._clock.monotonic() - began)
        now = t + (self._clock.monotonic() - start)
        if error is None:
            if self._after_send is not None:
                self._after_send(row)
            self._record(row, DeliveryStatus.SENT, now, None)
            self._delay.labels(*labels).observe(now - row.created_at)
            return DeliveryStatus.SENT
        self._failures.labels(*labels).inc()
        status = DeliveryStatus.PENDING if retryable else DeliveryStatus.FAILED
        self._record(row, status, now, error)
        _log_failure(row, status, error, now)
        return status

    def _record(self, row: OutboxRow, status: DeliveryStatus, now: float, error: str | None) -> None:
        attempts = row.attempts + 1
        with self._transaction() as db:
            if status is DeliveryStatus.SENT:
                db.execute(
                    "UPDATE outbox SET status = 'sent', attempts = ?, sent_at = ? WHERE id = ?", (attempts, now, row.id)
                )
                db.execute(
                    "UPDATE nflog SET sent_at = MAX(COALESCE(sent_at, 0), ?)"
                    " WHERE receiver = ? AND integration = ? AND group_key = ?",
                    (now, row.receiver, row.integration, row.group_key),
                )
            elif status is DeliveryStatus.FAILED:
                db.execute(
                    "UPDATE outbox SET status = 'failed', attempts = ?, last_error = ?, failed_at = ? WHERE id = ?",
                    (attempts, error, now, row.id),
                )
            else:
                db.execute(
                    "UPDATE outbox SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
                    (attempts, error, now + backoff(attempts), row.id),
                )

    def _integrations(self, receiver: str) -> dict[str, Integration]:
        try:
            return self._receivers[receiver]
        except KeyError:
            raise KeyError(f"unknown receiver {receiver!r}") from None

    def _decide(
        self,
        receiver: str,
        integrations: Mapping[str, Integration],
        group_key: str,
        firing: Set[str],
        resolved: Set[str],
        repeat_interval: float,
        t: float,
    ) -> dict[str, NotifyReason]:
        entries = self._entries(receiver, group_key)
        return {
            integration: dedup_reason(
                entries.get(integration),
                firing,
                resolved,
                send_resolved=send_resolved,
                repeat_interval=repeat_interval,
                t=t,
            )
            for integration, _, send_resolved in integrations.values()
        }

    def _entries(self, receiver: str, group_key: str) -> dict[str, LogEntry]:
        rows = self._db.execute(
            "SELECT integration, firing, resolved, at, sent_at FROM nflog WHERE receiver = ? AND group_key = ?",
            (receiver, group_key),
        ).fetchall()
        return {
            integration: LogEntry(frozenset(json.loads(firing)), frozenset(json.loads(resolved)), at, sent_at)
            for integration, firing, resolved, at, sent_at in rows
        }

    def _insert(self, notification: Notification, integration: Integration, t: float, reason: str) -> int | None:
        """Log the notification for one integration and queue it (inside a transaction)."""
        integration_id, _, send_resolved = integration
        firing, resolved = fingerprints(notification)
        self._db.execute(
            "INSERT INTO nflog (receiver, integration, group_key, firing, resolved, at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT DO UPDATE SET firing = excluded.firing, resolved = excluded.resolved, at = excluded.at",
            (
                notification.receiver,
                integration_id,
                notification.group_key,
                json.dumps(sorted(firing)),
                json.dumps(sorted(resolved)),
                t,
            ),
        )
        sent = for_receiver(notification, send_resolved=send_resolved)
        if sent is None:
            return None
        cursor = self._db.execute(
            "INSERT INTO outbox (receiver, integration, group_key, reason, status, payload, created_at, attempts,"
            " next_attempt_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, 0, ?)",
            (notification.receiver, integration_id, notification.group_key, reason, notification_to_json(sent), t, t),
        )
        return cursor.lastrowid

    def _heads(self) -> list[tuple[str, str, float]]:
        """(receiver, integration, next_attempt_at) of each configured queue's head row (lock held)."""
        rows = self._db.execute(
            "SELECT receiver, integration, next_attempt_at FROM outbox WHERE id IN"
            " (SELECT MIN(id) FROM outbox WHERE status = 'pending' GROUP BY receiver, integration)"
        ).fetchall()
        return [(r, i, at) for r, i, at in rows if i in self._receivers.get(r, {})]

    def _head(self, receiver: str, integration: str) -> OutboxRow | None:
        row = self._db.execute(
            f"SELECT {ROW_COLUMNS} FROM outbox WHERE status = 'pending' AND receiver = ? AND integration = ?"
            " ORDER BY id LIMIT 1",
            (receiver, integration),
        ).fetchone()
        return None if row is None else outbox_row(row)

    def _rows(self, clause: str, params: Sequence[Any]) -> list[OutboxRow]:
        with self._lock:
            rows = self._db.execute(f"SELECT {ROW_COLUMNS} FROM outbox {clause}", params).fetchall()
        return [outbox_row(row) for row in rows]

    def _refresh_queue_length(self) -> None:
        with self._lock:
            rows = self._db.execute(
                "SELECT receiver, integration, COUNT(*) FROM outbox WHERE status = 'pending' GROUP BY 1, 2"
            ).fetchall()
        counts = {(r, i): n for r, i, n in rows}
        configured = {(r, i) for r, integrations in self._receivers.items() for i in integrations}
        for key in configured | self._gauged | counts.keys():
            self._queue.labels(*key).set(counts.get(key, 0))
        self._gauged |= counts.keys() | configured

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db, self._lock)


async def _send(row: OutboxRow, notifier: Notifier) -> tuple[str | None, bool]:
    """Send one row: (None, _) when it went out, else (the error, whether a retry can help)."""
    try:
        notification = row.notification()
    except ValueError as exc:
        return f"cannot decode the stored notification: {exc}", False
    try:
        await notifier.notify(notification)
    except NotifyError as exc:
        return str(exc), exc.retryable
    except Exception as exc:  # a notifier's bug: keep the row and retry, never drop it
        log.exception("notifier %s of receiver %s raised", row.integration, row.receiver)
        return f"{type(exc).__name__}: {exc}", True
    return None, True


def _log_failure(row: OutboxRow, status: DeliveryStatus, error: str, now: float) -> None:
    where = f"notification {row.id} (group {row.group_key}) to {row.receiver}/{row.integration}"
    if status is DeliveryStatus.FAILED:
        log.error("%s failed for good after %d attempts: %s", where, row.attempts + 1, error)
    elif error != row.last_error:  # as Alertmanager: say it when the error changes, not every retry
        log.warning(
            "%s failed (attempt %d), retrying in %gs: %s", where, row.attempts + 1, backoff(row.attempts + 1), error
        )
    else:
        log.debug("%s failed again (attempt %d) at %s: %s", where, row.attempts + 1, now, error)


async def _first_of(stop: asyncio.Event, wakeup: asyncio.Event, timeout: float) -> None:
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
