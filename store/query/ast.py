"""The evaluator's own syntax tree: small frozen dataclasses for the supported PromQL subset.

`store/query/parse.py` builds it from the `promql-parser` package's tree and rejects anything outside
the subset, so the evaluator only ever sees what it supports. Durations and times are milliseconds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from store.index import Matcher

__all__ = [
    "AT_END",
    "AT_START",
    "Aggregate",
    "At",
    "Binary",
    "Call",
    "Cardinality",
    "Expr",
    "Grouping",
    "MatrixSelector",
    "NumberLiteral",
    "StringLiteral",
    "Subquery",
    "Unary",
    "ValueType",
    "VectorMatching",
    "VectorSelector",
]


class ValueType(enum.Enum):
    SCALAR = "scalar"
    VECTOR = "vector"
    MATRIX = "matrix"
    STRING = "string"


AT_START = "start"
AT_END = "end"


@dataclass(frozen=True, slots=True)
class At:
    """The `@` modifier: a fixed time (ms) or `start()` / `end()` of the query."""

    ms: int | None = None
    special: str | None = None  # AT_START or AT_END


@dataclass(frozen=True, slots=True)
class VectorSelector:
    """`name{matchers} offset d @ t`. `matchers` includes the `__name__` matcher of the name."""

    name: str | None
    matchers: tuple[Matcher, ...]
    offset_ms: int = 0
    at: At | None = None
    position: int = 0

    @property
    def type(self) -> ValueType:
        return ValueType.VECTOR


@dataclass(frozen=True, slots=True)
class MatrixSelector:
    """`selector[range]`."""

    selector: VectorSelector
    range_ms: int

    @property
    def type(self) -> ValueType:
        return ValueType.MATRIX


@dataclass(frozen=True, slots=True)
class Subquery:
    """`expr[range:step] offset d @ t`; `step_ms` None means the query's step (default resolution)."""

    expr: Expr
    range_ms: int
    step_ms: int | None
    offset_ms: int = 0
    at: At | None = None

    @property
    def type(self) -> ValueType:
        return ValueType.MATRIX


@dataclass(frozen=True, slots=True)
class NumberLiteral:
    value: float

    @property
    def type(self) -> ValueType:
        return ValueType.SCALAR


@dataclass(frozen=True, slots=True)
class StringLiteral:
    value: str

    @property
    def type(self) -> ValueType:
        return ValueType.STRING


@dataclass(frozen=True, slots=True)
class Call:
    """A function call; `args` as written (parentheses removed)."""

    func: str
    args: tuple[Expr, ...]
    return_type: ValueType

    @property
    def type(self) -> ValueType:
        return self.return_type


@dataclass(frozen=True, slots=True)
class Grouping:
    """`by (labels)` (without=False) or `without (labels)`; no clause is `by ()`."""

    labels: tuple[str, ...] = ()
    without: bool = False


@dataclass(frozen=True, slots=True)
class Aggregate:
    op: str
    expr: Expr
    param: Expr | None
    grouping: Grouping

    @property
    def type(self) -> ValueType:
        return ValueType.VECTOR


class Cardinality(enum.Enum):
    ONE_TO_ONE = "one-to-one"
    MANY_TO_ONE = "many-to-one"
    ONE_TO_MANY = "one-to-many"
    MANY_TO_MANY = "many-to-many"


@dataclass(frozen=True, slots=True)
class VectorMatching:
    """`on (labels)` (on=True) or `ignoring (labels)`; `include`: the labels of group_left/right."""

    card: Cardinality = Cardinality.ONE_TO_ONE
    on: bool = False
    labels: tuple[str, ...] = ()
    include: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    lhs: Expr
    rhs: Expr
    matching: VectorMatching
    return_bool: bool = False

    @property
    def type(self) -> ValueType:
        if self.lhs.type is ValueType.SCALAR and self.rhs.type is ValueType.SCALAR:
            return ValueType.SCALAR
        return ValueType.VECTOR


@dataclass(frozen=True, slots=True)
class Unary:
    """Unary minus (unary plus is dropped by the parser)."""

    expr: Expr

    @property
    def type(self) -> ValueType:
        return self.expr.type


Expr = VectorSelector | MatrixSelector | Subquery | NumberLiteral | StringLiteral | Call | Aggregate | Binary | Unary
