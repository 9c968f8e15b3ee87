"""The query facade: PromQL text in, `QueryResult` out, over anything `Queryable` (the Store).

Times are seconds (float) here and integer milliseconds inside (`round(t * 1000)`), as Prometheus
is millisecond-precise. See docs/promql.md for the supported subset and the limits.
"""

from __future__ import annotations

import math

import numpy as np

from model import Labels
from store.query import ast
from store.query.evaluator import Evaluator, Queryable, SelectionCache, Value
from store.query.parse import parse
from store.query.result import InstantSample, QueryError, QueryResult, RangeSeries
from store.query.values import RangeSeries as RawSeries
from store.query.values import StepSeries, Vec

__all__ = ["QueryEngine"]

MAX_POINTS_MESSAGE = (
    "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"
)


class QueryEngine:
    """Instant and range queries with Prometheus 2.42's semantics (lookback delta, staleness,
    extrapolation, matching). Thread-safe: every query gets its own evaluator; the only shared state
    is a cache of series label sets (series ids and labels never change in the store)."""

    def __init__(
        self,
        store: Queryable,
        *,
        lookback_delta: float = 300.0,
        max_samples: int = 50_000_000,
        max_points_per_series: int = 11_000,
        max_series: int = 100_000,
        subquery_step: float = 60.0,
    ) -> None:
        """`lookback_delta` (seconds) is how far back an instant selector looks for a sample;
        `subquery_step` (seconds) is the step of `expr[5m:]` (Prometheus' evaluation_interval)."""
        self._store = store
        self._lookback_ms = round(lookback_delta * 1000)
        self._max_samples = max_samples
        self._max_points = max_points_per_series
        self._max_series = max_series
        self._subquery_step_ms = round(subquery_step * 1000)
        self._labels: dict[int, Labels] = {}
        self._selections: SelectionCache = {}

    def instant(self, expr: str, at: float) -> QueryResult:
        """Evaluate `expr` at `at` (seconds). Raises QueryError (bad_data: parse or subset error;
        execution: evaluation error or a limit)."""
        tree = parse(expr)
        t = round(at * 1000)
        value, warnings = self._evaluate(tree, t, t, np.array([t], dtype=np.int64))
        seconds = t / 1000
        if isinstance(value, str):
            return QueryResult("string", string=(seconds, value), warnings=warnings)
        if isinstance(value, np.ndarray):
            return QueryResult("scalar", scalar=(seconds, float(value[0])), warnings=warnings)
        if tree.type is ast.ValueType.MATRIX:
            raw = [s for s in value if isinstance(s, RawSeries)]
            matrix = [
                RangeSeries(s.labels, tuple(zip((s.ts / 1000).tolist(), s.values.tolist(), strict=True))) for s in raw
            ]
            matrix.sort(key=lambda s: s.labels.pairs)
            return QueryResult("matrix", matrix=tuple(matrix), warnings=warnings)
        vec: Vec = value  # type: ignore[assignment]
        kept = [s for s in vec if s.present[0]]
        numbers = np.array([s.values[0] for s in kept], dtype=np.float64).tolist()
        samples = [InstantSample(s.labels, seconds, v) for s, v in zip(kept, numbers, strict=True)]
        return QueryResult("vector", vector=tuple(_order(tree, samples)), warnings=warnings)

    def range(self, expr: str, start: float, end: float, step: float) -> QueryResult:
        """Evaluate `expr` at start, start + step, ... up to end (seconds); a matrix. Raises
        QueryError (bad_data for a parse error, a bad step or too many points; execution otherwise)."""
        if not step > 0:
            raise QueryError("zero or negative query resolution step widths are not accepted. Try a positive integer")
        if end < start:
            raise QueryError("end timestamp must not be before start time")
        if (end - start) / step > self._max_points:
            raise QueryError(MAX_POINTS_MESSAGE)
        tree = parse(expr)
        if tree.type not in (ast.ValueType.SCALAR, ast.ValueType.VECTOR):
            raise QueryError(
                f'invalid expression type "{_type_name(tree.type)}" for range query, must be Scalar or instant Vector'
            )
        start_ms, end_ms, step_ms = round(start * 1000), round(end * 1000), round(step * 1000)
        grid = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        value, warnings = self._evaluate(tree, start_ms, end_ms, grid)
        if isinstance(value, np.ndarray):
            value = [StepSeries(Labels(), value, np.ones(grid.size, dtype=bool))]
        seconds = (grid / 1000).tolist()
        matrix = []
        for s in value:
            assert isinstance(s, StepSeries)
            idx = np.flatnonzero(s.present)
            if idx.size:
                values = s.values[idx].tolist()
                matrix.append(RangeSeries(s.labels, tuple((seconds[i], v) for i, v in zip(idx, values, strict=True))))
        matrix.sort(key=lambda s: s.labels.pairs)
        return QueryResult("matrix", matrix=tuple(matrix), warnings=warnings)

    def _evaluate(self, tree: ast.Expr, start_ms: int, end_ms: int, grid: np.ndarray) -> tuple[Value, tuple[str, ...]]:
        evaluator = Evaluator(
            self._store,
            start_ms=start_ms,
            end_ms=end_ms,
            lookback_ms=self._lookback_ms,
            subquery_step_ms=self._subquery_step_ms,
            max_samples=self._max_samples,
            max_series=self._max_series,
            label_cache=self._labels,
            selection_cache=self._selections,
        )
        with np.errstate(all="ignore"):
            return evaluator.eval(tree, grid), tuple(evaluator.warnings)


def _type_name(t: ast.ValueType) -> str:
    return {"matrix": "range vector", "vector": "instant vector"}.get(t.value, t.value)


def _order(tree: ast.Expr, samples: list[InstantSample]) -> list[InstantSample]:
    """Prometheus keeps the order sort(), sort_desc(), topk() and bottomk() give; every other
    instant vector is returned sorted by labels."""
    if isinstance(tree, ast.Call) and tree.func in ("sort", "sort_desc"):
        numbers = sorted((s for s in samples if not math.isnan(s.value)), key=lambda s: s.value)
        if tree.func == "sort_desc":
            numbers = sorted((s for s in samples if not math.isnan(s.value)), key=lambda s: -s.value)
        return numbers + [s for s in samples if math.isnan(s.value)]
    if isinstance(tree, ast.Aggregate) and tree.op in ("topk", "bottomk"):
        return samples
    return sorted(samples, key=lambda s: s.labels.pairs)
