"""A real Prometheus (Debian's 2.42) for the differential tests and the query benchmark.

`PrometheusServer` starts one on 127.0.0.1 with an empty scrape configuration, its own data
directory and the remote-write receiver on, waits for `/-/ready`, and answers PromQL through the HTTP
API (`/api/v1/query`, `/api/v1/query_range`, POSTed forms) as `Answer`s. No pytest in here: the
benchmark uses it too.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demo.agents import stop_process
from store.remote import TimeSeries, send

__all__ = ["Answer", "PrometheusServer"]

# evaluation_interval is the default step of a subquery without one (`x[10m:]`): 1m, as the console's.
_CONFIG = "global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\nscrape_configs: []\n"


@dataclass(frozen=True, slots=True)
class Answer:
    """What the API said: `data` ({"resultType", "result"}) on success, else `error_type`
    (Prometheus' errorType: bad_data, execution, ...) and `error` (its message)."""

    data: dict[str, Any] | None = None
    error_type: str | None = None
    error: str | None = None


class PrometheusServer:
    """One Prometheus process. `start()` then `stop()` (or use it as a context manager)."""

    def __init__(self, binary: str, workdir: Path, port: int, *, extra_args: Sequence[str] = ()) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.data_dir = workdir / "data"
        self.log_path = workdir / "prometheus.log"
        self.extra_args = tuple(extra_args)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None, "not started"
        return self._process.pid

    def start(self, timeout: float = 30.0) -> PrometheusServer:
        """Start and wait until `/-/ready` answers 200. Raises RuntimeError (with the log's tail)
        when it exits or is not ready within `timeout` seconds."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(_CONFIG)
        args = [
            self.binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.data_dir}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-remote-write-receiver",
            "--log.level=warn",
            *self.extra_args,
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self._process.returncode}: {self._tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"prometheus not ready within {timeout:g}s: {self._tail()}")

    def stop(self) -> None:
        if self._process is not None:
            stop_process(self._process)
            self._process = None

    def __enter__(self) -> PrometheusServer:
        return self.start() if self._process is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- writing --------------------------------------------------------------------------------
    def write(self, series: Sequence[TimeSeries]) -> None:
        """One remote-write request (raises urllib.error.HTTPError with Prometheus' reason if refused)."""
        try:
            send(f"{self.url}/api/v1/write", series)
        except urllib.error.HTTPError as exc:
            reason = exc.read().decode(errors="replace").strip()
            raise RuntimeError(f"remote write refused ({exc.code}): {reason}") from exc

    # -- querying -------------------------------------------------------------------------------
    def query(self, expr: str, at: float) -> Answer:
        """An instant query at `at` (Unix seconds)."""
        return self._api("query", {"query": expr, "time": _seconds(at)})

    def query_range(self, expr: str, start: float, end: float, step: float) -> Answer:
        """A range query; `step` in seconds."""
        return self._api(
            "query_range",
            {"query": expr, "start": _seconds(start), "end": _seconds(end), "step": _seconds(step)},
        )

    def _api(self, endpoint: str, form: dict[str, str]) -> Answer:
        request = urllib.request.Request(
            f"{self.url}/api/v1/{endpoint}",
            data=urllib.parse.urlencode(form).encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                body = json.loads(raw)
            except ValueError:
                raise RuntimeError(f"prometheus answered {exc.code} without JSON: {raw[:200]!r}") from exc
        if body.get("status") == "success":
            return Answer(data=body["data"])
        return Answer(error_type=body.get("errorType", "?"), error=body.get("error", ""))

    def _tail(self, lines: int = 8) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip()
        except OSError:
            return "(no log)"
        return " | ".join(text.splitlines()[-lines:]) or "(empty log)"


def _seconds(t: float) -> str:
    """Seconds as the API reads them, to the millisecond."""
    return f"{t:.3f}"
