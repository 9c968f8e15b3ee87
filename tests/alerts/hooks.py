"""A real webhook receiver for the alerting tests: an HTTP server on 127.0.0.1 that records every
Alertmanager-style webhook payload and answers what the test decides."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Hook:
    """A webhook receiver: `answer(payload) -> status` decides each reply; `received` is every
    request's (groupKey, status) in arrival order."""

    url: str = ""
    answer: Callable[[dict[str, Any]], int] = lambda payload: 200
    received: list[tuple[str, int]] = field(default_factory=list)
    payloads: list[dict[str, Any]] = field(default_factory=list)

    def delivered(self) -> list[str]:
        return [key for key, status in self.received if status == 200]


@contextlib.contextmanager
def serve_hook() -> Iterator[Hook]:
    hook = Hook()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            status = hook.answer(payload)
            with lock:
                hook.received.append((payload["groupKey"], status))
                hook.payloads.append(payload)
            body = b"" if status == 200 else b"receiver down" if status >= 500 else b"bad payload"
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):  # the sender died (a kill -9 test)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
