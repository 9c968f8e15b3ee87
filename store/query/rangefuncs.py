"""Functions over range vectors (`rate(x[5m])`, `avg_over_time(...)`, ...), for every series and step
at once, with the arithmetic of Prometheus 2.42's promql/functions.go operation for operation.

Each function takes the windows (store/query/windows.py) and returns (values, present), both shaped
(series, steps). Loops that must add in Prometheus' order run over the position inside the window,
vectorised across all windows; only counter resets (rare) are added one by one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from store.query.values import BoolArray, FloatArray, IntArray
from store.query.windows import Windows

__all__ = ["RANGE_FUNCTIONS", "RangeArgs", "go_seconds"]


class RangeArgs:
    """What a range function needs besides the windows: window ends (ms, per step), the range (ms),
    the intercept time of predict_linear (ms, per step) and scalar arguments (per step)."""

    def __init__(self, refs: IntArray, range_ms: int, eval_ts: IntArray, scalars: list[FloatArray]) -> None:
        self.refs = refs
        self.range_ms = range_ms
        self.eval_ts = eval_ts
        self.scalars = scalars


Result = tuple[FloatArray, BoolArray]
RangeFunction = Callable[[Windows, RangeArgs], Result]


def go_seconds(ms: int) -> float:
    """Go's time.Duration.Seconds() of a millisecond duration (whole seconds + nanoseconds / 1e9)."""
    sec, rest = divmod(abs(ms), 1000)
    value = float(sec) + float(rest * 1_000_000) / 1e9
    return -value if ms < 0 else value


def _kahan_inc(inc: FloatArray, total: FloatArray, c: FloatArray) -> tuple[FloatArray, FloatArray]:
    t = total + inc
    big = np.abs(total) >= np.abs(inc)
    c = c + np.where(big, (total - t) + inc, (inc - t) + total)
    return t, c


def _at(w: Windows, k: int) -> tuple[FloatArray, BoolArray]:
    """The k-th value of every window and whether the window has one."""
    active = w.count > k
    idx = np.where(active, w.lo + k, 0)
    vals = w.flat.values
    return (vals[idx] if vals.size else np.zeros(idx.shape)), active


def _extrapolated(w: Windows, a: RangeArgs, *, counter: bool, rate: bool) -> Result:
    count = w.count
    ok = count >= 2
    lo, last = np.where(ok, w.lo, 0), np.where(ok, w.hi - 1, 0)
    vals, ts = w.flat.values, w.flat.ts
    if vals.size == 0:
        return np.zeros(count.shape), ok
    first_v, last_v = vals[lo], vals[last]
    result = last_v - first_v
    if counter:
        result = _add_resets(w, result, ok)
    range_start = a.refs - a.range_ms
    to_start = (ts[lo] - range_start[None, :]).astype(np.float64) / 1000
    to_end = (a.refs[None, :] - ts[last]).astype(np.float64) / 1000
    sampled = (ts[last] - ts[lo]).astype(np.float64) / 1000
    avg = sampled / np.where(ok, count - 1, 1).astype(np.float64)
    if counter:
        to_zero = sampled * (first_v / result)
        use = (result > 0) & (first_v >= 0) & (to_zero < to_start)
        to_start = np.where(use, to_zero, to_start)
    threshold = avg * 1.1
    interval = sampled + np.where(to_start < threshold, to_start, avg / 2)
    interval = interval + np.where(to_end < threshold, to_end, avg / 2)
    factor = interval / sampled
    if rate:
        factor = factor / go_seconds(a.range_ms)
    return result * factor, ok


def _add_resets(w: Windows, result: FloatArray, ok: BoolArray) -> FloatArray:
    """Add the value before each counter reset in the window, in order (as Prometheus does)."""
    vals = w.flat.values
    drops = np.zeros(vals.size, dtype=bool)
    drops[1:] = vals[1:] < vals[:-1]
    drops[w.flat.starts[:-1]] = False  # a series' first sample follows another series
    where = np.flatnonzero(drops)
    if where.size == 0:
        return result
    first_reset = np.searchsorted(where, w.lo + 1, "left")
    end_reset = np.searchsorted(where, w.hi, "left")
    todo = np.argwhere(ok & (end_reset > first_reset))
    if todo.size == 0:
        return result
    result = result.copy()
    for i, j in todo:
        value = float(result[i, j])
        for r in where[first_reset[i, j] : end_reset[i, j]]:
            value += float(vals[r - 1])
        result[i, j] = value
    return result


def _instant_value(w: Windows, a: RangeArgs, *, rate: bool) -> Result:
    ok = w.count >= 2
    last = np.where(ok, w.hi - 1, 1)
    vals, ts = w.flat.values, w.flat.ts
    if vals.size < 2:
        return np.zeros(ok.shape), ok
    lv, pv = vals[last], vals[last - 1]
    if rate:
        result = np.where(lv < pv, lv, lv - pv)
        interval = (ts[last] - ts[last - 1]).astype(np.float64)
        return result / (interval / 1000), ok
    return lv - pv, ok


def _sum(w: Windows, a: RangeArgs) -> Result:
    total, c = np.zeros(w.lo.shape), np.zeros(w.lo.shape)
    for k in range(int(w.count.max(initial=0))):
        v, active = _at(w, k)
        t, c2 = _kahan_inc(v, total, c)
        total, c = np.where(active, t, total), np.where(active, c2, c)
    return np.where(np.isinf(total), total, total + c), w.count > 0


def _avg(w: Windows, a: RangeArgs) -> Result:
    mean, c, count = np.zeros(w.lo.shape), np.zeros(w.lo.shape), np.zeros(w.lo.shape)
    for k in range(int(w.count.max(initial=0))):
        v, active = _at(w, k)
        count = np.where(active, count + 1, count)
        inf_mean = np.isinf(mean)
        skip = inf_mean & ((np.isinf(v) & ((mean > 0) == (v > 0))) | (~np.isinf(v) & ~np.isnan(v)))
        step = active & ~skip
        safe = np.where(step, count, 1)
        t, c2 = _kahan_inc(v / safe - mean / safe, mean, c)
        mean, c = np.where(step, t, mean), np.where(step, c2, c)
    return np.where(np.isinf(mean), mean, mean + c), w.count > 0


def _variance(w: Windows) -> tuple[FloatArray, FloatArray]:
    shape = w.lo.shape
    count, mean, c_mean, aux, c_aux = (np.zeros(shape) for _ in range(5))
    for k in range(int(w.count.max(initial=0))):
        v, active = _at(w, k)
        count = np.where(active, count + 1, count)
        delta = v - (mean + c_mean)
        m, cm = _kahan_inc(delta / np.where(active, count, 1), mean, c_mean)
        mean, c_mean = np.where(active, m, mean), np.where(active, cm, c_mean)
        x, cx = _kahan_inc(delta * (v - (mean + c_mean)), aux, c_aux)
        aux, c_aux = np.where(active, x, aux), np.where(active, cx, c_aux)
    return (aux + c_aux) / np.where(count > 0, count, 1), count


def _stdvar(w: Windows, a: RangeArgs) -> Result:
    var, count = _variance(w)
    return var, count > 0


def _stddev(w: Windows, a: RangeArgs) -> Result:
    var, count = _variance(w)
    return np.sqrt(var), count > 0


def _extreme(w: Windows, *, largest: bool) -> Result:
    best, _ = _at(w, 0)
    for k in range(1, int(w.count.max(initial=0))):
        v, active = _at(w, k)
        better = (v > best) if largest else (v < best)
        best = np.where(active & (better | np.isnan(best)), v, best)
    return best, w.count > 0


def _count(w: Windows, a: RangeArgs) -> Result:
    count = w.count
    return count.astype(np.float64), count > 0


def _last(w: Windows, a: RangeArgs) -> Result:
    v, _ = _at(w, 0)
    ok = w.count > 0
    idx = np.where(ok, w.hi - 1, 0)
    return (w.flat.values[idx] if w.flat.values.size else v), ok


def _present(w: Windows, a: RangeArgs) -> Result:
    return np.ones(w.lo.shape), w.count > 0


def _flag_count(w: Windows, flags: np.ndarray) -> Result:
    flags = flags.copy()
    flags[w.flat.starts[:-1][w.flat.starts[:-1] < flags.size]] = False
    cum = np.zeros(flags.size + 1, np.int64)
    np.cumsum(flags, out=cum[1:])
    ok = w.count > 0
    lo1 = np.where(ok, w.lo + 1, 0)
    hi = np.where(ok, w.hi, 0)
    return (cum[hi] - cum[np.minimum(lo1, hi)]).astype(np.float64), ok


def _changes(w: Windows, a: RangeArgs) -> Result:
    v = w.flat.values
    flags = np.zeros(v.size, dtype=bool)
    flags[1:] = (v[1:] != v[:-1]) & ~(np.isnan(v[1:]) & np.isnan(v[:-1]))
    return _flag_count(w, flags)


def _resets(w: Windows, a: RangeArgs) -> Result:
    v = w.flat.values
    flags = np.zeros(v.size, dtype=bool)
    flags[1:] = v[1:] < v[:-1]
    return _flag_count(w, flags)


def _regression(w: Windows, intercept: IntArray) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Least squares over each window (Prometheus' linearRegression: Kahan sums, constant-y case)."""
    shape = w.lo.shape
    n, sx, cx, sy, cy, sxy, cxy, sx2, cx2 = (np.zeros(shape) for _ in range(9))
    init_y, _ = _at(w, 0)
    const_y = np.ones(shape, dtype=bool)
    ts = w.flat.ts
    for k in range(int(w.count.max(initial=0))):
        v, active = _at(w, k)
        idx = np.where(active, w.lo + k, 0)
        if k > 0:
            const_y &= ~active | (v == init_y)
        n = np.where(active, n + 1, n)
        x = (ts[idx] - intercept).astype(np.float64) / 1e3
        for total, comp, inc in ((sx, cx, x), (sy, cy, v), (sxy, cxy, x * v), (sx2, cx2, x * x)):
            t, c = _kahan_inc(inc, total, comp)
            total[...] = np.where(active, t, total)
            comp[...] = np.where(active, c, comp)
    sx, sy, sxy, sx2 = sx + cx, sy + cy, sxy + cxy, sx2 + cx2
    safe_n = np.where(n > 0, n, 1)
    cov = sxy - sx * sy / safe_n
    var = sx2 - sx * sx / safe_n
    slope = cov / var
    icpt = sy / safe_n - slope * sx / safe_n
    inf_y = np.isinf(init_y)
    slope = np.where(const_y, np.where(inf_y, math.nan, 0.0), slope)
    icpt = np.where(const_y, np.where(inf_y, math.nan, init_y), icpt)
    return slope, icpt, w.count >= 2


def _deriv(w: Windows, a: RangeArgs) -> Result:
    ok = w.count >= 2
    first = np.where(ok, w.lo, 0)
    intercept = w.flat.ts[first] if w.flat.ts.size else np.zeros(first.shape, np.int64)
    slope, _, ok = _regression(w, intercept)
    return slope, ok


def _predict_linear(w: Windows, a: RangeArgs) -> Result:
    slope, icpt, ok = _regression(w, a.eval_ts[None, :])
    return slope * a.scalars[0][None, :] + icpt, ok


def _quantile(w: Windows, a: RangeArgs) -> Result:
    """quantile() of every window at once: windows padded to the longest, sorted row-wise with NaN
    first (Prometheus' order), then the two nearest ranks interpolated; in chunks to bound memory."""
    out = np.zeros(w.lo.shape)
    ok = w.count > 0
    longest = int(w.count.max(initial=0))
    rows, cols = np.nonzero(ok)
    chunk = max(1, 4_000_000 // max(longest, 1))
    offsets = np.arange(longest)[None, :]
    for start in range(0, rows.size, chunk):
        r, c = rows[start : start + chunk], cols[start : start + chunk]
        count = w.count[r, c]
        active = offsets < count[:, None]
        vals = w.flat.values[np.where(active, w.lo[r, c][:, None] + offsets, 0)]
        klass = np.where(active, np.where(np.isnan(vals), 0, 1), 2)
        ordered = np.take_along_axis(vals, np.lexsort((vals, klass), axis=1), axis=1)
        q = a.scalars[0][c]
        n = count.astype(np.float64)
        rank = np.where(np.isnan(q), 0.0, q) * (n - 1)
        lower = np.maximum(0.0, np.floor(rank))
        upper = np.minimum(n - 1, lower + 1)
        weight = rank - np.floor(rank)
        top = longest - 1  # q outside [0, 1] indexes past the window; its answer is ±Inf anyway
        lo_v = np.take_along_axis(ordered, np.clip(lower, 0, top).astype(np.int64)[:, None], axis=1)[:, 0]
        hi_v = np.take_along_axis(ordered, np.clip(upper, 0, top).astype(np.int64)[:, None], axis=1)[:, 0]
        result = lo_v * (1 - weight) + hi_v * weight
        result = np.where(q < 0, -math.inf, np.where(q > 1, math.inf, result))
        out[r, c] = np.where(np.isnan(q), math.nan, result)
    return out, ok


RANGE_FUNCTIONS: dict[str, RangeFunction] = {
    "rate": lambda w, a: _extrapolated(w, a, counter=True, rate=True),
    "increase": lambda w, a: _extrapolated(w, a, counter=True, rate=False),
    "delta": lambda w, a: _extrapolated(w, a, counter=False, rate=False),
    "irate": lambda w, a: _instant_value(w, a, rate=True),
    "idelta": lambda w, a: _instant_value(w, a, rate=False),
    "deriv": _deriv,
    "predict_linear": _predict_linear,
    "changes": _changes,
    "resets": _resets,
    "avg_over_time": _avg,
    "sum_over_time": _sum,
    "min_over_time": lambda w, a: _extreme(w, largest=False),
    "max_over_time": lambda w, a: _extreme(w, largest=True),
    "count_over_time": _count,
    "last_over_time": _last,
    "present_over_time": _present,
    "quantile_over_time": _quantile,
    "stddev_over_time": _stddev,
    "stdvar_over_time": _stdvar,
}
"""Every range function but absent_over_time (which the evaluator handles: it needs all series)."""
