"""Prometheus remote write 1.0, client side: samples as a `WriteRequest` encoded by hand in the protobuf
wire format, compressed with snappy's BLOCK format (the framed format is refused: `snappy: corrupt input`),
queued durably per target and sent by shard (store/remote_queue.py, store/remote_send.py).

No protobuf package: the message is small and fixed (prompb/remote.proto, types.proto):

    WriteRequest { repeated TimeSeries timeseries = 1; }
    TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
    Label        { string name = 1; string value = 2; }
    Sample       { double value = 1; int64 timestamp = 2; }   // timestamp: milliseconds

A WriteRequest is the concatenation of its `timeseries` fields, so encoded series can be stored,
concatenated and sent as they are. The metric name travels as the `__name__` label; labels are sorted by
name, as the spec asks. Prometheus' staleness marker (`store.query.STALE_NAN`) is a NaN with its own bit
pattern and travels unchanged.

`RemoteWriter` is a `SampleSink` (collectors/scheduler.py) for collector nodes:

    writer = RemoteWriter([RemoteWriteTarget(url="http://vm:8428/api/v1/write")], data_dir / "remote-write",
                          clock=SystemClock(), registry=registry)
    writer.start()
    ... scheduler(sink=writer) ...
    writer.stop(timeout=10)     # sends what it can; the rest stays queued for the next start

Metrics (in the injected registry; `url` is the target's URL without user info):
  remote_write_pending_samples{url}              samples queued, not yet accepted by the receiver
  remote_write_lag_seconds{url}                  age of the oldest queued sample (0 when none)
  remote_write_sent_samples_total{url}           samples the receiver accepted (2xx)
  remote_write_failed_samples_total{url,reason}  samples dropped: "4xx" (refused), "resent_duplicate"
                                                 (refused as out of order/duplicate when sent again after a
                                                 lost answer or a restart: already stored, most likely)
  remote_write_retries_total{url}                attempts that failed and were retried (5xx, 429, transport)
  remote_write_bytes_total{url}                  compressed request bytes put on the wire, retries included
"""

from __future__ import annotations

import logging
import struct
import threading
import urllib.parse
import urllib.request
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import cramjam
from prometheus_client import CollectorRegistry

from model import Clock, Labels, Sample, Secret, TargetState
from store.remote_queue import Record, RemoteQueue
from store.remote_send import HEADERS, SendMetrics, ShardSender

__all__ = [
    "RemoteWriteClosed",
    "RemoteWriteTarget",
    "RemoteWriter",
    "SeriesEncoder",
    "TimeSeries",
    "encode",
    "group",
    "send",
]

log = logging.getLogger(__name__)


# -- encoding -----------------------------------------------------------------------------------------
class TimeSeries(NamedTuple):
    """One series of a request: all its labels (`__name__` included) and (milliseconds, value) samples
    in time order."""

    labels: Mapping[str, str]
    samples: Sequence[tuple[int, float]]


def group(samples: Iterable[Sample]) -> list[TimeSeries]:
    """The samples as remote-write series, one per (name, labels), in first-seen order; times in ms."""
    series: dict[tuple[str, object], tuple[dict[str, str], list[tuple[int, float]]]] = {}
    for name, labels, value, ts in samples:
        entry = series.get((name, labels))
        if entry is None:
            entry = series[(name, labels)] = ({"__name__": name, **labels}, [])
        entry[1].append((round(ts * 1000), value))
    return [TimeSeries(labels, points) for labels, points in series.values()]


def encode(series: Iterable[TimeSeries]) -> bytes:
    """The WriteRequest protobuf (uncompressed). Labels are written sorted by name, as the spec asks."""
    out = bytearray()
    for ts in series:
        body = bytearray(_label_fields(sorted(ts.labels.items())))
        for t, v in ts.samples:
            body += _field_bytes(2, b"\x09" + _pack_double(v) + b"\x10" + _varint(t))
        out += _field_bytes(1, bytes(body))
    return bytes(out)


def send(url: str, series: Sequence[TimeSeries], *, timeout: float = 30.0) -> None:
    """POST one WriteRequest to `url` (e.g. `http://127.0.0.1:9090/api/v1/write`), once, no queue.

    Raises urllib.error.HTTPError when the receiver refuses it (the body says why: out of order,
    out of bounds, ...) and URLError when it cannot be reached."""
    body = bytes(cramjam.snappy.compress_raw(encode(series)))
    request = urllib.request.Request(url, data=body, method="POST", headers=dict(HEADERS))
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


class Encoded(NamedTuple):
    """Samples as TimeSeries messages, one message per sample, with each message's series hash (CRC-32
    of its label fields: the same in every process) and the oldest sample time (Unix seconds)."""

    hashes: list[int]
    messages: list[bytes]
    oldest: float


class SeriesEncoder:
    """Encodes samples as TimeSeries messages, one per sample (its labels and one Sample), in bulk.

    The label fields, hash and message head of each series are cached (up to `max_series`, about 400
    bytes each; the cache starts again when full), so are the encoded label pairs (shared by many series:
    a series seen first costs about 3 µs), and each distinct timestamp of a call is encoded once, so a sample costs a
    dict lookup, a `struct.pack` and two concatenations. Thread-safe (dict operations under the GIL;
    concurrent callers may both fill an entry, with the same value).
    """

    def __init__(self, max_series: int = 200_000) -> None:
        self._max_series = max_series
        self._cache: dict[tuple[str, Labels], tuple[int, bytes, int]] = {}
        self._pairs: dict[tuple[str, str], bytes] = {}  # one Label field per (name, value), shared by series

    def encode(self, samples: Iterable[Sample]) -> Encoded:
        cache = self._cache
        tails: dict[float, bytes] = {}
        hashes: list[int] = []
        messages: list[bytes] = []
        pack = _pack_double
        for name, labels, value, ts in samples:
            tail = tails.get(ts)
            if tail is None:
                tail = tails[ts] = b"\x10" + _varint(round(ts * 1000))
            entry = cache.get((name, labels))
            if entry is None:
                entry = self._remember(name, labels)
            crc, head, tail_len = entry
            if len(tail) != tail_len:  # a timestamp of another varint length than the cached head's
                crc, head, tail_len = self._entry(name, labels, len(tail))
            hashes.append(crc)
            messages.append(head + pack(value) + tail)
        return Encoded(hashes, messages, min(tails, default=0.0))

    def _remember(self, name: str, labels: Labels) -> tuple[int, bytes, int]:
        if len(self._cache) >= self._max_series:
            self._cache = {}
        entry = self._cache[(name, labels)] = self._entry(name, labels, _MS_VARINT_TAIL)
        return entry

    def _entry(self, name: str, labels: Labels, tail_len: int) -> tuple[int, bytes, int]:
        pairs = self._pairs
        if len(pairs) >= self._max_series:
            pairs = self._pairs = {}
        parts = []
        for pair in sorted((*labels.pairs, ("__name__", name))):
            field_bytes = pairs.get(pair)
            if field_bytes is None:
                field_bytes = pairs[pair] = _label_fields((pair,))
            parts.append(field_bytes)
        fields = b"".join(parts)
        sample_len = 9 + tail_len  # 0x09, 8 bytes of double, then the timestamp's tag and varint
        body_len = len(fields) + 2 + sample_len
        head = b"\x0a" + _varint(body_len) + fields + b"\x12" + _BYTES[sample_len] + b"\x09"
        return zlib.crc32(fields), head, tail_len


_MS_VARINT_TAIL = 7
"""The tag and varint length of millisecond times from 1971 to 2109 (2**35 to 2**42): the common case."""

_pack_double = struct.Struct("<d").pack
_BYTES = [bytes((n,)) for n in range(0x80)]


def _label_fields(pairs: Iterable[tuple[str, str]]) -> bytes:
    return b"".join(_field_bytes(1, _field_bytes(1, k.encode()) + _field_bytes(2, v.encode())) for k, v in pairs)


def _field_bytes(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): tag, length, payload."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(n: int) -> bytes:
    """Base-128 varint; negative int64 values as their 64-bit two's complement (10 bytes)."""
    if 0 <= n < 0x80:
        return _BYTES[n]
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# -- the writer ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RemoteWriteTarget:
    """One receiver (Prometheus with `--web.enable-remote-write-receiver`, VictoriaMetrics, Mimir, ...).

    `url` is the write endpoint (`.../api/v1/write`); `headers` are added to every request (values may be
    `Secret`s), then `Authorization` from `bearer_token` or `basic_auth` (user name, password) if given.
    Times are in seconds; the defaults are Prometheus' remote_timeout and queue_config defaults.
    `ca_file` (PEM) verifies an https receiver against that CA; `insecure_skip_verify` turns
    verification off.
    """

    url: str
    headers: Mapping[str, str | Secret] = field(default_factory=dict)
    bearer_token: str | Secret | None = None
    basic_auth: tuple[str, str | Secret] | None = None
    timeout: float = 30.0
    shards: int = 2
    max_samples_per_send: int = 2000
    batch_send_deadline: float = 5.0
    min_backoff: float = 0.03
    max_backoff: float = 5.0
    ca_file: str | Path | None = None
    insecure_skip_verify: bool = False

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"remote write url {self.url!r}: must start with http:// or https://")
        if self.shards < 1 or self.max_samples_per_send < 1:
            raise ValueError(f"remote write {self.url}: shards and max_samples_per_send must be at least 1")
        if not 0 < self.min_backoff <= self.max_backoff:
            raise ValueError(f"remote write {self.url}: need 0 < min_backoff <= max_backoff")
        if self.bearer_token is not None and self.basic_auth is not None:
            raise ValueError(f"remote write {self.url}: bearer_token and basic_auth exclude each other")

    @property
    def display_url(self) -> str:
        """The URL without user info (for labels and logs)."""
        parts = urllib.parse.urlsplit(self.url)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


class RemoteWriteClosed(RuntimeError):
    """`append` after `stop()`."""


class RemoteWriter:
    """Sends every appended sample to every target, through one durable queue per target.

    `append` encodes the samples once, splits them by series hash into each target's shards (so each
    series stays in order) and commits them to each target's queue before it returns: after `kill -9`
    nothing that `append` returned from is lost (SQLite WAL, synchronous=NORMAL: a power loss may lose
    the commits since the last checkpoint). One sender thread per shard per target sends queued records in
    order and deletes them only after a 2xx; see store/remote_send.py for retries and refusals. Delivery
    is at least once: a batch is sent twice only when an answer is lost after the receiver stored it, or
    the writer stops between a 2xx and the delete (Prometheus drops an identical resent sample or refuses
    the batch as out of order; VictoriaMetrics 1.79 stores it again unless run with -dedup.minScrapeInterval).

    `record_state` does nothing: the receiving engine derives target state from the `up` samples, which
    are appended like any other.
    """

    def __init__(
        self, targets: Sequence[RemoteWriteTarget], queue_dir: Path, *, clock: Clock, registry: CollectorRegistry
    ) -> None:
        urls = [t.url for t in targets]
        if len(set(urls)) != len(urls):
            raise ValueError(f"remote write: a url is listed twice: {urls}")
        self._targets = tuple(targets)
        self._clock = clock
        self._encoder = SeriesEncoder()
        self._metrics = SendMetrics(registry)
        self._queues = [RemoteQueue.open(queue_dir, t.url, shards=t.shards) for t in self._targets]
        self._senders: list[ShardSender] = []
        self._lock = threading.Lock()
        self._closed = False
        for target, q in zip(self._targets, self._queues, strict=True):
            self._metrics.watch(target.display_url, q, clock)

    def append(self, samples: Sequence[Sample]) -> None:
        """Queue `samples` durably for every target (committed before returning). Thread-safe.
        Raises RemoteWriteClosed after `stop()`, sqlite3.Error when the queue cannot be written."""
        if not samples:
            return
        if self._closed:
            raise RemoteWriteClosed("remote writer is stopped")
        encoded = self._encoder.encode(samples)
        split: dict[tuple[int, int], list[Record]] = {}
        for target, q in zip(self._targets, self._queues, strict=True):
            key = (q.shards, target.max_samples_per_send)
            if key not in split:
                split[key] = _records(encoded, *key)
        with self._lock:  # `stop` waits for puts in progress; none starts after it
            if self._closed:
                raise RemoteWriteClosed("remote writer is stopped")
            for target, q in zip(self._targets, self._queues, strict=True):
                q.put(split[(q.shards, target.max_samples_per_send)])

    def record_state(self, target: str, state: TargetState, ts: float, cause: str) -> None:
        """Nothing to do: the engine derives state from `up` (see the class docstring)."""

    def flush(self, timeout: float = 30.0) -> bool:
        """Nothing to wait for: `append` has queued durably when it returns (the rules' sink contract)."""
        return True

    def start(self) -> None:
        """Start the sender threads (samples appended before are queued and sent now)."""
        with self._lock:
            if self._senders or self._closed:
                raise RuntimeError("remote writer already started or stopped")
            for target, q in zip(self._targets, self._queues, strict=True):
                for shard in range(q.shards):
                    sender = ShardSender(target, q, shard, clock=self._clock, metrics=self._metrics)
                    sender.start()
                    self._senders.append(sender)

    def pending(self) -> int:
        """Samples queued for all targets together, not yet accepted."""
        return sum(q.pending() for q in self._queues)

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop accepting samples, send what is queued for up to `timeout` seconds (retrying as usual),
        then stop the senders and close the queues. Returns whether every queue was empty; what is left
        stays in queue_dir for the next start. An HTTP request in flight may add up to a target's
        `timeout` to the wait."""
        with self._lock:
            self._closed = True
            senders, self._senders = self._senders, []
        deadline = self._clock.monotonic() + timeout
        for sender in senders:
            sender.flush()
        for sender in senders:
            sender.join(max(0.0, deadline - self._clock.monotonic()))
        for sender in senders:
            sender.abort()
        stuck = False
        for sender in senders:
            sender.join(sender.target.timeout + 1.0)
            stuck = stuck or sender.is_alive()
        empty = self.pending() == 0
        if stuck:
            log.error("remote write: a sender did not stop; leaving its queue open")
            return False
        for q in self._queues:
            q.close()
        return empty


def _records(encoded: Encoded, shards: int, max_samples: int) -> list[Record]:
    """The encoded samples as queue records: by shard (series hash modulo `shards`), at most
    `max_samples` samples each, payloads snappy-compressed."""
    buckets: list[list[bytes]] = [[] for _ in range(shards)]
    if shards == 1:
        buckets[0] = encoded.messages
    else:
        for crc, message in zip(encoded.hashes, encoded.messages, strict=True):
            buckets[crc % shards].append(message)
    records = []
    for shard, messages in enumerate(buckets):
        for start in range(0, len(messages), max_samples):
            chunk = messages[start : start + max_samples]
            payload = bytes(cramjam.snappy.compress_raw(b"".join(chunk)))
            records.append(Record(shard, len(chunk), encoded.oldest, payload))
    return records
