"""dashboards/http.py: /metrics and /healthz through a real waitress server on loopback."""

from __future__ import annotations

import math
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge

from dashboards import (
    LATEST_HELP,
    ComponentHealth,
    HealthReport,
    LatestSamplesCollector,
    create_server,
    exposed_names,
)
from model import Labels, Sample, Secret
from tests.helpers import serve_wsgi

TS = 1_800_000_000.0
OK = HealthReport({"scheduler": ComponentHealth(ok=True, detail="12 targets, none late")})


def fetch(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET `url`: status, headers (lower-case names) and body, for error statuses too."""
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, _lower(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, _lower(error.headers.items()), error.read()


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


def cpu(target: str, site: str, value: float, ts: float = TS) -> Sample:
    return Sample("cpu_utilisation_ratio", Labels(site=site, target=target), value, ts)


def registry_with_targets_gauge() -> CollectorRegistry:
    registry = CollectorRegistry()
    targets = Gauge("console_targets", "Targets in the inventory.", ["site"], registry=registry)
    targets.labels(site="dc-east").set(3)
    return registry


def server(
    registry: CollectorRegistry,
    samples: Iterable[Sample],
    *,
    health: HealthReport = OK,
    token: Secret | None = None,
) -> AbstractContextManager[str]:
    """A running server over a fixed set of latest samples (a context manager yielding its URL)."""
    fixed = list(samples)
    app = create_server(metrics=registry, latest=lambda: fixed, health=lambda: health, metrics_token=token)
    return serve_wsgi(app)


def test_metrics_exposes_registry_then_latest_samples_without_timestamps() -> None:
    samples = [
        cpu("h2", "dc-west", 0.5, ts=TS + 15),
        Sample("up", Labels(collector="host", site="dc-east", target="h1"), 1.0, TS),
        cpu("h1", "dc-east", 0.25),
    ]
    with server(registry_with_targets_gauge(), samples) as url:
        status, headers, body = fetch(url + "/metrics")

    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert body.decode() == (
        "# HELP console_targets Targets in the inventory.\n"
        "# TYPE console_targets gauge\n"
        'console_targets{site="dc-east"} 3.0\n'
        f"# HELP cpu_utilisation_ratio {LATEST_HELP}\n"
        "# TYPE cpu_utilisation_ratio untyped\n"
        'cpu_utilisation_ratio{site="dc-east",target="h1"} 0.25\n'
        'cpu_utilisation_ratio{site="dc-west",target="h2"} 0.5\n'
        f"# HELP up {LATEST_HELP}\n"
        "# TYPE up untyped\n"
        'up{collector="host",site="dc-east",target="h1"} 1.0\n'
    )


def test_metrics_in_openmetrics_when_the_scraper_asks_for_it() -> None:
    with server(registry_with_targets_gauge(), [cpu("h1", "dc-east", 0.25)]) as url:
        status, headers, body = fetch(
            url + "/metrics", {"Accept": "application/openmetrics-text; version=1.0.0; charset=utf-8"}
        )

    assert status == 200
    assert headers["content-type"] == (
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores"
    )
    assert body.decode() == (
        "# HELP console_targets Targets in the inventory.\n"
        "# TYPE console_targets gauge\n"
        'console_targets{site="dc-east"} 3.0\n'
        f"# HELP cpu_utilisation_ratio {LATEST_HELP}\n"
        "# TYPE cpu_utilisation_ratio unknown\n"
        'cpu_utilisation_ratio{site="dc-east",target="h1"} 0.25\n'
        "# EOF\n"
    )


def test_latest_samples_named_like_a_registry_metric_are_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    registry = registry_with_targets_gauge()
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: TS)  # the counter's `_created`
        Counter("console_scrapes", "Scrapes served.", registry=registry).inc(2)
    samples = [
        Sample("console_targets", Labels(site="dc-west"), 7.0, TS),  # a registry family name
        Sample("console_scrapes_total", Labels(), 9.0, TS),  # a registry sample name
        Sample("console_scrapes", Labels(), 9.0, TS),  # a registry family name (counter)
        cpu("h1", "dc-east", 0.25),
    ]
    with server(registry, samples) as url:
        status, _, body = fetch(url + "/metrics")

    assert status == 200
    assert body.decode() == (
        "# HELP console_targets Targets in the inventory.\n"
        "# TYPE console_targets gauge\n"
        'console_targets{site="dc-east"} 3.0\n'
        "# HELP console_scrapes_total Scrapes served.\n"
        "# TYPE console_scrapes_total counter\n"
        "console_scrapes_total 2.0\n"
        "# HELP console_scrapes_created Scrapes served.\n"
        "# TYPE console_scrapes_created gauge\n"
        "console_scrapes_created 1.8e+09\n"
        f"# HELP cpu_utilisation_ratio {LATEST_HELP}\n"
        "# TYPE cpu_utilisation_ratio untyped\n"
        'cpu_utilisation_ratio{site="dc-east",target="h1"} 0.25\n'
    )


def test_metrics_escapes_label_values_and_writes_special_floats() -> None:
    samples = [
        Sample("probe_success", Labels(url='http://127.0.0.1/"a"\\b\nc'), 0.0, TS),
        Sample("probe_duration_seconds", Labels(), math.nan, TS),
        Sample("interface_in_bits_per_second", Labels(ifname="ge0"), math.inf, TS),
    ]
    with server(CollectorRegistry(), samples) as url:
        _, _, body = fetch(url + "/metrics")

    assert body.decode().splitlines()[2::3] == [
        'interface_in_bits_per_second{ifname="ge0"} +Inf',
        "probe_duration_seconds NaN",
        'probe_success{url="http://127.0.0.1/\\"a\\"\\\\b\\nc"} 0.0',
    ]


def test_metrics_calls_latest_on_every_scrape() -> None:
    values = iter([0.25, 0.75])
    app = create_server(
        metrics=CollectorRegistry(),
        latest=lambda: [cpu("h1", "dc-east", next(values))],
        health=lambda: OK,
    )
    with serve_wsgi(app) as url:
        first = fetch(url + "/metrics")[2].decode().splitlines()[-1]
        second = fetch(url + "/metrics")[2].decode().splitlines()[-1]

    assert (first, second) == (
        'cpu_utilisation_ratio{site="dc-east",target="h1"} 0.25',
        'cpu_utilisation_ratio{site="dc-east",target="h1"} 0.75',
    )


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", "Bearer", "Basic czNjcmV0LXRva2Vu", "s3cret-token", "Bearer s3cret-token2"],
)
def test_metrics_with_a_token_refuses_a_request_without_it(authorization: str | None) -> None:
    calls: list[int] = []

    def latest() -> list[Sample]:
        calls.append(1)
        return []

    app = create_server(
        metrics=CollectorRegistry(),
        latest=latest,
        health=lambda: OK,
        metrics_token=Secret("s3cret-token", reference="env:METRICS_TOKEN"),
    )
    headers = {} if authorization is None else {"Authorization": authorization}
    with serve_wsgi(app) as url:
        status, response_headers, body = fetch(url + "/metrics", headers)

    assert status == 401
    assert response_headers["www-authenticate"] == "Bearer"
    assert body == b"401 Unauthorized: /metrics needs 'Authorization: Bearer <token>'\n"
    assert calls == []


@pytest.mark.parametrize("authorization", ["Bearer s3cret-token", "bearer s3cret-token", "Bearer  s3cret-token "])
def test_metrics_with_a_token_answers_the_right_bearer(authorization: str) -> None:
    token = Secret("s3cret-token", reference="env:METRICS_TOKEN")
    with server(CollectorRegistry(), [cpu("h1", "dc-east", 0.25)], token=token) as url:
        status, _, body = fetch(url + "/metrics", {"Authorization": authorization})

    assert status == 200
    assert body.decode().splitlines()[-1] == 'cpu_utilisation_ratio{site="dc-east",target="h1"} 0.25'


def test_create_server_refuses_an_empty_token() -> None:
    with pytest.raises(ValueError, match=r"^metrics_token is empty: give a token or None for an open /metrics$"):
        create_server(
            metrics=CollectorRegistry(),
            latest=list,
            health=lambda: OK,
            metrics_token=Secret("", reference="env:EMPTY"),
        )


def test_healthz_is_200_with_every_component_ok() -> None:
    report = HealthReport(
        {
            "store": ComponentHealth(ok=True, detail="last flush 2 s ago"),
            "scheduler": ComponentHealth(ok=True, detail="12 targets, none late"),
        }
    )
    with server(CollectorRegistry(), [], health=report) as url:
        status, headers, body = fetch(url + "/healthz")

    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["cache-control"] == "no-store"
    assert body == (
        b'{"status":"ok","components":{'
        b'"scheduler":{"ok":true,"detail":"12 targets, none late"},'
        b'"store":{"ok":true,"detail":"last flush 2 s ago"}}}'
    )


def test_healthz_is_503_stuck_when_a_component_is_not_ok() -> None:
    report = HealthReport(
        {
            "scheduler": ComponentHealth(ok=False, detail="no run for 95 s (limit 60 s)"),
            "store": ComponentHealth(ok=True, detail="書き込み正常"),
        }
    )
    token = Secret("s3cret-token", reference="env:METRICS_TOKEN")  # /healthz never needs it
    with server(CollectorRegistry(), [], health=report, token=token) as url:
        status, headers, body = fetch(url + "/healthz")

    assert status == 503
    assert headers["content-type"] == "application/json"
    assert body.decode("utf-8") == (
        '{"status":"stuck","components":{'
        '"scheduler":{"ok":false,"detail":"no run for 95 s (limit 60 s)"},'
        '"store":{"ok":true,"detail":"書き込み正常"}}}'
    )


def test_health_report_with_no_components_is_ok_and_keeps_its_own_copy() -> None:
    components = {"scheduler": ComponentHealth(ok=True, detail="fine")}
    report = HealthReport(components)
    components["store"] = ComponentHealth(ok=False, detail="disk full")

    assert (report.ok, report.status, list(report.components)) == (True, "ok", ["scheduler"])
    assert (HealthReport({}).ok, HealthReport({}).to_json()) == (True, '{"status":"ok","components":{}}')
    with pytest.raises(TypeError):
        report.components["store"] = ComponentHealth(ok=False, detail="disk full")  # type: ignore[index]


def test_collector_keeps_the_newest_sample_of_a_series_given_twice() -> None:
    samples = [
        cpu("h1", "dc-east", 0.9, ts=TS + 30),
        cpu("h1", "dc-east", 0.1, ts=TS),
        cpu("h1", "dc-east", 0.5, ts=TS + 30),
    ]
    [family] = LatestSamplesCollector(lambda: samples).collect()

    assert [(s.name, s.labels, s.value, s.timestamp) for s in family.samples] == [
        ("cpu_utilisation_ratio", {"site": "dc-east", "target": "h1"}, 0.5, None)
    ]


def test_collector_leaves_out_invalid_names_and_excluded_names() -> None:
    samples = [
        Sample("1st_metric", Labels(), 1.0, TS),
        Sample("disk.used", Labels(), 1.0, TS),
        Sample("disk_used_bytes", Labels({"mount-point": "/"}), 1.0, TS),
        Sample("up", Labels(target="h1"), 1.0, TS),
        cpu("h1", "dc-east", 0.25),
    ]
    families = LatestSamplesCollector(lambda: samples, exclude={"up"}).collect()

    assert [(f.name, f.type, f.documentation, len(f.samples)) for f in families] == [
        ("cpu_utilisation_ratio", "unknown", LATEST_HELP, 1)
    ]


def test_exposed_names_cover_every_sample_name_a_family_type_can_produce() -> None:
    registry = CollectorRegistry()
    Counter("jobs", "Jobs.", ["kind"], registry=registry)  # no child yet: no samples at all
    Gauge("temperature_celsius", "Temperature.", registry=registry)

    assert exposed_names(registry.collect()) == {
        "jobs",
        "jobs_total",
        "jobs_created",
        "temperature_celsius",
    }
