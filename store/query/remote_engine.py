"""PromQL passed through to a Prometheus-compatible engine (Prometheus, VictoriaMetrics) over its HTTP API.

`PrometheusEngine` answers `instant(expr, at)` and `range(expr, start, end, step)` as `QueryEngine`
does (store/query/engine.py), so alert rules, dashboards, reports and the console's own API work
unchanged when the samples live in a remote engine:

- the expression is sent as it is (`POST /api/v1/query`, `/api/v1/query_range`, form-encoded);
- the answer becomes the same `QueryResult` types: labels as `Labels` (`__name__` where the engine
  kept it), times in seconds, values as floats ("NaN", "+Inf", "-Inf" included);
- the order is the embedded engine's: series sorted by labels, except the instant vector of a query
  whose outermost operation orders it (`sort`, `sort_desc`: by value, NaN last; `topk`, `bottomk`: by
  value within each group), where equal values are ordered by labels;
- an engine error becomes `QueryError` with Prometheus' `errorType` (VictoriaMetrics writes the HTTP
  status there instead: 400 -> bad_data, 422 -> execution, 503 -> unavailable, 504 -> timeout) and
  the engine's message; an engine that cannot be reached, or answers something other than its API
  (a proxy's 401, a wrong path's 404, HTML), is `unavailable`; no answer within `timeout` is
  `timeout`. Messages name the URL without its user info and never carry a credential.

VictoriaMetrics (1.79) answers are given Prometheus' form where only the form differs: a scalar
expression's one-sample vector becomes a scalar, a string literal's empty vector a string, metric
names it keeps where Prometheus drops them (`avg_over_time`, `min_over_time`, ...) are dropped, and a
syntax error (its 422) is bad_data. Differences of substance are passed on as the engine answers
them (tests/query/test_remote_engine.py shows each): `increase` without extrapolation, windows
`(t - d, t]` where Prometheus 2.42 takes `[t - d, t]`, NaN results left out, staleness markers as
NaN points of range-vector results, and series look-ups by whole days.

The series look-ups (`series`, `label_names`, `label_values`, `metadata`) ask the engine's
/api/v1/series, /labels, /label/NAME/values and /metadata; store/query/remote_series.py puts them
behind the console API's `SeriesStore`.

Thread-safe: one `httpx.Client` (thread-safe) is shared by all callers, nothing else is mutable.
Nothing here reads the clock.
"""

from __future__ import annotations

import math
import ssl
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import promql_parser as pp

from model import Labels, Secret
from store.query.result import ErrorType, InstantSample, QueryError, QueryResult, RangeSeries

__all__ = ["PrometheusEngine"]

_ERROR_TYPES: Mapping[str, ErrorType] = {
    "bad_data": "bad_data",
    "execution": "execution",
    "timeout": "timeout",
    "canceled": "canceled",
    "internal": "internal",
    "unavailable": "unavailable",
    "not_found": "not_found",
    # VictoriaMetrics puts the HTTP status in errorType
    "400": "bad_data",
    "404": "not_found",
    "422": "execution",
    "499": "canceled",
    "500": "internal",
    "503": "unavailable",
    "504": "timeout",
}
_STATUS_ERROR_TYPES: Mapping[int, ErrorType] = {400: "bad_data", 422: "execution", 503: "unavailable"}
_SORTS = ("sort", "sort_desc")
_TOPS = ("topk", "bottomk")
_KEEP_NAME = frozenset({"last_over_time", "sort", "sort_desc", "label_replace", "label_join"})
"""The functions whose results keep the metric name in Prometheus 2.42."""
_COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})
_SET_OPERATORS = frozenset({"and", "or", "unless"})


class PrometheusEngine:
    """The query engine of a Prometheus-compatible server at `url` (e.g. `http://127.0.0.1:9090`,
    or a VictoriaMetrics cluster's `http://vmselect:8481/select/0/prometheus`).

    `headers` are sent with every request (`Authorization`, a tenant header; `Secret` values are
    revealed only into the request); user info in `url` is sent as basic auth. `timeout` (seconds)
    bounds each request. TLS: `ca_file` is the CA bundle that verifies the server (default: the
    system's), `insecure_skip_verify` turns verification off. `client` replaces the HTTP client
    (tests; its own TLS and timeout settings then apply).
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str | Secret] | None = None,
        timeout: float = 30.0,
        ca_file: str | Path | None = None,
        insecure_skip_verify: bool = False,
        client: httpx.Client | None = None,
    ) -> None:
        self._base = url.rstrip("/")
        self.shown_url = _without_user_info(self._base)
        """The URL as messages name it (no user info)."""
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._own_client = client is None
        self._client = client or httpx.Client(
            verify=_verify(ca_file, insecure_skip_verify),
            timeout=timeout,
            trust_env=False,  # never a proxy or a .netrc from the environment
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the HTTP client (when this engine made it)."""
        if self._own_client:
            self._client.close()

    def __enter__(self) -> PrometheusEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- queries ----------------------------------------------------------------------------------
    def instant(self, expr: str, at: float) -> QueryResult:
        """`expr` at `at` (Unix seconds). Raises QueryError (the engine's errorType and message;
        unavailable or timeout when it does not answer)."""
        tree = _tree(expr)
        data, warnings = self._query(tree, "query", {"query": expr, "time": _seconds(at)})
        return _order(tree, _named(tree, _typed(tree, _result(data, warnings, self.shown_url), at)))

    def range(self, expr: str, start: float, end: float, step: float) -> QueryResult:
        """`expr` at start, start + step, ... up to end (seconds): a matrix, series sorted by labels.
        Raises QueryError as `instant` does."""
        form = {"query": expr, "start": _seconds(start), "end": _seconds(end), "step": _seconds(step)}
        tree = _tree(expr)
        data, warnings = self._query(tree, "query_range", form)
        result = _result(data, warnings, self.shown_url)
        if result.result_type != "matrix":
            raise _unexpected(self.shown_url, f"a range query answered a {result.result_type}")
        return _named(tree, result)

    def _query(self, tree: pp.Expr | None, endpoint: str, form: Mapping[str, str]) -> tuple[Any, tuple[str, ...]]:
        try:
            return self._call(endpoint, form)
        except QueryError as exc:
            # VictoriaMetrics answers a syntax error as 422: what does not parse is bad_data, as in Prometheus
            if exc.error_type == "execution" and tree is None:
                raise QueryError(str(exc), error_type="bad_data") from exc
            raise

    # -- series look-ups --------------------------------------------------------------------------
    def series(self, selectors: Sequence[str], start: float | None = None, end: float | None = None) -> list[Labels]:
        """/api/v1/series: the label sets (`__name__` included) of the series matching any of the
        `selectors` with samples in [start, end] (Unix seconds; None: no bound) as the engine judges
        it (VictoriaMetrics: by whole days). Raises QueryError."""
        data, _ = self._call("series", [*(("match[]", s) for s in selectors), *_span(start, end)])
        if not isinstance(data, list):
            raise _unexpected(self.shown_url, "/api/v1/series answered no list")
        return [Labels(_str_map(item, self.shown_url)) for item in data]

    def label_names(self, selectors: Sequence[str], start: float | None = None, end: float | None = None) -> list[str]:
        """/api/v1/labels: the label names of the matching series (all series without selectors)."""
        return self._strings("labels", selectors, start, end)

    def label_values(
        self, name: str, selectors: Sequence[str], start: float | None = None, end: float | None = None
    ) -> list[str]:
        """/api/v1/label/NAME/values: the values of label `name` among the matching series."""
        return self._strings(f"label/{urllib.parse.quote(name, safe='')}/values", selectors, start, end)

    def metadata(self, name: str) -> tuple[str, str] | None:
        """/api/v1/metadata?metric=NAME: (type, help) of metric family `name` as the engine knows it
        (from scrapes; remote-written data has none), or None."""
        data, _ = self._call("metadata", [("metric", name)], method="GET")
        entries = data.get(name) if isinstance(data, dict) else None
        if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
            return None
        return str(entries[0].get("type", "")), str(entries[0].get("help", ""))

    def _strings(self, endpoint: str, selectors: Sequence[str], start: float | None, end: float | None) -> list[str]:
        params = [*(("match[]", s) for s in selectors), *_span(start, end)]
        data, _ = self._call(endpoint, params, method="GET")
        if not isinstance(data, list) or not all(isinstance(v, str) for v in data):
            raise _unexpected(self.shown_url, f"/api/v1/{endpoint} answered no list of strings")
        return sorted(data)

    # -- HTTP -------------------------------------------------------------------------------------
    def _call(
        self, endpoint: str, form: Mapping[str, str] | Sequence[tuple[str, str]], *, method: str = "POST"
    ) -> tuple[Any, tuple[str, ...]]:
        """The `data` and `warnings` of one successful API call; raises QueryError otherwise."""
        url = f"{self._base}/api/v1/{endpoint}"
        headers = {k: v.reveal() if isinstance(v, Secret) else v for k, v in self._headers.items()}
        params = list(form.items()) if isinstance(form, Mapping) else list(form)
        try:
            if method == "GET":
                response = self._client.get(url, params=tuple(params), headers=headers)
            else:
                response = self._client.post(url, data=_form(params), headers=headers)
        except httpx.ConnectTimeout as exc:
            raise self._error("unavailable", f"no connection within {self._timeout:g}s", exc) from exc
        except httpx.TimeoutException as exc:
            raise self._error("timeout", f"no answer within {self._timeout:g}s", exc) from exc
        except httpx.HTTPError as exc:
            raise self._error("unavailable", "cannot be reached", exc) from exc
        return _body(response, self.shown_url)

    def _error(self, error_type: ErrorType, what: str, exc: Exception) -> QueryError:
        """An error about the connection, its cause in words without any credential (httpx's
        messages name no URL, but a cause is never trusted to)."""
        cause = _scrub(f"{type(exc).__name__}: {exc}", self._secrets())
        return QueryError(f"query engine {self.shown_url} {what} ({cause})", error_type=error_type)

    def _secrets(self) -> list[str]:
        found = [v.reveal() if isinstance(v, Secret) else v for v in self._headers.values()]
        parts = urllib.parse.urlsplit(self._base)
        found += [p for p in (parts.username, parts.password) if p]
        return found


# -- answers ---------------------------------------------------------------------------------------
def _body(response: httpx.Response, shown: str) -> tuple[Any, tuple[str, ...]]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
        reason = f"answered HTTP {response.status_code} {response.reason_phrase} without the API's JSON"
        raise QueryError(f"query engine {shown} {reason}", error_type="unavailable")
    warnings = tuple(str(w) for w in body.get("warnings") or ())
    if body["status"] == "success":
        return body.get("data"), warnings
    error_type = _ERROR_TYPES.get(str(body.get("errorType", "")))
    if error_type is None:
        error_type = _STATUS_ERROR_TYPES.get(response.status_code, "internal")
    raise QueryError(str(body.get("error", "")), error_type=error_type)


def _result(data: Any, warnings: tuple[str, ...], shown: str) -> QueryResult:
    """Prometheus' `data` object as a `QueryResult`."""
    kind = data.get("resultType") if isinstance(data, dict) else None
    items: Any = data.get("result") if isinstance(data, dict) else None
    try:
        if kind == "vector":
            vector = tuple(
                InstantSample(Labels(s["metric"]), float(s["value"][0]), float(s["value"][1])) for s in items
            )
            return QueryResult("vector", vector=vector, warnings=warnings)
        if kind == "matrix":
            matrix = (RangeSeries(Labels(s["metric"]), _points(s["values"])) for s in items)
            return QueryResult("matrix", matrix=tuple(sorted(matrix, key=_by_labels)), warnings=warnings)
        if kind == "scalar":
            return QueryResult("scalar", scalar=(float(items[0]), float(items[1])), warnings=warnings)
        if kind == "string":
            return QueryResult("string", string=(float(items[0]), str(items[1])), warnings=warnings)
    except (TypeError, KeyError, IndexError, ValueError) as exc:
        raise _unexpected(shown, f"a malformed answer ({type(exc).__name__}: {exc})") from exc
    raise _unexpected(shown, f"an answer of unknown result type {kind!r}")


def _points(values: Sequence[Sequence[Any]]) -> tuple[tuple[float, float], ...]:
    return tuple((float(t), float(v)) for t, v in values)


def _by_labels(item: InstantSample | RangeSeries) -> tuple[tuple[str, str], ...]:
    return item.labels.pairs


def _tree(expr: str) -> pp.Expr | None:
    """The syntax tree of `expr` (the full PromQL grammar), None when it does not parse."""
    try:
        tree = pp.parse(expr)
    except ValueError:
        return None
    while isinstance(tree, pp.ParenExpr):
        tree = tree.expr
    return tree


def _typed(tree: pp.Expr | None, result: QueryResult, at: float) -> QueryResult:
    """VictoriaMetrics answers a scalar expression with a vector of one unlabelled sample and a
    string literal with an empty vector: the result Prometheus gives for them instead."""
    if result.result_type != "vector" or tree is None:
        return result
    if isinstance(tree, pp.StringLiteral):
        return QueryResult("string", string=(at, tree.val), warnings=result.warnings)
    if _is_scalar(tree) and len(result.vector) <= 1 and all(not s.labels for s in result.vector):
        value = result.vector[0].value if result.vector else math.nan
        return QueryResult("scalar", scalar=(at, value), warnings=result.warnings)
    return result


def _is_scalar(tree: pp.Expr) -> bool:
    if isinstance(tree, pp.NumberLiteral):
        return True
    if isinstance(tree, pp.ParenExpr | pp.UnaryExpr):
        return _is_scalar(tree.expr)
    if isinstance(tree, pp.Call):
        return bool(tree.func.return_type == pp.ValueType.Scalar)
    if isinstance(tree, pp.BinaryExpr):
        return _is_scalar(tree.lhs) and _is_scalar(tree.rhs)
    return False


def _named(tree: pp.Expr | None, result: QueryResult) -> QueryResult:
    """Without `__name__` when Prometheus drops it: VictoriaMetrics 1.79 keeps the metric name
    through `avg_over_time`, `min_over_time`, `max_over_time` and others."""
    if tree is None or not _drops_name(tree):
        return result
    if any("__name__" in s.labels for s in result.vector):
        vector = tuple(replace(s, labels=s.labels.without("__name__")) for s in result.vector)
        return replace(result, vector=tuple(sorted(vector, key=_by_labels)))
    if any("__name__" in s.labels for s in result.matrix):
        matrix = tuple(replace(s, labels=s.labels.without("__name__")) for s in result.matrix)
        return replace(result, matrix=tuple(sorted(matrix, key=_by_labels)))
    return result


def _drops_name(tree: pp.Expr) -> bool:
    """Whether Prometheus 2.42 answers `tree` without metric names (False where unsure)."""
    if isinstance(tree, pp.ParenExpr):
        return _drops_name(tree.expr)
    if isinstance(tree, pp.Call) and tree.func.name in _KEEP_NAME:
        vectors = [a for a in tree.args if isinstance(a, pp.Expr) and not isinstance(a, pp.StringLiteral)]
        return bool(vectors) and _drops_name(vectors[0])
    if isinstance(tree, pp.AggregateExpr):
        modifier = tree.modifier
        by_name = modifier is not None and modifier.type == pp.AggModifierType.By and "__name__" in modifier.labels
        return not by_name and (str(tree.op) not in _TOPS or _drops_name(tree.expr))
    if isinstance(tree, pp.BinaryExpr):
        comparison = str(tree.op) in _COMPARISONS and not (tree.modifier is not None and tree.modifier.return_bool)
        return not comparison and str(tree.op) not in _SET_OPERATORS
    return isinstance(tree, pp.UnaryExpr | pp.Call)


def _order(tree: pp.Expr | None, result: QueryResult) -> QueryResult:
    """An instant vector in the embedded engine's order (store/query/engine.py `_order`)."""
    if result.result_type != "vector":
        return result
    by_labels = sorted(result.vector, key=_by_labels)
    if isinstance(tree, pp.Call) and tree.func.name in _SORTS:
        ordered = sorted(by_labels, key=_value_key(descending=tree.func.name == "sort_desc"))
    elif isinstance(tree, pp.AggregateExpr) and str(tree.op) in _TOPS:
        group = _grouping(tree)
        first: dict[tuple[tuple[str, str], ...], int] = {}
        for s in by_labels:
            first.setdefault(group(s.labels), len(first))
        value = _value_key(descending=str(tree.op) == "topk")
        ordered = sorted(by_labels, key=lambda s: (first[group(s.labels)], value(s)))
    else:
        ordered = by_labels
    return QueryResult("vector", vector=tuple(ordered), warnings=result.warnings)


def _value_key(*, descending: bool) -> Callable[[InstantSample], tuple[bool, float]]:
    """Ascending or descending by value, NaN last (stable: equal values keep their order)."""

    def key(s: InstantSample) -> tuple[bool, float]:
        nan = math.isnan(s.value)
        return nan, 0.0 if nan else (-s.value if descending else s.value)

    return key


def _grouping(tree: pp.AggregateExpr) -> Callable[[Labels], tuple[tuple[str, str], ...]]:
    modifier = tree.modifier
    if modifier is None:
        return lambda labels: ()
    names = set(modifier.labels)
    if modifier.type == pp.AggModifierType.Without:
        names.add("__name__")
        return lambda labels: tuple(p for p in labels.pairs if p[0] not in names)
    return lambda labels: tuple(p for p in labels.pairs if p[0] in names)


# -- helpers ---------------------------------------------------------------------------------------
def _seconds(t: float) -> str:
    """Seconds as the API reads them, to the millisecond (the engines' precision)."""
    return f"{round(t * 1000) / 1000:.3f}"


def _span(start: float | None, end: float | None) -> list[tuple[str, str]]:
    """A look-up's bounds. Without a start VictoriaMetrics answers for the last day only, so the
    start is always sent (0: all time). Without an end both take no bound (VictoriaMetrics: now);
    VictoriaMetrics 1.79 answers nothing when start 0 comes with an end after now."""
    span = [("start", "0" if start is None else _seconds(start))]
    return span if end is None else [*span, ("end", _seconds(end))]


def _form(params: Sequence[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Repeated names (`match[]`) as httpx's form encoding wants them."""
    form: dict[str, str | list[str]] = {}
    for name, value in params:
        before = form.get(name)
        if before is None:
            form[name] = value
        else:
            form[name] = [*([before] if isinstance(before, str) else before), value]
    return form


def _str_map(item: object, shown: str) -> dict[str, str]:
    if not isinstance(item, dict):
        raise _unexpected(shown, "/api/v1/series answered a series that is no label set")
    return {str(k): str(v) for k, v in item.items()}


def _unexpected(shown: str, what: str) -> QueryError:
    return QueryError(f"query engine {shown}: {what}", error_type="internal")


def _verify(ca_file: str | Path | None, insecure_skip_verify: bool) -> ssl.SSLContext | bool:
    if insecure_skip_verify:
        return False
    if ca_file is not None:
        return ssl.create_default_context(cafile=str(ca_file))
    return True


def _without_user_info(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<secret>")
    return text
