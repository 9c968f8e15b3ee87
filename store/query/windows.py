"""Raw samples of many series laid out flat, and the window of samples each series sees at each step.

All series' samples (staleness markers removed for range windows) are concatenated into one pair of
arrays; a window is a `[lo, hi)` slice of them. Finding every window of every series at every step
is one `searchsorted` over keys `series * span + (t - base)`, so the cost does not grow with the
number of series in Python. Prometheus 2.42 selects range windows closed on both ends:
`[t - range, t]`; the instant-selector lookback is `[t - lookback, t]` too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model import Labels
from store.query.values import BoolArray, FloatArray, IntArray, RangeSeries, stale_mask

__all__ = ["Flat", "Windows", "flat_of", "flatten", "latest", "windows"]


@dataclass(slots=True)
class Flat:
    """Series' samples concatenated: `starts[i]:starts[i+1]` are series i's samples."""

    labels: list[Labels]
    ts: IntArray
    values: FloatArray
    starts: IntArray  # len(labels) + 1 offsets


@dataclass(slots=True)
class Windows:
    """For series i and step j, samples `lo[i, j]:hi[i, j]` of `flat` lie in the window."""

    flat: Flat
    lo: IntArray  # shape (series, steps)
    hi: IntArray

    @property
    def count(self) -> IntArray:
        count: IntArray = self.hi - self.lo
        return count


def flatten(series: list[RangeSeries], *, drop_stale: bool) -> Flat:
    labels = [s.labels for s in series]
    if not series:
        return Flat(labels, np.zeros(0, np.int64), np.zeros(0, np.float64), np.zeros(1, np.int64))
    ts = np.concatenate([s.ts for s in series]).astype(np.int64, copy=False)
    values = np.concatenate([s.values for s in series]).astype(np.float64, copy=False)
    sizes = np.fromiter((s.ts.size for s in series), dtype=np.int64, count=len(series))
    return flat_of(labels, ts, values, sizes, drop_stale=drop_stale)


def flat_of(labels: list[Labels], ts: IntArray, values: FloatArray, sizes: IntArray, *, drop_stale: bool) -> Flat:
    """A `Flat` of series laid out one after another (`sizes[i]` samples each, none empty), with
    staleness markers removed when `drop_stale` (range windows never see them)."""
    if drop_stale:
        keep = ~stale_mask(values)
        if not keep.all():
            owner = np.repeat(np.arange(len(labels)), sizes)
            ts, values = ts[keep], values[keep]
            sizes = np.bincount(owner[keep], minlength=len(labels)).astype(np.int64)
    starts = np.zeros(len(labels) + 1, np.int64)
    np.cumsum(sizes, out=starts[1:])
    return Flat(labels, ts, values, starts)


def _keys(flat: Flat, refs: IntArray, lows: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Global sort keys of the samples and of the window bounds (`lows` and `refs`, per step)."""
    n_series = len(flat.labels)
    base = int(lows.min()) - 1 if lows.size else 0
    top = max(int(refs.max()) if refs.size else 0, int(flat.ts.max()) if flat.ts.size else 0)
    low = min(base, int(flat.ts.min()) - 1) if flat.ts.size else base
    span = top - low + 2
    sizes = np.diff(flat.starts)
    owner = np.repeat(np.arange(n_series, dtype=np.int64), sizes)
    sample_keys = owner * span + (flat.ts - low)
    row = (np.arange(n_series, dtype=np.int64) * span)[:, None]
    return sample_keys, row + (lows - low)[None, :], row + (refs - low)[None, :]


def windows(flat: Flat, refs: IntArray, range_ms: int) -> Windows:
    """Each series' samples within `[ref - range_ms, ref]` for every step's `ref` (ms)."""
    lows = refs - range_ms
    keys, lo_keys, hi_keys = _keys(flat, refs, lows)
    lo = np.searchsorted(keys, lo_keys, "left").astype(np.int64)
    hi = np.searchsorted(keys, hi_keys, "right").astype(np.int64)
    return Windows(flat, lo, hi)


def latest(flat: Flat, refs: IntArray, lookback_ms: int) -> tuple[IntArray, BoolArray]:
    """For every series and step: the index of the newest sample at or before `ref`, and whether it
    counts (it is no older than `ref - lookback_ms` and is not a staleness marker)."""
    keys, _, hi_keys = _keys(flat, refs, refs - lookback_ms)
    idx = np.searchsorted(keys, hi_keys, "right").astype(np.int64) - 1
    first = flat.starts[:-1][:, None]
    ok = idx >= first
    safe = np.where(ok, idx, 0)
    if flat.ts.size == 0:
        return safe, np.zeros(safe.shape, dtype=bool)
    ok &= flat.ts[safe] >= (refs - lookback_ms)[None, :]
    ok &= ~stale_mask(flat.values[safe])
    return safe, ok
