"""The console's HTTP server: a Flask app answering `/metrics`, `/healthz` and the query API.

The Dash console mounts on the server built here later; these two endpoints are the ones that answer
without a login session (DESIGN.md, "HTTP").

`/metrics` is the Prometheus text exposition (or OpenMetrics, when the scraper's `Accept` asks for it)
of two sources, in this order:

1. the injected `prometheus_client.CollectorRegistry` (the console's own instrumentation);
2. the latest value of every collected series, from `latest()`, through `LatestSamplesCollector`.

A metric name the registry already exposes belongs to the registry: latest samples of that name are
left out (see `exposed_names`). `/healthz` renders a `HealthReport` as JSON.

Nothing here holds mutable state between requests or does work at import time; every request calls
the injected callables afresh.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import flask
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric

from dashboards.api import QueryApi, api_blueprint
from dashboards.api_alerts import AlertsApi, AlertsApiError, alerts_blueprint, error_response, json_response
from dashboards.api_audit import audit_blueprint
from dashboards.api_availability import AvailabilityApi, availability_blueprint
from dashboards.authz import record
from model import Labels, Sample, Secret
from model.samples import LABEL_NAME_RE, METRIC_NAME_RE
from security.audit import AuditLog

__all__ = [
    "LATEST_HELP",
    "ComponentHealth",
    "HealthReport",
    "LatestSamplesCollector",
    "create_server",
    "exposed_names",
]

LATEST_HELP = "Latest value collected by Ops Console."
"""The HELP text of every family built from collected samples."""

_JSON = "application/json"

# Sample names a family of each type can expose besides its own name (OpenMetrics and the
# Prometheus text format; `_total` and `_info` are also the text format's family names).
_TYPE_SUFFIXES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "counter": ("_total", "_created"),
        "info": ("_info",),
        "summary": ("_sum", "_count", "_created"),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    }
)


@dataclass(frozen=True, slots=True)
class ComponentHealth:
    """The health of one part of the console (scheduler, store, ...): `detail` says why, for people."""

    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class HealthReport:
    """The console's health: one `ComponentHealth` per named component.

    The report is healthy (`ok`) when every component is ok; a report with no components is ok.
    `components` is copied into a read-only mapping on construction.
    """

    components: Mapping[str, ComponentHealth]

    def __post_init__(self) -> None:
        object.__setattr__(self, "components", MappingProxyType(dict(self.components)))

    @property
    def ok(self) -> bool:
        return all(component.ok for component in self.components.values())

    @property
    def status(self) -> str:
        """`"ok"` when `ok`, else `"stuck"`."""
        return "ok" if self.ok else "stuck"

    def to_json(self) -> str:
        """`{"status": ..., "components": {name: {"ok": ..., "detail": ...}}}`, components sorted by
        name, compact separators, non-ASCII kept as UTF-8 text."""
        body = {
            "status": self.status,
            "components": {
                name: {"ok": self.components[name].ok, "detail": self.components[name].detail}
                for name in sorted(self.components)
            },
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def exposed_names(families: Iterable[Metric]) -> frozenset[str]:
    """Every metric name the given families use in an exposition: each family's name, the sample
    names its type can produce (`x_total`, `x_bucket`, ...), and the names of the samples it has."""
    names: set[str] = set()
    for family in families:
        names.add(family.name)
        names.update(family.name + suffix for suffix in _TYPE_SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return frozenset(names)


class LatestSamplesCollector:
    """A prometheus_client custom collector: the latest value of every collected series.

    Each `collect()` calls `latest()` once and yields one family of type "unknown" (`untyped` in the
    Prometheus text format, HELP `LATEST_HELP`) per metric name, families sorted by name and samples
    by label pairs. Sample timestamps are not exported: the scraper stamps the scrape, as with any
    exporter. Left out:

    - samples whose name is in `exclude` (names another source of the same exposition owns);
    - samples whose metric name or a label name is not a valid Prometheus name, since the text
      format cannot carry them unescaped;
    - all but the newest sample (largest `ts`; on a tie the later one) of a series given twice.
    """

    def __init__(self, latest: Callable[[], Iterable[Sample]], *, exclude: Collection[str] = ()) -> None:
        self._latest = latest
        self._exclude = frozenset(exclude)

    def collect(self) -> Iterator[Metric]:
        by_name: dict[str, dict[Labels, Sample]] = {}
        for sample in self._latest():
            if sample.name in self._exclude or not _exposable(sample):
                continue
            series = by_name.setdefault(sample.name, {})
            seen = series.get(sample.labels)
            if seen is None or sample.ts >= seen.ts:
                series[sample.labels] = sample
        for name in sorted(by_name):
            family = Metric(name, LATEST_HELP, "unknown")
            series = by_name[name]
            for labels in sorted(series, key=lambda labels: labels.pairs):
                family.add_sample(name, dict(labels.pairs), series[labels].value)
            yield family


def _exposable(sample: Sample) -> bool:
    return METRIC_NAME_RE.match(sample.name) is not None and all(
        LABEL_NAME_RE.match(name) is not None for name in sample.labels
    )


class _Families:
    """Already collected families, handed to a prometheus_client encoder."""

    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> list[Metric]:
        return self._families


def create_server(
    *,
    metrics: CollectorRegistry,
    latest: Callable[[], Iterable[Sample]],
    health: Callable[[], HealthReport],
    metrics_token: Secret | None = None,
    api: Callable[[], QueryApi] | None = None,
    alerts: Callable[[], AlertsApi | None] | None = None,
    availability: Callable[[], AvailabilityApi | None] | None = None,
    audit: Callable[[], AuditLog | None] | None = None,
    status_config: Callable[[], Mapping[str, object]] | None = None,
    reload: Callable[[], Mapping[str, object]] | None = None,
) -> flask.Flask:
    """Build the console's Flask server with `GET /metrics` and `GET /healthz` (HEAD too).

    `/metrics`: 200 with the exposition of `metrics` followed by `LatestSamplesCollector(latest)`,
    whose samples are skipped where `exposed_names` of the registry's families holds their name (the
    registry wins). The encoding follows `Accept` (prometheus_client's `choose_encoder`: text format
    0.0.4 by default, OpenMetrics on request). When `metrics_token` is given, the request must carry
    `Authorization: Bearer <token>` (scheme case-insensitive, constant-time comparison), else 401 with
    `WWW-Authenticate: Bearer` and nothing is collected.

    `/healthz`: `HealthReport.to_json()` of `health()`, 200 when the report is ok, else 503; never
    behind the token.

    `/api/v1/*` (when `api` is given): the Prometheus-shaped query API of `dashboards.api` answered
    by `api()` (called per request, like `latest`).

    `/api/v1/alerts`, `/silences`, `/maintenance`, `/notifications` (when `alerts` is given): the
    alerting API of `dashboards.api_alerts`, answered by `alerts()`.

    `/api/v1/availability*` (when `availability` is given): the reports API of
    `dashboards.api_availability`, answered by `availability()`.

    `/api/v1/audit*` (when `audit` is given): the audit log (dashboards/api_audit.py);
    `/api/v1/status/config` (when `status_config` is given): the effective configuration with its
    secrets replaced by a marker, Prometheus' shape. `POST /api/v1/admin/reload` (when `reload` is
    given): reload the config file, answering what `reload()` returns; 400 with its message when it
    raises ValueError (the file's problems: nothing changed).

    Who may call the API is decided by `dashboards.auth.install_access`, which `run` always puts on
    this server: the metrics token opens `/metrics` only. Without it (a library use: the API's own
    tests) the API answers everyone.

    `latest` and `health` run on the server's worker threads, once per request: they must be
    thread-safe and quick. An exception from them (or from the registry) is a 500, never a partial or
    empty answer. Raises ValueError if `metrics_token` is empty.
    """
    token = None if metrics_token is None else metrics_token.reveal().encode()
    if token == b"":
        raise ValueError("metrics_token is empty: give a token or None for an open /metrics")

    server = flask.Flask(__name__)

    def unauthorized() -> flask.Response | None:
        """None when the request may pass; else the 401 to answer."""
        if token is None or _bearer_matches(flask.request.headers.get("Authorization"), token):
            return None
        return flask.Response(
            f"401 Unauthorized: {flask.request.path} needs 'Authorization: Bearer <token>'\n",
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
            content_type="text/plain; charset=utf-8",
        )

    @server.get("/metrics")
    def metrics_endpoint() -> flask.Response:
        if (refused := unauthorized()) is not None:
            return refused
        encoder, content_type = choose_encoder(flask.request.headers.get("Accept", ""))
        families = list(metrics.collect())
        own = LatestSamplesCollector(latest, exclude=exposed_names(families)).collect()
        body = encoder(_Families([*families, *own]))
        return flask.Response(body, status=200, content_type=content_type)

    @server.get("/healthz")
    def healthz_endpoint() -> flask.Response:
        report = health()
        return flask.Response(
            report.to_json(),
            status=200 if report.ok else 503,
            content_type=_JSON,
            headers={"Cache-Control": "no-store"},
        )

    if api is not None:
        server.register_blueprint(api_blueprint(api))
    if alerts is not None:
        server.register_blueprint(alerts_blueprint(alerts))
    if availability is not None:
        server.register_blueprint(availability_blueprint(availability))
    if audit is not None:
        server.register_blueprint(
            audit_blueprint(audit, record_export=lambda action, detail: record(action, "audit", detail))
        )
    if status_config is not None:
        status = flask.Blueprint("api_v1_status", __name__, url_prefix="/api/v1/status")
        status.add_url_rule(
            "/config", "config", lambda: json_response({"status": "success", "data": status_config()}, 200)
        )
        server.register_blueprint(status)
    if reload is not None:
        admin = flask.Blueprint("api_v1_admin", __name__, url_prefix="/api/v1/admin")

        def reload_endpoint() -> flask.Response:
            try:
                outcome = reload()
            except ValueError as exc:
                return error_response(AlertsApiError("bad_data", str(exc)))
            return json_response({"status": "success", "data": outcome}, 200)

        admin.add_url_rule("/reload", "reload", reload_endpoint, methods=["POST"])
        server.register_blueprint(admin)
    return server


def _bearer_matches(authorization: str | None, token: bytes) -> bool:
    """Whether an `Authorization` header value is `Bearer <token>` (RFC 6750), compared in constant time."""
    if authorization is None:
        return False
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.strip().encode(), token)
