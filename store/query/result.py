"""What a query answers, in the shape of Prometheus' HTTP API (`data` of /api/v1/query and
/api/v1/query_range), and the errors it raises.

Every part of the console that asks PromQL questions (the HTTP API, the CLI, alert rules,
dashboards, reports) gets these types from `QueryEngine` (store/query/engine.py).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from typing import Literal

from model import Labels

__all__ = [
    "ErrorType",
    "InstantSample",
    "QueryError",
    "QueryResult",
    "RangeSeries",
    "format_value",
]

ErrorType = Literal["bad_data", "execution", "timeout", "canceled", "internal", "unavailable", "not_found"]
"""Prometheus' API error types. bad_data -> HTTP 400, execution -> 422, timeout -> 503,
canceled -> 503, internal -> 500, unavailable -> 503, not_found -> 404."""


class QueryError(Exception):
    """A query that cannot be answered. `error_type` is Prometheus' (`bad_data` for a parse error or
    an unsupported construct, `execution` for an evaluation error or a limit); the message is what
    Prometheus would say where one exists, and names the position for parse and subset errors."""

    def __init__(self, message: str, *, error_type: ErrorType = "bad_data", position: int | None = None) -> None:
        super().__init__(message)
        self.error_type: ErrorType = error_type
        self.position = position
        """0-based character offset in the expression, when the error has one."""


@dataclass(frozen=True, slots=True)
class InstantSample:
    """One element of an instant vector: labels (with `__name__` where the series keeps its name),
    the evaluation time in seconds, and the value."""

    labels: Labels
    t: float
    value: float


@dataclass(frozen=True, slots=True)
class RangeSeries:
    """One series of a range result (matrix): labels and (t seconds, value) points in time order."""

    labels: Labels
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class QueryResult:
    """`result_type` "vector" (instant vector: `vector` holds it), "scalar" (`scalar` holds (t, v)),
    "string" (`string` holds (t, s)) or "matrix" (range queries and range-vector instant queries:
    `matrix`). Series are ordered as Prometheus orders them (sorted by labels unless the query sorts)."""

    result_type: Literal["vector", "scalar", "matrix", "string"]
    vector: tuple[InstantSample, ...] = ()
    matrix: tuple[RangeSeries, ...] = ()
    scalar: tuple[float, float] | None = None
    string: tuple[float, str] | None = None
    warnings: tuple[str, ...] = field(default=())

    def to_json_text(self) -> str:
        """`json.dumps(self.to_json())` (compact, UTF-8 kept), built faster: each series' `metric`
        object is encoded once per label set and remembered (the same series answer query after
        query)."""
        if self.result_type == "vector":
            items = ",".join(
                f'{{"metric":{_metric_json(s.labels)},"value":[{_json_time(s.t)},"{format_value(s.value)}"]}}'
                for s in self.vector
            )
        elif self.result_type == "matrix":
            items = ",".join(
                f'{{"metric":{_metric_json(s.labels)},"values":['
                + ",".join(f'[{_json_time(t)},"{format_value(v)}"]' for t, v in s.points)
                + "]}"
                for s in self.matrix
            )
        else:
            return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"))
        return f'{{"resultType":"{self.result_type}","result":[{items}]}}'

    def to_json(self) -> dict[str, object]:
        """The `data` object of Prometheus' API: {"resultType": ..., "result": ...}."""
        if self.result_type == "vector":
            result: object = [
                {"metric": dict(s.labels), "value": [_time(s.t), format_value(s.value)]} for s in self.vector
            ]
        elif self.result_type == "matrix":
            result = [
                {"metric": dict(s.labels), "values": [[_time(t), format_value(v)] for t, v in s.points]}
                for s in self.matrix
            ]
        elif self.result_type == "scalar":
            t, v = self.scalar or (0.0, math.nan)
            result = [_time(t), format_value(v)]
        else:
            t, text = self.string or (0.0, "")
            result = [_time(t), text]
        return {"resultType": self.result_type, "result": result}


def format_value(value: float) -> str:
    """A sample value as Prometheus' API writes it: Go's strconv.FormatFloat(v, 'f', -1, 64), with
    "NaN", "+Inf" and "-Inf"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    if "e" in text:
        text = _without_exponent(text)
    return text[:-2] if text.endswith(".0") else text


def _without_exponent(text: str) -> str:
    """Python's shortest round-tripping repr `1.25e-07` written out as `0.000000125`."""
    sign = "-" if text.startswith("-") else ""
    mantissa, exponent = text.lstrip("-").split("e")
    whole, _, fraction = mantissa.partition(".")
    digits = whole + fraction
    point = len(whole) + int(exponent)
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}".rstrip("0")
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


@functools.lru_cache(maxsize=262_144)
def _metric_json(labels: Labels) -> str:
    return json.dumps(dict(labels), ensure_ascii=False, separators=(",", ":"))


@functools.lru_cache(maxsize=65_536)
def _json_time(t: float) -> str:
    """A time as Prometheus' API writes it (the same few step times recur in every series)."""
    return repr(_time(t))


def _time(t: float) -> float | int:
    """Prometheus writes times as seconds with up to 3 decimals (a JSON number)."""
    rounded = round(t, 3)
    return int(rounded) if rounded == int(rounded) else rounded
