"""Sending one shard of a remote-write queue: batches, retries with backoff, refusals.

One `ShardSender` thread per shard per target reads the shard's first records (up to
`max_samples_per_send` samples), waits up to `batch_send_deadline` for a fuller batch, POSTs it and
deletes it from the queue once the answer is final:

- 2xx: delivered.
- 429, 5xx, no connection, no answer: retried with exponential backoff from `min_backoff` to
  `max_backoff` (a `Retry-After` header is honoured instead), for ever: nothing is dropped because the
  receiver is away. A retry sends exactly the same request, never a fuller one.
- any other status (4xx): refused for good, counted (`reason="4xx"`), the receiver's message logged once
  per batch. A 400 (bad data) or 413 (too large) batch is first split in halves, recursively, so that a
  few bad samples do not take the rest with them (Prometheus rolls back a whole request on its first bad
  sample): the halves are sent in order (a series must not go back in time), refused ones halved again,
  down to single samples, within `SPLIT_BUDGET` requests per batch; what is still refused then is dropped
  whole. So a few bad samples cost about 2 * log2(batch) requests each and lose nothing else; a batch
  that is all bad costs the budget; many bad samples spread over a batch may take good ones with them
  once the budget is spent. Other refusals (401, 403, 404: the receiver or our configuration is wrong,
  not the data) drop the batch whole.

Out of order after a lost answer. A batch may already be stored although it is still queued: an
attempt's answer was lost (timeout, connection closed after sending, 502/504), or a former run of the
writer sent it and stopped (or was killed) before deleting it. Sending it again, Prometheus refuses it
with 400 "out of order sample" (or "duplicate sample"). That refusal does not hide samples that never
arrived, because the request sent again is exactly the one sent before: a retry never adds samples, and
the queue notes each shard's batch in flight (its record ids, committed when it is read), so that after
a restart the same batch is read again, whole and no more (`Batch.resent`). Prometheus stores a request
whole or not at all, so a refusal of that request as out of order means the earlier attempt stored it:
the batch is dropped and counted as `reason="resent_duplicate"`, not as a failure of delivery. Refusals
of pieces of a split batch after a lost answer are counted the same way.
"""

from __future__ import annotations

import email.utils
import enum
import logging
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cramjam
import httpx
from prometheus_client import CollectorRegistry, Counter, Gauge

from model import Clock, Secret
from store.remote_queue import Batch, RemoteQueue

if TYPE_CHECKING:
    from store.remote import RemoteWriteTarget

__all__ = ["HEADERS", "SPLIT_BUDGET", "Answer", "SendMetrics", "ShardSender", "Verdict", "judge", "retry_after"]

log = logging.getLogger(__name__)

HEADERS: Mapping[str, str] = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
    "User-Agent": "ops-console-remote-write",
}
"""The headers of every remote-write request (remote write 1.0)."""

SPLIT_BUDGET = 64
"""Requests one refused batch may cost while it is split: enough to isolate a few bad samples or a bad
run of them (about 2 * log2(2000) = 22 requests each) without hammering a receiver that refuses all."""

_SPLIT_STATUSES = frozenset({400, 413})

_STORED_MARKERS = ("out of order", "duplicate sample")
"""What Prometheus says when samples it already holds arrive again."""


class Verdict(enum.Enum):
    """What an answer means for the batch."""

    DELIVERED = "delivered"
    RETRY = "retry"
    REFUSED = "refused"


def judge(status: int) -> Verdict:
    """2xx delivered; 429 and 5xx retried; anything else refused for good."""
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if status == 429 or status >= 500:
        return Verdict.RETRY
    return Verdict.REFUSED


def retry_after(value: str | None, now: float) -> float | None:
    """A `Retry-After` header as seconds to wait (delay-seconds or an HTTP date), None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


@dataclass(frozen=True, slots=True)
class Answer:
    """One attempt's outcome. `status` is None when no answer came (`message` says why); `unknown`
    when the receiver may nevertheless have stored the request (the answer was lost, not refused)."""

    verdict: Verdict
    status: int | None
    message: str
    wait: float | None = None
    unknown: bool = False


class SendMetrics:
    """The remote_write_* metrics (see store/remote.py), labelled by target URL."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.pending = Gauge(
            "remote_write_pending_samples",
            "Samples queued, not yet accepted by the receiver",
            ["url"],
            registry=registry,
        )
        self.lag = Gauge("remote_write_lag_seconds", "Age of the oldest queued sample", ["url"], registry=registry)
        self.sent = Counter(
            "remote_write_sent_samples_total", "Samples the receiver accepted", ["url"], registry=registry
        )
        self.failed = Counter(
            "remote_write_failed_samples_total", "Samples dropped, by reason", ["url", "reason"], registry=registry
        )
        self.retries = Counter(
            "remote_write_retries_total", "Attempts that failed and were retried", ["url"], registry=registry
        )
        self.bytes = Counter(
            "remote_write_bytes_total", "Compressed request bytes sent, retries included", ["url"], registry=registry
        )

    def watch(self, url: str, queue: RemoteQueue, clock: Clock) -> None:
        """Read pending samples and lag from `queue` at scrape time."""
        self.pending.labels(url=url).set_function(queue.pending)
        self.lag.labels(url=url).set_function(lambda: queue.lag(clock.now()))


class ShardSender(threading.Thread):
    """Sends one shard of one target's queue until `abort()`, or until the shard is empty after `flush()`."""

    def __init__(
        self, target: RemoteWriteTarget, queue: RemoteQueue, shard: int, *, clock: Clock, metrics: SendMetrics
    ) -> None:
        super().__init__(name=f"remote-write-{target.display_url}-{shard}", daemon=True)
        self.target = target
        self._queue = queue
        self._shard = shard
        self._clock = clock
        url = target.display_url
        self._url = url
        self._sent = metrics.sent.labels(url=url)
        self._refused = metrics.failed.labels(url=url, reason="4xx")
        self._duplicate = metrics.failed.labels(url=url, reason="resent_duplicate")
        self._retries = metrics.retries.labels(url=url)
        self._bytes = metrics.bytes.labels(url=url)
        self._flush = threading.Event()
        self._abort = threading.Event()
        self._budget = 0  # requests left for splitting the refused batch at hand

    def flush(self) -> None:
        """Send what is queued without waiting for fuller batches, then end when the shard is empty."""
        self._flush.set()
        self._queue.wakeup(self._shard).set()

    def abort(self) -> None:
        """End as soon as possible: between attempts, or after the request in flight."""
        self._abort.set()
        self._queue.wakeup(self._shard).set()

    def run(self) -> None:
        target = self.target
        headers = {name: _reveal(value) for name, value in target.headers.items()}
        headers.update(HEADERS)
        if target.bearer_token is not None:
            headers["Authorization"] = f"Bearer {_reveal(target.bearer_token)}"
        auth = None if target.basic_auth is None else (target.basic_auth[0], _reveal(target.basic_auth[1]))
        with httpx.Client(timeout=target.timeout, verify=self._verify(), headers=headers, auth=auth) as client:
            while not self._abort.is_set():
                try:
                    if not self._step(client):
                        return
                except Exception:  # a queue (SQLite) error: keep the thread, try again later
                    log.exception("remote write %s shard %d: sending failed", self._url, self._shard)
                    self._abort.wait(self.target.max_backoff)

    def _verify(self) -> ssl.SSLContext | bool:
        if self.target.insecure_skip_verify:
            return False
        if self.target.ca_file:
            return ssl.create_default_context(cafile=str(self.target.ca_file))
        return True

    def _step(self, client: httpx.Client) -> bool:
        """Wait for a batch worth sending and send it; False when the thread should end."""
        target, wake = self.target, self._queue.wakeup(self._shard)
        waiting_since: float | None = None
        while True:
            wake.clear()
            if self._abort.is_set():
                return False
            pending = self._queue.pending(self._shard)
            if pending == 0:
                if self._flush.is_set():
                    return False
                waiting_since = None
                wake.wait(target.batch_send_deadline)
                continue
            now = self._clock.monotonic()
            waiting_since = now if waiting_since is None else waiting_since
            waited = now - waiting_since
            if pending >= target.max_samples_per_send or self._flush.is_set() or waited >= target.batch_send_deadline:
                break
            wake.wait(target.batch_send_deadline - waited)
        batch = self._queue.read(self._shard, target.max_samples_per_send)
        if batch is None:  # pending said otherwise: never seen, but no busy loop if it happens
            self._abort.wait(target.batch_send_deadline)
            return True
        if not self._deliver(client, batch):
            return False
        self._queue.delete(batch)
        return True

    def _deliver(self, client: httpx.Client, batch: Batch) -> bool:
        """Send `batch` until its fate is final (False: aborted first; the batch stays queued)."""
        answer = self._attempt_until_final(client, batch.body)
        if answer is None:
            return False
        if answer.verdict is Verdict.DELIVERED:
            self._sent.inc(batch.samples)
            return True
        suspect = batch.resent or answer.unknown
        if suspect and _already_stored(answer.message):
            self._duplicate.inc(batch.samples)
            log.info(
                "remote write %s: %d samples sent again (after a lost answer or a restart) were refused as "
                "already there (%s)",
                self._url,
                batch.samples,
                answer.message,
            )
            return True
        split = answer.status in _SPLIT_STATUSES and batch.samples > 1
        log.warning(
            "remote write %s: the receiver refused a batch of %d samples (%s)%s",
            self._url,
            batch.samples,
            answer.message,
            "; sending it in parts" if split else "",
        )
        if not split:
            self._drop(batch.samples, answer, suspect)
            return True
        self._budget = SPLIT_BUDGET
        messages = _split_messages(bytes(cramjam.snappy.decompress_raw(batch.body)))
        dropped = self._split(client, messages, answer, suspect)
        if dropped is None:
            return False
        log.warning("remote write %s: %d of %d samples dropped", self._url, dropped, batch.samples)
        return True

    def _split(self, client: httpx.Client, messages: list[bytes], refusal: Answer, suspect: bool) -> int | None:
        """`messages` were refused with `refusal`: send them again as two halves in order, splitting refused
        halves again while the batch's budget lasts; the number dropped (None: aborted, the batch stays
        queued). `suspect`: the receiver may hold them already (see `_drop`)."""
        if len(messages) == 1 or self._budget < 2 or refusal.status not in _SPLIT_STATUSES:
            self._drop(len(messages), refusal, suspect)
            return len(messages)
        self._budget -= 2
        dropped = 0
        middle = len(messages) // 2
        for half in (messages[:middle], messages[middle:]):
            answer = self._attempt_until_final(client, bytes(cramjam.snappy.compress_raw(b"".join(half))))
            if answer is None:
                return None
            if answer.verdict is Verdict.DELIVERED:
                self._sent.inc(len(half))
                continue
            more = self._split(client, half, answer, suspect or answer.unknown)
            if more is None:
                return None
            dropped += more
        return dropped

    def _drop(self, samples: int, refusal: Answer, suspect: bool) -> None:
        """Count refused samples: as `resent_duplicate` when they may have been stored before (an answer
        was lost) and the receiver says out of order or duplicate; as `4xx` otherwise."""
        if (suspect or refusal.unknown) and _already_stored(refusal.message):
            self._duplicate.inc(samples)
        else:
            self._refused.inc(samples)

    def _attempt_until_final(self, client: httpx.Client, body: bytes) -> Answer | None:
        """POST `body` until it is delivered or refused (retrying with backoff); None when aborted.
        The answer is `unknown` if any attempt's answer was lost."""
        backoff, unknown, failures = self.target.min_backoff, False, 0
        while True:
            answer = self._attempt(client, body)
            unknown = unknown or answer.unknown
            if answer.verdict is not Verdict.RETRY:
                if failures:
                    log.info("remote write %s: %s after %d failed attempts", self._url, answer.verdict.value, failures)
                return Answer(answer.verdict, answer.status, answer.message, unknown=unknown)
            failures += 1
            self._retries.inc()
            delay = answer.wait if answer.wait is not None else backoff
            backoff = min(backoff * 2, self.target.max_backoff)
            if failures == 1:
                log.warning(
                    "remote write %s: %s; retrying (backoff %.3gs to %.3gs)",
                    self._url,
                    answer.message,
                    self.target.min_backoff,
                    self.target.max_backoff,
                )
            if self._abort.wait(delay):
                return None

    def _attempt(self, client: httpx.Client, body: bytes) -> Answer:
        self._bytes.inc(len(body))
        try:
            response = client.post(self.target.url, content=body)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return Answer(Verdict.RETRY, None, f"cannot connect: {exc or type(exc).__name__}")
        except httpx.TransportError as exc:
            return Answer(Verdict.RETRY, None, f"no answer: {exc or type(exc).__name__}", unknown=True)
        verdict = judge(response.status_code)
        message = "" if verdict is Verdict.DELIVERED else f"{response.status_code}: {response.text.strip()[:500]}"
        wait = retry_after(response.headers.get("Retry-After"), self._clock.now())
        return Answer(verdict, response.status_code, message, wait=wait, unknown=response.status_code in (502, 504))


def _reveal(value: str | Secret) -> str:
    return value.reveal() if isinstance(value, Secret) else value


def _already_stored(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in _STORED_MARKERS)


def _split_messages(raw: bytes) -> list[bytes]:
    """A WriteRequest's `timeseries` fields (tag 0x0a, varint length, message), each whole."""
    out = []
    pos, end = 0, len(raw)
    while pos < end:
        start = pos
        if raw[pos] != 0x0A:
            raise ValueError(f"not a WriteRequest: field tag {raw[pos]:#x} at byte {pos}")
        pos += 1
        length = shift = 0
        while True:
            byte = raw[pos]
            pos += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        pos += length
        out.append(raw[start:pos])
    return out
