"""Aggregation operators (sum, avg, min, max, count, count_values, group, stddev, stdvar, topk,
bottomk, quantile) with `by` / `without`, per step and vectorised over the steps, in the arithmetic
order of Prometheus 2.42's aggregation() (engine.go): sums and means accumulate series by series in
input order."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from model import Labels
from model.samples import LABEL_NAME_RE
from store.query import ast
from store.query.functions import quantile
from store.query.result import QueryError, format_value
from store.query.values import NAME, BoolArray, FloatArray, StepSeries, Vec, go_quote

__all__ = ["aggregate"]


def group_labels(labels: Labels, grouping: ast.Grouping) -> Labels:
    if grouping.without:
        drop = {*grouping.labels, NAME}
        return Labels.from_pairs(tuple(p for p in labels.pairs if p[0] not in drop))
    keep = set(grouping.labels)
    return Labels.from_pairs(tuple(p for p in labels.pairs if p[0] in keep))


def _groups(vec: Vec, grouping: ast.Grouping) -> dict[Labels, list[int]]:
    groups: dict[Labels, list[int]] = {}
    cache: dict[Labels, Labels] = {}
    for i, s in enumerate(vec):
        key = cache.get(s.labels)
        if key is None:
            key = cache[s.labels] = group_labels(s.labels, grouping)
        groups.setdefault(key, []).append(i)
    return groups


def aggregate(op: str, vec: Vec, grouping: ast.Grouping, param: FloatArray | str | None, steps: int) -> Vec:
    """The aggregation `op` of `vec`; `param` is k (topk/bottomk), q (quantile) per step, or the
    label name of count_values."""
    if op == "count_values":
        assert isinstance(param, str)
        return _count_values(vec, grouping, param, steps)
    if op in ("topk", "bottomk"):
        assert isinstance(param, np.ndarray)
        return _top(vec, grouping, param, bottom=op == "bottomk")
    out: Vec = []
    for key, members in _groups(vec, grouping).items():
        values = np.stack([vec[i].values for i in members])
        present = np.stack([vec[i].present for i in members])
        any_present: BoolArray = np.asarray(present.any(axis=0))
        if not any_present.any():
            continue
        if op == "quantile":
            assert isinstance(param, np.ndarray)
            result = _quantile(values, present, param)
        else:
            result = _REDUCERS[op](values, present)
        out.append(StepSeries(key, result, any_present))
    return out


def _sum(v: FloatArray, p: BoolArray) -> FloatArray:
    # Adding -0.0 leaves every float unchanged, so absent members cost nothing and the first present
    # one starts the sum exactly as Prometheus does; cumsum adds strictly in order.
    total: FloatArray = np.cumsum(np.where(p, v, -0.0), axis=0)[-1]
    return total


_FEW_STEPS = 16
"""Up to this many steps, sequential folds run as plain float loops per step (cheaper than numpy
calls per series); beyond, as numpy operations per series across all steps."""


def _avg_floats(values: list[float]) -> float:
    mean, count = values[0], 1.0
    for v in values[1:]:
        count += 1
        if math.isinf(mean) and ((math.isinf(v) and (mean > 0) == (v > 0)) or not (math.isinf(v) or math.isnan(v))):
            continue
        mean += v / count - mean / count
    return mean


def _variance_floats(values: list[float]) -> float:
    mean, value, count = values[0], 0.0, 1.0
    for v in values[1:]:
        count += 1
        delta = v - mean
        mean += delta / count
        value += delta * (v - mean)
    return value / count


def _per_step(v: FloatArray, p: BoolArray, fold: Callable[[list[float]], float]) -> FloatArray:
    out = np.zeros(v.shape[1])
    for j in range(v.shape[1]):
        column = v[p[:, j], j].tolist()
        if column:
            out[j] = fold(column)
    return out


def _avg(v: FloatArray, p: BoolArray) -> FloatArray:
    steps = v.shape[1]
    if steps <= _FEW_STEPS:
        return _per_step(v, p, _avg_floats)
    mean, count = np.zeros(steps), np.zeros(steps)
    started = np.zeros(steps, dtype=bool)
    for row, present in zip(v, p, strict=True):
        first = present & ~started
        mean = np.where(first, row, mean)
        count = np.where(present, count + 1, count)
        later = present & started
        inf_mean = np.isinf(mean)
        skip = inf_mean & ((np.isinf(row) & ((mean > 0) == (row > 0))) | (~np.isinf(row) & ~np.isnan(row)))
        upd = later & ~skip
        safe = np.where(upd, count, 1)
        mean = np.where(upd, mean + (row / safe - mean / safe), mean)
        started |= present
    return mean


def _variance(v: FloatArray, p: BoolArray) -> FloatArray:
    steps = v.shape[1]
    if steps <= _FEW_STEPS:
        return _per_step(v, p, _variance_floats)
    mean, value, count = np.zeros(steps), np.zeros(steps), np.zeros(steps)
    started = np.zeros(steps, dtype=bool)
    for row, present in zip(v, p, strict=True):
        first = present & ~started
        mean = np.where(first, row, mean)
        count = np.where(present, count + 1, count)
        later = present & started
        delta = row - mean
        new_mean = mean + delta / np.where(later, count, 1)
        value = np.where(later, value + delta * (row - new_mean), value)
        mean = np.where(later, new_mean, mean)
        started |= present
    return value / np.where(count > 0, count, 1)


def _extreme(v: FloatArray, p: BoolArray, *, largest: bool) -> FloatArray:
    # Prometheus replaces the running value when the next is beyond it or the running value is NaN:
    # the result is the extreme of the numbers, NaN only when all are NaN, which is fmax / fmin.
    fold = np.fmax if largest else np.fmin
    best: FloatArray = fold.reduce(np.where(p, v, math.nan), axis=0)
    return best


_REDUCERS: dict[str, Callable[[FloatArray, BoolArray], FloatArray]] = {
    "sum": _sum,
    "avg": _avg,
    "count": lambda v, p: p.sum(axis=0).astype(np.float64),
    "group": lambda v, p: np.ones(v.shape[1]),
    "min": lambda v, p: _extreme(v, p, largest=False),
    "max": lambda v, p: _extreme(v, p, largest=True),
    "stdvar": _variance,
    "stddev": lambda v, p: np.sqrt(_variance(v, p)),
}


def _quantile(v: FloatArray, p: BoolArray, q: FloatArray) -> FloatArray:
    out = np.zeros(v.shape[1])
    for j in range(v.shape[1]):
        col = v[p[:, j], j]
        if col.size:
            out[j] = quantile(float(q[j]), col)
    return out


def _go_float(f: float) -> str:
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    return repr(f) if f != int(f) or abs(f) >= 1e21 else str(int(f))


def _top(vec: Vec, grouping: ast.Grouping, k_param: FloatArray, *, bottom: bool) -> Vec:
    steps = k_param.size
    k = np.zeros(steps, dtype=np.int64)
    for j, f in enumerate(k_param):
        if math.isnan(f) or not -(2.0**63) <= f < 2.0**63:
            raise QueryError(f"Scalar value {_go_float(float(f))} overflows int64", error_type="execution")
        k[j] = int(f)
    out: Vec = []
    for members in _groups(vec, grouping).values():
        values = np.stack([vec[i].values for i in members])
        present = np.stack([vec[i].present for i in members])
        # NaN ranks after every number; ties keep input order (a stable sort).
        order_key = np.where(np.isnan(values), math.inf, values if bottom else -values)
        klass = np.where(present, np.where(np.isnan(values), 1, 0), 2)
        order = np.lexsort((order_key, klass), axis=0)
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(len(members))[:, None].repeat(steps, axis=1), axis=0)
        chosen = present & (rank < k[None, :])
        first_rank = np.where(chosen[:, 0], rank[:, 0], len(members))
        for r in np.lexsort((np.arange(len(members)), first_rank)):
            if chosen[r].any():
                s = vec[members[r]]
                out.append(StepSeries(s.labels, s.values, chosen[r]))
    return out


def _count_values(vec: Vec, grouping: ast.Grouping, label: str, steps: int) -> Vec:
    if not LABEL_NAME_RE.match(label):
        raise QueryError(f"invalid label name {go_quote(label)}", error_type="execution")
    if not grouping.without:
        grouping = ast.Grouping((*grouping.labels, label), False)
    counts: dict[Labels, FloatArray] = {}
    for s in vec:
        for j in np.flatnonzero(s.present):
            labels = Labels({**dict(s.labels), label: format_value(float(s.values[j]))})
            key = group_labels(labels, grouping)
            if key not in counts:
                counts[key] = np.zeros(steps)
            counts[key][j] += 1
    return [StepSeries(key, c, c > 0) for key, c in counts.items()]
