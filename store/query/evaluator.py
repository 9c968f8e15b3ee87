"""Evaluates a syntax tree over a grid of step times (one step for an instant query).

Every node is evaluated for all steps at once: selectors read each selected series once for the
whole span and slide over it; functions, aggregations and operators work on arrays shaped by the
steps. The results are what Prometheus 2.42's engine (promql/engine.go) computes step by step.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

import numpy as np

from model import Labels
from store.head import SeriesData
from store.index import Matcher, MatchOp, SeriesRef
from store.query import ast
from store.query.aggregate import aggregate
from store.query.binary import scalar_op, set_op, vector_op, vector_scalar_op
from store.query.functions import ELEMENTWISE, bucket_quantile, elementwise, label_join, label_replace, scalar_of
from store.query.rangefuncs import RANGE_FUNCTIONS, RangeArgs
from store.query.result import QueryError
from store.query.rollup import BUCKET_MS, ROLLUP_FUNCTIONS, RollupReader, bucket_totals, combine
from store.query.rollup import WARNING as ROLLUP_WARNING
from store.query.values import NAME, BoolArray, FloatArray, IntArray, RangeSeries, StepSeries, Vec, drop_name
from store.query.windows import Flat, Windows, flat_of, flatten, latest, windows

__all__ = ["SELECTIONS_KEPT", "Evaluator", "Queryable", "SelectionCache", "Value"]

Value = Vec | FloatArray | str | list[RangeSeries]

SELECTIONS_KEPT = 1024
"""Selector results remembered across queries (by matchers, valid while no series is added)."""

SelectionCache = dict[tuple[Matcher, ...], tuple[int, list[tuple[int, Labels]]]]
"""Matchers -> (the store's series generation, the selected (id, labels) sorted by labels)."""

TOO_MANY_SAMPLES = "query processing would load too many samples into memory in query execution"


class Queryable(Protocol):
    """What the evaluator reads: series by matchers and their raw samples (ms, inclusive bounds)."""

    def select(self, matchers: Sequence[Matcher]) -> Sequence[SeriesRef]: ...

    def read_range(self, ids: Sequence[int], start_ms: int, end_ms: int) -> Mapping[int, SeriesData]: ...


class Evaluator:
    """One query's evaluation: limits, the query's start and end (for `@ start()` / `@ end()`)."""

    def __init__(
        self,
        store: Queryable,
        *,
        start_ms: int,
        end_ms: int,
        lookback_ms: int,
        subquery_step_ms: int,
        max_samples: int,
        max_series: int,
        label_cache: dict[int, Labels],
        selection_cache: SelectionCache | None = None,
    ) -> None:
        self.store = store
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.lookback_ms = lookback_ms
        self.subquery_step_ms = subquery_step_ms
        self.max_samples = max_samples
        self.max_series = max_series
        self.samples = 0
        self.warnings: list[str] = []
        self._labels = label_cache
        self._selections: dict[tuple[Matcher, ...], list[tuple[int, Labels]]] = {}
        self._selection_cache = selection_cache if selection_cache is not None else {}

    # -- dispatch -----------------------------------------------------------------------------
    def eval(self, expr: ast.Expr, grid: IntArray) -> Value:  # noqa: PLR0911
        if isinstance(expr, ast.NumberLiteral):
            return np.full(grid.size, expr.value)
        if isinstance(expr, ast.StringLiteral):
            return expr.value
        if isinstance(expr, ast.VectorSelector):
            return self.vector_selector(expr, grid)[0]
        if isinstance(expr, ast.MatrixSelector | ast.Subquery):
            flat, win, _ = self.range_arg(expr, grid)
            return _window_series(flat, win)
        if isinstance(expr, ast.Unary):
            return self.unary(expr, grid)
        if isinstance(expr, ast.Call):
            return self.call(expr, grid)
        if isinstance(expr, ast.Aggregate):
            return self.aggregate(expr, grid)
        return self.binary(expr, grid)

    def vec(self, expr: ast.Expr, grid: IntArray) -> Vec:
        value = self.eval(expr, grid)
        assert isinstance(value, list)
        return value  # type: ignore[return-value]

    def scalar(self, expr: ast.Expr, grid: IntArray) -> FloatArray:
        value = self.eval(expr, grid)
        assert isinstance(value, np.ndarray)
        return value

    def string(self, expr: ast.Expr) -> str:
        assert isinstance(expr, ast.StringLiteral)
        return expr.value

    # -- selectors ----------------------------------------------------------------------------
    def _refs(self, at: ast.At | None, offset_ms: int, grid: IntArray) -> IntArray:
        if at is None:
            return grid - offset_ms
        if at.special == ast.AT_START:
            moment = self.start_ms
        elif at.special == ast.AT_END:
            moment = self.end_ms
        else:
            assert at.ms is not None
            moment = at.ms
        return np.full(grid.size, moment - offset_ms, dtype=np.int64)

    def _select(self, sel: ast.VectorSelector) -> list[tuple[int, Labels]]:
        """The selected series (id, labels with the name), sorted by labels; once per query."""
        known = self._selections.get(sel.matchers)
        if known is not None:
            return known
        generation_of = getattr(self.store, "series_generation", None)
        name = next((m.value for m in sel.matchers if m.name == NAME and m.op is MatchOp.EQ), None)
        generation = generation_of(name) if generation_of is not None else None
        remembered = self._selection_cache.get(sel.matchers)
        if generation is not None and remembered is not None and remembered[0] == generation:
            self._selections[sel.matchers] = remembered[1]
            return remembered[1]
        refs = self.store.select(list(sel.matchers))
        if len(refs) > self.max_series:
            raise QueryError(
                f"the selector at position {sel.position} matches {len(refs)} series, "
                f"more than the limit of {self.max_series}",
                error_type="execution",
            )
        out = [(r.id, self._series_labels(r)) for r in refs]
        out.sort(key=lambda p: p[1].pairs)
        self._selections[sel.matchers] = out
        if generation is not None:
            if len(self._selection_cache) >= SELECTIONS_KEPT:
                self._selection_cache.clear()
            self._selection_cache[sel.matchers] = (generation, out)
        return out

    def _series_labels(self, ref: SeriesRef) -> Labels:
        labels = self._labels.get(ref.id)
        if labels is None:
            pairs = list(ref.labels.pairs)
            bisect.insort(pairs, (NAME, ref.name))
            labels = self._labels[ref.id] = Labels.from_pairs(tuple(pairs))
        return labels

    def _read(self, selected: list[tuple[int, Labels]], start: int, end: int) -> list[RangeSeries]:
        data = self.store.read_range([sid for sid, _ in selected], start, end)
        out: list[RangeSeries] = []
        for sid, labels in selected:
            d = data.get(sid)
            if d is not None and d.ts.size:
                out.append(RangeSeries(labels, d.ts, d.values))
        self.count_samples(sum(s.ts.size for s in out))
        return out

    def _read_flat(self, selected: list[tuple[int, Labels]], start: int, end: int, *, drop_stale: bool) -> Flat:
        """The selected series' samples in [start, end] laid out flat (series without samples left
        out), through the store's flat read when it has one."""
        read_flat = getattr(self.store, "read_flat", None)
        if read_flat is None or not selected:
            return flatten(self._read(selected, start, end) if selected else [], drop_stale=drop_stale)
        data = read_flat([sid for sid, _ in selected], start, end)
        self.count_samples(int(data.ts.size))
        has = data.sizes > 0
        labels = [lb for (_, lb), keep in zip(selected, has.tolist(), strict=True) if keep]
        return flat_of(labels, data.ts, data.values, data.sizes[has], drop_stale=drop_stale)

    def count_samples(self, n: int) -> None:
        """Count samples read (and subquery points made); past `max_samples`, refuse the query."""
        self.samples += n
        if self.samples > self.max_samples:
            raise QueryError(TOO_MANY_SAMPLES, error_type="execution")

    def check_points(self, series: int, steps: int) -> None:
        """One node's result (series × steps values) must fit in `max_samples` too."""
        if series * steps > self.max_samples:
            raise QueryError(TOO_MANY_SAMPLES, error_type="execution")

    def vector_selector(self, sel: ast.VectorSelector, grid: IntArray) -> tuple[Vec, list[IntArray]]:
        """The vector at every step, and each series' sample times (ms) for timestamp()."""
        refs = self._refs(sel.at, sel.offset_ms, grid)
        selected = self._select(sel)
        if not selected:
            return [], []
        flat = self._read_flat(selected, int(refs.min()) - self.lookback_ms, int(refs.max()), drop_stale=False)
        self.check_points(len(flat.labels), grid.size)
        idx, ok = latest(flat, refs, self.lookback_ms)
        rows = np.flatnonzero(ok.any(axis=1)).tolist()
        values = flat.values[idx]
        out = [StepSeries(flat.labels[i], values[i], ok[i]) for i in rows]
        times = [flat.ts[idx[i]] for i in rows]
        return out, times

    def range_arg(self, expr: ast.Expr, grid: IntArray, *, drift: bool = False) -> tuple[Flat, Windows, IntArray]:
        """The series of a range vector, their windows at every step and the windows' ends (ms).

        With `drift`, a window fixed by `@` moves with the step as Prometheus 2.42 moves it in a
        function that is not step-invariant (predict_linear): it rebases `@` as an offset from the
        evaluation's first step, while its storage query still holds only the samples of the window
        at the `@` time."""
        if isinstance(expr, ast.MatrixSelector):
            sel = expr.selector
            refs = self._refs(sel.at, sel.offset_ms, grid)
            first, last = int(refs.min()) - expr.range_ms, int(refs.max())
            if drift and sel.at is not None:
                refs = refs + (grid - grid[0])
            selected = self._select(sel)
            flat = self._read_flat(selected, first, last, drop_stale=True)
            self.check_points(len(flat.labels), grid.size)
            return flat, windows(flat, refs, expr.range_ms), refs
        if not isinstance(expr, ast.Subquery):
            raise QueryError(f"expected a range vector, got {expr.type.value}", error_type="bad_data")
        refs = self._refs(expr.at, expr.offset_ms, grid)
        step = expr.step_ms or self.subquery_step_ms
        low = int(refs.min()) - expr.range_ms
        first = _go_div(low, step) * step
        if first < low:
            first += step
        inner_grid = np.arange(first, int(refs.max()) + 1, step, dtype=np.int64)
        if inner_grid.size == 0:
            flat = flatten([], drop_stale=True)
            return flat, windows(flat, refs, expr.range_ms), refs
        inner = self.eval(expr.expr, inner_grid)
        if isinstance(inner, np.ndarray):
            inner = [StepSeries(Labels(), inner, np.ones(inner.size, dtype=bool))]
        assert isinstance(inner, list)
        series = [RangeSeries(s.labels, inner_grid[s.present], s.values[s.present]) for s in inner]  # type: ignore[union-attr]
        self.count_samples(sum(s.ts.size for s in series))
        self.check_points(len(series), grid.size)
        flat = flatten(series, drop_stale=True)
        return flat, windows(flat, refs, expr.range_ms), refs

    # -- nodes --------------------------------------------------------------------------------
    def unary(self, expr: ast.Unary, grid: IntArray) -> Value:
        value = self.eval(expr.expr, grid)
        if isinstance(value, np.ndarray):
            return -value
        vec = [StepSeries(drop_name(s.labels), -s.values, s.present) for s in value]  # type: ignore[union-attr]
        return merge(vec, whole_range=True)

    def aggregate(self, expr: ast.Aggregate, grid: IntArray) -> Vec:
        param: FloatArray | str | None = None
        if expr.param is not None:
            param = self.string(expr.param) if expr.op == "count_values" else self.scalar(expr.param, grid)
        vec = self.vec(expr.expr, grid)
        return aggregate(expr.op, vec, expr.grouping, param, grid.size)

    def binary(self, expr: ast.Binary, grid: IntArray) -> Value:
        lhs, rhs = self.eval(expr.lhs, grid), self.eval(expr.rhs, grid)
        if isinstance(lhs, np.ndarray) and isinstance(rhs, np.ndarray):
            return scalar_op(expr.op, lhs, rhs)
        if isinstance(rhs, np.ndarray):
            out = vector_scalar_op(expr.op, lhs, rhs, scalar_left=False, return_bool=expr.return_bool)  # type: ignore[arg-type]
        elif isinstance(lhs, np.ndarray):
            out = vector_scalar_op(expr.op, rhs, lhs, scalar_left=True, return_bool=expr.return_bool)  # type: ignore[arg-type]
        elif expr.op in ("and", "or", "unless"):
            out = set_op(expr.op, lhs, rhs, expr.matching, grid.size)  # type: ignore[arg-type]
        else:
            out = vector_op(expr.op, lhs, rhs, expr.matching, return_bool=expr.return_bool, steps=grid.size)  # type: ignore[arg-type]
        return merge(out)

    def call(self, call: ast.Call, grid: IntArray) -> Value:  # noqa: PLR0911, PLR0912
        name = call.func
        if name in RANGE_FUNCTIONS or name == "absent_over_time":
            return self.range_call(call, grid)
        if name == "time":
            return grid.astype(np.float64) / 1000
        if name == "vector":
            return [StepSeries(Labels(), self.scalar(call.args[0], grid), np.ones(grid.size, dtype=bool))]
        if name == "scalar":
            return scalar_of(self.vec(call.args[0], grid), grid.size)
        if name == "timestamp":
            return merge(self.timestamp(call.args[0], grid))
        if name == "absent":
            vec = self.vec(call.args[0], grid)
            present: BoolArray = np.ones(grid.size, dtype=bool)
            for s in vec:
                present &= ~s.present
            if not present.any():
                return []
            return [StepSeries(_absent_labels(call.args[0]), np.ones(grid.size), present)]
        if name in ("sort", "sort_desc"):
            return self.vec(call.args[0], grid)
        if name in ELEMENTWISE:
            vec = self.vec(call.args[0], grid)
            return merge(elementwise(name, vec, [self.scalar(a, grid) for a in call.args[1:]]))
        if name == "label_replace":
            vec = self.vec(call.args[0], grid)
            dst, repl, src, regex = (self.string(a) for a in call.args[1:5])
            return merge(label_replace(vec, dst, repl, src, regex))
        if name == "label_join":
            vec = self.vec(call.args[0], grid)
            strings = [self.string(a) for a in call.args[1:]]
            return merge(label_join(vec, strings[0], strings[1], strings[2:]))
        if name == "histogram_quantile":
            q = self.scalar(call.args[0], grid)
            return merge(histogram_quantile(q, self.vec(call.args[1], grid)))
        raise QueryError(f'unsupported function "{name}"', error_type="bad_data")

    def timestamp(self, arg: ast.Expr, grid: IntArray) -> Vec:
        if isinstance(arg, ast.VectorSelector):
            vec, times = self.vector_selector(arg, grid)
            return [
                StepSeries(drop_name(s.labels), t.astype(np.float64) / 1000, s.present)
                for s, t in zip(vec, times, strict=True)
            ]
        seconds = grid.astype(np.float64) / 1000
        return [StepSeries(drop_name(s.labels), seconds, s.present) for s in self.vec(arg, grid)]

    def range_call(self, call: ast.Call, grid: IntArray) -> Vec:
        index = next(i for i, a in enumerate(call.args) if a.type is ast.ValueType.MATRIX)
        arg = call.args[index]
        scalars = [self.scalar(a, grid) for i, a in enumerate(call.args) if i != index]
        flat, win, refs = self.range_arg(arg, grid, drift=call.func == "predict_linear")
        if call.func == "absent_over_time":
            present: BoolArray = np.ones(grid.size, dtype=bool)
            if flat.labels:
                present = np.asarray(~(win.count > 0).any(axis=0))
            if not present.any():
                return []
            return [StepSeries(_absent_labels(arg), np.ones(grid.size), present)]
        assert isinstance(arg, ast.MatrixSelector | ast.Subquery)
        values, present = RANGE_FUNCTIONS[call.func](win, RangeArgs(refs, arg.range_ms, grid, scalars))
        labels = list(flat.labels)
        if call.func in ROLLUP_FUNCTIONS and isinstance(arg, ast.MatrixSelector) and arg.range_ms % BUCKET_MS == 0:
            labels, values, present = self._with_rollups(call.func, arg, flat, win, refs, (labels, values, present))
        keep_name = call.func == "last_over_time"
        out = [
            StepSeries(labels[i] if keep_name else drop_name(labels[i]), values[i], present[i])
            for i in np.flatnonzero(present.any(axis=1)).tolist()
        ]
        return merge(out, whole_range=True)

    def _with_rollups(
        self,
        func: str,
        arg: ast.MatrixSelector,
        flat: Flat,
        win: Windows,
        refs: IntArray,
        result: tuple[list[Labels], FloatArray, BoolArray],
    ) -> tuple[list[Labels], FloatArray, BoolArray]:
        """Answer the part of each window before the first raw sample of the selection (where raw
        samples have aged out) from the 5-minute rollups (store/query/rollup.py), adding the raw
        samples after it; a warning says so when any window was."""
        labels, values, present = result
        count = win.count
        if not isinstance(self.store, RollupReader):
            return result
        earliest, latest = int(refs.min()), int(refs.max())
        horizon = int(flat.ts.min()) if flat.ts.size else None
        if horizon is not None and horizon < earliest - arg.range_ms + BUCKET_MS:
            return result  # no whole bucket fits before the first raw sample in any window
        todo = self._select(arg.selector)
        until = latest if horizon is None else min(latest, horizon)
        rollups = self.store.read_rollup([sid for sid, _ in todo], "5m", earliest - arg.range_ms, until)
        row = {lb: i for i, lb in enumerate(labels)}
        extra: list[tuple[FloatArray, BoolArray]] = []
        filled_until = -1
        for sid, lb in todo:
            data = rollups.get(sid)
            if data is None:
                continue
            totals = bucket_totals(data, refs, arg.range_ms, horizon)
            if not totals.has.any():
                continue
            filled_until = max(filled_until, int(refs[totals.has].max()))
            i = row.get(lb)
            raw_count = count[i].astype(np.float64) if i is not None else np.zeros(refs.size)
            raw_value = values[i] if i is not None else np.zeros(refs.size)
            combined = np.where(totals.has, combine(func, totals, raw_count, raw_value), raw_value)
            if i is not None:
                values[i] = combined
                present[i] |= totals.has
            else:
                labels.append(lb)
                extra.append((combined, totals.has))
        if filled_until < 0:
            return result
        when = datetime.fromtimestamp(filled_until / 1000, tz=UTC).isoformat()
        self.warnings.append(ROLLUP_WARNING.format(when=when, func=func))
        if extra:
            values = np.vstack([values.reshape(-1, refs.size), *(v[None, :] for v, _ in extra)])
            present = np.vstack([present.reshape(-1, refs.size), *(p[None, :] for _, p in extra)])
        return labels, values, present


def _go_div(a: int, b: int) -> int:
    """Go's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _window_series(flat: Flat, win: Windows) -> list[RangeSeries]:
    """A range vector at one step (an instant query of `x[5m]` or of a subquery)."""
    out: list[RangeSeries] = []
    for i, labels in enumerate(flat.labels):
        lo, hi = int(win.lo[i, 0]), int(win.hi[i, 0])
        if hi > lo:
            out.append(RangeSeries(labels, flat.ts[lo:hi], flat.values[lo:hi]))
    return out


def _absent_labels(arg: ast.Expr) -> Labels:
    """absent()'s labels: those of equality matchers, except names matched more than once."""
    sel = arg.selector if isinstance(arg, ast.MatrixSelector) else arg
    if not isinstance(sel, ast.VectorSelector):
        return Labels()
    pairs: dict[str, str] = {}
    drop: set[str] = set()
    for m in sel.matchers:
        if m.name == NAME:
            continue
        if m.op is MatchOp.EQ and m.name not in pairs:
            pairs[m.name] = m.value
        else:
            drop.add(m.name)
    return Labels({k: v for k, v in pairs.items() if k not in drop})


def merge(vec: Vec, *, whole_range: bool = False) -> Vec:
    """Series with the same labels become one; two with the same labels at the same step (anywhere,
    with `whole_range`) is Prometheus' "vector cannot contain metrics with the same labelset"."""
    seen: dict[Labels, int] = {}
    for i, s in enumerate(vec):
        seen.setdefault(s.labels, i)
    if len(seen) == len(vec):
        return vec
    if whole_range:
        raise QueryError("vector cannot contain metrics with the same labelset", error_type="execution")
    out: dict[Labels, StepSeries] = {}
    for s in vec:
        have = out.get(s.labels)
        if have is None:
            out[s.labels] = StepSeries(s.labels, s.values.copy(), s.present.copy())
            continue
        if (have.present & s.present).any():
            raise QueryError("vector cannot contain metrics with the same labelset", error_type="execution")
        have.values = np.where(s.present, s.values, have.values)
        have.present |= s.present
    return list(out.values())


def _parse_le(text: str) -> float | None:
    """Go's strconv.ParseFloat for the `le` label (no digit separators), None when it fails."""
    if "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def histogram_quantile(q: FloatArray, vec: Vec) -> Vec:
    groups: dict[Labels, list[tuple[float, StepSeries]]] = {}
    for s in vec:
        le = _parse_le(s.labels.get("le", ""))
        if le is None:
            continue
        groups.setdefault(s.labels.without("le"), []).append((le, s))
    out: Vec = []
    for key, members in groups.items():
        steps = q.size
        values = np.zeros(steps)
        present = np.zeros(steps, dtype=bool)
        for j in range(steps):
            buckets = [(le, float(s.values[j])) for le, s in members if s.present[j]]
            if buckets:
                values[j] = bucket_quantile(float(q[j]), buckets)
                present[j] = True
        out.append(StepSeries(drop_name(key), values, present))
    return out
