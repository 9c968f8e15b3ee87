"""The store facade: one writer thread fed by a bounded queue, the head, the SQLite file, and reads.

Write path: `append(samples)` puts a batch on a bounded queue (blocking briefly and counting the
stall when it is full). The writer drains several batches at once, appends them to the head under
the lock, commits them as one write-ahead record (plus any new series and state changes) in one
SQLite transaction, then writes every head block that is due (one chunk per series per hour, with
its rollups) and trims the write-ahead table. After `kill -9` the file opens without repair; the
write-ahead records are replayed into the head; at most the batch in flight is lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from model import Clock, Labels, Sample, TargetState
from store import disk, reads
from store.chunkcache import ChunkCache
from store.disk import Disk, StateRow
from store.head import Head, SeriesData
from store.index import Matcher, SeriesRef, select
from store.rollups import RollupData
from store.writer import Barrier, BlockWriter, Retention, StateChange, Stop

__all__ = ["Retention", "Store", "StoreError", "StoreLocked", "StoreStalled"]

log = logging.getLogger(__name__)

BLOCK_MS = 3_600_000
GRACE_MS = 300_000


class StoreError(Exception):
    """The store cannot do what was asked."""


class StoreLocked(StoreError):
    """Another process holds the data directory."""


class StoreStalled(StoreError):
    """The write queue stayed full for longer than the stall timeout."""


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.ingested = Counter("store_samples_ingested_total", "Samples accepted by the store", registry=registry)
        self.rejected = Counter(
            "store_samples_rejected_total", "Samples refused by the store", ["reason"], registry=registry
        )
        self.queue_depth = Gauge("store_queue_depth", "Batches waiting for the writer", registry=registry)
        self.queue_capacity = Gauge("store_queue_capacity", "Size of the write queue", registry=registry)
        self.latency = Histogram(
            "store_write_latency_seconds",
            "Time to apply and commit one write transaction",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=registry,
        )
        self.stalls = Counter("store_ingest_stalls_total", "Appends that found the queue full", registry=registry)
        self.stall_seconds = Counter(
            "store_ingest_stall_seconds_total",
            "Time appends spent waiting for queue space",
            registry=registry,
        )
        self.write_errors = Counter("store_write_errors_total", "Write transactions that failed", registry=registry)
        self.series = Gauge("store_head_series", "Series known to the store", registry=registry)
        self.blocks = Counter("store_blocks_written_total", "Head blocks written to disk", registry=registry)
        self.partitions_dropped = Counter(
            "store_partitions_dropped_total", "Partitions removed by retention", registry=registry
        )


class Store:
    """Samples in, series out. Always `close()` what you open."""

    def __init__(
        self,
        data_dir: Path,
        *,
        clock: Clock,
        metrics: CollectorRegistry,
        head_window: float = 7200.0,
        retention: Retention | None = None,
        queue_batches: int = 256,
        stall_timeout: float = 10.0,
        chunk_cache_bytes: int = 64 * 2**20,
    ) -> None:
        """Open (or create) the store in `data_dir`, replay its write-ahead records, start the writer.

        Raises StoreLocked when another process has the directory open."""
        data_dir.mkdir(parents=True, exist_ok=True)
        self._lockfile = _lock(data_dir / "store.lock")
        self.path = data_dir / "store.sqlite3"
        self._clock = clock
        self._m = _Metrics(metrics)
        self._retention = retention or Retention()
        self._stall_timeout = stall_timeout
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_batches)
        self._m.queue_capacity.set(queue_batches)
        self._lock = threading.Lock()
        self.recent_writes: deque[tuple[float, int]] = deque(maxlen=100_000)
        """(seconds, samples) of the most recent write transactions, newest last."""
        self._local = threading.local()
        self._disk = Disk(self.path)
        self._head = Head(block_ms=BLOCK_MS, window_ms=int(head_window * 1000))
        self._chunk_cache = ChunkCache(chunk_cache_bytes)
        """Decoded closed chunks (head and disk) of recent reads: rules and dashboards re-read them."""
        self._recover()
        self._busy_since: float | None = None
        self._last_error: str | None = None
        self._unsaved_series: list[tuple[int, str, Labels]] = []
        self._blocks = BlockWriter(
            disk=self._disk, head=self._head, lock=self._lock, retention=self._retention, clock=clock
        )
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, data_dir: Path, **options: Any) -> Store:
        """Same as the constructor; reads better at call sites."""
        return cls(data_dir, **options)

    def _recover(self) -> None:
        head = self._head
        for sid, name, labels in self._disk.load_series():
            head.add_known_series(sid, name, labels)
        flushed = self._disk.get_meta("flushed_until")
        if flushed is not None:
            head.flushed_until = int(flushed)
            head.floor = int(flushed)
        replayed = 0
        for data in self._disk.load_wal():
            sids, ts, values = _decode_wal(data)
            if head.flushed_until is None and len(ts):
                head.start_at(int(ts.min()) + BLOCK_MS)  # never flushed: keep from the first block on
            replayed += head.replay(sids.tolist(), ts.tolist(), values.tolist())
        self._m.series.set(head.series_count())
        last = self._disk.last_activity()
        if last is not None:
            ended = self._disk.end_open_intervals(last, TargetState.UNKNOWN.value, "console was not running")
            if ended:
                log.warning("%d targets had open state intervals (the console stopped uncleanly)", ended)
        log.info("store opened: %d series, %d samples replayed", head.series_count(), replayed)

    # -- writing ------------------------------------------------------------------------------
    def append(self, samples: Sequence[Sample]) -> None:
        """Queue a batch for writing. Blocks while the queue is full (counted as a stall);
        raises StoreStalled after the stall timeout. Returns before the batch is durable:
        call `flush()` to wait for that."""
        if samples:
            self._put(samples)

    def record_state(self, target: str, state: TargetState, ts: float, cause: str) -> None:
        """Record that `target` entered `state` at `ts` (seconds); closes its open interval."""
        self._put(StateChange(target, state.value, ts, cause))

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued so far is committed. False on timeout or when the write
        that carried the queued items failed (the error is logged, counted and shown by health())."""
        barrier = Barrier()
        self._put(barrier)
        return barrier.done.wait(timeout) and not barrier.failed

    def close(self, timeout: float = 5.0) -> None:
        """Commit what is queued, stop the writer, end open state intervals as `unknown` (nobody
        watches while the console is stopped), close the file and release the lock. A writer still
        busy after `timeout` is abandoned: what it committed stays; what was queued is lost."""
        deadline = time.monotonic() + timeout
        if self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put(Stop(), timeout=max(0.0, deadline - time.monotonic()))
            self._thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            log.error("store writer did not finish within %.1fs; leaving the file as committed so far", timeout)
            return
        self._disk.end_open_intervals(self._clock.now(), TargetState.UNKNOWN.value, "console stopped")
        self._disk.close()
        self._lockfile.close()

    def _put(self, item: object) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._m.stalls.inc()
            start = self._clock.monotonic()
            try:
                self._queue.put(item, timeout=self._stall_timeout)
            except queue.Full:
                raise StoreStalled(f"write queue full for {self._stall_timeout:g}s") from None
            finally:
                self._m.stall_seconds.inc(self._clock.monotonic() - start)
        self._m.queue_depth.set(self._queue.qsize())

    def _run(self) -> None:
        stop = False
        while not stop:
            items = [self._queue.get()]
            while len(items) < 64:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._busy_since = self._clock.monotonic()
            failed = False
            try:
                self._write(items)
                self._last_error = None
            except Exception as exc:
                failed = True
                self._last_error = f"{type(exc).__name__}: {exc}"
                self._m.write_errors.inc()
                log.exception("store write failed: the samples of %d queued items are in memory only", len(items))
            self._busy_since = None
            self._m.queue_depth.set(self._queue.qsize())
            for item in items:
                if isinstance(item, Barrier):
                    item.failed = failed
                    item.done.set()
                elif isinstance(item, Stop):
                    stop = True

    def _write(self, items: list[object]) -> None:
        batches = [i for i in items if isinstance(i, (list, tuple))]
        states = [(s.target, s.state, s.ts, s.cause) for s in items if isinstance(s, StateChange)]
        if not batches and not states:
            return
        started = time.perf_counter()
        samples: list[Sample] = [s for b in batches for s in b]
        now_ms = int(self._clock.now() * 1000)
        with self._lock:
            if self._head.flushed_until is None:
                self._head.start_at(now_ms)
            res = self._head.append(samples, now_ms)
        wal = None
        if len(res.ts):
            ts = np.frombuffer(res.ts, dtype=np.int64)
            wal = (int(ts.min()), int(ts.max()), _encode_wal(res.series_ids, res.ts, res.values))
        # Series created by a write that failed to commit are saved with the next one, so the ids
        # that later write-ahead records use always exist on disk.
        new_series = self._unsaved_series + res.new_series
        self._unsaved_series = new_series
        self._disk.commit_batch(new_series, wal, states)
        self._unsaved_series = []
        elapsed = time.perf_counter() - started
        self._m.latency.observe(elapsed)
        self.recent_writes.append((elapsed, len(res.ts)))
        self._m.ingested.inc(len(res.ts))
        for reason, n in res.rejected.items():
            if n:
                self._m.rejected.labels(reason).inc(n)
        if res.new_series:
            self._m.series.set(self._head.series_count())
        written, dropped = self._blocks.write_due(GRACE_MS)
        if written:
            self._m.blocks.inc(written)
        if dropped:
            self._m.partitions_dropped.inc(dropped)

    # -- reading ------------------------------------------------------------------------------
    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = disk.connect_reader(self.path)
            self._local.conn = conn
        return conn

    def series_generation(self, name: str | None = None) -> int:
        """A number that changes whenever a series (of metric `name`, when given) is added: the
        same `select` (with `__name__="name"`) at the same generation gives the same answer."""
        if name is None:
            return self._head.generation
        return self._head.generations.get(name, 0)

    def select(self, matchers: Sequence[Matcher]) -> list[SeriesRef]:
        """Series matching every matcher (an `__name__ = x` matcher narrows the scan)."""
        name = next((m.value for m in matchers if m.name == "__name__" and m.op.value == "="), None)
        with self._lock:
            pool = self._head.all_series(name)
        rest = [m for m in matchers if not (m.name == "__name__" and m.op.value == "=" and m.value == name)]
        if name is not None and not rest:  # the name alone: every series of the pool, no matching
            return sorted((SeriesRef(sid, n, labels) for sid, n, labels in pool), key=lambda r: r.id)
        return select(pool, rest)

    def read_range(self, ids: Sequence[int], start_ms: int, end_ms: int) -> dict[int, SeriesData]:
        """Raw samples of each series within [start_ms, end_ms]; series without samples are absent."""
        return reads.read_range(self._reader(), self._head, self._lock, ids, start_ms, end_ms, self._chunk_cache)

    def read_flat(self, ids: Sequence[int], start_ms: int, end_ms: int) -> reads.FlatData:
        """The samples of `read_range`, concatenated in `ids` order with a count per series: the
        fast read for queries over many series."""
        return reads.read_flat(self._reader(), self._head, self._lock, ids, start_ms, end_ms, self._chunk_cache)

    def read_rollup(self, ids: Sequence[int], step: str, start_ms: int, end_ms: int) -> dict[int, RollupData]:
        """Aggregates per `step` bucket ("5m" or "1h") whose start lies within [start_ms, end_ms]."""
        return reads.read_rollup(self._reader(), self._head, self._lock, ids, step, start_ms, end_ms, self._chunk_cache)

    def latest(self, max_age: float | None = None) -> list[Sample]:
        """The newest sample of every series; with `max_age` (seconds), only those that recent."""
        with self._lock:
            samples = list(self._head.latest())
        if max_age is None:
            return samples
        oldest = self._clock.now() - max_age
        return [s for s in samples if s.ts >= oldest]

    def state_intervals(self, target: str | None, start: float, end: float) -> list[StateRow]:
        """Recorded state intervals overlapping [start, end] (seconds)."""
        return disk.read_states(self._reader(), target, start, end)

    def lookup(self, sid: int) -> tuple[str, Labels]:
        with self._lock:
            return self._head.lookup(sid)

    def health(self, stuck_after: float = 30.0) -> tuple[bool, str]:
        """(ok, detail): not ok when the writer died or one write has run longer than `stuck_after`."""
        if not self._thread.is_alive():
            return False, "writer thread is not running"
        if self._last_error is not None:
            return False, f"the last write failed: {self._last_error}"
        busy = self._busy_since
        if busy is not None and self._clock.monotonic() - busy > stuck_after:
            return False, f"one write has been running for {self._clock.monotonic() - busy:.0f}s"
        return True, f"{self._queue.qsize()} batches queued, {self._head.series_count()} series"


def _lock(path: Path) -> IO[str]:
    handle = path.open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise StoreLocked(f"{path.parent} is in use by another process (lock {path.name})") from None
    handle.truncate(0)
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _encode_wal(sids: Iterable[int], ts: Iterable[int], values: Iterable[float]) -> bytes:
    s = np.asarray(sids, dtype=np.int64)
    return len(s).to_bytes(8, "little") + s.tobytes() + bytes(ts) + bytes(values)  # type: ignore[arg-type]


def _decode_wal(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = int.from_bytes(data[:8], "little")
    arr = np.frombuffer(data, dtype=np.int64, offset=8, count=2 * n)
    values = np.frombuffer(data, dtype=np.float64, offset=8 + 16 * n, count=n)
    return arr[:n], arr[n:], values
