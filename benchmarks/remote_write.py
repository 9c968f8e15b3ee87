"""Remote write benchmark (issue 10): the samples per second one collector node sends to VictoriaMetrics
through `store.remote.RemoteWriter`, and its CPU per 100,000 samples, beside Prometheus 2.42's own remote
write of the same series to the same VictoriaMetrics, in the same run.

Run: `.venv/bin/python benchmarks/remote_write.py` (about 3 minutes; needs `apt-get install -y
--no-install-recommends prometheus victoria-metrics`). `--no-write` skips appending to docs/benchmarks.md;
`--seconds 10 --warmup 10` for a quick look. `--profile 20` runs only our side for 20 s with a cProfile on
thread CPU time in every thread and prints the top costs (the profiler's own cost per call is large here:
read it for where, not how much).

The series (`--series`, 20,000): switches of 50 interfaces, 10 series each as collectors/snmp_modules.py
names them, labelled target, site, system, role, collector, ifindex, ifname, ifalias (every 4th), direction.

Ours: a `RemoteWriter` with one target, VictoriaMetrics on 127.0.0.1 (`-search.latencyOffset=0s
-search.disableCache`), the config's queue defaults (2 shards, 2,000 samples per send). `--threads` feeders
poll the devices as the scheduler would, one `append` of 500 samples per device poll, stamped with the wall
clock to the millisecond (strictly increasing per device), as fast as `append` returns, for `--seconds`;
then `stop()` sends what is queued. Rate: `remote_write_sent_samples_total` (checked against VM's
`vm_rows_inserted_total{type="promremotewrite"}` and a `count_over_time` query) over the time from the
first `append` to the drained queue. CPU: this process's, minus what the feeders spent building the
`Sample`s (the collectors' cost; `time.thread_time()` per feeder), per 100,000 samples; split into
`append` (feeder thread time inside it) with its encoding and snappy timed apart on the same batches
(public `SeriesEncoder`), and the sender threads (the rest). Queue files on disk: largest seen (every
0.25 s). VictoriaMetrics' CPU: its `process_cpu_seconds_total`.

Prometheus: the same series on the console's /metrics (dashboards/http.py `create_server`, `latest`
returning them), rendered once a second with new values and served from that rendering (waitress) to
`--prom-jobs` scrape jobs (`job="bench-N"`: distinct series) at 1 s, so our rendering (about 0.4 CPU-s)
does not limit it; external label `remote_writer="prometheus"`. After `--warmup` (it reshards every 10 s
and catches up on what it scraped meanwhile), `--seconds` are measured: samples forwarded
(`prometheus_remote_storage_samples_total`) and its `process_cpu_seconds_total`, which also scrapes, parses
and stores every sample: a second Prometheus without `remote_write` scrapes the same as long, and its CPU
per scraped sample times the samples scraped is subtracted to estimate the share of remote write
(`--no-baseline` skips it).

Targets: at least 200,000 samples/s from one node; our CPU per sample within 3x of Prometheus' (its
whole CPU per forwarded sample, as the issue states; the ratio to its remote-write share is shown too).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cramjam
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.machine import append_report, cpu_model, log, utc_stamp
from dashboards.http import HealthReport, create_server
from dashboards.serve import HttpServer
from model import Labels, Sample, SystemClock
from model.gcfreeze import freeze_survivors
from store.remote import RemoteWriter, RemoteWriteTarget, SeriesEncoder
from tests.store.engines import Engine, Prometheus, VictoriaMetrics

TARGET_RATE = 200_000
TARGET_CPU_RATIO = 3.0
PER_100K = 100_000
INTERFACES = 50
IF_SERIES = (
    *((f"interface_{direction}_bits_per_second", "") for direction in ("in", "out")),
    *((f"interface_{m}_per_second", d) for m in ("errors", "discards", "unicast_packets") for d in ("in", "out")),
    ("interface_oper_up", ""),
    ("interface_admin_up", ""),
)
"""(metric name, direction label) of each interface's series, as collectors/snmp_modules.py names them."""
INSTALL = "apt-get install -y --no-install-recommends prometheus victoria-metrics"


# -- the series ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Device:
    """One switch: its series as (metric name, labels), in poll order."""

    name: str
    series: tuple[tuple[str, Labels], ...]

    def poll(self, n: int, ts: float) -> list[Sample]:
        """The samples of poll `n`: rates that move from poll to poll, statuses 1."""
        return [
            Sample(name, labels, 1.0 if name.endswith("_up") else float((n * 7919 + k * 104_729) % 1_000_003) * 8.0, ts)
            for k, (name, labels) in enumerate(self.series)
        ]


def estate(series: int) -> list[Device]:
    """Switches of `INTERFACES` ports, `len(IF_SERIES)` series a port, `series` series in all (rounded up)."""
    per_device = INTERFACES * len(IF_SERIES)
    devices = []
    for d in range(-(-series // per_device)):
        site = ("dc-east", "dc-west", f"office-{d % 40:03d}")[d % 3]
        base = {"target": f"sw-{site}-{d:03d}", "site": site, "system": f"sys-{d % 10:02d}", "role": "switch"}
        out = []
        for i in range(1, INTERFACES + 1):
            port = {"ifindex": str(10100 + i), "ifname": f"GigabitEthernet1/0/{i}", "collector": "snmp"}
            alias = f"uplink to sw-{site}-{(d + i) % 97:03d}" if i % 4 == 0 else ""
            for name, direction in IF_SERIES:
                out.append((name, Labels(base, **port, ifalias=alias, direction=direction)))
        devices.append(Device(base["target"], tuple(out)))
    return devices


# -- engines --------------------------------------------------------------------------------------------
class ScrapingPrometheus(Prometheus):
    """Prometheus with the given configuration file text (Engine's start/stop/ready as usual)."""

    def __init__(self, binary: str, workdir: Path, config: str) -> None:
        super().__init__(binary, workdir)
        self.config = config

    def args(self) -> list[str]:
        args = super().args()
        (self.workdir / "prometheus.yml").write_text(self.config)
        return args


def engine_metrics(engine: Engine) -> dict[str, float]:
    """An engine's /metrics: each sample name summed over its label sets (`name{a="b"}` kept too)."""
    with urllib.request.urlopen(f"{engine.url}/metrics", timeout=30) as response:
        text = response.read().decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[s.name] = out.get(s.name, 0.0) + s.value
            for pair in s.labels.items():
                key = f'{s.name}{{{pair[0]}="{pair[1]}"}}'
                out[key] = out.get(key, 0.0) + s.value
    return out


def vm_count(vm: VictoriaMetrics, selector: str, since: float, expected: float, timeout: float = 20.0) -> int:
    """Samples VictoriaMetrics holds for `selector` since `since` (Unix seconds), by a `count_over_time`
    query, asked again until it finds `expected` or `timeout` seconds pass (new rows take a second or
    two to be found, even after /internal/force_flush)."""
    deadline = time.monotonic() + timeout
    while True:
        urllib.request.urlopen(f"{vm.url}/internal/force_flush", timeout=60).read()
        now = time.time()
        window = f"{int(now - since) + 1}s"
        query = urllib.parse.urlencode({"query": f"sum(count_over_time({selector}[{window}]))", "time": f"{now:.3f}"})
        with urllib.request.urlopen(f"{vm.url}/api/v1/query?{query}", timeout=120) as response:
            result = json.loads(response.read())["data"]["result"]
        found = int(float(result[0]["value"][1])) if result else 0
        if found >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


# -- ours -------------------------------------------------------------------------------------------------
@dataclass
class FeederCost:
    """One feeder thread's tally: samples appended, its CPU seconds building them and inside `append`."""

    samples: int = 0
    build_cpu: float = 0.0
    append_cpu: float = 0.0


def feed(append: Callable[[list[Sample]], None], devices: list[Device], until: float, cost: FeederCost) -> None:
    """Poll `devices` round and round, one `append` per device poll, until `until` (monotonic)."""
    last = dict.fromkeys((d.name for d in devices), 0.0)
    n = 0
    while True:
        n += 1
        for device in devices:
            t0 = time.thread_time()
            ts = max(round(time.time(), 3), round(last[device.name] + 0.001, 3))
            last[device.name] = ts
            batch = device.poll(n, ts)
            t1 = time.thread_time()
            append(batch)
            cost.append_cpu += time.thread_time() - t1
            cost.build_cpu += t1 - t0
            cost.samples += len(batch)
            if time.monotonic() >= until:
                return


@dataclass
class Ours:
    samples_appended: int = 0
    sent: float = 0.0
    sent_while_feeding: float = 0.0
    feed_s: float = 0.0
    total_s: float = 0.0
    drained: bool = False
    process_cpu: float = 0.0
    build_cpu: float = 0.0
    append_cpu: float = 0.0
    encode_cpu_100k: float = 0.0
    snappy_cpu_100k: float = 0.0
    vm_cpu: float = 0.0
    vm_rows: float = 0.0
    vm_query: int = 0
    disk_max: int = 0
    pending_max: int = 0
    render_cpu: float = 0.0  # the exposition for Prometheus, per rendering

    @property
    def rate(self) -> float:
        return self.sent / self.total_s

    @property
    def cpu(self) -> float:
        return self.process_cpu - self.build_cpu


def encode_costs(devices: list[Device], polls: int) -> tuple[float, float]:
    """CPU seconds per 100,000 samples of `SeriesEncoder.encode` (warm cache) and of snappy on its output."""
    encoder = SeriesEncoder()
    batches = [d.poll(n, 1.8e9 + n) for n in range(polls + 1) for d in devices]
    for batch in batches[: len(devices)]:
        encoder.encode(batch)  # the first poll fills the series cache, as the run's first seconds do
    timed = batches[len(devices) :]
    t0 = time.process_time()
    encoded = [encoder.encode(batch).messages for batch in timed]
    t1 = time.process_time()
    for messages in encoded:
        cramjam.snappy.compress_raw(b"".join(messages))
    t2 = time.process_time()
    samples = sum(map(len, timed))
    return (t1 - t0) / samples * PER_100K, (t2 - t1) / samples * PER_100K


def disk_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.glob("*") if p.is_file())


def run_ours(vm: VictoriaMetrics, devices: list[Device], args: argparse.Namespace, tmp: Path) -> Ours:
    """The RemoteWriter fed by `args.threads` feeders for `args.seconds`, then drained (see the docstring)."""
    result = Ours()
    result.encode_cpu_100k, result.snappy_cpu_100k = encode_costs(devices, polls=20)
    registry = CollectorRegistry()
    target = RemoteWriteTarget(url=vm.write_url)
    queue_dir = tmp / "remote-write"
    writer = RemoteWriter([target], queue_dir, clock=SystemClock(), registry=registry)

    def sent() -> float:
        return registry.get_sample_value("remote_write_sent_samples_total", {"url": target.display_url}) or 0.0

    writer.start()
    freeze_survivors()  # what the running console does at start (model/gcfreeze.py)
    costs = [FeederCost() for _ in range(args.threads)]
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.25):
            pending, disk = writer.pending(), disk_bytes(queue_dir)
            result.disk_max, result.pending_max = max(result.disk_max, disk), max(result.pending_max, pending)

    vm_before = engine_metrics(vm)
    wall_start = time.time()
    cpu0, t0 = time.process_time(), time.perf_counter()
    until = time.monotonic() + args.seconds
    feeders = [
        threading.Thread(target=feed, args=(writer.append, devices[i :: args.threads], until, costs[i]))
        for i in range(args.threads)
    ]
    watcher = threading.Thread(target=watch, daemon=True)
    for thread in [*feeders, watcher]:
        thread.start()
    for thread in feeders:
        thread.join()
    result.feed_s, result.sent_while_feeding = time.perf_counter() - t0, sent()
    log(f"ours: fed {sum(c.samples for c in costs):,} samples in {result.feed_s:.1f} s; draining the queue ...")
    result.drained = writer.stop(timeout=600)
    result.total_s, result.process_cpu = time.perf_counter() - t0, time.process_time() - cpu0
    done.set()
    watcher.join()
    vm_after = engine_metrics(vm)
    result.sent = sent()
    result.samples_appended = sum(c.samples for c in costs)
    result.build_cpu = sum(c.build_cpu for c in costs)
    result.append_cpu = sum(c.append_cpu for c in costs)
    result.vm_cpu = vm_after["process_cpu_seconds_total"] - vm_before["process_cpu_seconds_total"]
    rows = 'vm_rows_inserted_total{type="promremotewrite"}'
    result.vm_rows = vm_after[rows] - vm_before[rows]
    result.vm_query = vm_count(vm, '{collector="snmp",remote_writer=""}', wall_start - 1, result.sent)
    return result


# -- Prometheus ---------------------------------------------------------------------------------------------
class Exposition:
    """The series on the console's /metrics, rendered by `create_server` once per `refresh()` (new values
    each time) and served from that rendering to every scrape until the next."""

    def __init__(self, devices: list[Device]) -> None:
        self._devices = devices
        self._poll = 0
        app = create_server(metrics=CollectorRegistry(), latest=self.latest, health=lambda: HealthReport({}))
        self._client = app.test_client()
        self._body = b""
        self._content_type = "text/plain"
        self.render_cpu: list[float] = []

    def latest(self) -> Iterable[Sample]:
        ts = time.time()
        return [s for d in self._devices for s in d.poll(self._poll, ts)]

    def refresh(self) -> None:
        t0 = time.thread_time()
        self._poll += 1
        response = self._client.get("/metrics")
        self._body, self._content_type = response.data, response.content_type
        self.render_cpu.append(time.thread_time() - t0)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = self._body
        start_response("200 OK", [("Content-Type", self._content_type), ("Content-Length", str(len(body)))])
        return [body]


@dataclass
class Theirs:
    seconds: float
    forwarded: float
    scraped: float
    cpu: float
    vm_cpu: float
    vm_rows: float
    pending: float
    lag_s: float
    max_samples_per_send: float
    shards: float

    @property
    def rate(self) -> float:
        return self.forwarded / self.seconds


def prometheus_config(exposition_port: int, jobs: int, vm: VictoriaMetrics | None) -> str:
    """`jobs` scrape jobs of the exposition at 1 s, and remote write to `vm` if given."""
    scrape = "".join(
        f"  - job_name: bench-{j}\n    static_configs:\n      - targets: ['127.0.0.1:{exposition_port}']\n"
        for j in range(jobs)
    )
    remote = "" if vm is None else f"remote_write:\n  - url: {vm.write_url}\n"
    return (
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  external_labels:\n    remote_writer: prometheus\n"
        f"scrape_configs:\n{scrape}{remote}"
    )


def run_prometheus(
    vm: VictoriaMetrics, exposition_port: int, args: argparse.Namespace, workdir: Path, *, remote: bool
) -> Theirs:
    binary = shutil.which("prometheus") or ""
    config = prometheus_config(exposition_port, args.prom_jobs, vm if remote else None)
    with ScrapingPrometheus(binary, workdir, config) as prometheus:
        time.sleep(args.warmup)
        before, vm_before, t0 = engine_metrics(prometheus), engine_metrics(vm), time.perf_counter()
        time.sleep(args.seconds)
        after, vm_after, t1 = engine_metrics(prometheus), engine_metrics(vm), time.perf_counter()
    forwarded = "prometheus_remote_storage_samples_total"
    rows = 'vm_rows_inserted_total{type="promremotewrite"}'

    def delta(name: str, a: dict[str, float] = after, b: dict[str, float] = before) -> float:
        return a.get(name, 0.0) - b.get(name, 0.0)

    return Theirs(
        seconds=t1 - t0,
        forwarded=delta(forwarded),
        scraped=delta("prometheus_tsdb_head_samples_appended_total"),
        cpu=delta("process_cpu_seconds_total"),
        vm_cpu=delta("process_cpu_seconds_total", vm_after, vm_before),
        vm_rows=delta(rows, vm_after, vm_before),
        pending=after.get("prometheus_remote_storage_samples_pending", 0.0),
        lag_s=after.get("prometheus_remote_storage_highest_timestamp_in_seconds", 0.0)
        - after.get("prometheus_remote_storage_queue_highest_sent_timestamp_seconds", 0.0),
        max_samples_per_send=after.get("prometheus_remote_storage_max_samples_per_send", 0.0),
        shards=after.get("prometheus_remote_storage_shards", 0.0),
    )


def serve_exposition(devices: list[Device]) -> tuple[HttpServer, Exposition, Callable[[], None]]:
    """The exposition on waitress at 127.0.0.1, refreshed every second by a thread; and its stop."""
    exposition = Exposition(devices)
    exposition.refresh()
    server = HttpServer(exposition, host="127.0.0.1", port=0, threads=4).start()
    stopped = threading.Event()

    def refresh() -> None:
        while not stopped.is_set():
            t0 = time.monotonic()
            exposition.refresh()
            stopped.wait(max(0.0, 1.0 - (time.monotonic() - t0)))

    refresher = threading.Thread(target=refresh, name="exposition", daemon=True)
    refresher.start()

    def stop() -> None:
        stopped.set()
        refresher.join()
        server.stop(timeout=10)

    return server, exposition, stop


def run_both_prometheus(
    vm: VictoriaMetrics, devices: list[Device], args: argparse.Namespace, tmp: Path, ours: Ours
) -> tuple[Theirs, Theirs | None]:
    """Prometheus with remote write, then (unless `--no-baseline`) without, scraping the exposition; the median
    CPU of a rendering goes to `ours.render_cpu` (it is this process's)."""
    server, exposition, stop = serve_exposition(devices)
    try:
        log(f"Prometheus with remote_write: {args.warmup:g} s warm-up, {args.seconds:g} s measured ...")
        theirs = run_prometheus(vm, server.port, args, tmp / "prometheus", remote=True)
        base = None
        if not args.no_baseline:
            log("Prometheus without remote_write (baseline) ...")
            base = run_prometheus(vm, server.port, args, tmp / "prometheus-base", remote=False)
    finally:
        stop()
    ours.render_cpu = sorted(exposition.render_cpu)[len(exposition.render_cpu) // 2]
    return theirs, base


# -- profile ----------------------------------------------------------------------------------------------
def profile_ours(vm: VictoriaMetrics, devices: list[Device], args: argparse.Namespace, tmp: Path) -> str:
    """`run_ours` for `args.profile` seconds with a cProfile (thread CPU time) in every thread it starts; the
    merged top costs."""
    profilers: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start(*_: object) -> None:  # the new thread's first profile event: hand over to its own cProfile
        profiler = cProfile.Profile(time.thread_time)  # CPU of the thread: not the time spent waiting for the GIL
        with lock:
            profilers.append(profiler)
        profiler.enable()

    threading.setprofile(start)
    try:
        ours = run_ours(vm, devices, argparse.Namespace(**{**vars(args), "seconds": args.profile}), tmp)
    finally:
        threading.setprofile(None)
    out = io.StringIO()
    stats = pstats.Stats(stream=out)
    for profiler in profilers:
        profiler.create_stats()
        stats.add(profiler)
    out.write(f"profiled: {ours.sent:,.0f} samples sent in {ours.total_s:.1f} s (cProfile slows everything)\n")
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(30)
    return out.getvalue()


# -- report -----------------------------------------------------------------------------------------------
def per_100k(cpu: float, samples: float) -> float:
    return cpu / samples * PER_100K if samples else float("nan")


@dataclass(frozen=True)
class Verdict:
    """Our CPU and Prometheus' per 100,000 samples (`share`: its estimated remote-write share, if known)."""

    ours: float
    theirs: float
    share: float | None

    @classmethod
    def of(cls, ours: Ours, theirs: Theirs, base: Theirs | None) -> Verdict:
        share = None
        if base is not None and base.scraped:
            share = per_100k(theirs.cpu - base.cpu / base.scraped * theirs.scraped, theirs.forwarded)
        return cls(per_100k(ours.cpu, ours.sent), per_100k(theirs.cpu, theirs.forwarded), share)

    @property
    def share_text(self) -> str:
        return "-" if self.share is None else f"{self.share:.3f}"

    @property
    def share_ratio(self) -> str:
        return "-" if self.share is None or self.share <= 0 else f"{self.ours / self.share:.2f}x"


def tables(ours: Ours, theirs: Theirs, cpu: Verdict) -> list[str]:
    """The figures beside Prometheus', and where our CPU goes."""
    lines = [
        "| figure | ours: RemoteWriter | Prometheus 2.42 | ours / Prometheus | target |",
        "|---|---|---|---|---|",
        f"| samples/s accepted by VictoriaMetrics | {ours.rate:,.0f} | {theirs.rate:,.0f} | {ours.rate / theirs.rate:.2f}x"
        f" | >= {TARGET_RATE:,} (ours) |",
        f"| samples sent | {ours.sent:,.0f} in {ours.total_s:.1f} s | {theirs.forwarded:,.0f} in {theirs.seconds:.1f} s"
        " | - | - |",
        f"| CPU-s per 100,000 samples, sender (Prometheus: scrape + TSDB + remote write) | {cpu.ours:.3f} |"
        f" {cpu.theirs:.3f} | {cpu.ours / cpu.theirs:.2f}x | <= {TARGET_CPU_RATIO:g}x |",
        f"| CPU-s per 100,000 samples, remote write only (Prometheus: estimate) | {cpu.ours:.3f} | {cpu.share_text}"
        f" | {cpu.share_ratio} | - |",
        f"| VictoriaMetrics CPU-s per 100,000 samples received | {per_100k(ours.vm_cpu, ours.vm_rows):.3f} |"
        f" {per_100k(theirs.vm_cpu, theirs.vm_rows):.3f} | - | - |",
        "",
        "| where our CPU goes | CPU-s per 100,000 samples | share of counted |",
        "|---|---|---|",
    ]
    commit = per_100k(ours.append_cpu, ours.sent) - ours.encode_cpu_100k - ours.snappy_cpu_100k
    senders = per_100k(ours.process_cpu - ours.build_cpu - ours.append_cpu, ours.sent)
    for label, value in (
        ("`append`: encode (`SeriesEncoder`, timed apart on the same batches)", ours.encode_cpu_100k),
        ("`append`: snappy of the records (timed apart)", ours.snappy_cpu_100k),
        ("`append`: the rest (split by shard, SQLite insert and commit)", commit),
        ("sender threads: queue read and delete, HTTP (the rest of the process)", senders),
        ("all counted", cpu.ours),
    ):
        lines.append(f"| {label} | {value:.3f} | {value / cpu.ours:.0%} |")
    build = per_100k(ours.build_cpu, ours.sent)
    return [*lines, f"| not counted: building the `Sample`s (the collectors' cost) | {build:.3f} | - |"]


def facts(args: argparse.Namespace, series: int, ours: Ours, theirs: Theirs, base: Theirs | None) -> list[str]:
    """What else was seen: rates while feeding, the queue, the checks against VictoriaMetrics, Prometheus' queue."""
    baseline = (
        "No baseline run."
        if base is None
        else f"Baseline without remote_write: {per_100k(base.cpu, base.scraped):.3f} CPU-s per 100,000 samples"
        f" scraped ({base.scraped / base.seconds:,.0f}/s)."
    )
    return [
        f"Ours: {series:,} series, {args.threads} feeder threads, {ours.samples_appended / ours.feed_s:,.0f} samples/s"
        f" appended and {ours.sent_while_feeding / ours.feed_s:,.0f} sent while feeding ({ours.feed_s:.1f} s), queue"
        f" {'drained' if ours.drained else 'NOT drained'} {ours.total_s - ours.feed_s:.1f} s later; at most"
        f" {ours.pending_max:,} samples queued, {ours.disk_max / 1e6:.1f} MB of queue files;"
        f" {ours.samples_appended - ours.sent:,.0f} appended but not sent. VictoriaMetrics counted"
        f" {ours.vm_rows:,.0f} rows inserted and a query finds {ours.vm_query:,} samples (sent: {ours.sent:,.0f}).",
        f"Prometheus: {args.prom_jobs} jobs x {series:,} series at 1 s, {theirs.scraped / theirs.seconds:,.0f}"
        f" samples/s scraped; at the end {theirs.pending:,.0f} samples pending, {theirs.lag_s:.1f} s behind,"
        f" {theirs.shards:g} shard(s) of {theirs.max_samples_per_send:g} samples per send; VictoriaMetrics counted"
        f" {theirs.vm_rows:,.0f} rows from it. {baseline} Our exposition took {ours.render_cpu:.2f} CPU-s per"
        " rendering (not Prometheus' CPU).",
    ]


def verdicts(ours: Ours, cpu: Verdict) -> list[str]:
    rate_ok = ours.rate >= TARGET_RATE and ours.drained
    cpu_ok = cpu.ours <= TARGET_CPU_RATIO * cpu.theirs
    share = "" if cpu.share is None else f"; {cpu.share_ratio} its estimated remote-write share {cpu.share_text}"
    return [
        f"rate: {'met' if rate_ok else 'missed'}: {ours.rate:,.0f} samples/s from one node"
        f" ({ours.rate / TARGET_RATE:.2f}x the {TARGET_RATE:,} target)",
        f"CPU: {'met' if cpu_ok else 'missed'}: {cpu.ours:.3f} CPU-s per 100,000 samples is"
        f" {cpu.ours / cpu.theirs:.2f}x Prometheus' {cpu.theirs:.3f} (target <= {TARGET_CPU_RATIO:g}x){share}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=3)
    parser.add_argument("--prom-jobs", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=30.0)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--profile", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    binaries = {name: shutil.which(name) for name in ("victoria-metrics", "prometheus")}
    if not all(binaries.values()):
        log(f"missing {[n for n, b in binaries.items() if not b]}: {INSTALL}")
        return 2
    devices = estate(args.series)
    with tempfile.TemporaryDirectory(prefix="remote-write-bench-") as name:
        tmp = Path(name)
        vm = VictoriaMetrics(binaries["victoria-metrics"] or "", tmp / "vm")
        vm.start()
        try:
            if args.profile:
                print(profile_ours(vm, devices, args, tmp))
                return 0
            log(f"ours: {len(devices)} devices, {args.seconds:g} s ...")
            ours = run_ours(vm, devices, args, tmp)
            theirs, base = run_both_prometheus(vm, devices, args, tmp, ours)
        finally:
            vm.stop()
    cpu = Verdict.of(ours, theirs, base)
    lines = [
        *tables(ours, theirs, cpu),
        "",
        *facts(args, len(devices) * INTERFACES * len(IF_SERIES), ours, theirs, base),
    ]
    results = verdicts(ours, cpu)
    print("\n".join(lines))
    print("\n".join(results))
    if not args.no_write:
        command = "python benchmarks/remote_write.py" + "".join(f" {a}" for a in sys.argv[1:])
        append_report(
            f"\n## Remote write benchmark, {utc_stamp()}\n\n"
            f"Machine: {os.cpu_count()} cores, {cpu_model()}; Python {platform.python_version()}; Prometheus 2.42 and"
            f" VictoriaMetrics (Debian) on 127.0.0.1. Command: `{command}`. Ours: a `RemoteWriter` (2 shards, 2,000"
            " samples per send) fed SNMP interface samples by feeder threads as fast as `append` returns, then"
            " drained; Prometheus scraping the same series on the console's /metrics and forwarding them to the same"
            " VictoriaMetrics (its CPU also scrapes and stores them). Details in the script's docstring.\n\n"
            + "\n".join(lines)
            + "\n\nTargets (issue 10):\n\n"
            + "\n".join(f"- {v}." for v in results)
            + "\n"
        )
        log("appended to docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
