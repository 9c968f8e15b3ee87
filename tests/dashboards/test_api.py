"""dashboards/api.py: the Prometheus-shaped query API through a real waitress server on loopback,
over a real store in a temporary directory and the real query engine; promtool against it."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from dashboards import HealthReport, create_server
from dashboards.api import QueryApi
from dashboards.api import QueryEngine as QueryEngineLike
from dashboards.api_params import parse_duration, parse_time
from model import FakeClock, Labels, Sample
from store import Store
from store.query import QueryEngine
from store.query.result import ErrorType, QueryError, QueryResult
from tests.helpers import serve_wsgi

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
NOW = T0 + 600
OLD = T0 - 3000  # a series that stopped 50 minutes before T0
H1 = {"__name__": "up", "collector": "host", "site": "dc-east", "target": "h1"}
H2 = {"__name__": "up", "collector": "host", "site": "dc-east", "target": "h2"}
METADATA = {
    "node_http_requests": ("counter", "Requests served."),
    "node_latency_seconds": ("histogram", "Request latency."),
    "node_load1": ("gauge", "1m load average."),
}

Fetched = tuple[int, dict[str, str], str]


def _samples() -> list[Sample]:
    samples: list[Sample] = []
    for i in range(41):  # every 15 s from T0 to NOW
        ts = T0 + 15 * i
        samples += [
            Sample("up", Labels(collector="host", site="dc-east", target="h1"), 1.0, ts),
            Sample("up", Labels(collector="host", site="dc-east", target="h2"), 0.0, ts),
            Sample("cpu_utilisation_ratio", Labels(site="dc-west", target="h3"), 0.25, ts),
            Sample("node_http_requests_total", Labels(target="h1"), 10.0 * i, ts),
            Sample("node_latency_seconds_bucket", Labels(le="0.1", target="h1"), float(i), ts),
        ]
    samples += [Sample("old_metric", Labels(target="gone"), 5.0, OLD + 15 * i) for i in range(5)]
    return samples


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    clock = FakeClock(start=NOW)
    opened = Store.open(tmp_path_factory.mktemp("api") / "data", clock=clock, metrics=CollectorRegistry())
    opened.append(sorted(_samples(), key=lambda s: s.ts))
    assert opened.flush()
    yield opened
    opened.close()


def _api(store: Store, *, engine: QueryEngineLike | None = None, max_points: int = 11_000) -> QueryApi:
    return QueryApi(
        engine=engine or QueryEngine(store),
        store=store,
        metadata_lookup=METADATA.get,
        now=lambda: NOW,
        version="0.1.0",
        max_points_per_series=max_points,
    )


def _server(api: QueryApi) -> AbstractContextManager[str]:
    app = create_server(metrics=CollectorRegistry(), latest=list, health=_never, api=lambda: api)
    return serve_wsgi(app)


def _never() -> HealthReport:
    raise AssertionError("not asked")


@pytest.fixture(scope="module")
def url(store: Store) -> Iterator[str]:
    with _server(_api(store)) as base:
        yield base


def get(url: str, params: Sequence[tuple[str, str]] = (), headers: Mapping[str, str] | None = None) -> Fetched:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    return _fetch(urllib.request.Request(url + query, headers=dict(headers or {})))


def post(url: str, params: Sequence[tuple[str, str]]) -> Fetched:
    body = urllib.parse.urlencode(params).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return _fetch(urllib.request.Request(url, data=body, headers=headers))


def _fetch(request: urllib.request.Request) -> Fetched:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, _lower(response.headers.items()), response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, _lower(error.headers.items()), error.read().decode()


def _lower(items: Sequence[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def ok(data: object) -> str:
    return json.dumps({"status": "success", "data": data}, ensure_ascii=False, separators=(",", ":"))


def error(error_type: str, message: str) -> str:
    body = {"status": "error", "errorType": error_type, "error": message}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def vector(*samples: tuple[Mapping[str, str], float, str]) -> dict[str, object]:
    return {
        "resultType": "vector",
        "result": [{"metric": dict(m), "value": [t, v]} for m, t, v in samples],
    }


# -- parameters ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1700000000", 1_700_000_000.0),
        ("1700000000.123", 1_700_000_000.123),
        ("1700000000.1234", 1_700_000_000.123),
        ("1.7e9", 1_700_000_000.0),
        ("2023-11-14T22:13:20Z", 1_700_000_000.0),
        ("2023-11-14T22:13:20.5Z", 1_700_000_000.5),
        ("2023-11-14T22:13:20.123456789Z", 1_700_000_000.123),
        ("2023-11-15T07:13:20+09:00", 1_700_000_000.0),
        ("2023-11-14T17:13:20.25-05:00", 1_700_000_000.25),
    ],
)
def test_times_are_unix_seconds_or_rfc3339_at_millisecond_resolution(text: str, seconds: float) -> None:
    assert parse_time(text) == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("x", '"x"'),
        ("", '""'),
        (" 1", '" 1"'),
        ("2023-11-14", '"2023-11-14"'),
        ("2023-11-14 22:13:20Z", '"2023-11-14 22:13:20Z"'),
        ("2023-02-30T00:00:00Z", '"2023-02-30T00:00:00Z"'),
        ("NaN", '"NaN"'),
        ('a"\n', '"a\\"\\n"'),
    ],
)
def test_times_refused_say_what_cannot_be_parsed(text: str, quoted: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_time(text)
    assert str(refused.value) == f"cannot parse {quoted} to a valid timestamp"


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("15", 15_000_000_000),
        ("0.5", 500_000_000),
        ("30s", 30_000_000_000),
        ("1m", 60_000_000_000),
        ("1h30m", 5_400_000_000_000),
        ("1d", 86_400_000_000_000),
        ("1w", 604_800_000_000_000),
        ("1y", 31_536_000_000_000_000),
        ("250ms", 250_000_000),
        ("1m30s500ms", 90_500_000_000),
        ("0", 0),
        ("-15", -15_000_000_000),
    ],
)
def test_steps_are_seconds_or_prometheus_durations(text: str, ns: int) -> None:
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text", ["", "1x", "m", "1s1m", "1.5m", "1h 30m"])
def test_durations_refused_say_what_cannot_be_parsed(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        parse_duration(text)
    assert str(refused.value) == f'cannot parse "{text}" to a valid duration'


# -- /api/v1/query and /api/v1/query_range ----------------------------------------------------------
UP_AT_NOW = ok(vector((H1, 1700000600, "1"), (H2, 1700000600, "0")))


@pytest.mark.parametrize("send", [get, post])
@pytest.mark.parametrize("at", ["1700000600", "1700000600.000", "2023-11-14T22:23:20Z", "2023-11-15T07:23:20+09:00"])
def test_instant_query_answers_the_vector_by_get_and_post_at_unix_or_rfc3339_times(
    url: str, send: Callable[..., Fetched], at: str
) -> None:
    status, headers, body = send(url + "/api/v1/query", [("query", "up"), ("time", at)])
    assert (status, headers["content-type"], body) == (200, "application/json", UP_AT_NOW)


def test_instant_query_without_time_is_evaluated_now(url: str) -> None:
    assert get(url + "/api/v1/query", [("query", "up")])[::2] == (200, UP_AT_NOW)


def test_a_form_body_wins_over_the_url_as_in_prometheus(url: str) -> None:
    body = urllib.parse.urlencode([("query", "up"), ("time", "1700000600")]).encode()
    request = urllib.request.Request(
        url + "/api/v1/query?query=nope%7B&time=x",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert _fetch(request)[::2] == (200, UP_AT_NOW)


def _matrix(points: Sequence[float]) -> str:
    return ok(
        {
            "resultType": "matrix",
            "result": [
                {"metric": H1, "values": [[int(t), "1"] for t in points]},
                {"metric": H2, "values": [[int(t), "0"] for t in points]},
            ],
        }
    )


@pytest.mark.parametrize("send", [get, post])
@pytest.mark.parametrize(
    ("start", "end", "step"),
    [
        ("1700000000", "1700000030", "15"),
        ("1700000000", "1700000030", "15s"),
        ("2023-11-14T22:13:20Z", "2023-11-14T22:13:50.000Z", "15.0"),
        ("1700000000", "1700000030", "15000ms"),
    ],
)
def test_range_query_answers_a_matrix_for_every_time_and_step_form(
    url: str, send: Callable[..., Fetched], start: str, end: str, step: str
) -> None:
    params = [("query", "up"), ("start", start), ("end", end), ("step", step)]
    assert send(url + "/api/v1/query_range", params)[::2] == (200, _matrix([T0, T0 + 15, T0 + 30]))


RANGE_ERRORS = [
    ({"start": "x"}, 'invalid parameter "start": cannot parse "x" to a valid timestamp'),
    ({"start": ""}, 'invalid parameter "start": cannot parse "" to a valid timestamp'),
    (
        {"end": "2023-13-01T00:00:00Z"},
        'invalid parameter "end": cannot parse "2023-13-01T00:00:00Z" to a valid timestamp',
    ),
    ({"end": "1699999999"}, 'invalid parameter "end": end timestamp must not be before start time'),
    ({"step": "x"}, 'invalid parameter "step": cannot parse "x" to a valid duration'),
    ({"step": "1.5m"}, 'invalid parameter "step": cannot parse "1.5m" to a valid duration'),
    (
        {"step": "0"},
        'invalid parameter "step": zero or negative query resolution step widths are not accepted. '
        "Try a positive integer",
    ),
    (
        {"step": "-15s"},
        'invalid parameter "step": cannot parse "-15s" to a valid duration',
    ),
    (
        {"step": "-15"},
        'invalid parameter "step": zero or negative query resolution step widths are not accepted. '
        "Try a positive integer",
    ),
    (
        {"end": "1700011001", "step": "1"},
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
    ),
    ({"timeout": "soon"}, 'invalid parameter "timeout": cannot parse "soon" to a valid duration'),
]


@pytest.mark.parametrize(("change", "message"), RANGE_ERRORS)
def test_range_query_parameters_are_refused_with_prometheus_messages(
    url: str, change: dict[str, str], message: str
) -> None:
    params = {"query": "up", "start": "1700000000", "end": "1700000030", "step": "15", **change}
    assert get(url + "/api/v1/query_range", list(params.items()))[::2] == (400, error("bad_data", message))


def test_the_points_limit_is_on_the_api_and_counts_as_prometheus_does(store: Store) -> None:
    with _server(_api(store, max_points=2)) as base:
        allowed = get(
            base + "/api/v1/query_range",
            [("query", "up"), ("start", "1700000000"), ("end", "1700000030"), ("step", "15")],
        )
        refused = get(
            base + "/api/v1/query_range",
            [("query", "up"), ("start", "1700000000"), ("end", "1700000045"), ("step", "15")],
        )
    assert allowed[::2] == (200, _matrix([T0, T0 + 15, T0 + 30]))  # 30 s / 15 s = 2 steps: allowed
    assert refused[::2] == (
        400,
        error(
            "bad_data",
            "exceeded maximum resolution of 2 points per timeseries. Try decreasing the query resolution (?step=XX)",
        ),
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            [("query", "up"), ("time", "x")],
            'invalid parameter "time": Invalid time value for \'time\': cannot parse "x" to a valid timestamp',
        ),
        ([("query", "up"), ("timeout", "1q")], 'invalid parameter "timeout": cannot parse "1q" to a valid duration'),
    ],
)
def test_instant_query_parameters_are_refused_with_prometheus_messages(
    url: str, params: list[tuple[str, str]], message: str
) -> None:
    assert get(url + "/api/v1/query", params)[::2] == (400, error("bad_data", message))


class ScriptedEngine:
    """An engine that raises or answers as told: the only way to reach every error type."""

    def __init__(self, outcome: Exception | QueryResult, delay: float = 0.0) -> None:
        self.outcome = outcome
        self.delay = delay

    def instant(self, expr: str, at: float) -> QueryResult:
        return self._answer()

    def range(self, expr: str, start: float, end: float, step: float) -> QueryResult:
        return self._answer()

    def _answer(self) -> QueryResult:
        if self.delay:
            time.sleep(self.delay)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


@pytest.mark.parametrize(
    ("error_type", "status", "message"),
    [
        ("bad_data", 400, 'invalid parameter "query": 1:4: parse error: unexpected end of input inside braces'),
        ("execution", 422, "query processing would load too many samples into memory in query execution"),
        ("timeout", 503, "query timed out in expression evaluation"),
        ("canceled", 503, "query was canceled in expression evaluation"),
        ("unavailable", 503, "the store is not ready"),
        ("internal", 500, "storage failed"),
        ("not_found", 404, "no such thing"),
    ],
)
def test_every_error_type_has_prometheus_status_and_body(
    store: Store, error_type: ErrorType, status: int, message: str
) -> None:
    raised = message.removeprefix('invalid parameter "query": ')
    api = _api(store, engine=ScriptedEngine(QueryError(raised, error_type=error_type)))
    with _server(api) as base:
        instant = get(base + "/api/v1/query", [("query", "up{")])
        ranged = post(base + "/api/v1/query_range", [("query", "up{"), ("start", "1"), ("end", "2"), ("step", "1")])
    assert instant[:1] + instant[2:] == ranged[:1] + ranged[2:] == (status, error(error_type, message))
    assert instant[1]["content-type"] == "application/json"


def test_an_unexpected_failure_is_an_internal_error_naming_it(store: Store) -> None:
    with _server(_api(store, engine=ScriptedEngine(RuntimeError("boom")))) as base:
        assert get(base + "/api/v1/query", [("query", "up")])[::2] == (500, error("internal", "RuntimeError: boom"))


def test_warnings_are_sent_beside_the_data(store: Store) -> None:
    result = QueryResult("scalar", scalar=(NOW, 2.0), warnings=("a warning",))
    with _server(_api(store, engine=ScriptedEngine(result))) as base:
        body = get(base + "/api/v1/query", [("query", "1+1")])[2]
    assert (
        body == '{"status":"success","data":{"resultType":"scalar","result":[1700000600,"2"]},"warnings":["a warning"]}'
    )


def test_an_answer_later_than_the_timeout_is_a_timeout_error(store: Store) -> None:
    result = QueryResult("scalar", scalar=(NOW, 2.0))
    with _server(_api(store, engine=ScriptedEngine(result, delay=0.1))) as base:
        late = get(base + "/api/v1/query", [("query", "1+1"), ("timeout", "10ms")])
        in_time = get(base + "/api/v1/query", [("query", "1+1"), ("timeout", "1m")])
    assert late[::2] == (503, error("timeout", "query timed out in expression evaluation"))
    assert in_time[0] == 200


# -- /api/v1/series, /labels, /label/NAME/values ------------------------------------------------------
CPU = {"__name__": "cpu_utilisation_ratio", "site": "dc-west", "target": "h3"}
OLD_SERIES = {"__name__": "old_metric", "target": "gone"}


@pytest.mark.parametrize("send", [get, post])
def test_series_lists_the_label_sets_of_every_match_once_sorted(url: str, send: Callable[..., Fetched]) -> None:
    params = [("match[]", "up"), ("match[]", "cpu_utilisation_ratio"), ("match[]", "up")]
    assert send(url + "/api/v1/series", params)[::2] == (200, ok([CPU, H1, H2]))


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ([], [OLD_SERIES]),
        ([("start", "1700000000"), ("end", "1700000600")], []),
        ([("start", "2023-11-14T21:23:20Z"), ("end", "2023-11-14T21:24:00Z")], [OLD_SERIES]),
        ([("start", "1700000000")], []),
        ([("end", "1699997100")], [OLD_SERIES]),
    ],
)
def test_series_counts_only_series_with_samples_between_start_and_end(
    url: str, when: list[tuple[str, str]], expected: list[dict[str, str]]
) -> None:
    assert get(url + "/api/v1/series", [("match[]", "old_metric"), *when])[::2] == (200, ok(expected))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([], "no match[] parameter provided"),
        ([("match[]", "up{")], 'invalid parameter "match[]": parse error: unexpected end of input inside braces'),
        ([("match[]", "rate(up[5m])")], 'invalid parameter "match[]": "rate(up[5m])" is not a series selector'),
        (
            [("match[]", "up"), ("start", "yesterday")],
            'invalid parameter "start": '
            "Invalid time value for 'start': cannot parse \"yesterday\" to a valid timestamp",
        ),
    ],
)
def test_series_refusals(url: str, params: list[tuple[str, str]], message: str) -> None:
    assert get(url + "/api/v1/series", params)[::2] == (400, error("bad_data", message))


@pytest.mark.parametrize("send", [get, post])
def test_labels_are_every_label_name_sorted(url: str, send: Callable[..., Fetched]) -> None:
    assert send(url + "/api/v1/labels", [])[::2] == (200, ok(["__name__", "collector", "le", "site", "target"]))


def test_labels_honour_match_and_time_range(url: str) -> None:
    only_cpu = get(url + "/api/v1/labels", [("match[]", "cpu_utilisation_ratio")])
    old_only = get(url + "/api/v1/labels", [("match[]", "old_metric"), ("start", "1700000000")])
    assert only_cpu[::2] == (200, ok(["__name__", "site", "target"]))
    assert old_only[::2] == (200, ok([]))
    assert get(url + "/api/v1/labels", [("match[]", "up{")])[::2] == (
        400,
        error("bad_data", "parse error: unexpected end of input inside braces"),
    )


def test_label_values_of_name_are_the_metric_names(url: str) -> None:
    everything = get(url + "/api/v1/label/__name__/values", [])
    recent = get(url + "/api/v1/label/__name__/values", [("start", "1700000000"), ("end", "1700000600")])
    names = ["cpu_utilisation_ratio", "node_http_requests_total", "node_latency_seconds_bucket", "up"]
    assert everything[::2] == (200, ok(sorted([*names, "old_metric"])))
    assert recent[::2] == (200, ok(names))


def test_label_values_honour_match_and_skip_series_without_the_label(url: str) -> None:
    assert get(url + "/api/v1/label/target/values", [("match[]", "up")])[::2] == (200, ok(["h1", "h2"]))
    assert get(url + "/api/v1/label/collector/values", [])[::2] == (200, ok(["host"]))


def test_label_values_of_an_invalid_label_name_are_refused(url: str) -> None:
    assert get(url + "/api/v1/label/1x/values", [])[::2] == (400, error("bad_data", 'invalid label name: "1x"'))


# -- /api/v1/metadata, buildinfo, exemplars -------------------------------------------------------------
COUNTER = {"node_http_requests_total": [{"type": "counter", "help": "Requests served.", "unit": ""}]}
HISTOGRAM = {"node_latency_seconds": [{"type": "histogram", "help": "Request latency.", "unit": ""}]}


def test_metadata_lists_the_declared_families_of_stored_metrics(url: str) -> None:
    assert get(url + "/api/v1/metadata")[::2] == (200, ok({**COUNTER, **HISTOGRAM}))
    assert get(url + "/api/v1/metadata", [("limit", "1")])[::2] == (200, ok(COUNTER))
    assert get(url + "/api/v1/metadata", [("metric", "node_http_requests_total")])[::2] == (200, ok(COUNTER))
    assert get(url + "/api/v1/metadata", [("metric", "up")])[::2] == (200, ok({}))
    assert get(url + "/api/v1/metadata", [("limit", "many")])[::2] == (400, error("bad_data", "limit must be a number"))


def test_buildinfo_names_the_prometheus_api_level_and_the_console_version(url: str) -> None:
    assert get(url + "/api/v1/status/buildinfo")[::2] == (
        200,
        ok(
            {
                "version": "2.42.0",
                "revision": "ops-console 0.1.0",
                "branch": "",
                "buildUser": "",
                "buildDate": "",
                "goVersion": "",
            }
        ),
    )


def test_exemplars_are_always_none(url: str) -> None:
    params = [("query", "up"), ("start", "1700000000"), ("end", "1700000600")]
    assert post(url + "/api/v1/query_exemplars", params)[::2] == (200, ok([]))
    assert get(url + "/api/v1/query_exemplars", [("start", "2"), ("end", "1")])[::2] == (
        400,
        error("bad_data", "end timestamp must not be before start timestamp"),
    )


# Who may call the API (sessions, API tokens, roles) is dashboards.auth's: tests/security/test_walk.py.
# The metrics token opens /metrics only (tests/dashboards/test_http.py).


# -- Grafana 10's Prometheus data source -------------------------------------------------------------------
def test_grafana_data_source_requests_get_well_formed_answers(url: str) -> None:
    """The requests Grafana 10 sends: the health check (`1+1`, instant, POST), a panel's range query
    (POST, float seconds), the query editor's label, metric-name, series and metadata look-ups (GET
    with start/end), buildinfo (data source settings) and exemplars."""
    window = [("start", "1700000000"), ("end", "1700000600")]
    health = post(url + "/api/v1/query", [("query", "1+1"), ("time", "1700000600.5")])
    panel = post(
        url + "/api/v1/query_range", [("query", "up"), ("start", "1700000000"), ("end", "1700000030"), ("step", "15")]
    )
    labels = get(url + "/api/v1/labels", window)
    names = get(url + "/api/v1/label/__name__/values", window)
    series = get(url + "/api/v1/series", [("match[]", "up"), *window])
    values = get(url + "/api/v1/label/target/values", [("match[]", "up"), *window])
    assert health[::2] == (200, ok({"resultType": "scalar", "result": [1700000600.5, "2"]}))
    assert panel[::2] == (200, _matrix([T0, T0 + 15, T0 + 30]))
    assert labels[::2] == (200, ok(["__name__", "collector", "le", "site", "target"]))
    assert names[::2] == (
        200,
        ok(["cpu_utilisation_ratio", "node_http_requests_total", "node_latency_seconds_bucket", "up"]),
    )
    assert series[::2] == (200, ok([H1, H2]))
    assert values[::2] == (200, ok(["h1", "h2"]))
    for path in ("/api/v1/metadata", "/api/v1/status/buildinfo"):
        status, headers, body = get(url + path)
        assert (status, headers["content-type"], json.loads(body)["status"]) == (200, "application/json", "success")


# -- promtool ---------------------------------------------------------------------------------------------
def _promtool(require: Callable[..., str], *args: str) -> subprocess.CompletedProcess[str]:
    program = require("promtool", install="apt-get install -y --no-install-recommends prometheus")
    return subprocess.run([program, "query", *args], capture_output=True, text=True, timeout=30, check=False)


def test_promtool_query_instant_prints_the_vector(url: str, require: Callable[..., str]) -> None:
    result = _promtool(require, "instant", "--time=1700000600", url, "up")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        'up{collector="host", site="dc-east", target="h1"} => 1 @[1700000600]\n'
        'up{collector="host", site="dc-east", target="h2"} => 0 @[1700000600]\n'
    )


def test_promtool_query_range_prints_the_matrix(url: str, require: Callable[..., str]) -> None:
    result = _promtool(require, "range", "--start=1700000000", "--end=1700000015", "--step=15s", url, "up")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == (
        'up{collector="host", site="dc-east", target="h1"} =>\n1 @[1700000000]\n1 @[1700000015]\n'
        'up{collector="host", site="dc-east", target="h2"} =>\n0 @[1700000000]\n0 @[1700000015]\n'
    )


def test_promtool_reports_a_bad_query_as_prometheus_would(url: str, require: Callable[..., str]) -> None:
    result = _promtool(require, "instant", url, "up{")
    assert result.returncode == 1
    assert result.stderr == (
        'query error: bad_data: invalid parameter "query": parse error: unexpected end of input inside braces\n'
    )


def test_promtool_query_instant_now_against_a_live_store(tmp_path: Path, require: Callable[..., str]) -> None:
    """`promtool query instant URL up`, no --time: evaluated at promtool's now over fresh samples."""
    clock = FakeClock(start=time.time())
    live = Store.open(tmp_path / "data", clock=clock, metrics=CollectorRegistry())
    try:
        live.append([Sample("up", Labels(target="h1"), 1.0, clock.now() - 5)])
        assert live.flush()
        with _server(_api(live)) as base:
            result = _promtool(require, "instant", base, "up")
    finally:
        live.close()
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith('up{target="h1"} => 1 @[')
    assert result.stdout.count("\n") == 1


# -- the real engine's selectors and limits through the API ---------------------------------------------------
def test_selectors_with_matchers_answer_through_query_and_series(url: str) -> None:
    instant = get(url + "/api/v1/query", [("query", 'up{target="h1"}'), ("time", "1700000600")])
    regex = [("match[]", '{__name__=~"up|cpu_utilisation_ratio", site="dc-east"}')]
    assert instant[::2] == (200, ok(vector((H1, 1700000600, "1"))))
    assert get(url + "/api/v1/series", regex)[::2] == (200, ok([H1, H2]))
    assert get(url + "/api/v1/series", [("match[]", '{job=""}')])[::2] == (
        400,
        error(
            "bad_data",
            'invalid parameter "match[]": parse error: vector selector must contain at least one non-empty matcher',
        ),
    )


def test_the_engines_series_and_sample_limits_are_execution_errors(store: Store) -> None:
    with _server(_api(store, engine=QueryEngine(store, max_series=1))) as base:
        too_many_series = get(base + "/api/v1/query", [("query", "up"), ("time", "1700000600")])
    with _server(_api(store, engine=QueryEngine(store, max_samples=10))) as base:
        params = [("query", "up"), ("start", "1700000000"), ("end", "1700000600"), ("step", "15")]
        too_many_samples = post(base + "/api/v1/query_range", params)
    assert too_many_series[::2] == (
        422,
        error("execution", "the selector at position 0 matches 2 series, more than the limit of 1"),
    )
    assert too_many_samples[::2] == (
        422,
        error("execution", "query processing would load too many samples into memory in query execution"),
    )


def test_a_range_vector_is_refused_for_a_range_query_as_a_bad_query(url: str) -> None:
    params = [("query", "up[5m]"), ("start", "1700000000"), ("end", "1700000030"), ("step", "15")]
    assert get(url + "/api/v1/query_range", params)[::2] == (
        400,
        error(
            "bad_data",
            'invalid parameter "query": invalid expression type "range vector" for range query, '
            "must be Scalar or instant Vector",
        ),
    )
