"""A bounded cache of decoded closed chunks, so repeated reads of the same recent hours (rules every
15 s, dashboards refreshing, a range query re-run) decode each chunk once.

Closed chunks never change: a chunk is identified by its series, first timestamp and sample count
(a chunk re-encoded when written to disk holds the same samples under the same key). The cache
keeps the most recently used decoded chunks within a byte budget (16 bytes a sample) and is
thread-safe: reads decode outside the store's lock, several at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from store.head import HeadChunk, SeriesData

__all__ = ["ChunkCache"]

BYTES_PER_SAMPLE = 16  # int64 timestamp + float64 value


class ChunkCache:
    """Decoded chunks by (series id, chunk start, samples), least recently used out first."""

    def __init__(self, budget_bytes: int = 64 * 2**20) -> None:
        self.budget_bytes = budget_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[int, int, int], SeriesData] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def decoded(self, sid: int, chunk: HeadChunk, decode: Callable[[bytes], SeriesData]) -> SeriesData:
        """`chunk` of series `sid` decoded: from the cache, or by `decode(chunk.blob)` (then kept)."""
        key = (sid, chunk.start, chunk.samples)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return found
            self.misses += 1
        data = decode(chunk.blob)
        size = data.ts.size * BYTES_PER_SAMPLE
        if size > self.budget_bytes:
            return data
        with self._lock:
            if key not in self._entries:
                self._entries[key] = data
                self._bytes += size
                while self._bytes > self.budget_bytes:
                    _, dropped = self._entries.popitem(last=False)
                    self._bytes -= dropped.ts.size * BYTES_PER_SAMPLE
        return data

    @property
    def size_bytes(self) -> int:
        with self._lock:
            return self._bytes
