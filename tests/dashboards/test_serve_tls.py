"""HttpServer with `tls`: real HTTPS servers (cheroot) on 127.0.0.1 with a self-signed certificate made
for each test, fetched with httpx verifying against that certificate."""

from __future__ import annotations

import datetime as dt
import errno
import ipaddress
import socket
import ssl
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import flask
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dashboards.serve import HttpServer, TlsError

BODY = "served over TLS"


def write_key(path: Path, key: ec.EllipticCurvePrivateKey, password: bytes | None = None) -> Path:
    encryption = serialization.NoEncryption() if password is None else serialization.BestAvailableEncryption(password)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    return path


def write_certificate(path: Path, key: ec.EllipticCurvePrivateKey) -> Path:
    """A self-signed certificate for 127.0.0.1 (as an IP subject alternative name), valid for a day."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture
def tls(tmp_path: Path) -> tuple[Path, Path]:
    """(certificate, key) files of a self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    return write_certificate(tmp_path / "cert.pem", key), write_key(tmp_path / "key.pem", key)


@pytest.fixture
def app() -> flask.Flask:
    app = flask.Flask(__name__)
    app.add_url_rule("/", "index", lambda: BODY)
    return app


@pytest.fixture
def server(app: flask.Flask, tls: tuple[Path, Path]) -> Iterator[HttpServer]:
    server = HttpServer(app, host="127.0.0.1", port=0, threads=2, tls=tls).start()
    yield server
    assert server.stop(timeout=5)


def _client(cert_file: Path) -> httpx.Client:
    """A client that trusts only `cert_file` and checks the host name (127.0.0.1) against it."""
    return httpx.Client(verify=ssl.create_default_context(cafile=str(cert_file)), timeout=5)


def test_serves_the_app_over_https_verified_against_its_certificate(server: HttpServer, tls: tuple[Path, Path]) -> None:
    with _client(tls[0]) as client:
        response = client.get(f"{server.url}/")

    assert (response.status_code, response.text) == (200, BODY)


def test_url_is_https_with_the_port_bound(server: HttpServer) -> None:
    assert server.port > 0
    assert server.url == f"https://127.0.0.1:{server.port}"


def test_plain_http_is_not_served_on_the_https_port(server: HttpServer) -> None:
    try:
        answer = str(httpx.get(f"http://127.0.0.1:{server.port}/", timeout=5).status_code)
    except httpx.TransportError:
        answer = "connection broken"

    # cheroot answers 400 in plain text and closes; the client may see that, or the reset first
    assert answer in {"400", "connection broken"}


def test_tls_1_1_client_is_refused_by_the_server(server: HttpServer, tls: tuple[Path, Path]) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=tls[0])
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer TLS 1.1 at all
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # ssl.TLSVersion.TLSv1_1 is deprecated
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1

    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw, pytest.raises(ssl.SSLError) as caught:
        context.wrap_socket(raw, server_hostname="127.0.0.1")

    assert caught.value.reason == "TLSV1_ALERT_PROTOCOL_VERSION"  # the server's alert: protocol version


def test_tls_1_2_client_is_served(server: HttpServer, tls: tuple[Path, Path]) -> None:
    context = ssl.create_default_context(cafile=str(tls[0]))
    context.maximum_version = ssl.TLSVersion.TLSv1_2

    with httpx.Client(verify=context, timeout=5) as client:
        response = client.get(f"{server.url}/")

    assert (response.status_code, response.text) == (200, BODY)


def test_busy_port_raises_address_in_use(app: flask.Flask, server: HttpServer, tls: tuple[Path, Path]) -> None:
    with pytest.raises(OSError) as caught:
        HttpServer(app, host="127.0.0.1", port=server.port, tls=tls)

    assert (caught.value.errno, caught.value.strerror) == (errno.EADDRINUSE, "Address already in use")


def test_missing_key_file_raises_naming_the_file(app: flask.Flask, tls: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(TlsError) as caught:
        HttpServer(app, host="127.0.0.1", port=0, tls=(tls[0], tmp_path / "missing.pem"))

    assert str(caught.value) == f"cannot read the TLS key {tmp_path}/missing.pem: No such file or directory"


def test_key_of_another_certificate_raises_naming_both_files(
    app: flask.Flask, tls: tuple[Path, Path], tmp_path: Path
) -> None:
    other = write_key(tmp_path / "other.pem", ec.generate_private_key(ec.SECP256R1()))

    with pytest.raises(TlsError) as caught:
        HttpServer(app, host="127.0.0.1", port=0, tls=(tls[0], other))

    assert str(caught.value) == f"the TLS key {other} is not the key of the certificate {tls[0]}"


def test_encrypted_key_raises_without_asking_for_a_password(
    app: flask.Flask, tls: tuple[Path, Path], tmp_path: Path
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = write_certificate(tmp_path / "enc-cert.pem", key)
    encrypted = write_key(tmp_path / "enc-key.pem", key, password=b"secret")

    with pytest.raises(TlsError) as caught:
        HttpServer(app, host="127.0.0.1", port=0, tls=(cert, encrypted))

    assert str(caught.value) == (
        f"cannot load the TLS key {encrypted}: it is encrypted; the console needs an unencrypted key"
        " (readable only by it)"
    )


def test_files_swapped_raise_naming_the_certificate_file(app: flask.Flask, tls: tuple[Path, Path]) -> None:
    cert, key = tls

    with pytest.raises(TlsError) as caught:
        HttpServer(app, host="127.0.0.1", port=0, tls=(key, cert))

    assert str(caught.value) == f"the TLS certificate {key} holds no PEM certificate"


def test_stop_ends_the_thread_and_its_open_connections_within_the_timeout(
    app: flask.Flask, tls: tuple[Path, Path]
) -> None:
    server = HttpServer(app, host="127.0.0.1", port=0, threads=2, tls=tls).start()
    with _client(tls[0]) as client:
        assert client.get(f"{server.url}/").status_code == 200  # a kept-alive connection stays open
        started = time.monotonic()

        assert server.stop(timeout=3) is True
        assert time.monotonic() - started < 3
        with pytest.raises(httpx.TransportError):
            client.get(f"{server.url}/")


def test_stop_frees_the_port_for_a_new_server(app: flask.Flask, tls: tuple[Path, Path]) -> None:
    first = HttpServer(app, host="127.0.0.1", port=0, tls=tls).start()
    assert first.stop(timeout=3) is True

    second = HttpServer(app, host="127.0.0.1", port=first.port, tls=tls).start()
    try:
        with _client(tls[0]) as client:
            assert client.get(f"{second.url}/").text == BODY
    finally:
        assert second.stop(timeout=3) is True


def test_stop_of_a_server_never_started_returns_true(app: flask.Flask, tls: tuple[Path, Path]) -> None:
    server = HttpServer(app, host="127.0.0.1", port=0, tls=tls)

    assert server.stop(timeout=1) is True


def test_without_tls_it_serves_plain_http(app: flask.Flask) -> None:
    server = HttpServer(app, host="127.0.0.1", port=0, threads=2).start()
    try:
        response = httpx.get(f"{server.url}/", timeout=5)
    finally:
        assert server.stop(timeout=3) is True

    assert server.url == f"http://127.0.0.1:{server.port}"
    assert (response.status_code, response.text) == (200, BODY)
