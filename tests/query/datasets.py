"""The data the differential tests write into both the console's store and a real Prometheus.

Deterministic: every value and time follows from `start` (and fixed seeds). The whole set spans
`SPAN` seconds (50 minutes) from `start`, so it fits both Prometheus' head (remote write accepts only
recent samples) and a fresh store (which accepts samples from the start of the previous hour block on):
pick `start` at most 55 minutes before now.

Metrics (regular ones every 15 s at start + k*15, k = 0..199):

- `http_requests_total{job,instance,site,role}`: 12 integer counters (jobs api/web, sites ams/fra/nyc,
  two instances per site: role primary/replica), for aggregations and vector matching.
- `node_temperature_celsius{job="node",instance,site,role}`: 6 two-decimal gauges.
- `node_memory_free_bytes{instance,site}`: 6 byte gauges with a linear trend (predict_linear, deriv).
- `build_info{instance,site,version}`: 6 series of value 1 (group_left/right joins).
- `irregular_gauge{instance}`: 3 gauges at irregular, millisecond times 3-40 s apart.
- `resetting_counter_total{instance}`: 3 counters with resets (to 0, to a small value, twice).
- `gappy_gauge{instance}`, `gappy_counter_total{instance}`: gaps of 12 min (gap-1: 900 s to 1620 s)
  and 8 min (gap-2: 1500 s to 1980 s), longer than the 5-minute lookback.
- `flapping_up{instance}`, `flapping_requests_total{instance}`: stale-1 ends with a stale marker at
  1215 s and resumes at 1620 s; stale-2 ends with one at 2115 s for good; stale-3 never goes stale.
- `request_duration_seconds_bucket{job="api",site,le}` (le 0.05 ... +Inf), `_sum`, `_count`: a
  cumulative histogram per site.
- `weird_values{kind}`: gauges with ordinary NaN (kind nan), +Inf (inf), -Inf (neginf) at some points.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence

from model import Labels, Sample
from store.query import STALE_NAN

__all__ = ["INSTANTS", "RANGES", "SPAN", "STEP", "build", "slices"]

STEP = 15
POINTS = 200
SPAN = STEP * POINTS  # seconds; the last regular sample is at start + 2985

INSTANTS: tuple[float, ...] = (0, 600, 1207.5, 1230, 1500, 1777.777, 2116, 2985, 3200, 3285, 3400)
"""Instant evaluation times, seconds after `start`: the first sample; an exact sample time; between
samples just before stale-1's marker; right after it (and inside gap-1); the start of gap-2; an odd
time; 1 s after stale-2's marker; the last sample; 215 s after the end (within the lookback); exactly
the lookback after it (the window's edge); 415 s after it (beyond)."""

RANGES: tuple[tuple[float, float, float], ...] = ((0, 3300, 60), (417, 2600, 37), (1140, 1740, 15))
"""Range queries (start, end, step), seconds after `start`: everything and the tail at 1 min; a step
that does not divide the range; exact sample times across stale-1's marker and both gaps."""

SITES = ("ams", "fra", "nyc")
JOBS = ("api", "web")
BUCKETS = ("0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf")


def build(start: float) -> list[Sample]:
    """Every sample of the data set, sorted by time (stable: series order within one time)."""
    samples = [
        *_requests(start),
        *_temperatures(start),
        *_memory(start),
        *_build_info(start),
        *_irregular(start),
        *_resetting(start),
        *_gappy(start),
        *_flapping(start),
        *_histogram(start),
        *_weird(start),
    ]
    samples.sort(key=lambda s: s.ts)
    return samples


def slices(samples: Sequence[Sample], seconds: float = 300.0) -> Iterator[list[Sample]]:
    """Time-sorted samples in consecutive slices of `seconds` (the order both stores receive them)."""
    batch: list[Sample] = []
    end = None
    for sample in samples:
        if end is None:
            end = sample.ts + seconds
        if sample.ts >= end:
            yield batch
            batch, end = [], sample.ts + seconds
        batch.append(sample)
    if batch:
        yield batch


def _instances() -> Iterator[tuple[int, str, str, str]]:
    """(index, site, instance, role) for two instances per site."""
    for s, site in enumerate(SITES):
        for n in (1, 2):
            yield s * 2 + n - 1, site, f"{site}-{n}", "primary" if n == 1 else "replica"


def _requests(start: float) -> Iterator[Sample]:
    rng = random.Random(1)
    for j, job in enumerate(JOBS):
        for i, site, instance, role in _instances():
            labels = Labels(job=job, instance=instance, site=site, role=role)
            per_step = 10 + 7 * i + 31 * j
            value = float(100 * (i + 1) + 1000 * j)
            for k in range(POINTS):
                yield Sample("http_requests_total", labels, value, start + k * STEP)
                value += per_step + rng.randint(0, 9)


def _temperatures(start: float) -> Iterator[Sample]:
    for i, site, instance, role in _instances():
        labels = Labels(job="node", instance=instance, site=site, role=role)
        for k in range(POINTS):
            value = round(40 + 10 * math.sin(k / 20 + i) + i, 2)
            yield Sample("node_temperature_celsius", labels, value, start + k * STEP)


def _memory(start: float) -> Iterator[Sample]:
    rng = random.Random(2)
    for i, site, instance, _ in _instances():
        labels = Labels(instance=instance, site=site)
        for k in range(POINTS):
            value = float(8_000_000_000 - (i + 1) * 1_500_000 * k + rng.randint(-4096, 4096) * 1024)
            yield Sample("node_memory_free_bytes", labels, value, start + k * STEP)


def _build_info(start: float) -> Iterator[Sample]:
    for i, site, instance, _ in _instances():
        labels = Labels(instance=instance, site=site, version=f"1.{i % 3}.0")
        for k in range(POINTS):
            yield Sample("build_info", labels, 1.0, start + k * STEP)


def _irregular(start: float) -> Iterator[Sample]:
    rng = random.Random(3)
    for n in (1, 2, 3):
        labels = Labels(instance=f"irr-{n}")
        t = start + rng.uniform(0, 10)
        while t < start + SPAN:
            yield Sample("irregular_gauge", labels, round(rng.uniform(-50, 150), 3), round(t, 3))
            t += rng.uniform(3, 40)


def _resetting(start: float) -> Iterator[Sample]:
    resets = {1: {60: 0.0}, 2: {90: 3.0}, 3: {40: 0.0, 150: 7.0}}  # k -> value after the reset
    for n, at in resets.items():
        labels = Labels(instance=f"rst-{n}")
        value = 500.0 * n
        for k in range(POINTS):
            if k in at:
                value = at[k]
            yield Sample("resetting_counter_total", labels, value, start + k * STEP)
            value += 5 * n + k % 4


def _gappy(start: float) -> Iterator[Sample]:
    gaps = {"gap-1": (900, 1620), "gap-2": (1500, 1980)}
    for instance, (lo, hi) in gaps.items():
        labels = Labels(instance=instance)
        counter = 0.0
        for k in range(POINTS):
            offset = k * STEP
            if lo <= offset < hi:
                continue
            counter += 12 + k % 5
            yield Sample("gappy_gauge", labels, round(20 + 5 * math.cos(k / 9), 2), start + offset)
            yield Sample("gappy_counter_total", labels, counter, start + offset)


def _flapping(start: float) -> Iterator[Sample]:
    ends = {"stale-1": (1215, 1620), "stale-2": (2115, None), "stale-3": (None, None)}
    for instance, (stale_at, resume_at) in ends.items():
        labels = Labels(instance=instance)
        counter = 0.0
        for k in range(POINTS):
            offset = k * STEP
            if stale_at is not None and offset >= stale_at and (resume_at is None or offset < resume_at):
                if offset == stale_at:
                    yield Sample("flapping_up", labels, STALE_NAN, start + offset)
                    yield Sample("flapping_requests_total", labels, STALE_NAN, start + offset)
                continue
            counter += 3 + k % 7
            yield Sample("flapping_up", labels, float(k % 9 != 0), start + offset)
            yield Sample("flapping_requests_total", labels, counter, start + offset)


def _histogram(start: float) -> Iterator[Sample]:
    rng = random.Random(4)
    for s, site in enumerate(SITES):
        counts = [0.0] * len(BUCKETS)
        total = 0.0
        for k in range(POINTS):
            t = start + k * STEP
            observed = [rng.randint(0, 14 - 2 * b + s) for b in range(len(BUCKETS))]
            for b in range(len(BUCKETS)):
                counts[b] += sum(observed[: b + 1])
            total += sum(observed[b] * (0.03 + 0.4 * b) for b in range(len(BUCKETS)))
            for le, count in zip(BUCKETS, counts, strict=True):
                labels = Labels(job="api", site=site, le=le)
                yield Sample("request_duration_seconds_bucket", labels, count, t)
            labels = Labels(job="api", site=site)
            yield Sample("request_duration_seconds_sum", labels, round(total, 3), t)
            yield Sample("request_duration_seconds_count", labels, counts[-1], t)


def _weird(start: float) -> Iterator[Sample]:
    specials = {"nan": math.nan, "inf": math.inf, "neginf": -math.inf}
    for kind, special in specials.items():
        labels = Labels(kind=kind)
        for k in range(POINTS):
            value = special if k % 17 in (3, 4) or 100 <= k < 104 else float(k % 11)
            yield Sample("weird_values", labels, value, start + k * STEP)
