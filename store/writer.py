"""What the writer thread does besides committing batches: queue items, and writing due head blocks
(raw chunks, 5-minute rollups, 1-hour rollups when a UTC day closes) and applying retention."""

from __future__ import annotations

import ctypes
import threading
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from model import Clock
from store import disk
from store.codec import encode_chunk
from store.disk import DAY_MS, ChunkRow, Disk
from store.head import Head, HeadChunk, decode_parts
from store.rollups import TIER_1H, TIER_5M, bucketize, decode_rows, encode_row, merge_slots

_libc: ctypes.CDLL | None = None


def _release_freed_memory() -> None:
    """Give memory freed by a block write back to the OS (glibc keeps it otherwise), so the
    head's resident size tracks what it holds. A no-op where glibc's malloc_trim is missing."""
    global _libc  # noqa: PLW0603 - loaded once, on first use, not at import
    if _libc is None:
        try:
            _libc = ctypes.CDLL("libc.so.6")
        except OSError:
            return
    trim = getattr(_libc, "malloc_trim", None)
    if trim is not None:
        trim(0)


__all__ = ["Barrier", "BlockWriter", "Retention", "StateChange", "Stop"]


@dataclass(frozen=True, slots=True)
class Retention:
    """How long each tier is kept, in seconds."""

    raw: float = 15 * 86400.0
    rollup_5m: float = 90 * 86400.0
    rollup_1h: float = 730 * 86400.0


@dataclass(frozen=True, slots=True)
class StateChange:
    target: str
    state: str
    ts: float
    cause: str


@dataclass(slots=True)
class Barrier:
    """Set once everything queued before it is committed (`failed` if that write failed)."""

    done: threading.Event = field(default_factory=threading.Event)
    failed: bool = False


@dataclass(frozen=True, slots=True)
class Stop:
    """Ends the writer after everything queued before it is committed."""


class BlockWriter:
    """Moves complete head blocks to disk and drops partitions past retention."""

    def __init__(self, *, disk: Disk, head: Head, lock: threading.Lock, retention: Retention, clock: Clock) -> None:
        self._disk = disk
        self._head = head
        self._lock = lock
        self._retention = retention
        self._clock = clock

    def write_due(self, grace_ms: int) -> tuple[int, int]:
        """Write every due block; returns (blocks written, partitions dropped)."""
        written = 0
        while True:
            with self._lock:
                start = self._head.due_block(grace_ms)
                if start is None:
                    break
                chunks = self._head.block_chunks(start)
            self._write_block(start, chunks)
            written += 1
        dropped = self.apply_retention() if written else 0
        if written:
            _release_freed_memory()
        return written, dropped

    def _write_block(self, start: int, chunks: list[tuple[int, HeadChunk]]) -> None:
        """One row per series for the hour: its head chunks merged and re-encoded as one (a longer
        chunk compresses better), plus the hour's 5-minute rollup row."""
        end = start + self._head.block_ms
        by_series: dict[int, list[HeadChunk]] = defaultdict(list)
        for sid, c in chunks:
            by_series[sid].append(c)
        raw: list[ChunkRow] = []
        rollups: list[tuple[str, ChunkRow]] = []
        five: dict[int, np.ndarray] = {}
        for sid, parts in by_series.items():
            data = decode_parts(parts, start, end - 1)  # chunks of a series are kept in time order
            if len(parts) == 1:
                c = parts[0]
                raw.append(ChunkRow(sid, c.start, c.end, c.samples, c.blob))
            else:
                blob = encode_chunk([data.ts, data.values])
                raw.append(ChunkRow(sid, int(data.ts[0]), int(data.ts[-1]), int(data.ts.size), blob))
            slots = bucketize(data.ts, data.values, start, TIER_5M)
            five[sid] = slots
            rollups.append(("5m", ChunkRow(sid, start, end - 1, TIER_5M.slots, encode_row(slots))))
        if end % DAY_MS == 0:
            rollups.extend(("1h", row) for row in self._day_rows(end - DAY_MS, start, five))
        self._disk.write_block(end, raw, rollups)
        with self._lock:
            self._head.mark_flushed(end)

    def _day_rows(self, day: int, last_block: int, latest: dict[int, np.ndarray]) -> list[ChunkRow]:
        """1-hour rows for a closed UTC day, from its stored 5-minute rows plus the last block's."""
        hours: dict[int, np.ndarray] = {}
        rows = [r for r in disk.read_rows(self._disk.conn, "5m", None, day, last_block - 1) if r.start < last_block]
        decoded = decode_rows([r.blob for r in rows], TIER_5M.slots)
        for r, slots in zip(rows, decoded, strict=True):
            self._place(hours, r.series_id, (r.start - day) // TIER_1H.step_ms, slots)
        for sid, slots in latest.items():
            self._place(hours, sid, (last_block - day) // TIER_1H.step_ms, slots)
        return [ChunkRow(sid, day, day + DAY_MS - 1, TIER_1H.slots, encode_row(arr)) for sid, arr in hours.items()]

    @staticmethod
    def _place(hours: dict[int, np.ndarray], sid: int, hour: int, slots: np.ndarray) -> None:
        arr = hours.get(sid)
        if arr is None:
            arr = np.zeros((5, TIER_1H.slots))
            arr[2:] = np.nan
            hours[sid] = arr
        arr[:, hour] = merge_slots(slots, TIER_5M.slots)[:, 0]

    def apply_retention(self) -> int:
        """Drop partitions that end before now minus their tier's retention."""
        now_ms = int(self._clock.now() * 1000)
        r = self._retention
        keep = {"raw": r.raw, "5m": r.rollup_5m, "1h": r.rollup_1h}
        old = [p.name for p in disk.all_partitions(self._disk.conn) if p.end <= now_ms - keep[p.tier] * 1000]
        return self._disk.drop_partitions(old)
