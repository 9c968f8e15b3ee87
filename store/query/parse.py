"""PromQL text -> our syntax tree (store/query/ast.py), rejecting what the evaluator does not support.

The grammar is the `promql-parser` package's (a binding of a complete PromQL parser). Its errors
become `QueryError(error_type="bad_data")` with its message. Its tree carries no source positions, so
the position of an unsupported construct is found by searching the expression text for it (the first
occurrence of the function name followed by `(`, of the operator, ...); it is the 0-based character
offset of that occurrence, or 0 when the text cannot be found.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import promql_parser as pp

from store.index import Matcher, MatchOp
from store.query import ast
from store.query.result import QueryError

__all__ = ["AGGREGATIONS", "FUNCTIONS", "check", "parse"]

_V, _S, _M, _STR = ast.ValueType.VECTOR, ast.ValueType.SCALAR, ast.ValueType.MATRIX, ast.ValueType.STRING

FUNCTIONS: dict[str, ast.ValueType] = {
    **dict.fromkeys(
        (
            "rate",
            "irate",
            "increase",
            "delta",
            "idelta",
            "deriv",
            "changes",
            "resets",
            "avg_over_time",
            "min_over_time",
            "max_over_time",
            "sum_over_time",
            "count_over_time",
            "last_over_time",
            "quantile_over_time",
            "stddev_over_time",
            "stdvar_over_time",
            "absent",
            "absent_over_time",
            "present_over_time",
            "timestamp",
            "vector",
            "abs",
            "ceil",
            "floor",
            "round",
            "clamp",
            "clamp_min",
            "clamp_max",
            "label_replace",
            "label_join",
            "histogram_quantile",
            "predict_linear",
            "sort",
            "sort_desc",
        ),
        _V,
    ),
    "time": _S,
    "scalar": _S,
}
"""Supported functions and what they return."""

AGGREGATIONS = frozenset(
    ("sum", "avg", "min", "max", "count", "count_values", "group", "stddev", "stdvar", "topk", "bottomk", "quantile")
)

_PROMETHEUS_FUNCTIONS = frozenset(
    [
        "abs",
        "absent",
        "absent_over_time",
        "acos",
        "acosh",
        "asin",
        "asinh",
        "atan",
        "atanh",
        "avg_over_time",
        "ceil",
        "changes",
        "clamp",
        "clamp_max",
        "clamp_min",
        "cos",
        "cosh",
        "count_over_time",
        "days_in_month",
        "day_of_month",
        "day_of_week",
        "day_of_year",
        "deg",
        "delta",
        "deriv",
        "exp",
        "floor",
        "histogram_count",
        "histogram_sum",
        "histogram_fraction",
        "histogram_quantile",
        "holt_winters",
        "hour",
        "idelta",
        "increase",
        "irate",
        "label_replace",
        "label_join",
        "last_over_time",
        "ln",
        "log10",
        "log2",
        "max_over_time",
        "min_over_time",
        "minute",
        "month",
        "pi",
        "predict_linear",
        "present_over_time",
        "quantile_over_time",
        "rad",
        "rate",
        "resets",
        "round",
        "scalar",
        "sgn",
        "sin",
        "sinh",
        "sort",
        "sort_desc",
        "sqrt",
        "stddev_over_time",
        "stdvar_over_time",
        "sum_over_time",
        "tan",
        "tanh",
        "time",
        "timestamp",
        "vector",
        "year",
    ]
)
_UNKNOWN_FUNCTION = re.compile(r"unknown function with name '([^']*)'")
_BINARY_OPS = frozenset(
    ("+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless")
)


def _match_op(op: pp.MatchOp) -> MatchOp:
    # The binding's enums compare equal but are not hashable.
    table = (
        (pp.MatchOp.Equal, MatchOp.EQ),
        (pp.MatchOp.NotEqual, MatchOp.NE),
        (pp.MatchOp.Re, MatchOp.RE),
        (pp.MatchOp.NotRe, MatchOp.NRE),
    )
    return next(ours for theirs, ours in table if op == theirs)


def _cardinality(card: pp.VectorMatchCardinality) -> ast.Cardinality:
    table = (
        (pp.VectorMatchCardinality.OneToOne, ast.Cardinality.ONE_TO_ONE),
        (pp.VectorMatchCardinality.ManyToOne, ast.Cardinality.MANY_TO_ONE),
        (pp.VectorMatchCardinality.OneToMany, ast.Cardinality.ONE_TO_MANY),
        (pp.VectorMatchCardinality.ManyToMany, ast.Cardinality.MANY_TO_MANY),
    )
    return next(ours for theirs, ours in table if card == theirs)


def parse(expr: str) -> ast.Expr:
    """The syntax tree of `expr`. Raises QueryError(bad_data) for a syntax error or anything outside
    the supported subset (the message names the function or construct and its position)."""
    try:
        tree = pp.parse(expr)
    except ValueError as exc:
        message = str(exc)
        unknown = _UNKNOWN_FUNCTION.search(message)
        if unknown and unknown.group(1) in _PROMETHEUS_FUNCTIONS:
            raise _unsupported_function(expr, unknown.group(1)) from None
        raise QueryError(f"parse error: {message}", error_type="bad_data") from exc
    return _Converter(expr).convert(tree)


def check(expr: str) -> None:
    """Raise QueryError(bad_data) when `expr` would not parse or is outside the subset (rule files)."""
    parse(expr)


def _position(text: str, pattern: str) -> int:
    found = re.search(pattern, text)
    return found.start() if found else 0


def _unsupported_function(text: str, name: str) -> QueryError:
    pos = _position(text, rf"\b{re.escape(name)}\s*\(")
    supported = ", ".join(sorted(FUNCTIONS))
    return QueryError(f'unsupported function "{name}" at position {pos} (supported: {supported})', position=pos)


def _unsupported(text: str, construct: str, pattern: str) -> QueryError:
    pos = _position(text, pattern)
    return QueryError(f"unsupported {construct} at position {pos}", position=pos)


def _ms(delta: timedelta | None) -> int:
    if delta is None:
        return 0
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _at(at: pp.AtModifier | None) -> ast.At | None:
    if at is None:
        return None
    if at.type == pp.AtModifierType.Start:
        return ast.At(special=ast.AT_START)
    if at.type == pp.AtModifierType.End:
        return ast.At(special=ast.AT_END)
    moment: datetime | None = at.at
    assert moment is not None
    return ast.At(ms=round(moment.timestamp() * 1000))


class _Converter:
    def __init__(self, text: str) -> None:
        self.text = text

    def convert(self, node: object) -> ast.Expr:  # noqa: PLR0911
        if isinstance(node, pp.ParenExpr):
            return self.convert(node.expr)
        if isinstance(node, pp.NumberLiteral):
            return ast.NumberLiteral(float(node.val))
        if isinstance(node, pp.StringLiteral):
            return ast.StringLiteral(node.val)
        if isinstance(node, pp.VectorSelector):
            return self.selector(node)
        if isinstance(node, pp.MatrixSelector):
            return ast.MatrixSelector(self.selector(node.vector_selector), _ms(node.range))
        if isinstance(node, pp.SubqueryExpr):
            step = _ms(node.step) if node.step is not None else None
            return ast.Subquery(self.convert(node.expr), _ms(node.range), step, _ms(node.offset), _at(node.at))
        if isinstance(node, pp.UnaryExpr):
            return ast.Unary(self.convert(node.expr))
        if isinstance(node, pp.Call):
            return self.call(node)
        if isinstance(node, pp.AggregateExpr):
            return self.aggregate(node)
        if isinstance(node, pp.BinaryExpr):
            return self.binary(node)
        raise _unsupported(self.text, f"expression {type(node).__name__}", r"$^")

    def selector(self, node: pp.VectorSelector) -> ast.VectorSelector:
        if node.matchers.or_matchers:
            raise _unsupported(self.text, 'construct "or" in label matchers', r"\bor\b")
        matchers: list[Matcher] = []
        if node.name is not None:
            matchers.append(Matcher("__name__", MatchOp.EQ, node.name))
        for m in node.matchers.matchers:
            try:
                matchers.append(Matcher(m.name, _match_op(m.op), m.value))
            except ValueError as exc:
                raise QueryError(f"parse error: {exc}") from exc
        name = node.name or next((m.value for m in matchers if m.name == "__name__" and m.op is MatchOp.EQ), None)
        pos = _position(self.text, rf"\b{re.escape(node.name)}\b") if node.name else _position(self.text, r"\{")
        return ast.VectorSelector(name, tuple(matchers), _ms(node.offset), _at(node.at), pos)

    def call(self, node: pp.Call) -> ast.Call:
        name = node.func.name
        if name not in FUNCTIONS:
            raise _unsupported_function(self.text, name)
        args = tuple(self.convert(a) for a in node.args)
        return ast.Call(name, args, FUNCTIONS[name])

    def aggregate(self, node: pp.AggregateExpr) -> ast.Aggregate:
        op = str(node.op)
        if op not in AGGREGATIONS:
            pos = _position(self.text, rf"\b{re.escape(op)}\b")
            supported = ", ".join(sorted(AGGREGATIONS))
            raise QueryError(f'unsupported aggregation "{op}" at position {pos} (supported: {supported})', position=pos)
        grouping = ast.Grouping()
        if node.modifier is not None:
            without = node.modifier.type == pp.AggModifierType.Without
            grouping = ast.Grouping(tuple(node.modifier.labels), without)
        param = self.convert(node.param) if node.param is not None else None
        return ast.Aggregate(op, self.convert(node.expr), param, grouping)

    def binary(self, node: pp.BinaryExpr) -> ast.Binary:
        op = str(node.op)
        if op not in _BINARY_OPS:
            raise _unsupported(self.text, f'operator "{op}"', re.escape(op))
        matching = ast.VectorMatching()
        return_bool = False
        mod = node.modifier
        if mod is not None:
            fill = mod.fill_values
            if fill is not None and (fill.lhs is not None or fill.rhs is not None):
                raise _unsupported(self.text, 'modifier "fill"', r"\bfill\w*\s*\(")
            return_bool = bool(mod.return_bool)
            card = _cardinality(mod.card)
            on, labels = False, tuple[str, ...]()
            if mod.matching is not None:
                on = mod.matching.type == pp.LabelModifierType.Include
                labels = tuple(mod.matching.labels)
            matching = ast.VectorMatching(card, on, labels, tuple(mod.group_labels or ()))
        if op in ("and", "or", "unless"):
            matching = ast.VectorMatching(ast.Cardinality.MANY_TO_MANY, matching.on, matching.labels)
        return ast.Binary(op, self.convert(node.lhs), self.convert(node.rhs), matching, return_bool)
