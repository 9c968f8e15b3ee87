"""Functions over instant vectors and scalars, per step and vectorised over the steps, with the
semantics of Prometheus 2.42 (promql/functions.go): which drop the metric name, which keep it, and
the exact arithmetic of round, clamp, quantile and histogram_quantile."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import numpy as np

from model import Labels
from model.samples import LABEL_NAME_RE
from store.query.result import QueryError
from store.query.values import FloatArray, StepSeries, Vec, drop_name

__all__ = ["ELEMENTWISE", "bucket_quantile", "label_join", "label_replace", "quantile", "scalar_of"]


def quantile(q: float, values: Sequence[float] | FloatArray) -> float:
    """Prometheus' quantile(): the weighted average of the two nearest ranks (NaNs sort first)."""
    if len(values) == 0:
        return math.nan
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    arr = np.asarray(values, dtype=np.float64)
    nans = np.isnan(arr)
    ordered = np.concatenate([arr[nans], np.sort(arr[~nans])])
    n = float(len(ordered))
    rank = q * (n - 1)
    lower = max(0.0, math.floor(rank))
    upper = min(n - 1, lower + 1)
    weight = rank - math.floor(rank)
    result: float = float(ordered[int(lower)]) * (1 - weight) + float(ordered[int(upper)]) * weight
    return result


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:  # noqa: PLR0911
    """Prometheus' bucketQuantile over (upper bound, cumulative count) pairs."""
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(buckets, key=lambda b: b[0])
    if not math.isinf(ordered[-1][0]) or ordered[-1][0] < 0:
        return math.nan
    merged = _coalesced_monotonic(ordered)
    if len(merged) < 2:
        return math.nan
    observations = merged[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next((i for i in range(len(merged) - 1) if merged[i][1] >= rank), len(merged) - 1)
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start, end, count = 0.0, merged[b][0], merged[b][1]
    if b > 0:
        start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    return start + (end - start) * (rank / count)


def _coalesced_monotonic(ordered: list[tuple[float, float]]) -> list[list[float]]:
    """Buckets with equal bounds added together, then counts raised to be non-decreasing."""
    merged: list[list[float]] = []
    for bound, count in ordered:
        if merged and merged[-1][0] == bound:
            merged[-1][1] += count
        else:
            merged.append([bound, count])
    top = -math.inf
    for bucket in merged:
        if bucket[1] > top:
            top = bucket[1]
        elif bucket[1] < top:
            bucket[1] = top
    return merged


def _round(v: FloatArray, to_nearest: FloatArray | None) -> FloatArray:
    if to_nearest is None:
        return np.floor(v * 1.0 + 0.5) / 1.0
    inverse = 1.0 / to_nearest
    return np.floor(v * inverse + 0.5) / inverse


ELEMENTWISE: dict[str, Callable[[FloatArray, list[FloatArray]], FloatArray]] = {
    "abs": lambda v, a: np.abs(v),
    "ceil": lambda v, a: np.ceil(v),
    "floor": lambda v, a: np.floor(v),
    "round": lambda v, a: _round(v, a[0] if a else None),
    "clamp_min": lambda v, a: np.maximum(a[0], v),
    "clamp_max": lambda v, a: np.minimum(a[0], v),
    "clamp": lambda v, a: np.maximum(a[0], np.minimum(a[1], v)),
}
"""Value functions that drop the metric name; arguments after the vector are scalars per step."""


def elementwise(name: str, vec: Vec, scalars: list[FloatArray]) -> Vec:
    out: Vec = []
    keep_all = None
    if name == "clamp":
        keep_all = ~(scalars[1] < scalars[0])  # clamp with max < min answers nothing
    fn = ELEMENTWISE[name]
    for s in vec:
        values = fn(s.values, scalars)
        present = s.present if keep_all is None else s.present & keep_all
        out.append(StepSeries(drop_name(s.labels), values, present))
    return out


def scalar_of(vec: Vec, steps: int) -> FloatArray:
    """scalar(v): the value where exactly one series is present, NaN otherwise."""
    if not vec:
        return np.full(steps, math.nan)
    present = np.stack([s.present for s in vec])
    values = np.stack([s.values for s in vec])
    count = present.sum(axis=0)
    picked = values[present.argmax(axis=0), np.arange(steps)]
    return np.where(count == 1, picked, math.nan)


def label_replace(vec: Vec, dst: str, replacement: str, src: str, regex: str) -> Vec:
    try:
        pattern = re.compile(f"(?:{regex})")
    except re.error:
        raise QueryError(f"invalid regular expression in label_replace(): {regex}", error_type="execution") from None
    if not LABEL_NAME_RE.match(dst):
        raise QueryError(f"invalid destination label name in label_replace(): {dst}", error_type="execution")
    cache: dict[Labels, Labels] = {}
    out: Vec = []
    for s in vec:
        labels = cache.get(s.labels)
        if labels is None:
            labels = s.labels
            found = pattern.fullmatch(s.labels.get(src, ""))
            if found is not None:
                value = _go_expand(replacement, found)
                labels = Labels({**dict(s.labels), dst: value})
            cache[s.labels] = labels
        out.append(StepSeries(labels, s.values, s.present))
    return out


def label_join(vec: Vec, dst: str, sep: str, srcs: list[str]) -> Vec:
    if not LABEL_NAME_RE.match(dst):
        raise QueryError(f"invalid destination label name in label_join(): {dst}", error_type="execution")
    for src in srcs:
        if not LABEL_NAME_RE.match(src):
            raise QueryError(f"invalid source label name in label_join(): {src}", error_type="execution")
    out: Vec = []
    for s in vec:
        value = sep.join(s.labels.get(src, "") for src in srcs)
        out.append(StepSeries(Labels({**dict(s.labels), dst: value}), s.values, s.present))
    return out


_GO_NAME = re.compile(r"[A-Za-z0-9_]+")


def _go_expand(template: str, found: re.Match[str]) -> str:
    """Go's Regexp.ExpandString: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown groups are empty."""
    out: list[str] = []
    i = 0
    while i < len(template):
        ch = template[i]
        if ch != "$" or i + 1 >= len(template):
            out.append(ch)
            i += 1
            continue
        if template[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        if template[i + 1] == "{":
            close = template.find("}", i + 2)
            name = template[i + 2 : close] if close > 0 else ""
            if close < 0 or not _GO_NAME.fullmatch(name):
                out.append("$")
                i += 1
                continue
            i = close + 1
        else:
            m = _GO_NAME.match(template, i + 1)
            if m is None:
                out.append("$")
                i += 1
                continue
            name = m.group(0)
            i = m.end()
        out.append(_group(found, name))
    return "".join(out)


def _group(found: re.Match[str], name: str) -> str:
    if name.isdigit():
        index = int(name)
        if index > (found.re.groups or 0):
            return ""
        return found.group(index) or ""
    if name in found.re.groupindex:
        return found.group(name) or ""
    return ""
