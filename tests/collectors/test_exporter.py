"""The exporter collector against real servers on 127.0.0.1: Debian's node_exporter, a waitress app
answering recorded expositions and failures, and a TLS server with a certificate made by the test."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gzip
import http.server
import ipaddress
import re
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import prometheus_client
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from prometheus_client.parser import text_string_to_metric_families

from collectors import COLLECTOR_KINDS, CollectorDeps, Scheduler
from collectors.base import MetricMetadata
from collectors.exporter import ACCEPT, ExporterCollector
from collectors.health import RunResult, TargetRunner
from model import (
    Device,
    ExporterCollectorSpec,
    ExporterTls,
    Labels,
    RelabelAction,
    RelabelRule,
    Secret,
    SystemClock,
    Target,
)
from tests.collectors.test_snmp import RecordingSink
from tests.helpers import free_port, require, serve_wsgi

TARGET_LABELS = {"target", "site", "system", "role"}
Series = tuple[str, Labels]

# -- servers ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node_exporter() -> Iterator[str]:
    """Debian's prometheus-node-exporter on a free loopback port; yields its /metrics URL."""
    binary = require("prometheus-node-exporter", install="apt-get install -y prometheus-node-exporter")
    port = free_port()
    process = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{port}", "--no-collector.systemd"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            assert process.poll() is None, "node_exporter exited"
            assert time.monotonic() < deadline, "node_exporter did not answer within 10 s"
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


GOOD = b"# HELP app_up Whether the app is up.\n# TYPE app_up gauge\napp_up 1\n"
GARBAGE = b"# HELP a A gauge.\n# TYPE a gauge\na 1\nthis is not a metric\n"
TRUNCATED = b'node_load1 0.5\nnode_cpu_seconds_total{cpu="0",mode="idl'
OPENMETRICS = b"""# TYPE jobs counter
# HELP jobs Jobs done.
jobs_total{queue="a"} 3 1700000000.5
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 1
latency_seconds_bucket{le="+Inf"} 2
latency_seconds_count 2
latency_seconds_sum 0.3
# EOF
"""
OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ExpositionApp:
    """A WSGI app: one recorded answer per path; it records the request headers it saw."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        self.requests.append({k: v for k, v in environ.items() if k.startswith("HTTP_")})
        status, content_type, body = "200 OK", TEXT_TYPE, GOOD
        headers: list[tuple[str, str]] = []
        if path == "/garbage":
            body = GARBAGE
        elif path == "/truncated":
            body = TRUNCATED
        elif path == "/openmetrics":
            content_type, body = OPENMETRICS_TYPE, OPENMETRICS
        elif path == "/openmetrics-truncated":
            content_type, body = OPENMETRICS_TYPE, OPENMETRICS.removesuffix(b"# EOF\n")
        elif path == "/labels":
            body = b'app_up{target="inner",zone="z1"} 1\n'
        elif path == "/error":
            status, body = "500 Internal Server Error", b"boom\n"
        elif path == "/auth":
            if environ.get("HTTP_AUTHORIZATION") != "Bearer s3cret":
                status, body = "401 Unauthorized", b"who are you?\n"
        elif path == "/slow":
            time.sleep(2)
        elif path == "/big":
            body = b"app_padding 1\n" * 100
        elif path == "/gzip":
            body = gzip.compress(b"app_up 1\n" * 1000)
            headers.append(("Content-Encoding", "gzip"))
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers])
        return [body]


@pytest.fixture(scope="module")
def app() -> Iterator[tuple[ExpositionApp, str]]:
    exposition = ExpositionApp()
    with serve_wsgi(exposition) as url:
        yield exposition, url


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and exporter.test, valid for 10 days: (cert, key) PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "exporter.test")])
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=10))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("exporter.test"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class _GoodHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", TEXT_TYPE)
        self.send_header("Content-Length", str(len(GOOD)))
        self.end_headers()
        self.wfile.write(GOOD)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def tls_url(certificate: tuple[Path, Path]) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 answering GOOD, with the test's certificate."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _GoodHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# -- helpers ---------------------------------------------------------------------------------------


def exporter_target(name: str, url: str, **spec: Any) -> Target:
    settings: dict[str, Any] = {"interval": 30.0, "timeout": 6.0, "scrape_timeout": 5.0}
    settings.update(spec)
    device = Device(name=name, site="dc-east", system="records", role="server", address="127.0.0.1")
    return Target(device=device, spec=ExporterCollectorSpec(kind="exporter", url=url, **settings))


def scrape(target: Target, metadata: MetricMetadata | None = None) -> RunResult:
    """One run of `target` through the scheduler's TargetRunner (target labels, health)."""
    clock = SystemClock()
    collector = ExporterCollector(clock=clock, metadata=metadata or MetricMetadata())
    return asyncio.run(TargetRunner(target=target, collector=collector, clock=clock).run_once())


def collected(result: RunResult) -> dict[Series, float]:
    """The collector's samples (no health) by (name, labels without the target's labels)."""
    health = {"up", "collect_duration_seconds", "collect_samples"}
    return {(s.name, s.labels.without(*TARGET_LABELS)): s.value for s in result.samples if s.name not in health}


def direct(url: str, names: set[str]) -> dict[Series, float]:
    """What the exporter answers to a plain request, for the metric names given."""
    families = text_string_to_metric_families(httpx.get(url, timeout=5).text)
    return {
        (s.name, Labels(s.labels)): float(s.value) for family in families for s in family.samples if s.name in names
    }


def failure(result: RunResult) -> tuple[bool | None, str | None, str | None]:
    return result.health.up, result.health.last_cause, result.health.last_error


def keep(regex: str, *labels: str) -> RelabelRule:
    return RelabelRule(action=RelabelAction.KEEP, source_labels=labels, regex=re.compile(regex, re.DOTALL))


def drop(regex: str, *labels: str) -> RelabelRule:
    return RelabelRule(action=RelabelAction.DROP, source_labels=labels, regex=re.compile(regex, re.DOTALL))


# -- node_exporter ---------------------------------------------------------------------------------

NODE_NAMES = {"node_load1", "node_cpu_seconds_total"}


def test_node_exporter_scrape_matches_a_direct_request_at_the_same_moment(node_exporter: str) -> None:
    metadata = MetricMetadata()
    keep_two = keep("node_load1|node_cpu_seconds_total", "__name__")

    before = direct(node_exporter, NODE_NAMES)
    result = scrape(exporter_target("node-01", node_exporter, metric_relabel_configs=(keep_two,)), metadata)
    after = direct(node_exporter, NODE_NAMES)

    samples = collected(result)
    assert result.ok
    assert set(samples) == set(before) == set(after)
    assert {name for name, _ in samples} == NODE_NAMES
    for series, value in samples.items():
        assert min(before[series], after[series]) <= value <= max(before[series], after[series]), series
    assert {s.labels.without("cpu", "mode") for s in result.samples if s.name == "node_cpu_seconds_total"} == {
        Labels(target="node-01", site="dc-east", system="records", role="server")
    }
    ts = {s.ts for s in result.samples if s.name in NODE_NAMES}
    assert len(ts) == 1
    assert result.health.last_run_ts is not None
    assert result.health.last_run_ts <= ts.pop() <= time.time()
    assert metadata.get("node_cpu_seconds") == ("counter", "Seconds the CPUs spent in each mode.")
    assert metadata.get("node_load1") == ("gauge", "1m load average.")


def test_relabel_keep_and_drop_select_exactly_the_expected_node_exporter_series(node_exporter: str) -> None:
    rules = (
        keep("node_cpu_seconds_total", "__name__"),
        drop("idle|iowait", "mode"),
        drop("node_cpu_seconds_total;[1-9][0-9]*", "__name__", "cpu"),
        RelabelRule(action=RelabelAction.LABELDROP, regex=re.compile("cpu")),
    )

    result = scrape(exporter_target("node-01", node_exporter, metric_relabel_configs=rules))

    reference = direct(node_exporter, {"node_cpu_seconds_total"})
    expected = {
        ("node_cpu_seconds_total", Labels(mode=labels["mode"]))
        for _, labels in reference
        if labels["cpu"] == "0" and labels["mode"] not in {"idle", "iowait"}
    }
    assert result.ok
    assert set(collected(result)) == expected
    assert len(expected) == len({labels["mode"] for _, labels in reference}) - 2


# -- expositions and failures ----------------------------------------------------------------------


def test_request_sends_prometheus_accept_headers_and_reads_a_gzip_body(app: tuple[ExpositionApp, str]) -> None:
    exposition, base = app
    exposition.requests.clear()

    result = scrape(exporter_target("web-01", f"{base}/gzip"))

    assert result.ok
    assert collected(result) == {("app_up", Labels()): 1.0}
    assert [s.value for s in result.samples if s.name == "collect_samples"] == [1000.0]
    seen = exposition.requests[0]
    assert (seen["HTTP_ACCEPT"], seen["HTTP_ACCEPT_ENCODING"]) == (ACCEPT, "gzip")
    assert seen["HTTP_X_PROMETHEUS_SCRAPE_TIMEOUT_SECONDS"] == "5"


def test_openmetrics_keeps_names_types_and_timestamps(app: tuple[ExpositionApp, str]) -> None:
    _, base = app
    metadata = MetricMetadata()

    honoured = scrape(exporter_target("web-01", f"{base}/openmetrics"), metadata)
    ignored = scrape(exporter_target("web-01", f"{base}/openmetrics", honor_timestamps=False))

    series = {(s.name, s.labels.without(*TARGET_LABELS), s.value, s.ts) for s in honoured.samples}
    scraped_at = next(s.ts for s in honoured.samples if s.name == "latency_seconds_count")
    assert {entry for entry in series if entry[0] not in {"up", "collect_duration_seconds", "collect_samples"}} == {
        ("jobs_total", Labels(queue="a"), 3.0, 1700000000.5),
        ("latency_seconds_bucket", Labels(le="0.1"), 1.0, scraped_at),
        ("latency_seconds_bucket", Labels(le="+Inf"), 2.0, scraped_at),
        ("latency_seconds_count", Labels(), 2.0, scraped_at),
        ("latency_seconds_sum", Labels(), 0.3, scraped_at),
    }
    ignored_ts = {s.ts for s in ignored.samples if s.name.startswith(("jobs", "latency"))}
    assert len(ignored_ts) == 1
    assert ignored.health.last_run_ts is not None
    assert ignored.health.last_run_ts <= ignored_ts.pop() <= time.time()
    assert metadata.get("jobs") == ("counter", "Jobs done.")
    assert metadata.get("latency_seconds") == ("histogram", "")


def test_honor_labels_decides_who_wins_a_label_conflict(app: tuple[ExpositionApp, str]) -> None:
    _, base = app

    default = scrape(exporter_target("web-01", f"{base}/labels"))
    honoured = scrape(exporter_target("web-01", f"{base}/labels", honor_labels=True))

    identity = {"site": "dc-east", "system": "records", "role": "server"}
    assert [s.labels for s in default.samples if s.name == "app_up"] == [
        Labels(identity, target="web-01", exported_target="inner", zone="z1")
    ]
    assert [s.labels for s in honoured.samples if s.name == "app_up"] == [Labels(identity, target="inner", zone="z1")]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "/garbage",
            "malformed text exposition from {url} at line 4: could not convert string to float: 'is':"
            " 'this is not a metric'",
        ),
        (
            "/truncated",
            "malformed text exposition from {url} at line 2: could not convert string to float:"
            ' \'{{cpu="0",mode="idl\':'
            ' \'node_cpu_seconds_total{{cpu="0",mode="idl\'',
        ),
        (
            "/openmetrics-truncated",
            "malformed OpenMetrics exposition from {url} at line 8: Missing # EOF at end: 'latency_seconds_sum 0.3'",
        ),
    ],
    ids=["garbage", "truncated", "openmetrics-without-eof"],
)
def test_malformed_exposition_is_down_with_the_parsers_message_and_line(
    app: tuple[ExpositionApp, str], path: str, message: str
) -> None:
    url = f"{app[1]}{path}"

    result = scrape(exporter_target("web-01", url))

    assert failure(result) == (False, "malformed", message.format(url=url))
    assert collected(result) == {}


def test_http_errors_timeouts_and_size_limits_each_have_their_cause(app: tuple[ExpositionApp, str]) -> None:
    base = app[1]
    refused = f"http://127.0.0.1:{free_port()}/metrics"

    assert failure(scrape(exporter_target("a", f"{base}/error"))) == (
        False,
        "http_status",
        f"HTTP 500 Internal Server Error from {base}/error",
    )
    assert failure(scrape(exporter_target("a", f"{base}/auth"))) == (
        False,
        "auth",
        f"HTTP 401 Unauthorized from {base}/auth",
    )
    assert scrape(exporter_target("a", f"{base}/auth", bearer_token=Secret("s3cret", reference="env:T"))).ok
    assert failure(scrape(exporter_target("a", f"{base}/slow", scrape_timeout=0.5, timeout=1.5))) == (
        False,
        "timeout",
        f"no answer within 0.5s from {base}/slow",
    )
    assert failure(scrape(exporter_target("a", f"{base}/big", body_size_limit=1000))) == (
        False,
        "too_big",
        f"answer from {base}/big is larger than body_size_limit (1000 bytes)",
    )
    assert failure(scrape(exporter_target("a", refused))) == (
        False,
        "connect",
        f"cannot connect to {refused}: Connection refused",
    )


def test_tls_untrusted_certificate_fails_and_its_ca_file_succeeds(tls_url: str, certificate: tuple[Path, Path]) -> None:
    trusted = ExporterTls(ca_file=str(certificate[0]))

    untrusted = scrape(exporter_target("a", tls_url))
    ok = scrape(exporter_target("a", tls_url, tls=trusted))
    by_name = scrape(
        exporter_target("a", tls_url, tls=ExporterTls(ca_file=str(certificate[0]), server_name="exporter.test"))
    )
    wrong_name = scrape(
        exporter_target("a", tls_url, tls=ExporterTls(ca_file=str(certificate[0]), server_name="other.test"))
    )
    skipped = scrape(exporter_target("a", tls_url, tls=ExporterTls(insecure_skip_verify=True)))

    assert failure(untrusted) == (
        False,
        "tls",
        f"TLS failed for {tls_url}: certificate verify failed: self-signed certificate",
    )
    assert (ok.ok, collected(ok)) == (True, {("app_up", Labels()): 1.0})
    assert by_name.ok
    assert failure(wrong_name) == (
        False,
        "tls",
        f"TLS failed for {tls_url}: certificate verify failed: Hostname mismatch, certificate is not valid for"
        " 'other.test'.",
    )
    assert skipped.ok


# -- isolation -------------------------------------------------------------------------------------


def test_failing_targets_do_not_affect_the_others_in_one_scheduler_run(
    node_exporter: str, app: tuple[ExpositionApp, str], tls_url: str
) -> None:
    base = app[1]
    targets = [
        exporter_target("node", node_exporter, metric_relabel_configs=(keep("node_load1", "__name__"),)),
        exporter_target("garbage", f"{base}/garbage"),
        exporter_target("error", f"{base}/error"),
        exporter_target("slow", f"{base}/slow", scrape_timeout=0.5, timeout=1.5),
        exporter_target("tls", tls_url),
        exporter_target("good", f"{base}/metrics"),
    ]

    async def main() -> list[Any]:
        scheduler = Scheduler(
            targets=targets,
            registry=COLLECTOR_KINDS,
            deps=CollectorDeps(clock=SystemClock()),
            sink=RecordingSink(),
            clock=SystemClock(),
            metrics=prometheus_client.CollectorRegistry(),
        )
        samples = await scheduler.run_once_all()
        return [samples, scheduler.health()]

    samples, health = asyncio.run(main())

    assert {key: (h.up, h.last_cause) for key, h in health.items()} == {
        "node/exporter": (True, None),
        "garbage/exporter": (False, "malformed"),
        "error/exporter": (False, "http_status"),
        "slow/exporter": (False, "timeout"),
        "tls/exporter": (False, "tls"),
        "good/exporter": (True, None),
    }
    assert sorted((s.labels["target"], s.name) for s in samples if s.name in {"node_load1", "app_up"}) == [
        ("good", "app_up"),
        ("node", "node_load1"),
    ]
