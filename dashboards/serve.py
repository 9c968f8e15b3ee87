"""Serving a WSGI app on a thread of its own, and stopping it cleanly: plain HTTP with waitress, HTTPS
with cheroot (waitress has no TLS)."""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from cheroot.ssl.builtin import BuiltinSSLAdapter
from cheroot.wsgi import Server as CherootServer
from waitress import wasyncore
from waitress.server import create_server

__all__ = ["HttpServer", "TlsError"]

log = logging.getLogger(__name__)


class TlsError(ValueError):
    """The TLS certificate or key cannot be loaded; the message names the file and what is wrong."""


class HttpServer:
    """The console's web server: the constructor binds the port (raising OSError when it cannot),
    `start()` serves from a background thread, `stop()` ends it and its connections.

    Without `tls` it serves HTTP with waitress. With `tls=(cert_file, key_file)` (PEM; the key
    unencrypted) it serves HTTPS, TLS 1.2 or later, with cheroot, and raises TlsError (before binding)
    when the certificate or key cannot be loaded. `port` is the port bound: port 0 picks a free one."""

    def __init__(
        self,
        app: Callable[..., Any],
        *,
        host: str,
        port: int,
        threads: int = 4,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        backend: _Backend = (
            _Waitress(app, host, port, threads) if tls is None else _Cheroot(app, host, port, threads, tls)
        )
        self._backend = backend
        self.host = host
        self.port = backend.port
        self._scheme = "http" if tls is None else "https"
        self._thread = threading.Thread(target=backend.run, name="http", daemon=True)

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"{self._scheme}://{self.host}:{self.port}"

    def stop(self, timeout: float = 2.0) -> bool:
        """Close the listening socket and open connections; True when the server thread ended
        (waiting up to `timeout` seconds for it)."""
        deadline = time.monotonic() + timeout
        running = self._thread.is_alive()
        self._backend.close(timeout, running=running)
        if running:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        return not self._thread.is_alive()


class _Backend(Protocol):
    """A bound server: `run()` serves until `close()`; `close()` is called from another thread."""

    @property
    def port(self) -> int: ...

    def run(self) -> None: ...

    def close(self, timeout: float, *, running: bool) -> None: ...


class _Waitress:
    def __init__(self, app: Callable[..., Any], host: str, port: int, threads: int) -> None:
        # One host and port: a TcpWSGIServer. Typed Any: the waitress stubs lack the attributes used here.
        server: Any = create_server(app, host=host, port=port, threads=threads)
        self._server = server
        self.port: int = server.effective_port

    def run(self) -> None:
        self._server.run()

    def close(self, timeout: float, *, running: bool) -> None:
        server = self._server

        def close() -> None:
            server.task_dispatcher.shutdown()
            server.close()
            wasyncore.close_all(server._map)  # open connections too, so that the loop ends now

        if not running:
            close()
            return
        # Close from the loop's own thread: closing its sockets from here races its select() (EBADF).
        try:
            server.trigger.pull_trigger(close)
        except OSError as e:  # the trigger's pipe is gone (seen in a long test run): close from here
            log.warning("stopping the HTTP server: its wake-up pipe failed (%s); closing it from this thread", e)
            with contextlib.suppress(OSError):
                close()


class _CherootServer(CherootServer):
    bind_error: OSError | None = None
    """Why binding failed: cheroot's own error keeps only its text, without the errno."""

    def bind(self, family: int, type: int, proto: int = 0) -> Any:
        try:
            return super().bind(family, type, proto)
        except OSError as exc:
            self.bind_error = exc
            raise

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        # cheroot writes these (clients dropping handshakes, plain HTTP on the TLS port) to stderr
        log.log(level, "%s", msg, exc_info=traceback)


class _Cheroot:
    def __init__(self, app: Callable[..., Any], host: str, port: int, threads: int, tls: tuple[Path, Path]) -> None:
        cert_file, key_file = tls
        context = _tls_context(cert_file, key_file)
        # The adapter loads the files again (for the SSL_SERVER_* environ keys), then serves with our context.
        adapter = BuiltinSSLAdapter(str(cert_file), str(key_file), private_key_password=_no_password())
        adapter.context = context
        server = _CherootServer((host, port), app, numthreads=threads)
        server.ssl_adapter = adapter
        try:
            server.prepare()  # binds and listens
        except OSError as exc:  # raise the bind's own error (errno, strerror), as waitress does
            raise server.bind_error or exc from exc
        self._server = server
        self.port: int = server.bind_addr[1]

    def run(self) -> None:
        self._server.serve()

    def close(self, timeout: float, *, running: bool) -> None:
        self._server.shutdown_timeout = timeout  # seconds stop() waits for the worker threads
        self._server.stop()  # closes the socket and the connections, then waits for the workers


def _no_password() -> Any:
    """A password callback for OpenSSL that refuses: without one, an encrypted key makes OpenSSL
    prompt on the terminal. Typed Any: cheroot's stubs only know passwords as str or bytes."""

    def refuse() -> bytes:
        raise TlsError("it is encrypted; the console needs an unencrypted key (readable only by it)")

    return refuse


def _tls_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server context with this certificate (chain) and key, TLS 1.2 or later. Raises TlsError."""
    contents = {}
    for what, path in (("certificate", cert_file), ("key", key_file)):
        try:
            contents[what] = path.read_bytes()
        except OSError as exc:
            raise TlsError(f"cannot read the TLS {what} {path}: {exc.strerror or exc}") from exc
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file, password=_no_password())
    except TlsError as exc:
        raise TlsError(f"cannot load the TLS key {key_file}: {exc}") from None
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            problem = f"the TLS key {key_file} is not the key of the certificate {cert_file}"
        elif b"-----BEGIN CERTIFICATE-----" not in contents["certificate"]:
            problem = f"the TLS certificate {cert_file} holds no PEM certificate"
        elif b"PRIVATE KEY-----" not in contents["key"]:
            problem = f"the TLS key {key_file} holds no PEM private key"
        else:
            problem = f"cannot load the TLS certificate {cert_file} and key {key_file}: {exc}"
        raise TlsError(problem) from exc
    return context
