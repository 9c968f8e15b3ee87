"""The in-memory head: the recent samples of every series, answering most queries without disk.

Each series keeps an open buffer (timestamps as int32 millisecond offsets, values as float64) and a
list of closed, compressed chunks. A chunk never spans a block boundary (blocks are aligned to
`block_ms`, one hour by default), so a whole block can be handed to the disk store when it is due and
dropped from memory once it is older than the head's window.

The head is not thread-safe by itself: the store holds one lock around every call.
"""

from __future__ import annotations

import bisect
import math
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from model import Labels, Sample
from store.codec import FloatArray, IntArray, decode_chunk, encode_chunk
from store.parts import pack_part, unpack_part

__all__ = ["AppendResult", "Head", "HeadChunk", "Rejections", "SeriesData"]

MAX_CHUNK_SAMPLES = 240
"""Samples per chunk at most: an hour at 15 s, so most series have one chunk per block."""
FREEZE_SAMPLES = 48
"""The open buffer is packed into a frozen part every this many samples (store/parts.py)."""


class HeadChunk(NamedTuple):
    """A closed chunk: first and last timestamp (ms), sample count, encoded `[ts, values]`."""

    start: int
    end: int
    samples: int
    blob: bytes


class SeriesData(NamedTuple):
    """Samples of one series in a time range: timestamps (ms, ascending) and values."""

    ts: IntArray
    values: FloatArray


@dataclass
class Rejections:
    """Samples the head refused, by reason (names as in Prometheus' TSDB where one exists)."""

    out_of_order: int = 0
    duplicate_sample_for_timestamp: int = 0
    out_of_bounds: int = 0
    too_far_in_future: int = 0
    invalid_value: int = 0
    duplicate_same_value: int = 0

    def items(self) -> Iterator[tuple[str, int]]:
        yield "out_of_order", self.out_of_order
        yield "duplicate_sample_for_timestamp", self.duplicate_sample_for_timestamp
        yield "out_of_bounds", self.out_of_bounds
        yield "too_far_in_future", self.too_far_in_future
        yield "invalid_value", self.invalid_value


@dataclass
class AppendResult:
    """What one batch did: accepted samples as parallel lists, series created, refusals."""

    series_ids: array[int] = field(default_factory=lambda: array("q"))
    ts: array[int] = field(default_factory=lambda: array("q"))
    values: array[float] = field(default_factory=lambda: array("d"))
    new_series: list[tuple[int, str, Labels]] = field(default_factory=list)
    rejected: Rejections = field(default_factory=Rejections)


class _Series:
    __slots__ = (
        "base",
        "blobs",
        "block_end",
        "bounds",
        "frozen",
        "hint",
        "id",
        "labels",
        "last_t",
        "last_v",
        "name",
        "offs",
        "part_starts",
        "parts",
        "vals",
    )

    def __init__(self, sid: int, name: str, labels: Labels) -> None:
        self.id = sid
        self.name = name
        self.labels = labels
        self.base = 0
        self.block_end = -1
        self.offs = array("i")
        self.vals = array("d")
        self.bounds = array("q")  # closed chunks: start, end, samples; three entries per chunk
        self.blobs: list[bytes] = []  # closed chunks' encoded bytes, in time order
        self.parts: list[bytes] | None = None  # the open chunk's frozen parts (store/parts.py)
        self.part_starts: list[int] = []  # each part's first offset (reads decode only the parts they need)
        self.frozen = 0  # samples in those parts
        self.hint = 0  # decimal places of the last part, or parts.RAW
        self.last_t = -(2**62)
        self.last_v = math.nan

    def freeze(self) -> None:
        """Pack the open buffer into a frozen part of the open chunk and empty the buffer."""
        offs = np.frombuffer(self.offs, dtype=np.int32)
        vals = np.frombuffer(self.vals, dtype=np.float64)
        data, hint = pack_part(offs, vals, self.hint)
        del offs, vals  # the views must go before the arrays may shrink
        self.add_part(data, hint)

    def add_part(self, data: bytes, hint: int) -> None:
        """Replace the buffer by its packed form `data`."""
        if self.parts is None:
            self.parts = []
        self.parts.append(data)
        self.part_starts.append(self.offs[0])
        self.frozen += len(self.vals)
        self.hint = hint
        del self.offs[:]
        del self.vals[:]

    def has_open(self) -> bool:
        return bool(self.vals) or self.parts is not None

    def open_arrays(self, first_part: int = 0) -> SeriesData:
        """A copy of the open chunk: its frozen parts (from `first_part` on), then the buffer."""
        offs: list[npt.NDArray[np.int32]] = []
        vals: list[FloatArray] = []
        for part in (self.parts or [])[first_part:]:
            o, v = unpack_part(part)
            offs.append(o)
            vals.append(v)
        offs.append(np.frombuffer(self.offs, dtype=np.int32).copy())
        vals.append(np.frombuffer(self.vals, dtype=np.float64).copy())
        return SeriesData(np.concatenate(offs).astype(np.int64) + self.base, np.concatenate(vals))

    def open_window(self, start: int, end: int) -> SeriesData:
        """The open chunk's samples within [start, end] (ms), copied. When the window starts inside
        the unpacked buffer (the usual recent read: `rate(x[5m])`), only the buffer's slice is
        copied; the frozen parts are decoded only when the window reaches back into them."""
        offs = self.offs
        if not offs or (self.parts is not None and start - self.base <= offs[0]):
            first_part = max(0, bisect.bisect_right(self.part_starts, start - self.base) - 1)
            ts, vals = self.open_arrays(first_part)
            cut = np.searchsorted(ts, [start, end + 1], "left")
            return SeriesData(ts[cut[0] : cut[1]], vals[cut[0] : cut[1]])
        lo = bisect.bisect_left(offs, start - self.base)
        hi = bisect.bisect_right(offs, end - self.base)
        ts = np.frombuffer(offs[lo:hi], dtype=np.int32).astype(np.int64)
        ts += self.base
        return SeriesData(ts, np.frombuffer(self.vals[lo:hi], dtype=np.float64))

    def close_chunk(self) -> None:
        """Encode the open chunk as a closed chunk and empty it."""
        ts, vals = self.open_arrays()
        self.bounds.extend((int(ts[0]), int(ts[-1]), len(vals)))
        self.blobs.append(encode_chunk([ts, vals]))
        self.parts = None
        self.part_starts = []
        self.frozen = 0
        del self.offs[:]
        del self.vals[:]

    def chunks(self) -> Iterator[HeadChunk]:
        b = self.bounds
        for i, blob in enumerate(self.blobs):
            yield HeadChunk(b[3 * i], b[3 * i + 1], b[3 * i + 2], blob)

    def drop_chunks_before(self, start: int) -> None:
        keep = [i for i in range(len(self.blobs)) if self.bounds[3 * i] >= start]
        if len(keep) == len(self.blobs):
            return
        self.blobs = [self.blobs[i] for i in keep]
        self.bounds = array("q", [v for i in keep for v in self.bounds[3 * i : 3 * i + 3]])


class Head:
    """Recent samples of every series. Times are integer milliseconds since the Unix epoch."""

    def __init__(self, *, block_ms: int, window_ms: int, future_ms: int = 600_000) -> None:
        self.block_ms = block_ms
        self.window_ms = window_ms
        self.future_ms = future_ms
        self._by_key: dict[tuple[str, Labels], _Series] = {}
        self._by_id: dict[int, _Series] = {}
        self._by_name: dict[str, list[_Series]] = {}
        self._pairs: dict[tuple[str, str], tuple[str, str]] = {}
        self._next_id = 1
        self.generation = 0
        """Counts series added: a selection made at the same generation still holds (series never change)."""
        self.generations: dict[str, int] = {}
        """`generation` per metric name: a new `ALERTS` series leaves the selections of `up` valid."""
        self.max_t: int | None = None
        self.floor: int = 0
        """The head holds every sample at or after this time (ms) that the store accepted."""
        self.flushed_until: int | None = None
        """Blocks before this time are on disk; samples before it are out of bounds."""

    # -- series -------------------------------------------------------------------------------
    def add_known_series(self, sid: int, name: str, labels: Labels) -> None:
        """Register a series loaded from disk (at open)."""
        self._index(_Series(sid, name, labels))
        self._next_id = max(self._next_id, sid + 1)

    def series_count(self) -> int:
        return len(self._by_id)

    def lookup(self, sid: int) -> tuple[str, Labels]:
        s = self._by_id[sid]
        return s.name, s.labels

    def all_series(self, name: str | None = None) -> list[tuple[int, str, Labels]]:
        """Every series, or those of one metric name."""
        pool = self._by_id.values() if name is None else self._by_name.get(name, [])
        return [(s.id, s.name, s.labels) for s in pool]

    def _intern(self, labels: Labels) -> Labels:
        """The same label set built from shared pair objects: thousands of series share `site=...`."""
        pairs = self._pairs
        shared = tuple(pairs.setdefault(p, (sys.intern(p[0]), sys.intern(p[1]))) for p in labels.pairs)
        return Labels.from_pairs(shared)

    def _index(self, s: _Series) -> None:
        self.generation += 1
        self.generations[s.name] = self.generations.get(s.name, 0) + 1
        s.labels = self._intern(s.labels)
        s.name = sys.intern(s.name)
        self._by_key[(s.name, s.labels)] = s
        self._by_id[s.id] = s
        self._by_name.setdefault(s.name, []).append(s)

    # -- append -------------------------------------------------------------------------------
    def append(self, samples: Iterable[Sample], now_ms: int) -> AppendResult:
        """Append samples, refusing out-of-order, duplicate, too old and too new ones (counted)."""
        res = AppendResult()
        by_key = self._by_key
        rej = res.rejected
        sids, tss, vals = res.series_ids, res.ts, res.values
        horizon = now_ms + self.future_ms
        floor = self.flushed_until if self.flushed_until is not None else 0
        max_t = self.max_t if self.max_t is not None else -(2**62)
        for name, labels, value, ts in samples:
            try:
                t = int(ts * 1000.0 + 0.5)
                s = by_key.get((name, labels))
            except (TypeError, ValueError, OverflowError):  # NaN or no time; labels not a Labels
                rej.invalid_value += 1
                continue
            if s is None:
                s = self._create(name, labels)
                res.new_series.append((s.id, name, labels))
            if t <= s.last_t:
                self._refuse(s, t, value, rej)
                continue
            if t < floor:
                rej.out_of_bounds += 1
                continue
            if t > horizon:
                rej.too_far_in_future += 1
                continue
            if t >= s.block_end or len(s.vals) >= FREEZE_SAMPLES:
                self._roll(s, t)
            try:
                s.vals.append(value)
            except TypeError:
                rej.invalid_value += 1
                continue
            s.offs.append(t - s.base)
            s.last_t = t
            s.last_v = value
            sids.append(s.id)
            tss.append(t)
            vals.append(value)
            max_t = max(max_t, t)
        if tss:
            self.max_t = max_t
        return res

    def replay(self, sids: Sequence[int], ts: Sequence[int], values: Sequence[float]) -> int:
        """Re-apply samples from the write-ahead log at open; returns how many were applied."""
        applied = 0
        floor = self.flushed_until if self.flushed_until is not None else -(2**62)
        max_t = self.max_t if self.max_t is not None else -(2**62)
        for sid, t, value in zip(sids, ts, values, strict=True):
            s = self._by_id.get(sid)
            if s is None or t <= s.last_t or t < floor:
                continue
            if t >= s.block_end or len(s.vals) >= FREEZE_SAMPLES:
                self._roll(s, t)
            s.offs.append(t - s.base)
            s.vals.append(value)
            s.last_t, s.last_v = t, value
            max_t = max(max_t, t)
            applied += 1
        if applied:
            self.max_t = max_t
        return applied

    def start_at(self, now_ms: int) -> None:
        """A new store accepts samples from the start of the block before the current one."""
        self.flushed_until = (now_ms // self.block_ms - 1) * self.block_ms
        self.floor = self.flushed_until

    def _create(self, name: str, labels: Labels) -> _Series:
        s = _Series(self._next_id, name, labels)
        self._next_id += 1
        self._index(s)
        return s

    @staticmethod
    def _refuse(s: _Series, t: int, value: float, rej: Rejections) -> None:
        if t < s.last_t:
            rej.out_of_order += 1
        elif not isinstance(value, (int, float)):
            rej.invalid_value += 1
        elif value == s.last_v or (math.isnan(value) and math.isnan(s.last_v)):
            rej.duplicate_same_value += 1  # the same sample again: a harmless no-op
        else:
            rej.duplicate_sample_for_timestamp += 1

    def _roll(self, s: _Series, t: int) -> None:
        """The buffer is full or `t` lies in the next block: freeze the buffer or close the chunk."""
        if t >= s.block_end or s.frozen + len(s.vals) >= MAX_CHUNK_SAMPLES:
            self._cut(s, t)
        else:
            s.freeze()

    def _cut(self, s: _Series, t: int) -> None:
        """Close the open buffer into a chunk and start a new one whose base is `t`."""
        if s.has_open():
            s.close_chunk()
        s.base = t
        s.block_end = (t // self.block_ms + 1) * self.block_ms

    # -- blocks -------------------------------------------------------------------------------
    def due_block(self, grace_ms: int) -> int | None:
        """Start (ms) of the oldest block that is complete and not yet on disk, or None."""
        if self.max_t is None or self.flushed_until is None:
            return None
        start = self.flushed_until
        if start + self.block_ms + grace_ms <= self.max_t:
            return start
        return None

    def block_chunks(self, start: int) -> list[tuple[int, HeadChunk]]:
        """Every chunk of the block starting at `start`, closing open buffers that lie in it."""
        end = start + self.block_ms
        out: list[tuple[int, HeadChunk]] = []
        for s in self._by_id.values():
            if s.has_open() and s.base < end:
                s.close_chunk()
                s.block_end = -1
            out.extend((s.id, c) for c in s.chunks() if start <= c.start < end)
        return out

    def mark_flushed(self, end: int) -> None:
        """Blocks before `end` are durable on disk; drop what is also older than the window."""
        self.flushed_until = end
        if self.max_t is None:
            return
        keep_from = min(end, self.max_t - self.window_ms)
        keep_from -= keep_from % self.block_ms
        if keep_from <= self.floor:
            return
        for s in self._by_id.values():
            if s.blobs and s.bounds[0] < keep_from:
                s.drop_chunks_before(keep_from)
        self.floor = keep_from

    # -- read ---------------------------------------------------------------------------------
    def snapshot(self, ids: Iterable[int], start: int, end: int) -> dict[int, list[HeadChunk | SeriesData]]:
        """Chunks overlapping [start, end] of each series, and a copy of its open buffer."""
        out: dict[int, list[HeadChunk | SeriesData]] = {}
        for sid in ids:
            s = self._by_id.get(sid)
            if s is None:
                continue
            parts: list[HeadChunk | SeriesData] = (
                [c for c in s.chunks() if c.end >= start and c.start <= end] if s.blobs else []
            )
            if s.has_open() and s.last_t >= start and s.base <= end:
                window = s.open_window(start, end)
                if window.ts.size:
                    parts.append(window)
            if parts:
                out[sid] = parts
        return out

    def flat_recent(
        self,
        ids: Sequence[int],
        start: int,
        end: int,
        chunk_piece: Callable[[int, HeadChunk], tuple[array[int], array[float]]],
        part_piece: Callable[[int, int, int, bytes], tuple[array[int], array[float]]],
        older: Mapping[int, Sequence[tuple[array[int], array[float]]]] | None = None,
    ) -> tuple[IntArray, FloatArray, IntArray]:
        """Samples of `ids` within [start, end] laid out flat in one pass, under the caller's lock:
        (timestamps, values, samples per series). `older` holds each series' decoded disk chunks
        (what lies before the floor), taken first; the head answers from the floor on. Closed
        chunks and frozen parts come decoded from `chunk_piece` / `part_piece` (a cache) as
        (absolute ms, values) arrays; buffer windows are copied slice by slice. `Store.read_flat`:
        the read for queries over thousands of series."""
        rel32, abs64, vals = array("i"), array("q"), array("d")
        bases: list[int] = []  # per buffer segment
        lengths: list[int] = []  # per segment, in output order
        kinds: list[bool] = []  # per segment: True for a buffer segment (int32 offsets from its base)
        sizes = np.zeros(len(ids), dtype=np.int64)
        by_id = self._by_id
        floor = self.floor
        bisect_left, bisect_right = bisect.bisect_left, bisect.bisect_right
        head_start = max(start, floor)
        for i, sid in enumerate(ids):
            s = by_id.get(sid)
            pieces = [(piece, start, min(end, floor - 1)) for piece in older.get(sid, ())] if older else []
            live = s is not None and s.last_t >= head_start
            if live and s is not None:
                pieces += _decoded_pieces(s, sid, head_start, end, chunk_piece, part_piece)
            n = 0
            for (ts, values), low, high in pieces:
                if not ts:
                    continue
                lo = bisect_left(ts, low) if ts[0] < low else 0
                hi = len(ts) if ts[-1] <= high else bisect_right(ts, high)
                if hi > lo:
                    abs64.extend(ts[lo:hi])
                    vals.extend(values[lo:hi])
                    lengths.append(hi - lo)
                    kinds.append(False)
                    n += hi - lo
            if live and s is not None and s.base <= end:
                offs = s.offs
                if offs:
                    base = s.base
                    lo = bisect_left(offs, head_start - base) if offs[0] < head_start - base else 0
                    hi = len(offs) if offs[-1] <= end - base else bisect_right(offs, end - base)
                    if hi > lo:
                        rel32.extend(offs[lo:hi])
                        vals.extend(s.vals[lo:hi])
                        bases.append(base)
                        lengths.append(hi - lo)
                        kinds.append(True)
                        n += hi - lo
            sizes[i] = n
        from_buffer = np.repeat(np.array(kinds, dtype=bool), lengths)
        ts_out = np.empty(len(vals), dtype=np.int64)
        buffer_lengths = [length for length, kind in zip(lengths, kinds, strict=True) if kind]
        ts_out[from_buffer] = np.frombuffer(rel32, dtype=np.int32) + np.repeat(
            np.array(bases, dtype=np.int64), buffer_lengths
        )
        ts_out[~from_buffer] = np.frombuffer(abs64, dtype=np.int64)
        return ts_out, np.frombuffer(vals, dtype=np.float64).copy(), sizes

    def latest(self) -> Iterator[Sample]:
        """The last accepted sample of every series that has one."""
        for s in self._by_id.values():
            if s.last_t > -(2**62):
                yield Sample(s.name, s.labels, s.last_v, s.last_t / 1000.0)


def decode_blob(blob: bytes) -> SeriesData:
    """One encoded chunk's samples."""
    cols = decode_chunk(blob)
    return SeriesData(cols[0].astype(np.int64, copy=False), cols[1].astype(np.float64, copy=False))


def decode_parts(
    parts: Sequence[HeadChunk | SeriesData],
    start: int,
    end: int,
    decode: Callable[[HeadChunk], SeriesData] | None = None,
) -> SeriesData:
    """Decode chunks of one series (in time order) and keep samples within [start, end] (ms).
    `decode` decodes a closed chunk (e.g. through a `ChunkCache`); by default `decode_blob`."""
    if len(parts) == 1 and isinstance(parts[0], SeriesData):  # an open-chunk window: already cut
        only = parts[0]
        if only.ts.size == 0 or (only.ts[0] >= start and only.ts[-1] <= end):
            return only
    ts_parts: list[IntArray] = []
    val_parts: list[FloatArray] = []
    for c in parts:
        if isinstance(c, SeriesData):
            ts_parts.append(c.ts)
            val_parts.append(c.values)
            continue
        data = decode(c) if decode is not None else decode_blob(c.blob)
        ts_parts.append(data.ts)
        val_parts.append(data.values)
    if len(ts_parts) == 1:
        ts, vals = ts_parts[0], val_parts[0]
    else:
        ts = np.concatenate(ts_parts) if ts_parts else np.zeros(0, np.int64)
        vals = np.concatenate(val_parts) if val_parts else np.zeros(0, np.float64)
    lo, hi = np.searchsorted(ts, start, "left"), np.searchsorted(ts, end, "right")
    return SeriesData(ts[lo:hi], vals[lo:hi])


def _decoded_pieces(
    s: _Series,
    sid: int,
    start: int,
    end: int,
    chunk_piece: Callable[[int, HeadChunk], tuple[array[int], array[float]]],
    part_piece: Callable[[int, int, int, bytes], tuple[array[int], array[float]]],
) -> list[tuple[tuple[array[int], array[float]], int, int]]:
    """The closed chunks and frozen parts of `s` overlapping [start, end], decoded, each with the
    bounds to cut it to (for `Head.flat_recent`)."""
    pieces: list[tuple[tuple[array[int], array[float]], int, int]] = []
    bounds = s.bounds
    for k, blob in enumerate(s.blobs):
        c_start, c_end, c_samples = bounds[3 * k], bounds[3 * k + 1], bounds[3 * k + 2]
        if c_end >= start and c_start <= end:
            pieces.append((chunk_piece(sid, HeadChunk(c_start, c_end, c_samples, blob)), start, end))
    offs = s.offs
    rel_start = start - s.base
    if s.parts is not None and s.base <= end and (not offs or rel_start <= offs[0]):
        first = max(0, bisect.bisect_right(s.part_starts, rel_start) - 1)
        parts = s.parts
        pieces += [(part_piece(sid, s.base, k, parts[k]), start, end) for k in range(first, len(parts))]
    return pieces
