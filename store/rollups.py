"""Rollups: per-series aggregates over fixed buckets (5 minutes, 1 hour), kept longer than raw data.

A rollup row covers one aligned span (one block for the 5-minute tier, one UTC day for the 1-hour
tier) with a fixed number of slots. Each slot holds count, sum, min, max and last of the samples
whose timestamp falls in [slot start, slot start + step). Empty slots have count 0, sum 0 and NaN
for min, max and last. Rows are stored as XOR-delta, byte-shuffled, zlib-compressed float64 arrays,
so many rows decode together in a few vectorised steps.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from store.codec import FloatArray, IntArray

__all__ = [
    "FIELDS",
    "TIERS",
    "RollupData",
    "Tier",
    "bucketize",
    "decode_rows",
    "encode_row",
    "merge_slots",
]

FIELDS = ("count", "sum", "min", "max", "last")
COUNT, SUM, MIN, MAX, LAST = range(5)


@dataclass(frozen=True, slots=True)
class Tier:
    """A rollup tier: its name, bucket step and the span one stored row covers (all in ms)."""

    name: str
    step_ms: int
    row_ms: int

    @property
    def slots(self) -> int:
        return self.row_ms // self.step_ms


TIER_5M = Tier("5m", 300_000, 3_600_000)
TIER_1H = Tier("1h", 3_600_000, 86_400_000)
TIERS = {"5m": TIER_5M, "1h": TIER_1H}


@dataclass(frozen=True, slots=True)
class RollupData:
    """Buckets of one series: bucket start times (ms) and one array per field, empty buckets removed."""

    ts: IntArray
    count: FloatArray
    sum: FloatArray
    min: FloatArray
    max: FloatArray
    last: FloatArray

    @property
    def avg(self) -> FloatArray:
        result: FloatArray = self.sum / self.count
        return result


def bucketize(ts: IntArray, values: FloatArray, row_start: int, tier: Tier) -> FloatArray:
    """Aggregate samples inside one row span into an array of shape (5, slots).

    NaN samples count and make sum NaN, as Prometheus' sum_over_time does; min/max ignore them
    only if every sample is NaN (then NaN)."""
    out = np.zeros((5, tier.slots), dtype=np.float64)
    out[MIN:] = np.nan
    if ts.size == 0:
        return out
    idx = (ts - row_start) // tier.step_ms
    bounds = np.flatnonzero(np.diff(idx)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [ts.size]))
    slots = idx[starts]
    out[COUNT, slots] = ends - starts
    out[SUM, slots] = np.add.reduceat(values, starts)
    out[MIN, slots] = np.fmin.reduceat(values, starts)
    out[MAX, slots] = np.fmax.reduceat(values, starts)
    out[LAST, slots] = values[ends - 1]
    return out


def merge_slots(rows: npt.NDArray[np.float64], group: int) -> FloatArray:
    """Merge consecutive groups of `group` slots: (5, n) -> (5, n // group)."""
    n = rows.shape[1] // group
    r = rows[:, : n * group].reshape(5, n, group)
    out = np.empty((5, n), dtype=np.float64)
    out[COUNT] = r[COUNT].sum(axis=1)
    out[SUM] = r[SUM].sum(axis=1)
    with np.errstate(invalid="ignore"):
        out[MIN] = np.fmin.reduce(r[MIN], axis=1)
        out[MAX] = np.fmax.reduce(r[MAX], axis=1)
    last = np.full(n, np.nan)
    for j in range(group):
        filled = r[COUNT, :, j] > 0
        last[filled] = r[LAST, :, j][filled]
    out[LAST] = last
    return out


def encode_row(slots: FloatArray) -> bytes:
    """Encode one (5, n) slot array."""
    bits = np.ascontiguousarray(slots, dtype=np.float64).view(np.uint64).copy()
    bits[:, 1:] ^= bits[:, :-1].copy()
    shuffled = bits.view(np.uint8).reshape(5, -1, 8).transpose(2, 0, 1)
    return zlib.compress(np.ascontiguousarray(shuffled).tobytes(), 6)


def decode_rows(blobs: Sequence[bytes], slots: int) -> FloatArray:
    """Decode many rows at once into an array of shape (rows, 5, slots)."""
    if not blobs:
        return np.zeros((0, 5, slots), dtype=np.float64)
    raw = b"".join([zlib.decompress(b) for b in blobs])
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(len(blobs), 8, 5, slots)
    bits = np.ascontiguousarray(planes.transpose(0, 2, 3, 1)).view(np.uint64).reshape(len(blobs), 5, slots)
    bits = np.bitwise_xor.accumulate(bits, axis=2)
    result: FloatArray = bits.view(np.float64)
    return result
