"""A bounded cache of decoded closed chunks and frozen parts, so repeated reads of the same recent
hours (rules every 15 s, dashboards refreshing, a range query re-run) decode each piece once.

Closed chunks and the open chunk's frozen parts never change once written: a chunk is identified by
its series, first timestamp and sample count (a chunk re-encoded when written to disk holds the
same samples under the same key), a part by its series, its chunk's base time and its position.
Decoded pieces are kept as `array` buffers (absolute ms timestamps, values), which the flat read
slices with `bisect` without a numpy call per series; `Decoded.series()` views them as numpy
arrays. The cache keeps the most recently used pieces within a byte budget (16 bytes a sample) and
is thread-safe: reads decode outside the store's lock, several at once.
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import NamedTuple

import numpy as np

from store.codec import FloatArray
from store.head import HeadChunk, SeriesData, decode_blob
from store.parts import unpack_part

__all__ = ["ChunkCache", "Decoded"]

BYTES_PER_SAMPLE = 16  # int64 timestamp + float64 value


class Decoded(NamedTuple):
    """A decoded chunk or part: absolute timestamps (ms, ascending) and values."""

    ts: array[int]
    values: array[float]

    @classmethod
    def of(cls, data: SeriesData) -> Decoded:
        ts, values = array("q"), array("d")
        ts.frombytes(data.ts.astype(np.int64, copy=False).tobytes())
        values.frombytes(data.values.astype(np.float64, copy=False).tobytes())
        return cls(ts, values)

    def series(self) -> SeriesData:
        """Numpy views of the buffers (read-only use: the buffers never change)."""
        return SeriesData(np.frombuffer(self.ts, dtype=np.int64), np.frombuffer(self.values, dtype=np.float64))


class ChunkCache:
    """Decoded pieces by key, least recently used out first, within `budget_bytes`."""

    def __init__(self, budget_bytes: int = 64 * 2**20) -> None:
        self.budget_bytes = budget_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, Decoded] = OrderedDict()
        self._rows: OrderedDict[Hashable, FloatArray] = OrderedDict()
        self._row_bytes = 0
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def chunk(self, sid: int, chunk: HeadChunk, decode: Callable[[bytes], SeriesData] = decode_blob) -> Decoded:
        """Closed `chunk` of series `sid`, decoded (by `decode(chunk.blob)` on a miss)."""
        key = ("chunk", sid, chunk.start, chunk.samples)
        with self._lock:  # the hit path inline: flat reads ask this once per series
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found
        return self._get(key, lambda: Decoded.of(decode(chunk.blob)))

    def cached_chunk(self, sid: int, start: int, samples: int) -> Decoded | None:
        """The decoded chunk of series `sid` that starts at `start` with `samples` samples, if kept."""
        key = ("chunk", sid, start, samples)
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def part(self, sid: int, base: int, index: int, blob: bytes) -> Decoded:
        """Frozen part `index` of series `sid`'s open chunk whose base time is `base` (ms)."""
        key = ("part", sid, base, index)
        with self._lock:  # the hit path inline, as in `chunk`
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found

        def decode() -> Decoded:
            offsets, values = unpack_part(blob)
            return Decoded.of(SeriesData(offsets.astype(np.int64) + base, values))

        return self._get(key, decode)

    def decoded(self, sid: int, chunk: HeadChunk, decode: Callable[[bytes], SeriesData] = decode_blob) -> SeriesData:
        """`chunk` of series `sid` as numpy arrays (for reads that work per series)."""
        return self.chunk(sid, chunk, decode).series()

    def _get(self, key: Hashable, decode: Callable[[], Decoded]) -> Decoded:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        data = decode()
        size = len(data.ts) * BYTES_PER_SAMPLE
        if size > self.budget_bytes:
            return data
        with self._lock:
            if key not in self._entries:
                self._entries[key] = data
                self._bytes += size
                while self._bytes > self.budget_bytes:
                    _, dropped = self._entries.popitem(last=False)
                    self._bytes -= len(dropped.ts) * BYTES_PER_SAMPLE
        return data

    def rollup_rows(self, keys: Sequence[Hashable], decode: Callable[[list[int]], FloatArray]) -> list[FloatArray]:
        """Decoded rollup rows for `keys` (one `(5, slots)` array each): those kept come from the
        cache, the others from one `decode(positions of the missing keys)` call, then kept. Rows
        have a budget of their own, half the chunks' (30 days of 5-minute rows of 100 series fit)."""
        out: list[FloatArray | None] = []
        with self._lock:
            for key in keys:
                row = self._rows.get(key)
                if row is not None:
                    self._rows.move_to_end(key)
                out.append(row)
        missing = [i for i, row in enumerate(out) if row is None]
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            decoded = decode(missing)
            limit = self.budget_bytes // 2
            with self._lock:
                for position, view in zip(missing, decoded, strict=True):
                    row = view.copy()  # a view would keep the whole decoded batch alive
                    out[position] = row
                    if keys[position] not in self._rows:
                        self._rows[keys[position]] = row
                        self._row_bytes += row.nbytes
                while self._row_bytes > limit and self._rows:
                    _, dropped = self._rows.popitem(last=False)
                    self._row_bytes -= dropped.nbytes
        return [row for row in out if row is not None]

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return self._bytes
