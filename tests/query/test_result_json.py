"""`QueryResult.to_json_text()` is exactly the compact JSON of `to_json()`: the API sends the first."""

from __future__ import annotations

import json
import math

import pytest

from model import Labels
from store.query.result import InstantSample, QueryResult, RangeSeries

LABELS = [Labels(__name__="up", target="東日本-01"), Labels(job='a"b\\c'), Labels()]
VALUES = [1.0, 0.1, 1e-7, 123456789012345678.0, -0.0, math.nan, math.inf, -math.inf, 2.5e21]

RESULTS = [
    QueryResult(
        "vector", vector=tuple(InstantSample(lb, 1700000000.123, v) for lb, v in zip(LABELS, VALUES, strict=False))
    ),
    QueryResult("vector"),
    QueryResult(
        "matrix",
        matrix=tuple(
            RangeSeries(lb, tuple((1700000000 + 15 * i + 0.5 * (i % 2), v) for i, v in enumerate(VALUES)))
            for lb in LABELS
        ),
    ),
    QueryResult("scalar", scalar=(1700000000.0, 3.5)),
    QueryResult("string", string=(1700000000.25, "文字列")),
]


@pytest.mark.parametrize("result", RESULTS, ids=["vector", "empty", "matrix", "scalar", "string"])
def test_json_text_is_the_compact_dump_of_to_json(result: QueryResult) -> None:
    assert result.to_json_text() == json.dumps(result.to_json(), ensure_ascii=False, separators=(",", ":"))
