"""`bucket_totals`: the whole 5-minute buckets inside each step's window, totalled per step — the
vectorised path for windows that do not overlap gives what the per-step path gives."""

from __future__ import annotations

import math

import numpy as np
import pytest

from store.query.rollup import BUCKET_MS, bucket_totals
from store.rollups import RollupData

HOUR = 3_600_000


def data(buckets: int, gaps: tuple[int, ...] = ()) -> RollupData:
    """`buckets` 5-minute buckets from 0, without those at `gaps`; values that vary per bucket."""
    k = np.array([i for i in range(buckets) if i not in gaps], dtype=np.int64)
    return RollupData(
        ts=k * BUCKET_MS,
        count=np.full(k.size, 5.0),
        sum=(k % 7) * 5.0,
        min=(k * 37 % 11).astype(np.float64),
        max=(k * 37 % 11 + 3).astype(np.float64),
        last=(k % 5).astype(np.float64),
    )


def shown(value: float) -> float | str:
    """NaN as a string, so that lists with NaN compare equal."""
    return "nan" if math.isnan(value) else value


def per_step(d: RollupData, refs: np.ndarray, range_ms: int) -> list[tuple[float, float]]:
    """(min, max) of the buckets wholly inside each window, one step at a time."""
    out = []
    for t in refs.tolist():
        inside = (d.ts >= t - range_ms) & (d.ts + BUCKET_MS <= t + 1)
        out.append((float(d.min[inside].min()), float(d.max[inside].max())) if inside.any() else (math.nan, math.nan))
    return out


@pytest.mark.parametrize(
    ("range_ms", "step_ms", "gaps"),
    [
        (HOUR, HOUR, ()),
        (HOUR, HOUR, (3, 4, 5, 30, 31)),
        (HOUR, 2 * HOUR, (12, 13)),
        (2 * HOUR, HOUR, ()),
        (HOUR, 1_800_000, (0,)),
    ],
    ids=["aligned", "gaps", "sparse-steps", "overlapping", "half-hour-steps"],
)
def test_min_and_max_per_window_are_those_of_the_buckets_inside_it(
    range_ms: int, step_ms: int, gaps: tuple[int, ...]
) -> None:
    d = data(24 * 12, gaps)
    refs = np.arange(HOUR, 24 * HOUR + 1, step_ms, dtype=np.int64)

    totals = bucket_totals(d, refs, range_ms, None)

    got = list(zip(totals.min.tolist(), totals.max.tolist(), strict=True))
    expected = per_step(d, refs, range_ms)
    assert [tuple(map(shown, pair)) for pair in got] == [tuple(map(shown, pair)) for pair in expected]
    assert totals.has.tolist() == [not math.isnan(a) for a, _ in expected]
