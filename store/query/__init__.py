"""PromQL over the store: the parser front (a documented subset), the evaluator and the facade.

`QueryEngine(store).instant(expr, at)` / `.range(expr, start, end, step)` answer what Prometheus
2.42 answers for the same data (see docs/promql.md); `check(expr)` validates rule expressions.
"""

from store.query.engine import QueryEngine
from store.query.evaluator import Queryable
from store.query.parse import check, parse
from store.query.result import InstantSample, QueryError, QueryResult, RangeSeries, format_value
from store.query.values import STALE_NAN, is_stale

__all__ = [
    "STALE_NAN",
    "InstantSample",
    "QueryEngine",
    "QueryError",
    "QueryResult",
    "Queryable",
    "RangeSeries",
    "check",
    "format_value",
    "is_stale",
    "parse",
]
