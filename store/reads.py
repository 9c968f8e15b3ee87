"""Reads that combine the head (recent, in memory) with the SQLite file (older), without gaps or
duplicates: the head answers for every time at or after its floor, the file for everything before."""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from store import disk
from store.chunkcache import ChunkCache, Decoded
from store.codec import FloatArray, IntArray
from store.head import Head, HeadChunk, SeriesData, decode_blob, decode_parts
from store.rollups import TIER_5M, TIERS, RollupData, Tier, bucketize, decode_rows

__all__ = ["FlatData", "read_flat", "read_range", "read_rollup"]


def read_range(
    conn: sqlite3.Connection,
    head: Head,
    lock: threading.Lock,
    ids: Sequence[int],
    start: int,
    end: int,
    cache: ChunkCache | None = None,
) -> dict[int, SeriesData]:
    """Raw samples of each series within [start, end] (ms); closed chunks decoded through `cache`."""
    with lock:
        floor = head.floor
        snap = head.snapshot(ids, max(start, floor), end)
    parts: dict[int, list[HeadChunk | SeriesData]] = defaultdict(list)
    if start < floor:
        for r in disk.read_rows(conn, "raw", list(ids), start, min(end, floor - 1)):
            if r.start < floor:
                parts[r.series_id].append(HeadChunk(r.start, r.end, r.count, r.blob))
    for sid, chunks in snap.items():
        parts[sid].extend(chunks)
    out: dict[int, SeriesData] = {}
    for sid in ids:
        if sid in parts:
            decode = None if cache is None else functools.partial(cache.decoded, sid, decode=decode_blob)
            data = decode_parts(parts[sid], start, end, decode)
            if data.ts.size:
                out[sid] = data
    return out


class FlatData(NamedTuple):
    """Samples of several series concatenated in the order asked: series i owns `sizes[i]` samples
    (0 when it has none in the range), timestamps (ms) ascending within each series."""

    ts: IntArray
    values: FloatArray
    sizes: IntArray


def read_flat(
    conn: sqlite3.Connection,
    head: Head,
    lock: threading.Lock,
    ids: Sequence[int],
    start: int,
    end: int,
    cache: ChunkCache,
) -> FlatData:
    """What `read_range` reads, laid out flat, built without a numpy array per series: the open
    chunks' windows (the usual recent read) are copied slice by slice into one buffer, and closed
    chunks are decoded once through `cache`. For queries over many series."""
    with lock:
        floor = head.floor
    while True:
        # Disk chunks are read and decoded outside the lock; the head, with them, in one pass under
        # it — unless a block went to disk in between (the floor moved): then read again.
        older = _older_chunks(conn, cache, ids, start, min(end, floor - 1), floor) if start < floor else None
        with lock:
            if head.floor == floor:
                ts, values, sizes = head.flat_recent(ids, start, end, cache.chunk, cache.part, older)
                return FlatData(ts, values, sizes)
            floor = head.floor


def _older_chunks(
    conn: sqlite3.Connection, cache: ChunkCache, ids: Sequence[int], start: int, end: int, floor: int
) -> dict[int, list[Decoded]]:
    """The decoded disk chunks of each series overlapping [start, end] (all before `floor`): rows
    the cache holds cost no blob read, the others are read, decoded and kept."""
    keys = [k for k in disk.read_row_keys(conn, "raw", list(ids), start, end) if k[3] < floor]
    found: list[Decoded | None] = [cache.cached_chunk(k[2], k[3], k[5]) for k in keys]
    missing: dict[str, list[int]] = defaultdict(list)
    for k, piece in zip(keys, found, strict=True):
        if piece is None:
            missing[k[0]].append(k[1])
    blobs = {
        (partition, rowid): blob
        for partition, rowids in missing.items()
        for rowid, blob in disk.read_blobs(conn, partition, rowids).items()
    }
    out: dict[int, list[Decoded]] = defaultdict(list)
    for (partition, rowid, sid, first, last, count), cached in zip(keys, found, strict=True):
        if cached is not None:
            out[sid].append(cached)
            continue
        blob = blobs.get((partition, rowid))
        if blob is not None:  # None: retention dropped the partition between the two reads
            out[sid].append(cache.chunk(sid, HeadChunk(first, last, count, blob)))
    return out


class _Vanished(Exception):
    """A partition went away between reading row keys and reading their blobs."""


def read_rollup(
    conn: sqlite3.Connection,
    head: Head,
    lock: threading.Lock,
    ids: Sequence[int],
    step: str,
    start: int,
    end: int,
    cache: ChunkCache | None = None,
) -> dict[int, RollupData]:
    """Buckets of `step` ("5m" or "1h") starting within [start, end] (ms), empty buckets omitted.

    Stored rows answer for flushed time; the rest is computed from raw samples the same way."""
    tier = TIERS[step]
    start -= start % tier.step_ms
    with lock:
        flushed = head.flushed_until if head.flushed_until is not None else start
    stored_until = flushed - flushed % tier.row_ms if tier is not TIER_5M else flushed
    rows: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
    if start < stored_until and cache is None:
        found = disk.read_rows(conn, tier.name, list(ids), start, min(end, stored_until - 1))
        for r, slots in zip(found, decode_rows([r.blob for r in found], tier.slots), strict=True):
            rows[r.series_id].append((r.start, slots))
    elif start < stored_until and cache is not None:
        keys = disk.read_row_keys(conn, tier.name, list(ids), start, min(end, stored_until - 1))

        def decode(positions: list[int]) -> FloatArray:
            wanted: dict[str, list[int]] = defaultdict(list)
            for i in positions:
                wanted[keys[i][0]].append(keys[i][1])
            blobs = {
                (p, rowid): blob
                for p, rowids in wanted.items()
                for rowid, blob in disk.read_blobs(conn, p, rowids).items()
            }
            present = [i for i in positions if (keys[i][0], keys[i][1]) in blobs]
            if len(present) != len(positions):  # retention dropped a partition between the reads
                raise _Vanished
            return decode_rows([blobs[(keys[i][0], keys[i][1])] for i in positions], tier.slots)

        try:
            decoded = cache.rollup_rows([(tier.name, k[2], k[3]) for k in keys], decode)
        except _Vanished:  # read again without the cache: it copes with a partition gone
            return read_rollup(conn, head, lock, ids, step, start, end, None)
        for k, slots in zip(keys, decoded, strict=True):
            rows[k[2]].append((k[3], slots))
    if end >= stored_until:
        _from_finer(conn, head, lock, ids, tier, max(start, stored_until), end, rows)
    return {sid: data for sid in ids if sid in rows and (data := _assemble(rows[sid], tier, start, end))}


def _from_finer(
    conn: sqlite3.Connection,
    head: Head,
    lock: threading.Lock,
    ids: Sequence[int],
    tier: Tier,
    start: int,
    end: int,
    rows: dict[int, list[tuple[int, np.ndarray]]],
) -> None:
    """Rows for [start, end] built from raw samples (aligned to the tier's row span)."""
    row_start = start - start % tier.row_ms
    raw = read_range(conn, head, lock, ids, row_start, end)
    for sid, data in raw.items():
        bounds = np.arange(row_start, end + 1, tier.row_ms)
        cuts = np.searchsorted(data.ts, bounds)
        cuts = np.append(cuts, data.ts.size)
        for i, rs in enumerate(bounds):
            lo, hi = cuts[i], cuts[i + 1]
            if hi > lo:
                rows[sid].append((int(rs), bucketize(data.ts[lo:hi], data.values[lo:hi], int(rs), tier)))


def _assemble(parts: list[tuple[int, np.ndarray]], tier: Tier, start: int, end: int) -> RollupData | None:
    parts.sort(key=lambda p: p[0])
    ts = np.concatenate([rs + np.arange(s.shape[1], dtype=np.int64) * tier.step_ms for rs, s in parts])
    slots = np.concatenate([s for _, s in parts], axis=1)
    keep = (slots[0] > 0) & (ts >= start) & (ts <= end)
    if not keep.any():
        return None
    s = slots[:, keep]
    return RollupData(ts[keep], s[0], s[1], s[2], s[3], s[4])
