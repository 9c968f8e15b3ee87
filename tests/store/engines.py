"""Real remote-write receivers for tests: VictoriaMetrics and Prometheus on 127.0.0.1, each with its own
data directory in a temporary directory and a fixed port (so a writer's URL survives a restart), plus a
scripted fake receiver and a decoder of WriteRequests for checking what was sent.

    vm = start_victoria_metrics(tmp_path / "vm")        # FAILS under CI when the binary is missing
    ...
    feeder = Feeder(writer.append, "rw_outage", series=50, interval=0.1)   # collectors keep polling
    with outage(vm):                                     # stopped here, started again on exit
        time.sleep(120)
    samples = feeder.stop()
    ... writer.stop(timeout=...) ...
    assert vm.raw_samples("rw_outage", start, end) == series_of(samples)  # exact: duplicates would show

Engines are stopped with SIGTERM (both flush what they hold) or SIGKILL (`stop(kill=True)`) and
started again on the same data directory. No assertions in here: tests assert on what these return.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import math
import signal
import ssl
import struct
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cramjam

from model import Labels, Sample
from tests.helpers import free_port, require

__all__ = [
    "Engine",
    "FakeReceiver",
    "Feeder",
    "Prometheus",
    "Reply",
    "SeriesSamples",
    "VictoriaMetrics",
    "decode_write_request",
    "outage",
    "series_of",
    "start_prometheus",
    "start_victoria_metrics",
]

INSTALL = "apt-get install -y --no-install-recommends prometheus victoria-metrics (or scripts/setup.sh --test)"

LabelKey = tuple[tuple[str, str], ...]
SeriesSamples = dict[LabelKey, list[tuple[int, float]]]
"""Stored samples by series (sorted label pairs, `__name__` included): (milliseconds, value) in time order."""


class Engine:
    """One engine process on a fixed port. `start()`, `stop()`, `start()` again on the same data."""

    name = "engine"
    ready_path = "/"

    def __init__(self, binary: str, workdir: Path, port: int | None = None) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.write_url = f"{self.url}/api/v1/write"
        self.data_dir = workdir / "data"
        self.log_path = workdir / f"{self.name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def args(self) -> list[str]:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 30.0) -> Engine:
        """Start and wait until ready. Raises RuntimeError (with the log's tail) when it exits or is
        not ready within `timeout` seconds."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self.args(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self._process.returncode}: {self._tail()}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.05)
        self.stop(kill=True)
        raise RuntimeError(f"{self.name} not ready within {timeout:g}s: {self._tail()}")

    def stop(self, *, kill: bool = False, timeout: float = 30.0) -> None:
        """SIGTERM (or SIGKILL) and wait; a process still there after `timeout` is killed."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> Engine:
        return self if self.running else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def raw_samples(self, selector: str, start: float, end: float) -> SeriesSamples:
        """Every stored sample of the series `selector` matches with start <= time <= end (Unix seconds),
        duplicates included."""
        raise NotImplementedError

    def count(self, selector: str, start: float, end: float) -> int:
        return sum(len(points) for points in self.raw_samples(selector, start, end).values())

    def wait_for_count(self, selector: str, start: float, end: float, expected: int, timeout: float = 30.0) -> int:
        """Poll until at least `expected` samples are stored (or `timeout`); the last count seen."""
        deadline = time.monotonic() + timeout
        while True:
            seen = self.count(selector, start, end)
            if seen >= expected or time.monotonic() > deadline:
                return seen
            time.sleep(0.2)

    def _get(self, path: str, params: dict[str, str]) -> bytes:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=60) as response:
            body: bytes = response.read()
            return body

    def _tail(self, lines: int = 8) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip()
        except OSError:
            return "(no log)"
        return " | ".join(text.splitlines()[-lines:]) or "(empty log)"


class VictoriaMetrics(Engine):
    """Single-node VictoriaMetrics; new data is searchable at once (no latency offset, no cache)."""

    name = "victoria-metrics"
    ready_path = "/health"

    def args(self) -> list[str]:
        return [
            self.binary,
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.data_dir}",
            "-search.latencyOffset=0s",
            "-search.disableCache",
            "-retentionPeriod=100y",
            "-loggerLevel=WARN",
        ]

    def raw_samples(self, selector: str, start: float, end: float) -> SeriesSamples:
        """Through `/api/v1/export`, after `/internal/force_flush` (without it new series take about 10 s
        to be found)."""
        self._get("/internal/force_flush", {})
        body = self._get("/api/v1/export", {"match[]": selector, "start": f"{start:.3f}", "end": f"{end:.3f}"})
        out: SeriesSamples = {}
        for line in body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key = tuple(sorted(item["metric"].items()))
            points = out.setdefault(key, [])
            points.extend(zip(item["timestamps"], (float(v) for v in item["values"]), strict=True))
            points.sort(key=lambda p: p[0])
        return out


class Prometheus(Engine):
    """Prometheus with the remote-write receiver, an empty scrape configuration and long retention."""

    name = "prometheus"
    ready_path = "/-/ready"

    def args(self) -> list[str]:
        config = self.workdir / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1m\n  evaluation_interval: 1m\nscrape_configs: []\n")
        return [
            self.binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={self.data_dir}",
            "--storage.tsdb.retention.time=100y",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-remote-write-receiver",
            "--log.level=warn",
        ]

    def raw_samples(self, selector: str, start: float, end: float) -> SeriesSamples:
        """Through an instant query of `selector[range]` at `end`: raw samples in (end - range, end]."""
        window_ms = math.ceil((end - start) * 1000) + 1
        body = json.loads(self._get("/api/v1/query", {"query": f"{selector}[{window_ms}ms]", "time": f"{end:.3f}"}))
        if body.get("status") != "success":
            raise RuntimeError(f"prometheus query failed: {body}")
        out: SeriesSamples = {}
        for item in body["data"]["result"]:
            key = tuple(sorted(item["metric"].items()))
            out[key] = [(round(float(t) * 1000), float(v)) for t, v in item["values"]]
        return out


def start_victoria_metrics(workdir: Path, port: int | None = None) -> VictoriaMetrics:
    """A started VictoriaMetrics in `workdir` (the test FAILS under CI when the binary is missing)."""
    engine = VictoriaMetrics(require("victoria-metrics", install=INSTALL), workdir, port)
    engine.start()
    return engine


def start_prometheus(workdir: Path, port: int | None = None) -> Prometheus:
    """A started Prometheus in `workdir` (the test FAILS under CI when the binary is missing)."""
    engine = Prometheus(require("prometheus", install=INSTALL), workdir, port)
    engine.start()
    return engine


@contextlib.contextmanager
def outage(*engines: Engine, kill: bool = False) -> Iterator[None]:
    """The engines are down inside the block (SIGTERM, or SIGKILL with `kill`) and started again on
    the same port and data when it ends, even when it raises. For a 2-minute outage: sleep inside."""
    for engine in engines:
        engine.stop(kill=kill)
    try:
        yield
    finally:
        for engine in engines:
            engine.start()


# -- what should be there ---------------------------------------------------------------------------------
def series_of(samples: Iterable[Sample]) -> SeriesSamples:
    """`samples` as an engine stores them (milliseconds), to compare with `raw_samples` exactly."""
    out: SeriesSamples = {}
    for name, labels, value, ts in samples:
        out.setdefault((("__name__", name), *labels.pairs), []).append((round(ts * 1000), value))
    return {tuple(sorted(key)): points for key, points in out.items()}


class Feeder:
    """Collectors that keep polling: a thread that passes one run of `series` samples of metric `name`
    (labels `series`, `site`), stamped with the wall clock to the millisecond, to `append` every `interval`
    seconds until `stop()`, which returns every sample appended. Values are distinct per series and run."""

    def __init__(self, append: Callable[[list[Sample]], None], name: str, *, series: int, interval: float) -> None:
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        labels = [Labels(series=str(i), site="dc-east") for i in range(series)]

        def poll() -> None:
            run = 0
            while not self._stop.wait(interval):
                ts = round(time.time(), 3)
                batch = [Sample(name, labels[i], i * 1000.0 + run + 0.25, ts) for i in range(series)]
                append(batch)
                self.samples.extend(batch)
                run += 1

        self._thread = threading.Thread(target=poll, name=f"feeder-{name}", daemon=True)
        self._thread.start()

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join()
        return self.samples


# -- what was sent ------------------------------------------------------------------------------------
def decode_write_request(body: bytes) -> list[tuple[dict[str, str], list[tuple[int, float]]]]:
    """An uncompressed WriteRequest as (labels, [(ms, value)]) per TimeSeries, in request order."""
    out = []
    for _, series in _fields(body):
        labels: dict[str, str] = {}
        samples: list[tuple[int, float]] = []
        for number, payload in _fields(series):
            parts = dict(_fields(payload)) if number == 1 else {}
            if number == 1:
                labels[bytes(parts.get(1, b"")).decode()] = bytes(parts.get(2, b"")).decode()
            else:
                samples.append(_sample(payload))
        out.append((labels, samples))
    return out


def _sample(payload: bytes) -> tuple[int, float]:
    value, ts, pos = 0.0, 0, 0
    while pos < len(payload):
        tag = payload[pos]
        pos += 1
        if tag == 0x09:
            (value,) = struct.unpack_from("<d", payload, pos)
            pos += 8
        elif tag == 0x10:
            ts, pos = _read_varint(payload, pos)
            ts = ts - (1 << 64) if ts >= 1 << 63 else ts
        else:
            raise ValueError(f"unexpected Sample field tag {tag:#x}")
    return ts, value


def _fields(buf: bytes) -> Iterator[tuple[int, bytes]]:
    """Length-delimited fields (the only wire type our messages use at this level)."""
    pos = 0
    while pos < len(buf):
        tag, pos = _read_varint(buf, pos)
        if tag & 7 != 2:
            raise ValueError(f"unexpected wire type {tag & 7} at byte {pos}")
        length, pos = _read_varint(buf, pos)
        yield tag >> 3, buf[pos : pos + length]
        pos += length


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


# -- a scripted receiver --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    """One answer of `FakeReceiver`: `status` and `body`, extra `headers`; `store` whether the request's
    samples count as received; `hang_up` closes the connection without answering (a lost answer)."""

    status: int = 204
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    store: bool = True
    hang_up: bool = False


@dataclass
class Request:
    """What `FakeReceiver` got: the headers, the decoded series, when (monotonic) and the reply given."""

    headers: dict[str, str]
    series: list[tuple[dict[str, str], list[tuple[int, float]]]]
    at: float
    reply: Reply


class FakeReceiver:
    """A remote-write endpoint on a real loopback socket whose answers a function decides.

    `decide(index, series)` gets the request's 0-based number and its decoded series and returns a
    `Reply`. `tls` makes it an https endpoint. `requests` lists every request, `received` the samples of those
    stored, in arrival order, as (labels, ms, value).
    """

    def __init__(
        self,
        decide: Callable[[int, list[tuple[dict[str, str], list[tuple[int, float]]]]], Reply],
        *,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.decide = decide
        self.requests: list[Request] = []
        self.received: list[tuple[dict[str, str], int, float]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                series = decode_write_request(bytes(cramjam.snappy.decompress_raw(raw)))
                reply = receiver.record(dict(self.headers.items()), series)
                if reply.hang_up:
                    self.close_connection = True
                    return
                body = reply.body.encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        scheme = "http" if tls is None else "https"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}/api/v1/write"
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-receiver", daemon=True)

    def record(self, headers: dict[str, str], series: list[tuple[dict[str, str], list[tuple[int, float]]]]) -> Reply:
        with self._lock:
            reply = self.decide(len(self.requests), series)
            self.requests.append(Request(headers, series, time.monotonic(), reply))
            if reply.store and (reply.hang_up or 200 <= reply.status < 300):
                self.received.extend((labels, t, v) for labels, points in series for t, v in points)
            return reply

    def __enter__(self) -> FakeReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)
