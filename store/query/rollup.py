"""Windows whose raw samples have aged out of the store, answered from its 5-minute rollups.

Raw answers are always preferred: a rollup bucket covers `[start, start + 5m)` and keeps staleness
markers, while a PromQL window is `[t - range, t]` without them, so a rollup answer is an
approximation. It is used only for the part of a window before the first raw sample of every selected series in
the query's span (where the raw data is gone, or never existed, in which case there are no rollups
either), only for the functions a bucket can answer (`avg`, `sum`, `min`, `max`, `count`, `last`,
`present` `_over_time`), only for ranges that are whole multiples of 5 minutes, and only from
buckets that lie entirely inside the window and before that first raw sample; raw samples after it
are added in. The query result then carries a warning saying so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from store.query.values import BoolArray, FloatArray, IntArray
from store.rollups import RollupData

__all__ = ["BUCKET_MS", "ROLLUP_FUNCTIONS", "WARNING", "BucketTotals", "RollupReader", "bucket_totals", "combine"]

BUCKET_MS = 300_000
ROLLUP_FUNCTIONS = frozenset(
    (
        "avg_over_time",
        "sum_over_time",
        "min_over_time",
        "max_over_time",
        "count_over_time",
        "last_over_time",
        "present_over_time",
    )
)
WARNING = (
    "raw samples up to {when} have aged out: {func} there is answered from 5-minute rollups "
    "(whole buckets inside each window, staleness markers counted), an approximation"
)


@runtime_checkable
class RollupReader(Protocol):
    """A store that also keeps rollups (store.Store does)."""

    def read_rollup(self, ids: Sequence[int], step: str, start_ms: int, end_ms: int) -> Mapping[int, RollupData]: ...


@dataclass(slots=True)
class BucketTotals:
    """Per step: the totals of the whole buckets inside `[t - range, min(t, horizon))`."""

    count: FloatArray
    sum: FloatArray
    min: FloatArray
    max: FloatArray
    last: FloatArray
    has: BoolArray


def bucket_totals(data: RollupData, refs: IntArray, range_ms: int, horizon: int | None) -> BucketTotals:
    """The buckets of one series that lie wholly inside each step's window and before `horizon`
    (ms: the first raw sample of the selection; None when there is none), totalled per step."""
    steps = refs.size
    lows = refs - range_ms
    highs = refs + 1 - BUCKET_MS  # the last bucket start whose bucket ends inside the window
    if horizon is not None:
        highs = np.minimum(highs, horizon - BUCKET_MS)
    first = np.searchsorted(data.ts, lows, "left")
    end = np.searchsorted(data.ts, highs, "right")
    counts = np.concatenate(([0.0], np.cumsum(data.count)))
    sums = np.concatenate(([0.0], np.cumsum(data.sum)))
    count = np.where(end > first, counts[end] - counts[np.minimum(first, end)], 0.0)
    has = count > 0
    low, high = np.full(steps, math.nan), np.full(steps, math.nan)
    if steps and bool(np.all(first[1:] >= end[:-1])):
        # Windows that do not overlap (range <= step): one reduceat over [first, end) pairs; a NaN
        # pad makes `end == len` a valid index, and empty windows are masked out by `has`.
        bounds = np.empty(2 * steps, dtype=np.int64)
        bounds[0::2], bounds[1::2] = first, end
        pad = [math.nan]
        low = np.where(has, np.fmin.reduceat(np.append(data.min, pad), bounds)[0::2], math.nan)
        high = np.where(has, np.fmax.reduceat(np.append(data.max, pad), bounds)[0::2], math.nan)
    else:
        for j in np.flatnonzero(has).tolist():
            low[j] = float(np.fmin.reduce(data.min[first[j] : end[j]]))
            high[j] = float(np.fmax.reduce(data.max[first[j] : end[j]]))
    last = data.last[np.maximum(end - 1, 0)] if data.ts.size else np.full(steps, math.nan)
    total = np.where(has, sums[end] - sums[np.minimum(first, end)], 0.0)
    return BucketTotals(count, total, low, high, last, has)


def combine(func: str, b: BucketTotals, raw_count: FloatArray, raw_value: FloatArray) -> FloatArray:
    """`func` over the buckets and the raw samples after them (`raw_count` of them, where `func`
    of those alone is `raw_value`), for the steps with buckets."""
    raw = raw_count > 0
    with_raw: dict[str, Callable[[], FloatArray]] = {
        "count_over_time": lambda: b.count + raw_count,
        "sum_over_time": lambda: b.sum + np.where(raw, raw_value, 0.0),
        "avg_over_time": lambda: (b.sum + np.where(raw, raw_value * raw_count, 0.0)) / (b.count + raw_count),
        "min_over_time": lambda: np.where(raw, np.fmin(b.min, raw_value), b.min),
        "max_over_time": lambda: np.where(raw, np.fmax(b.max, raw_value), b.max),
        "last_over_time": lambda: np.where(raw, raw_value, b.last),
        "present_over_time": lambda: np.ones(b.count.size),
    }
    return with_raw[func]()
