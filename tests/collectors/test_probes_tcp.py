"""The TCP probe against real listeners on 127.0.0.1: closed, accepting, banners, TLS."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

from model import TcpProbeSpec
from tests.collectors.probe_support import run_once, self_signed, target, values
from tests.helpers import free_port


def tcp(port: int, **fields: object) -> TcpProbeSpec:
    return TcpProbeSpec(kind="tcp", interval=5.0, timeout=2.5, probe_timeout=2.0, port=port, **fields)  # type: ignore[arg-type]


@contextlib.contextmanager
def listener(banner: bytes = b"", wrap: object = None) -> Iterator[int]:
    """A TCP server on 127.0.0.1 (port the OS picks) that sends `banner` to each client, ends its side
    of the stream, and reads what the client sends."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with contextlib.suppress(OSError), conn:
                if wrap is not None:
                    conn = wrap.wrap_socket(conn, server_side=True)  # type: ignore[attr-defined]
                conn.sendall(banner)
                conn.shutdown(socket.SHUT_WR)
                conn.recv(1024)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        server.close()


def test_closed_port_is_refused_and_its_samples_are_kept() -> None:
    port = free_port()
    result = run_once(target(tcp(port)))
    assert result.health.up is False
    assert result.health.last_cause == "refused"
    assert result.health.last_error == f"connection refused by 127.0.0.1:{port}"
    got = values(result)
    assert got["probe_success"] == 0.0
    assert got["up"] == 0.0
    assert set(got) == {"probe_success", "probe_duration_seconds", "up", "collect_duration_seconds", "collect_samples"}


def test_accepting_port_succeeds() -> None:
    with listener() as port:
        result = run_once(target(tcp(port)))
    assert result.health.up is True
    got = values(result)
    assert got["probe_success"] == 1.0
    assert got["collect_samples"] == 2.0
    assert 0 < got["probe_duration_seconds"] < 2


def test_expect_matches_the_banner_after_send() -> None:
    with listener(b"220 mail.test ESMTP\r\n") as port:
        ok = run_once(target(tcp(port, send="QUIT\r\n", expect=r"^220 ")))
        wrong = run_once(target(tcp(port, expect=r"^SSH-2\.0")))
    assert values(ok)["probe_success"] == 1.0
    assert wrong.health.last_cause == "expect"
    assert wrong.health.last_error == (
        f"the answer of 127.0.0.1:{port} does not match '^SSH-2\\\\.0' (got '220 mail.test ESMTP\\r\\n')"
    )
    assert values(wrong)["probe_success"] == 0.0


def test_tls_to_an_untrusted_certificate_fails_with_reason_tls(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, days=10)
    with listener(b"hello", wrap=cert.server_context()) as port:
        result = run_once(target(tcp(port, tls=True)))
    assert result.health.last_cause == "tls"
    assert result.health.last_error is not None
    assert result.health.last_error.startswith(
        f"TLS handshake with 127.0.0.1:{port} failed: [SSL: CERTIFICATE_VERIFY_FAILED]"
    )
    assert values(result)["probe_success"] == 0.0
