"""The Prometheus-shaped HTTP query API on the console's Flask server, so that Grafana's Prometheus
data source and `promtool query` can use the console.

Endpoints (GET, and POST with an `application/x-www-form-urlencoded` body, whose values win over the
URL's, as in Prometheus; /label/NAME/values and /metadata and /status/buildinfo are GET only):

    /api/v1/query            query, time (default now), timeout
    /api/v1/query_range      query, start, end, step, timeout
    /api/v1/series           match[] (one or more, required), start, end
    /api/v1/labels           match[] (optional), start, end
    /api/v1/label/NAME/values  match[] (optional), start, end
    /api/v1/metadata         metric, limit
    /api/v1/query_exemplars  query, start, end: always no exemplars (`[]`)
    /api/v1/status/buildinfo the Prometheus API level answered ("2.42.0") and the console's version

Answers are Prometheus': `{"status":"success","data":...}` (+ `"warnings"`), or
`{"status":"error","errorType":...,"error":...}` with HTTP 400 for bad_data, 422 execution,
503 timeout/canceled/unavailable, 500 internal, 404 not_found; the messages of bad parameters
are Prometheus 2.42's. `QueryApi` holds the logic as plain functions of the parameters (the CLI
evaluates through it when no console answers); `api_blueprint` puts it on Flask.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

import flask

from dashboards import api_series
from dashboards.api_params import ApiError, go_quote, invalid_param, parse_duration, parse_time_param, range_params
from dashboards.api_series import MetadataLookup, SeriesStore, TimeRange
from model.samples import LABEL_NAME_RE
from store.index import Matcher
from store.query.ast import VectorSelector
from store.query.parse import parse
from store.query.result import ErrorType, QueryError, QueryResult

__all__ = [
    "PROMETHEUS_API_VERSION",
    "STATUS_CODES",
    "Answer",
    "ApiError",
    "Params",
    "QueryApi",
    "QueryEngine",
    "api_blueprint",
    "error_body",
    "series_selector",
    "success_body",
]

log = logging.getLogger(__name__)

PROMETHEUS_API_VERSION = "2.42.0"
"""The Prometheus version whose HTTP API this one answers as (Grafana picks its requests by it)."""

STATUS_CODES: Mapping[ErrorType, int] = MappingProxyType(
    {
        "bad_data": 400,
        "execution": 422,
        "timeout": 503,
        "canceled": 503,
        "unavailable": 503,
        "internal": 500,
        "not_found": 404,
    }
)

_MIN_TIME = -1e15  # seconds: Prometheus' minTime/maxTime stand for "no bound"
_MAX_TIME = 1e15
_INT_RE = re.compile(r"^[+-]?\d+$")
_TIMED_OUT = "query timed out in expression evaluation"


class QueryEngine(Protocol):
    """The PromQL engine (store/query/engine.py): raises QueryError."""

    def instant(self, expr: str, at: float) -> QueryResult: ...

    def range(self, expr: str, start: float, end: float, step: float) -> QueryResult: ...


SelectorParser = Callable[[str], Sequence[Matcher]]
"""A series selector (`up{job="x"}`) to its matchers; raises QueryError with Prometheus' message."""


def series_selector(text: str) -> tuple[Matcher, ...]:
    """The matchers of a series selector (`match[]`), parsed by the query layer's parser.
    Raises QueryError (bad_data) for anything else (`rate(up[5m])`, `up offset 5m`)."""
    expr = parse(text)
    if not isinstance(expr, VectorSelector) or expr.offset_ms or expr.at is not None:
        raise QueryError(f"{go_quote(text)} is not a series selector", error_type="bad_data")
    return expr.matchers


@dataclass(frozen=True, slots=True)
class Params:
    """Request parameters as Go's `r.FormValue` and `r.Form` see them: name -> values, a form
    body's values before the URL's."""

    values: Mapping[str, Sequence[str]]

    @classmethod
    def of(cls, **values: str) -> Params:
        return cls({name: [value] for name, value in values.items()})

    @classmethod
    def from_request(cls, request: flask.Request) -> Params:
        merged: dict[str, list[str]] = {}
        for source in (request.form, request.args):
            for name, items in source.lists():
                merged.setdefault(name, []).extend(items)
        return cls(merged)

    def get(self, name: str) -> str:
        """The first value of `name`, "" when absent."""
        items = self.values.get(name)
        return items[0] if items else ""

    def getlist(self, name: str) -> list[str]:
        return list(self.values.get(name, ()))


@dataclass(frozen=True, slots=True)
class RawJson:
    """JSON text that goes into an answer as it is (a query result encoded by the engine)."""

    text: str


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful answer: the `data` object and the warnings."""

    data: object
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class QueryApi:
    """The API's logic. `now()` is Unix seconds (the default `time`); `version` the console's.

    Each method takes the request's `Params` and returns an `Answer` or raises `ApiError`."""

    engine: QueryEngine
    store: SeriesStore
    metadata_lookup: MetadataLookup
    now: Callable[[], float]
    version: str
    max_points_per_series: int = 11_000
    parse_selector: SelectorParser = series_selector

    def query(self, params: Params) -> Answer:
        at = parse_time_param("time", params.get("time"), self.now())
        timeout = _timeout(params)
        return self._evaluate(lambda: self.engine.instant(params.get("query"), at), timeout)

    def query_range(self, params: Params) -> Answer:
        span = range_params(
            params.get("start"), params.get("end"), params.get("step"), max_points=self.max_points_per_series
        )
        timeout = _timeout(params)
        expr = params.get("query")
        return self._evaluate(lambda: self.engine.range(expr, span.start, span.end, span.step), timeout)

    def _evaluate(self, run: Callable[[], QueryResult], timeout: float | None) -> Answer:
        started = time.monotonic()
        try:
            result = run()
        except QueryError as exc:
            raise _query_error(exc) from exc
        if timeout is not None and time.monotonic() - started > timeout:
            raise ApiError("timeout", _TIMED_OUT)
        return Answer(RawJson(result.to_json_text()), result.warnings)

    def series(self, params: Params) -> Answer:
        selectors = params.getlist("match[]")
        if not selectors:
            raise ApiError("bad_data", "no match[] parameter provided")
        when = _time_range(params)
        matcher_sets = self._matcher_sets(selectors, param="match[]")
        return Answer(_looked_up(lambda: api_series.series(self.store, matcher_sets, when)))

    def labels(self, params: Params) -> Answer:
        when = _time_range(params)
        matcher_sets = self._matcher_sets(params.getlist("match[]"))
        return Answer(_looked_up(lambda: api_series.label_names(self.store, matcher_sets, when)))

    def label_values(self, name: str, params: Params) -> Answer:
        if LABEL_NAME_RE.match(name) is None:
            raise ApiError("bad_data", f"invalid label name: {go_quote(name)}")
        when = _time_range(params)
        matcher_sets = self._matcher_sets(params.getlist("match[]"))
        return Answer(_looked_up(lambda: api_series.label_values(self.store, name, matcher_sets, when)))

    def metadata(self, params: Params) -> Answer:
        limit = -1
        if text := params.get("limit"):
            if _INT_RE.match(text) is None:
                raise ApiError("bad_data", "limit must be a number")
            limit = int(text)
        found = api_series.metadata(self.store, self.metadata_lookup, metric=params.get("metric"), limit=limit)
        return Answer(found)

    def query_exemplars(self, params: Params) -> Answer:
        start = parse_time_param("start", params.get("start"), _MIN_TIME)
        end = parse_time_param("end", params.get("end"), _MAX_TIME)
        if end < start:
            raise ApiError("bad_data", "end timestamp must not be before start timestamp")
        return Answer([])  # the store keeps no exemplars

    def buildinfo(self, params: Params) -> Answer:
        return Answer(
            {
                "version": PROMETHEUS_API_VERSION,
                "revision": f"ops-console {self.version}",
                "branch": "",
                "buildUser": "",
                "buildDate": "",
                "goVersion": "",
            }
        )

    def _matcher_sets(self, selectors: Sequence[str], *, param: str | None = None) -> list[Sequence[Matcher]]:
        sets: list[Sequence[Matcher]] = []
        for text in selectors:
            try:
                sets.append(self.parse_selector(text))
            except QueryError as exc:
                raise (ApiError("bad_data", str(exc)) if param is None else invalid_param(param, str(exc))) from exc
        return sets


def _looked_up(look_up: Callable[[], object]) -> object:
    """A series look-up; a remote engine's refusal (QueryError: unavailable, timeout) as the API's error."""
    try:
        return look_up()
    except QueryError as exc:
        raise ApiError(exc.error_type, str(exc)) from exc


def _timeout(params: Params) -> float | None:
    text = params.get("timeout")
    if not text:
        return None
    try:
        return parse_duration(text) / 1e9
    except ValueError as exc:
        raise invalid_param("timeout", str(exc)) from None


def _time_range(params: Params) -> TimeRange:
    """(start, end) of a look-up, None when neither is given (all time)."""
    start_text, end_text = params.get("start"), params.get("end")
    if not start_text and not end_text:
        return None
    return parse_time_param("start", start_text, _MIN_TIME), parse_time_param("end", end_text, _MAX_TIME)


def _query_error(exc: QueryError) -> ApiError:
    """Prometheus answers a query it cannot parse (bad_data) as a bad `query` parameter."""
    if exc.error_type == "bad_data":
        return invalid_param("query", str(exc))
    return ApiError(exc.error_type, str(exc))


def success_body(answer: Answer) -> str:
    if isinstance(answer.data, RawJson):  # a query result, already encoded
        warnings = ""
        if answer.warnings:
            warnings = ',"warnings":' + json.dumps(list(answer.warnings), ensure_ascii=False, separators=(",", ":"))
        return f'{{"status":"success","data":{answer.data.text}{warnings}}}'
    body: dict[str, object] = {"status": "success", "data": answer.data}
    if answer.warnings:
        body["warnings"] = list(answer.warnings)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def error_body(error: ApiError) -> str:
    body = {"status": "error", "errorType": error.error_type, "error": error.message}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def api_blueprint(api: Callable[[], QueryApi]) -> flask.Blueprint:
    """The endpoints of the module docstring under /api/v1, answered by `api()` (called per
    request)."""
    bp = flask.Blueprint("api_v1", __name__, url_prefix="/api/v1")
    both = ("GET", "POST")

    @bp.route("/query", methods=both)
    def query() -> flask.Response:
        return _respond(lambda params: api().query(params))

    @bp.route("/query_range", methods=both)
    def query_range() -> flask.Response:
        return _respond(lambda params: api().query_range(params))

    @bp.route("/series", methods=both)
    def series() -> flask.Response:
        return _respond(lambda params: api().series(params))

    @bp.route("/labels", methods=both)
    def labels() -> flask.Response:
        return _respond(lambda params: api().labels(params))

    @bp.get("/label/<name>/values")
    def label_values(name: str) -> flask.Response:
        return _respond(lambda params: api().label_values(name, params))

    @bp.get("/metadata")
    def metadata() -> flask.Response:
        return _respond(lambda params: api().metadata(params))

    @bp.route("/query_exemplars", methods=both)
    def query_exemplars() -> flask.Response:
        return _respond(lambda params: api().query_exemplars(params))

    @bp.get("/status/buildinfo")
    def buildinfo() -> flask.Response:
        return _respond(lambda params: api().buildinfo(params))

    return bp


def _respond(handler: Callable[[Params], Answer]) -> flask.Response:
    try:
        answer = handler(Params.from_request(flask.request))
    except ApiError as exc:
        return _json(error_body(exc), STATUS_CODES[exc.error_type])
    except Exception as exc:  # a store or engine bug: Prometheus' "internal", never a partial answer
        log.exception("%s %s failed", flask.request.method, flask.request.path)
        return _json(error_body(ApiError("internal", f"{type(exc).__name__}: {exc}")), 500)
    return _json(success_body(answer), 200)


def _json(body: str, status: int) -> flask.Response:
    return flask.Response(body, status=status, content_type="application/json")
