"""Query results as text, the way `promtool query` prints them (Prometheus client_golang's
`model.Value` strings), for `run_console.py query`:

    vector:  up{site="dc-east", target="h1"} => 1 @[1700000000.123]   (one line per sample; none: "")
    matrix:  up{target="h1"} =>                                      (series sorted as promtool sorts)
             1 @[1700000000]
             0 @[1700000015]
    scalar:  scalar: 2 @[1700000000]
    string:  hello @[1700000000]

Labels are sorted by name, `__name__` written in front, values quoted as Go's `%q` quotes them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from dashboards.api_params import go_quote

__all__ = ["result_text"]


def result_text(data: Mapping[str, Any]) -> str:
    """The text of an API `data` object ({"resultType", "result"}), ending in a newline."""
    kind, result = data["resultType"], data["result"]
    if kind == "vector":
        lines = [f"{_metric(s['metric'])} => {_pair(s['value'])}" for s in result]
    elif kind == "matrix":
        ordered: list[Any] = sorted(result, key=functools.cmp_to_key(_compare_series))
        lines = [f"{_metric(s['metric'])} =>\n" + "\n".join(_pair(point) for point in s["values"]) for s in ordered]
    elif kind == "scalar":
        lines = [f"scalar: {_pair(result)}"]
    else:
        lines = [f"{result[1]} @[{_number(result[0])}]"]
    return "\n".join(lines) + "\n"


def _pair(point: Sequence[Any]) -> str:
    return f"{point[1]} @[{_number(point[0])}]"


def _number(t: float) -> str:
    text = repr(float(t))
    return text[:-2] if text.endswith(".0") else text


def _metric(labels: Mapping[str, str]) -> str:
    name = labels.get("__name__", "")
    pairs = [f"{k}={go_quote(v)}" for k, v in sorted(labels.items()) if k != "__name__"]
    if not pairs:
        return name or "{}"
    return f"{name}{{{', '.join(pairs)}}}"


def _compare_series(a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    return _compare(a["metric"], b["metric"])


def _compare(a: Mapping[str, str], b: Mapping[str, str]) -> int:
    """client_golang's `LabelSet.Before`: fewer labels first, then value by value in name order."""
    if len(a) != len(b):
        return -1 if len(a) < len(b) else 1
    for name in sorted({*a, *b}):
        if name not in a:
            return -1
        if name not in b:
            return 1
        if a[name] != b[name]:
            return -1 if a[name] < b[name] else 1
    return 0
