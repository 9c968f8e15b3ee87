"""The HTTP probe against real servers on 127.0.0.1: waitress for plain HTTP, and a threaded
HTTPS server with a certificate the test makes (self-signed, expiring in 10 days)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from model import HttpProbeSpec
from tests.collectors.probe_support import Certificate, run_once, self_signed, target, values
from tests.helpers import free_port, serve_wsgi

PHASES = ("resolve", "connect", "tls", "processing", "transfer")


def http(url: str, **fields: Any) -> HttpProbeSpec:
    return HttpProbeSpec(kind="http", interval=5.0, timeout=2.5, probe_timeout=2.0, url=url, **fields)


class App:
    """`/flaky` answers 200 once, then 503; `/loop` redirects to itself; `/big` is 10 MB of `x`
    then `END`; `/health` says `status: healthy`."""

    def __init__(self) -> None:
        self.flaky_calls = 0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        if path == "/flaky":
            self.flaky_calls += 1
            status = "200 OK" if self.flaky_calls == 1 else "503 Service Unavailable"
            start_response(status, [("Content-Type", "text/plain")])
            return [b"flaky\n"]
        if path == "/loop":
            start_response("302 Found", [("Location", "/loop")])
            return [b""]
        if path == "/big":
            start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(10_000_003))])
            return [b"x" * 1_000_000 for _ in range(10)] + [b"END"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"status: healthy\n"]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_wsgi(App()) as url:
        yield url


def test_a_server_answering_200_then_503_is_up_then_down_with_its_status_kept(server: str) -> None:
    probe = target(http(f"{server}/flaky"))
    first, second = run_once(probe), run_once(probe)
    assert first.health.up is True
    assert values(first)["probe_success"] == 1.0
    assert values(first)["probe_http_status_code"] == 200.0
    assert second.health.up is False
    assert second.health.last_cause == "http_status"
    assert second.health.last_error == f"status 503 from {server}/flaky is not 2xx"
    got = values(second)
    assert (got["probe_success"], got["probe_http_status_code"], got["probe_http_redirects"]) == (0.0, 503.0, 0.0)
    assert {f"probe_http_duration_seconds{{phase={p}}}" for p in PHASES} <= set(got)
    assert "probe_tls_cert_expiry_seconds" not in got


def test_valid_status_codes_replace_2xx(server: str) -> None:
    result = run_once(target(http(f"{server}/health", valid_status_codes=(204,))))
    assert result.health.last_cause == "http_status"
    assert result.health.last_error == f"status 200 from {server}/health is not 204"


def test_body_regex_and_body_regex_not(server: str) -> None:
    assert values(run_once(target(http(f"{server}/health", body_regex=r"status: \w+"))))["probe_success"] == 1.0
    missing = run_once(target(http(f"{server}/health", body_regex="degraded")))
    present = run_once(target(http(f"{server}/health", body_regex_not="healthy")))
    assert (missing.health.last_cause, missing.health.last_error) == (
        "body_match",
        f"the body of {server}/health does not match 'degraded'",
    )
    assert (present.health.last_cause, present.health.last_error) == (
        "body_match",
        f"the body of {server}/health matches 'healthy'",
    )


def test_only_the_first_body_size_limit_bytes_are_read(server: str) -> None:
    capped = run_once(target(http(f"{server}/big", body_size_limit=4096, body_regex="END")))
    assert capped.health.last_cause == "body_match"
    assert values(capped)["probe_http_status_code"] == 200.0
    whole = run_once(target(http(f"{server}/big", body_size_limit=20_000_000, body_regex="END$")))
    assert values(whole)["probe_success"] == 1.0


def test_a_redirect_loop_fails_with_reason_redirects(server: str) -> None:
    result = run_once(target(http(f"{server}/loop", max_redirects=3)))
    assert result.health.last_cause == "redirects"
    assert result.health.last_error == f"{server}/loop: Exceeded maximum allowed redirects."
    not_followed = run_once(target(http(f"{server}/loop", follow_redirects=False, valid_status_codes=(302,))))
    assert values(not_followed)["probe_success"] == 1.0


def test_closed_port_is_refused() -> None:
    port = free_port()
    result = run_once(target(http(f"http://127.0.0.1:{port}/")))
    assert (result.health.last_cause, result.health.last_error) == (
        "refused",
        f"connection refused by 127.0.0.1:{port}",
    )
    assert values(result)["probe_success"] == 0.0


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "6")
        self.end_headers()
        self.wfile.write(b"hello\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def https_server(cert: Certificate) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = cert.server_context().wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def tls_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Certificate]]:
    cert = self_signed(tmp_path_factory.mktemp("tls"), days=10)
    with https_server(cert) as url:
        yield url, cert


def test_untrusted_self_signed_certificate_fails_with_reason_tls(tls_site: tuple[str, Certificate]) -> None:
    url, _ = tls_site
    result = run_once(target(http(url)))
    assert result.health.last_cause == "tls"
    assert result.health.last_error is not None
    assert result.health.last_error.startswith("TLS with 127.0.0.1:")
    assert "CERTIFICATE_VERIFY_FAILED" in result.health.last_error
    assert values(result)["probe_success"] == 0.0


def test_certificate_trusted_through_ca_file_gives_its_exact_expiry(tls_site: tuple[str, Certificate]) -> None:
    url, cert = tls_site
    result = run_once(target(http(url, ca_file=str(cert.cert_file))))
    assert result.health.up is True
    got = values(result)
    assert got["probe_success"] == 1.0
    assert got["probe_http_status_code"] == 200.0
    assert got["probe_tls_cert_expiry_seconds"] == cert.not_after
    assert got["probe_http_duration_seconds{phase=tls}"] > 0
    assert got["probe_http_duration_seconds{phase=connect}"] > 0


def test_insecure_skip_verify_still_reads_the_expiry(tls_site: tuple[str, Certificate]) -> None:
    url, cert = tls_site
    got = values(run_once(target(http(url, insecure_skip_verify=True))))
    assert (got["probe_success"], got["probe_tls_cert_expiry_seconds"]) == (1.0, cert.not_after)


def test_a_host_name_is_resolved_and_timed(tls_site: tuple[str, Certificate]) -> None:
    url, cert = tls_site
    result = run_once(target(http(url.replace("127.0.0.1", "localhost"), ca_file=str(cert.cert_file))))
    got = values(result)
    assert got["probe_success"] == 1.0
    assert got["probe_http_duration_seconds{phase=resolve}"] > 0
