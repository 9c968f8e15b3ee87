"""The console's PromQL engine against a real Prometheus 2.42 holding the same samples (issue 5).

Every expression of tests/query/corpus.py is evaluated by both, as instant queries at
`datasets.INSTANTS` and range queries over `datasets.RANGES`, one test per expression so a failure
names the construct. They agree when: both succeed with the same result type, the same series (label
sets including `__name__` where kept), the same point times and values equal to 1e-9 relative (NaN
equals NaN, infinities equal by sign; 1e-12 absolute for values that should be zero), in the same
order where the order means something (instant results of sort, sort_desc, topk, bottomk: compared as
the sequence of values, since Prometheus leaves ties in any order); or both refuse the expression with
the same error type. Prometheus is asked through its HTTP API; the engine in-process, its
`QueryResult.to_json()` read like Prometheus' `data`.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from store.query import is_stale
from store.query.engine import QueryEngine
from tests.query import corpus, datasets
from tests.query.conftest import Twin
from tests.query.prometheus import Answer

pytestmark = pytest.mark.slow

REL_TOL = 1e-9
ABS_TOL = 1e-12
MAX_PROBLEMS = 6

Series = tuple[tuple[tuple[str, str], ...], tuple[tuple[float, float], ...]]


@pytest.fixture(scope="session")
def engine(twin: Twin) -> QueryEngine:
    return QueryEngine(twin.store, lookback_delta=300.0)


# -- the harness against Prometheus alone -------------------------------------------------------
def test_corpus_is_big_and_unique() -> None:
    assert len(corpus.CORPUS) >= 200
    assert len(set(corpus.CORPUS)) == len(corpus.CORPUS)


def test_corpus_uses_every_function_aggregation_operator_and_modifier() -> None:
    text = "\n".join(corpus.CORPUS)
    missing = [f for f in corpus.FUNCTIONS if not re.search(rf"\b{f}\s*(\(|by|without)", text)]
    tokens = [" + ", " - ", " * ", " / ", " % ", " ^ ", " == ", " != ", " > ", " < ", " >= ", " <= "]
    tokens += [" and ", " or ", " unless ", "on(", "ignoring(", "group_left", "group_right", " bool "]
    tokens += [" offset ", " @ ", "start()", "end()", ":1m]", ":]", "=~", "!~", "!=", " by ", " without "]
    missing += [t for t in tokens if t not in text]
    assert missing == []


def test_prometheus_holds_every_sample_written(twin: Twin) -> None:
    """Stale markers are not samples to count_over_time; per metric name, since the functions drop it."""
    end = twin.start + datasets.SPAN
    for name in sorted({s.name for s in twin.samples}):
        mine = [s for s in twin.samples if s.name == name]
        fresh = sum(1 for s in mine if not is_stale(s.value))
        series = len({s.labels for s in mine})
        expr = f"sum(count_over_time({name}[1h])) + count(last_over_time({name}[1h])) * 1e6"
        answer = twin.prometheus.query(expr, end)
        assert answer.data is not None, answer
        assert float(answer.data["result"][0]["value"][1]) == fresh + series * 1e6, name


def test_store_holds_every_sample_written_bit_for_bit(twin: Twin) -> None:
    """Stale markers and NaNs included: the engine sees exactly what Prometheus was sent."""
    assert twin.registry.get_sample_value("store_samples_ingested_total") == len(twin.samples)
    written: dict[tuple[str, object], list[tuple[int, bytes]]] = {}
    for s in twin.samples:
        written.setdefault((s.name, s.labels), []).append((round(s.ts * 1000), struct.pack("<d", s.value)))
    refs = twin.store.select([])
    assert len(refs) == len(written)
    start_ms, end_ms = int(twin.start * 1000), int((twin.start + datasets.SPAN) * 1000)
    data = twin.store.read_range([r.id for r in refs], start_ms, end_ms)
    for ref in refs:
        got = data[ref.id]
        stored = [(int(t), struct.pack("<d", float(v))) for t, v in zip(got.ts, got.values, strict=True)]
        assert stored == written[(ref.name, ref.labels)], ref


def test_prometheus_refuses_exactly_the_error_corpus(twin: Twin) -> None:
    at = twin.start + datasets.INSTANTS[0]
    wrong = []
    for expr in corpus.CORPUS:
        answer = twin.prometheus.query(corpus.expand(expr, twin.start), at)
        if (answer.error_type is not None) != (expr in corpus.ERRORS):
            wrong.append(f"{expr}: {answer.error_type} {answer.error}")
    assert wrong == []


# -- the differential test -------------------------------------------------------------------------
@pytest.mark.parametrize("expr", [pytest.param(e, id=e) for e in corpus.CORPUS])
def test_engine_agrees_with_prometheus(expr: str, twin: Twin, engine: QueryEngine) -> None:
    text = corpus.expand(expr, twin.start)
    ordered = expr.startswith(corpus.ORDERED_PREFIXES)
    problems: list[str] = []
    for offset in datasets.INSTANTS:
        at = twin.start + offset
        theirs = twin.prometheus.query(text, at)
        ours = _ours(partial(engine.instant, text, at))
        problems += [f"instant at start+{offset:g}: {p}" for p in compare(ours, theirs, ordered=ordered)]
    for lo, hi, step in datasets.RANGES:
        theirs = twin.prometheus.query_range(text, twin.start + lo, twin.start + hi, step)
        ours = _ours(partial(engine.range, text, twin.start + lo, twin.start + hi, step))
        problems += [f"range start+{lo:g}..{hi:g} step {step:g}: {p}" for p in compare(ours, theirs, ordered=False)]
    if problems:
        shown = "\n  ".join(problems[:MAX_PROBLEMS])
        more = f"\n  ... and {len(problems) - MAX_PROBLEMS} more" if len(problems) > MAX_PROBLEMS else ""
        pytest.fail(f"{expr}\n  {shown}{more}", pytrace=False)


def _ours(call: Callable[[], Any]) -> Answer:
    """The engine's answer in the API's shape; QueryError as its error type; anything else a crash."""
    from store.query.result import QueryError

    try:
        result = call()
    except QueryError as exc:
        return Answer(error_type=exc.error_type, error=str(exc))
    except Exception as exc:
        return Answer(error_type="crash", error=f"{type(exc).__name__}: {exc}")
    return Answer(data=result.to_json())


# -- comparing two answers -----------------------------------------------------------------------
def compare(ours: Answer, theirs: Answer, *, ordered: bool) -> list[str]:
    """What differs between the engine's answer and Prometheus' (empty when they agree)."""
    if ours.error_type is not None or theirs.error_type is not None:
        if ours.error_type == theirs.error_type:
            return []
        return [f"ours {_brief(ours)} | prometheus {_brief(theirs)}"]
    assert ours.data is not None and theirs.data is not None
    if ours.data["resultType"] != theirs.data["resultType"]:
        return [f"result type ours {ours.data['resultType']}, prometheus {theirs.data['resultType']}"]
    mine, other = _series(ours.data), _series(theirs.data)
    problems = []
    if len({labels for labels, _ in mine}) != len(mine):
        problems.append("ours has two series with the same labels")
    if ordered:
        values, expected = [p[0][1] for _, p in mine if p], [p[0][1] for _, p in other if p]
        if len(values) != len(expected) or not all(map(_close, values, expected)):
            problems.append(f"order differs: ours {values}, prometheus {expected}")
    by_labels = dict(mine)
    for labels, points in other:
        if labels not in by_labels:
            problems.append(f"missing {_labels(labels)} = {_points(points)}")
            continue
        problem = _compare_points(by_labels.pop(labels), points)
        if problem:
            problems.append(f"{_labels(labels)}: {problem}")
    problems += [f"extra {_labels(labels)} = {_points(points)}" for labels, points in by_labels.items()]
    return problems


def _series(data: dict[str, Any]) -> list[Series]:
    kind, result = data["resultType"], data["result"]
    if kind in {"scalar", "string"}:
        value = float(result[1]) if kind == "scalar" else math.nan
        return [((), ((float(result[0]), value),))]
    out = []
    for item in result:
        labels = tuple(sorted(item["metric"].items()))
        raw = [item["value"]] if kind == "vector" else item["values"]
        out.append((labels, tuple((float(t), float(v)) for t, v in raw)))
    return out


def _compare_points(ours: tuple[tuple[float, float], ...], theirs: tuple[tuple[float, float], ...]) -> str:
    if [t for t, _ in ours] != [t for t, _ in theirs]:
        return f"times differ: ours {_points(ours)}, prometheus {_points(theirs)}"
    for (t, mine), (_, other) in zip(ours, theirs, strict=True):
        if not _close(mine, other):
            return f"at {t:.3f} ours {mine!r}, prometheus {other!r} ({len(ours)} points)"
    return ""


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _brief(answer: Answer) -> str:
    if answer.error_type is not None:
        return f"error {answer.error_type}: {(answer.error or '')[:160]}"
    assert answer.data is not None
    series = _series(answer.data)
    shown = "; ".join(f"{_labels(labels)} = {_points(points)}" for labels, points in series[:3])
    return f"{answer.data['resultType']} of {len(series)}: {shown}"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in labels) + "}"


def _points(points: tuple[tuple[float, float], ...]) -> str:
    shown = ", ".join(f"{t:.3f}:{v!r}" for t, v in points[:4])
    return f"[{shown}{', ...' if len(points) > 4 else ''}] ({len(points)} points)"
