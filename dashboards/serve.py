"""Serving a WSGI app with waitress on a thread of its own, and stopping it cleanly."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from waitress import wasyncore
from waitress.server import create_server

__all__ = ["HttpServer"]

log = logging.getLogger(__name__)


class HttpServer:
    """A waitress server: the constructor binds the port (raising OSError when it cannot), `start()`
    serves from a background thread, `stop()` ends it and its connections."""

    def __init__(self, app: Callable[..., Any], *, host: str, port: int, threads: int = 4) -> None:
        # One host and port: a TcpWSGIServer. Typed Any: the waitress stubs lack the attributes used here.
        server: Any = create_server(app, host=host, port=port, threads=threads)
        self._server = server
        self.host = host
        self.port: int = server.effective_port
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)

    def start(self) -> HttpServer:
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 2.0) -> bool:
        """Close the listening socket and open connections; True when the server thread ended."""
        server = self._server

        def close() -> None:
            server.task_dispatcher.shutdown()
            server.close()
            wasyncore.close_all(server._map)  # open connections too, so that the loop ends now

        if not self._thread.is_alive():
            close()
            return True
        # Close from the loop's own thread: closing its sockets from here races its select() (EBADF).
        try:
            server.trigger.pull_trigger(close)
        except OSError as e:  # the trigger's pipe is gone (seen in a long test run): close from here
            log.warning("stopping the HTTP server: its wake-up pipe failed (%s); closing it from this thread", e)
            with contextlib.suppress(OSError):
                close()
        self._thread.join(timeout)
        return not self._thread.is_alive()
