"""Arithmetic on sets of time intervals: sorted lists of disjoint [start, end) pairs (Unix seconds).

Every function takes and returns such lists (`merged` makes one of any pairs), in one pass.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence

__all__ = ["Spans", "clip", "intersect", "length", "merged", "subtract"]

Spans = list[tuple[float, float]]


def merged(intervals: Iterable[tuple[float, float]]) -> Spans:
    """Sorted, with overlapping and touching intervals joined and empty ones dropped."""
    out: Spans = []
    for s, e in sorted(intervals):
        if e <= s:
            continue
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def intersect(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> Spans:
    out: Spans = []
    i = j = 0
    while i < len(a) and j < len(b):
        s, e = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if s < e:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def subtract(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> Spans:
    """The parts of `a` outside `b`."""
    out: Spans = []
    j = 0
    for s, e in a:
        while j < len(b) and b[j][1] <= s:
            j += 1
        k, t = j, s
        while k < len(b) and b[k][0] < e:
            if b[k][0] > t:
                out.append((t, b[k][0]))
            t = max(t, b[k][1])
            k += 1
        if t < e:
            out.append((t, e))
    return out


def clip(a: Sequence[tuple[float, float]], start: float, end: float) -> Spans:
    """The parts of `a` inside [start, end): a binary search, then only the intervals that overlap."""
    out: Spans = []
    if start >= end:
        return out
    for s, e in a[max(0, bisect.bisect_right(a, (start, math.inf)) - 1) :]:
        if s >= end:
            break
        if e > start:
            out.append((max(s, start), min(e, end)))
    return out


def length(a: Iterable[tuple[float, float]]) -> float:
    return sum(e - s for s, e in a)
