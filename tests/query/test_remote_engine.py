"""PromQL passed through to Prometheus and VictoriaMetrics (store/query/remote_engine.py, issue 10).

A real Prometheus 2.42, a real VictoriaMetrics 1.79 and the console's embedded store hold the same
samples: a small estate written by remote write (routers, a switch, servers, the console's host; an
outage, an unreachable child, two links down together, a failing probe, a target removed with
staleness markers, a counter reset, ALERTS). The console's own queries (every expression of the
shipped rules under config/rules/, the availability recorder's, the wall's, and whatever the device
and link pages ask) must answer through `PrometheusEngine` as through the embedded engine:

- over Prometheus exactly (same series, order, times, values bit for bit);
- over VictoriaMetrics within 1e-9 relative, except where VictoriaMetrics is known to differ (see
  `VM_DIFFERENCES`; each known difference has a test that shows it, so a change is noticed).

Samples are taken 4 s after each 15 s step (a scheduler's jitter), so no sample lies on a window's
edge: VictoriaMetrics' windows `(t - d, t]` and Prometheus 2.42's `[t - d, t]` then agree.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import math
import random
import ssl
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from dashboards.api import Params, QueryApi, series_selector, success_body
from dashboards.views.alert_history import history_query
from dashboards.views.device import device_report
from dashboards.views.link import link_report
from dashboards.views.wall import LINK_UP_EXPR, LINK_USE_EXPR
from dashboards.views.wall import UNREACHABLE_EXPR as WALL_UNREACHABLE_EXPR
from demo.agents import stop_process
from model import (
    Device,
    HttpProbeSpec,
    Inventory,
    Labels,
    Link,
    LinkEnd,
    PingProbeSpec,
    Sample,
    Secret,
    SystemClock,
    TcpProbeSpec,
)
from reports.history import HistoryDB
from reports.recorder import DOWN_EXPR, LINK_DOWN_EXPR, PROBE_EXPR, UNREACHABLE_EXPR, StateRecorder
from store.index import Matcher, MatchOp
from store.query import STALE_NAN, QueryEngine, QueryError, QueryResult
from store.query.remote_engine import PrometheusEngine
from store.query.remote_series import RemoteSeries, selector_text
from store.remote import TimeSeries, group, send
from store.tsdb import Store
from tests.collectors.probe_support import self_signed
from tests.helpers import free_port, require
from tests.query.prometheus import PrometheusServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_INSTALL = "apt-get install -y --no-install-recommends prometheus"
VM_INSTALL = "apt-get install -y --no-install-recommends victoria-metrics"
REL_TOL = 1e-9
JITTER = 4.0  # seconds after each 15 s step that a sample is taken
END = 2985 + JITTER  # the last sample, seconds after the start

# -- the estate's samples --------------------------------------------------------------------------
TARGETS = (  # name, site, system, role, collectors
    ("rtr-east-01", "dc-east", "wan", "router", ("snmp", "ping")),
    ("rtr-west-01", "dc-west", "wan", "router", ("snmp", "ping")),
    ("sw-east-core-01", "dc-east", "wan", "switch", ("snmp", "ping")),
    ("srv-east-01", "dc-east", "records", "server", ("exporter", "http", "tcp")),
    ("srv-west-01", "dc-west", "records", "server", ("exporter", "http", "tcp")),
    ("console", "dc-east", "console", "server", ("host",)),
)
INTERFACES = (  # target, ifindex, ifname, link
    ("rtr-east-01", "1", "Gi0/1", "east-west-1"),
    ("rtr-east-01", "2", "Gi0/2", "east-west-2"),
    ("rtr-east-01", "3", "Gi0/3", ""),
    ("rtr-west-01", "1", "Gi0/1", "east-west-1"),
    ("rtr-west-01", "2", "Gi0/2", "east-west-2"),
)
DOWN: dict[tuple[str, str], tuple[float, float]] = {  # (target, collector or ifname) -> failing [from, to)
    ("rtr-east-01", "snmp"): (600, 1200),
    ("rtr-east-01", "ping"): (900, 1200),
    ("sw-east-core-01", "snmp"): (1800, 2400),
    ("sw-east-core-01", "ping"): (1800, 2400),
    ("rtr-west-01", "snmp"): (1800, 2400),
    ("rtr-west-01", "ping"): (1800, 2400),
    ("srv-east-01", "http"): (1500, 1800),
    ("rtr-east-01", "Gi0/1"): (1000, 1300),
    ("rtr-west-01", "Gi0/2"): (1100, 1200),
    ("rtr-east-01", "Gi0/3"): (0, 3000),
}
UNREACHABLE = {"rtr-west-01": (1800.0, 2400.0)}  # its parent sw-east-core-01 is down
REMOVED = {"srv-west-01": 2400.0}  # taken out of the config: its series end with staleness markers


def _failing(key: tuple[str, str], s: float) -> bool:
    span = DOWN.get(key)
    return span is not None and span[0] <= s < span[1]


def estate(start: float) -> list[Sample]:
    """Every sample, time-sorted; deterministic for a given `start` (a whole minute)."""
    rng = random.Random(10)
    out: list[Sample] = []
    skipped = 0.0
    for k in range(200):
        s = 15 * k
        t = start + s + JITTER

        def add(name: str, labels: dict[str, str], value: float, target: str = "", s: float = s, t: float = t) -> None:
            removed = REMOVED.get(target, math.inf)
            if s > removed:
                return
            if s == removed:
                value = STALE_NAN
            out.append(Sample(name, Labels(labels), value, t))

        for name, site, system, role, collectors in TARGETS:
            base = {"target": name, "site": site, "system": system, "role": role}
            for collector in collectors:
                up = 0.0 if _failing((name, collector), s) or (collector == "tcp" and k % 9 == 0) else 1.0
                add("up", {**base, "collector": collector}, up, name)
                if collector in ("http", "tcp"):
                    add("probe_success", {**base, "collector": collector}, up, name)
                    add("probe_duration_seconds", {**base, "collector": collector}, round(rng.uniform(0, 0.3), 4), name)
            unreachable = UNREACHABLE.get(name)
            add(
                "target_unreachable",
                base,
                float(unreachable is not None and unreachable[0] <= s < unreachable[1]),
                name,
            )
            if role == "server":
                add("cpu_utilisation_ratio", base, round(rng.uniform(0.2, 0.99), 4), name)
                add("memory_utilisation_ratio", base, round(rng.uniform(0.5, 0.95), 4), name)
                for mount in ("/", "/var"):
                    fs = round(0.8 + 0.2 * k / 200 + (0.05 if mount == "/var" else 0), 4)
                    add("filesystem_utilisation_ratio", {**base, "mountpoint": mount}, fs, name)
            if "http" in collectors:
                expiry = start + (10 if name == "srv-east-01" else 60) * 86400
                add("probe_tls_cert_expiry_seconds", {**base, "collector": "http"}, expiry, name)
        for target, ifindex, ifname, link in INTERFACES:
            site, system, role = next(x[1:4] for x in TARGETS if x[0] == target)
            labels = {"target": target, "site": site, "system": system, "role": role, "ifindex": ifindex}
            labels |= {"ifname": ifname, "link": link}
            add("interface_oper_up", labels, 0.0 if _failing((target, ifname), s) else 1.0)
            for direction in ("in", "out"):
                bps = round(rng.uniform(1e6, 1e9), 3)
                add(f"interface_{direction}_bits_per_second", labels, bps)
                add("interface_utilisation_ratio", {**labels, "direction": direction}, bps / 1e9)
            add("interface_errors_per_second", labels, rng.choice((0.0, 0.0, 0.5, 2.25)))
        skipped = 0.0 if k == 120 else skipped + rng.choice((0.0, 0.0, 1.0, 3.0))  # a restart resets it
        add("scheduler_skipped_runs_total", {}, skipped)
        alert = {"alertname": "DeviceDown", "target": "rtr-east-01", "site": "dc-east", "system": "wan"}
        alert |= {"role": "router", "scope": "device", "severity": "critical"}
        for state, (begin, end) in (("pending", (900, 1020)), ("firing", (1020, 1200))):
            if begin <= s < end:
                add("ALERTS", {**alert, "alertstate": state}, 1.0)
            elif s == end:
                add("ALERTS", {**alert, "alertstate": state}, STALE_NAN)
    return out


def inventory() -> Inventory:
    devices = []
    for name, site, system, role, collectors in TARGETS:
        probes: list[Any] = []
        if "ping" in collectors:
            probes.append(PingProbeSpec("ping", 30.0, 2.0, probe_timeout=2.0))
        if "tcp" in collectors:
            probes.append(TcpProbeSpec("tcp", 30.0, 2.0, probe_timeout=2.0, port=443))
        if "http" in collectors:
            probes.append(HttpProbeSpec("http", 30.0, 2.0, probe_timeout=2.0, url="https://127.0.0.1/"))
        devices.append(Device(name, site, system, role, "127.0.0.1", collectors=tuple(probes)))
    links = tuple(
        Link(
            f"east-west-{i}", LinkEnd("rtr-east-01", f"Gi0/{i}"), LinkEnd("rtr-west-01", f"Gi0/{i}"), group="east-west"
        )
        for i in (1, 2)
    )
    return Inventory(devices=tuple(devices), links=links)


# -- the engines -----------------------------------------------------------------------------------
class VictoriaMetrics:
    """One single-node VictoriaMetrics on 127.0.0.1 that shows new data at once."""

    def __init__(self, binary: str, workdir: Path, port: int) -> None:
        self.binary, self.workdir, self.port = binary, workdir, port
        self.url = f"http://127.0.0.1:{port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> VictoriaMetrics:
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            self.binary,
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={self.workdir / 'data'}",
            "-search.latencyOffset=0s",
            "-search.disableCache",
            "-retentionPeriod=100y",
            "-loggerLevel=ERROR",
        ]
        with (self.workdir / "vm.log").open("ab") as log:
            self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"victoria-metrics exited with {self._process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"victoria-metrics not ready within {timeout:g}s")

    def write(self, series: list[TimeSeries]) -> None:
        send(f"{self.url}/api/v1/write", series)

    def flush(self) -> None:
        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=30) as response:
            response.read()

    def stop(self) -> None:
        if self._process is not None:
            stop_process(self._process)
            self._process = None


@dataclass
class World:
    start: float
    embedded: QueryEngine
    engines: dict[str, PrometheusEngine]
    store: Store
    vm: VictoriaMetrics

    def engine(self, name: str) -> QueryEngine | PrometheusEngine:
        return self.embedded if name == "embedded" else self.engines[name]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    prometheus_binary = require("prometheus", install=PROMETHEUS_INSTALL)
    vm_binary = require("victoria-metrics", install=VM_INSTALL)
    require("cramjam", install="scripts/setup.sh --test (the `test` extra)")
    workdir = tmp_path_factory.mktemp("remote-engine")
    start = time.time() // 60 * 60 - 55 * 60  # Prometheus' head takes recent samples only
    samples = estate(start)
    store = Store.open(workdir / "store", clock=SystemClock(), metrics=CollectorRegistry())
    prometheus = PrometheusServer(prometheus_binary, workdir / "prometheus", free_port())
    vm = VictoriaMetrics(vm_binary, workdir / "vm", free_port())
    try:
        prometheus.start()
        vm.start()
        series = group(samples)
        prometheus.write(series)
        vm.write(series)
        vm.flush()
        store.append(samples)
        assert store.flush(), "the store did not commit the samples"
        engines = {"prometheus": PrometheusEngine(prometheus.url), "victoriametrics": PrometheusEngine(vm.url)}
        yield World(start, QueryEngine(store), engines, store, vm)
        for engine in engines.values():
            engine.close()
    finally:
        prometheus.stop()
        vm.stop()
        store.close()


# -- the console's queries -------------------------------------------------------------------------
def rule_expressions() -> list[str]:
    found: list[str] = []
    for path in sorted((ROOT / "config" / "rules").glob("*.yaml")):
        for rule_group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            found.extend(" ".join(rule["expr"].split()) for rule in rule_group["rules"])
    return list(dict.fromkeys(found))


CONSOLE_QUERIES = [
    *rule_expressions(),
    DOWN_EXPR,
    UNREACHABLE_EXPR,
    LINK_DOWN_EXPR,
    PROBE_EXPR,
    *(e for e in (WALL_UNREACHABLE_EXPR, LINK_UP_EXPR, LINK_USE_EXPR) if e != UNREACHABLE_EXPR),
    history_query(
        Labels(alertname="DeviceDown", target="rtr-east-01", site="dc-east", system="wan", role="router").merge(
            {"scope": "device", "severity": "critical"}
        )
    ),
]
INSTANTS = (600, 950, 1150, 1210, 1650, 2000, 2410, 2990, 3150)
"""Seconds after the start: an SNMP outage, the device down, both links down, just after the
recovery, the failing probe, the unreachable router, just after the removal, the end, 2.7 min after."""
RANGES = ((0, 3000, 15), (-600, 3000, 60), (0, 3300, 300), (1000, 2600, 45))

VM_DIFFERENCES: dict[str, str] = {
    "sum(increase(scheduler_skipped_runs_total[15m])) > 10": (
        "VictoriaMetrics' increase() does not extrapolate to the window's edges (it takes the sample "
        "before the window as the base): see test_victoria_metrics_increase_does_not_extrapolate"
    ),
}


def results_differ(want: QueryResult, got: QueryResult, *, rel: float) -> str:
    """'' when `got` answers as `want` (order included), else what differs first."""
    if (want.result_type, want.scalar is None, want.string) != (got.result_type, got.scalar is None, got.string):
        return f"{got.result_type} {got.scalar} {got.string!r} != {want.result_type} {want.scalar} {want.string!r}"
    mine = [(s.labels, ((s.t, s.value),)) for s in want.vector] + [(s.labels, s.points) for s in want.matrix]
    theirs = [(s.labels, ((s.t, s.value),)) for s in got.vector] + [(s.labels, s.points) for s in got.matrix]
    if want.scalar is not None and got.scalar is not None:
        mine, theirs = [(Labels(), (want.scalar,))], [(Labels(), (got.scalar,))]
    if [labels for labels, _ in mine] != [labels for labels, _ in theirs]:
        return f"series {[labels for labels, _ in theirs]} != {[labels for labels, _ in mine]}"
    for (labels, a), (_, b) in zip(mine, theirs, strict=True):
        if [t for t, _ in a] != [t for t, _ in b]:
            return f"{labels}: times {[t for t, _ in b]} != {[t for t, _ in a]}"
        for (t, x), (_, y) in zip(a, b, strict=True):
            if not (x == y or (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=rel, abs_tol=0)):
                return f"{labels} at {t}: {y!r} != {x!r}"
    return ""


def compare(world: World, name: str, expr: str) -> list[str]:
    """Problems of `expr` through engine `name` against the embedded engine, at every instant and range."""
    engine, rel = world.engines[name], (0.0 if name == "prometheus" else REL_TOL)
    problems = []
    for s in INSTANTS:
        at = world.start + s
        if diff := results_differ(world.embedded.instant(expr, at), engine.instant(expr, at), rel=rel):
            problems.append(f"instant at +{s}: {diff}")
    for a, b, step in RANGES:
        start, end = world.start + a, world.start + b
        want, got = world.embedded.range(expr, start, end, step), engine.range(expr, start, end, step)
        if diff := results_differ(want, got, rel=rel):
            problems.append(f"range +{a}..+{b} step {step}: {diff}")
    return problems


def test_the_console_queries_cover_every_shipped_rule_and_see_data(world: World) -> None:
    assert len(rule_expressions()) >= 16
    answered = [e for e in CONSOLE_QUERIES if any(world.embedded.instant(e, world.start + s).vector for s in INSTANTS)]
    assert len(answered) >= len(CONSOLE_QUERIES) - 3  # a few rules never fire on this estate


@pytest.mark.parametrize(
    ("name", "expr"),
    [("prometheus", e) for e in CONSOLE_QUERIES]
    + [("victoriametrics", e) for e in CONSOLE_QUERIES if e not in VM_DIFFERENCES],  # each has its own test
)
def test_console_query_answers_as_the_embedded_engine(world: World, name: str, expr: str) -> None:
    assert compare(world, name, expr) == []


# -- the pages -------------------------------------------------------------------------------------
@dataclass
class PageData:
    """The console facade the device and link pages read (dashboards/queries.py), over one engine."""

    engine: QueryEngine | PrometheusEngine
    at: float
    asked: list[str] = field(default_factory=list)
    timezone: str = "Asia/Tokyo"
    language: str = "en"

    def now(self) -> float:
        return self.at

    def inventory(self) -> Inventory:
        return inventory()

    def alerts(self) -> list[Any]:
        return []

    def instant(self, expr: str, at: float | None = None) -> QueryResult:
        self.asked.append(expr)
        return self.engine.instant(expr, self.at if at is None else at)

    def range(self, expr: str, start: float, end: float, step: float) -> QueryResult:
        self.asked.append(expr)
        return self.engine.range(expr, start, end, step)


def _page(kind: str, name: str, key: str) -> Callable[[PageData], Any]:
    report = device_report if kind == "device" else link_report
    return lambda data: report(data, name, key, "en")


PAGES = {
    f"{kind} {name} {key}": _page(kind, name, key)
    for kind, names in (("device", [t[0] for t in TARGETS]), ("link", ["east-west-1", "east-west-2"]))
    for name in names
    for key in ("1h", "24h")
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_device_and_link_pages_show_the_same_through_prometheus(world: World, page: str) -> None:
    at = world.start + 3000
    mine, theirs = PageData(world.embedded, at), PageData(world.engines["prometheus"], at)
    want, got = PAGES[page](mine), PAGES[page](theirs)
    assert want.errors == ()
    assert got == want
    assert theirs.asked == mine.asked and mine.asked


def test_page_queries_answer_as_the_embedded_engine_on_victoria_metrics(world: World) -> None:
    recorder = PageData(world.embedded, world.start + 3000)
    for page in PAGES.values():
        page(recorder)
    queries = sorted(set(recorder.asked))
    assert len(queries) >= 20
    problems = {q: found for q in queries if (found := compare(world, "victoriametrics", q))}
    assert problems == {}


# -- availability history from the engine's data ---------------------------------------------------
def test_the_availability_recorder_records_the_same_outages_through_each_engine(world: World, tmp_path: Path) -> None:
    spans = {}
    for name in ("embedded", "prometheus", "victoriametrics"):
        history = HistoryDB.open(tmp_path / f"{name}.sqlite3")
        recorder = StateRecorder(history, query=world.engine(name).instant, firing=list)
        for s in range(0, 3030, 30):
            recorder.observe(world.start + s)
        spans[name] = [
            (x.key, x.state, x.start - world.start, (x.end or 0) - world.start) for x in history.leaf_spans(0, 2e9)
        ]
        history.close()
    assert [x for x in spans["embedded"] if not x[0].endswith("/tcp")] == [  # seconds after the start
        ("device:rtr-east-01", "down", 930, 1230),
        ("probe:rtr-east-01/ping", "failing", 930, 1230),
        ("link:east-west-1", "down", 1020, 1320),
        ("link:east-west-2", "down", 1140, 1230),
        ("probe:srv-east-01/http", "failing", 1530, 1830),
        ("device:rtr-west-01", "unreachable", 1830, 2430),
        ("device:sw-east-core-01", "down", 1830, 2430),
        ("probe:rtr-west-01/ping", "failing", 1830, 2430),
        ("probe:sw-east-core-01/ping", "failing", 1830, 2430),
    ]
    assert spans["prometheus"] == spans["embedded"]
    assert spans["victoriametrics"] == spans["embedded"]


# -- order, types and values -----------------------------------------------------------------------
ORDERED_QUERIES = (
    "sort_desc(interface_in_bits_per_second)",
    "sort(cpu_utilisation_ratio)",
    "topk(3, interface_out_bits_per_second)",
    "bottomk by (site) (1, memory_utilisation_ratio)",
    "(topk by (target) (1, interface_utilisation_ratio))",
)


@pytest.mark.parametrize("name", ["prometheus", "victoriametrics"])
@pytest.mark.parametrize("expr", ORDERED_QUERIES)
def test_sorting_queries_keep_the_embedded_engines_order(world: World, name: str, expr: str) -> None:
    at = world.start + 1650
    want = world.embedded.instant(expr, at)
    assert len(want.vector) >= 2
    assert results_differ(want, world.engines[name].instant(expr, at), rel=REL_TOL) == ""


@pytest.mark.parametrize("name", ["prometheus", "victoriametrics"])
@pytest.mark.parametrize(
    ("expr", "kind", "value"),
    [
        ("time()", "scalar", None),
        ("scalar(sum(up{target='console'}))", "scalar", 1.0),
        ("(1 + 2) * 3", "scalar", 9.0),
        ('"text"', "string", None),
        ("up{target='console'} / 0", "vector", math.inf),
        ("-up{target='console'} / 0", "vector", -math.inf),
    ],
)
def test_scalars_strings_and_infinities_answer_as_prometheus_does(
    world: World, name: str, expr: str, kind: str, value: float | None
) -> None:
    at = world.start + 1650.5
    want, got = world.embedded.instant(expr, at), world.engines[name].instant(expr, at)
    assert want.result_type == kind
    assert results_differ(want, got, rel=0.0) == ""
    if value is not None:
        assert (got.scalar or (0.0, got.vector[0].value))[1] == value


def test_nan_values_come_through_from_prometheus_and_not_from_victoria_metrics(world: World) -> None:
    """VictoriaMetrics leaves NaN results out of its answers (a known difference)."""
    expr = "(up{target='console'} - 1) / 0"
    got = world.engines["prometheus"].instant(expr, world.start + 1650.125)
    labels = Labels(target="console", site="dc-east", system="console", role="server", collector="host")
    assert [(s.labels, s.t) for s in got.vector] == [(labels, world.start + 1650.125)]
    assert math.isnan(got.vector[0].value)
    assert results_differ(world.embedded.instant(expr, world.start + 1650.125), got, rel=0.0) == ""
    assert world.engines["victoriametrics"].instant(expr, world.start + 1650.125).vector == ()


# -- known differences of VictoriaMetrics ---------------------------------------------------------
def test_victoria_metrics_increase_does_not_extrapolate(world: World) -> None:
    """Prometheus extrapolates `increase` to the window's edges; VictoriaMetrics takes the last
    sample before the window as the base (no extrapolation), so it answers whole increments."""
    expr, at = "sum(increase(scheduler_skipped_runs_total[15m]))", world.start + 1150
    counter = [s.value for s in estate(world.start) if s.name == "scheduler_skipped_runs_total"]
    whole = counter[76] - counter[16]  # the samples at +1144 and +244, the last before the window
    prometheus = world.engines["prometheus"].instant(expr, at).vector[0].value
    assert prometheus == world.embedded.instant(expr, at).vector[0].value
    assert prometheus != whole
    assert world.engines["victoriametrics"].instant(expr, at).vector[0].value == whole


def test_victoria_metrics_windows_are_left_open(world: World) -> None:
    """`x[1m]` at a sample's time: Prometheus 2.42 takes [t - 1m, t] (5 samples 15 s apart),
    VictoriaMetrics (t - 1m, t] (4); the console's data never lies on a window's edge."""
    expr, at = "count_over_time(up{target='console'}[1m])", world.start + 604
    assert world.embedded.instant(expr, at).vector[0].value == 5
    assert world.engines["prometheus"].instant(expr, at).vector[0].value == 5
    assert world.engines["victoriametrics"].instant(expr, at).vector[0].value == 4


def test_victoria_metrics_answers_staleness_markers_in_raw_ranges(world: World) -> None:
    """A range-vector query (`x[1m]`): Prometheus leaves the staleness marker out; VictoriaMetrics
    1.79 answers it as a NaN point. Prometheus answers real NaN samples there, so the pass-through
    cannot tell one from the other and passes the engine's answer on."""
    expr, at = "up{target='srv-west-01', collector='http'}[1m]", world.start + 2410
    want = world.embedded.instant(expr, at)
    assert [t - world.start for t, _ in want.matrix[0].points] == [2359, 2374, 2389]
    assert results_differ(want, world.engines["prometheus"].instant(expr, at), rel=0.0) == ""
    vm = world.engines["victoriametrics"].instant(expr, at).matrix[0].points
    assert vm[:-1] == want.matrix[0].points
    assert vm[-1][0] == world.start + 2404 and math.isnan(vm[-1][1])


# -- errors ----------------------------------------------------------------------------------------
def test_a_query_that_does_not_parse_is_bad_data_with_the_engines_message(world: World) -> None:
    at = world.start + 600
    with pytest.raises(QueryError) as prometheus:
        world.engines["prometheus"].instant("sum(rate(up[5m])", at)
    assert (prometheus.value.error_type, str(prometheus.value)) == (
        "bad_data",
        'invalid parameter "query": 1:17: parse error: unclosed left parenthesis',
    )
    with pytest.raises(QueryError) as vm:  # VictoriaMetrics says 422; what does not parse is bad_data
        world.engines["victoriametrics"].range("sum(rate(up[5m])", at, at + 60, 15)
    assert vm.value.error_type == "bad_data"
    assert str(vm.value).startswith('error when executing query="sum(rate(up[5m])" on the time range')
    assert "unparsed data" in str(vm.value) or "unexpected end of" in str(vm.value)


def test_an_evaluation_error_is_execution_with_the_engines_message(world: World) -> None:
    expr, at = 'label_replace(up, "x", "$1", "target", "(")', world.start + 600
    with pytest.raises(QueryError) as embedded:
        world.embedded.instant(expr, at)
    for name in ("prometheus", "victoriametrics"):
        with pytest.raises(QueryError) as remote:
            world.engines[name].instant(expr, at)
        assert remote.value.error_type == "execution"
        if name == "prometheus":
            assert str(remote.value) == str(embedded.value) == "invalid regular expression in label_replace(): ("
        else:
            assert 'cannot compile regex "("' in str(remote.value)


def test_a_stopped_engine_is_unavailable_and_the_message_names_no_credential(tmp_path: Path) -> None:
    vm = VictoriaMetrics(require("victoria-metrics", install=VM_INSTALL), tmp_path / "vm", free_port()).start()
    token = Secret("tenant-token-8412", reference="env:TENANT_TOKEN")
    url = f"http://ops:pass-5120@127.0.0.1:{vm.port}"
    with PrometheusEngine(url, headers={"Authorization": token}, timeout=5) as engine:
        try:
            assert engine.instant("up", 1.7e9).vector == ()
        finally:
            vm.stop()
        for ask in (lambda: engine.instant("up", 1.7e9), lambda: RemoteSeries(engine).select(())):
            with pytest.raises(QueryError) as caught:
                ask()
            assert caught.value.error_type == "unavailable"
            cause = "ConnectError: [Errno 111] Connection refused"
            assert str(caught.value) == f"query engine http://127.0.0.1:{vm.port} cannot be reached ({cause})"


@dataclass
class Fake:
    """A scripted engine: what it answers, and the requests it got (method, path, headers, body)."""

    url: str = ""
    status: int = 200
    body: bytes = b'{"status":"success","data":{"resultType":"vector","result":[]}}'
    content_type: str = "application/json"
    delay: float = 0.0
    requests: list[tuple[str, str, dict[str, str], str]] = field(default_factory=list)


@contextlib.contextmanager
def fake_engine(tls: ssl.SSLContext | None = None) -> Iterator[Fake]:
    fake = Fake()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.answer()

        def do_POST(self) -> None:
            self.answer()

        def answer(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            fake.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            time.sleep(fake.delay)
            self.send_response(fake.status)
            self.send_header("Content-Type", fake.content_type)
            self.send_header("Content-Length", str(len(fake.body)))
            self.end_headers()
            self.wfile.write(fake.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    fake.url = f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}/prefix"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_queries_are_posted_forms_with_the_configured_headers() -> None:
    headers = {"Authorization": Secret("Bearer t-99", reference="env:T"), "X-Scope-OrgID": "east"}
    with fake_engine() as fake, PrometheusEngine(fake.url, headers=headers) as engine:
        engine.instant('up{site="東"}', 1700000000.1234)
        fake.body = b'{"status":"success","data":{"resultType":"matrix","result":[]}}'
        engine.range("up", 1700000000, 1700000600, 15)
        assert RemoteSeries(engine).read_range([], 0, 1) == {}  # nothing to ask
        fake.body = b'{"status":"success","data":["b","a"]}'
        assert engine.label_values("site", ["up"], 1700000000) == ["a", "b"]
    (m1, p1, h1, b1), (m2, p2, _, b2), (m3, p3, h3, b3) = fake.requests
    assert (m1, p1, m2, p2, m3) == ("POST", "/prefix/api/v1/query", "POST", "/prefix/api/v1/query_range", "GET")
    assert urllib.parse.parse_qs(b1) == {"query": ['up{site="東"}'], "time": ["1700000000.123"]}
    assert urllib.parse.parse_qs(b2) == {
        "query": ["up"],
        "start": ["1700000000.000"],
        "end": ["1700000600.000"],
        "step": ["15.000"],
    }
    assert (p3, b3) == ("/prefix/api/v1/label/site/values?match%5B%5D=up&start=1700000000.000", "")
    assert (h1["authorization"], h1["x-scope-orgid"]) == ("Bearer t-99", "east")
    assert h1["content-type"] == "application/x-www-form-urlencoded"
    assert h3["authorization"] == "Bearer t-99"


def test_user_info_in_the_url_is_basic_auth_and_never_shown() -> None:
    with fake_engine() as fake:
        url = fake.url.replace("http://", "http://ops:pass-5120@")
        with PrometheusEngine(url) as engine:
            engine.instant("up", 1.7e9)
            fake.status, fake.body = 500, b"oops"
            with pytest.raises(QueryError) as caught:
                engine.instant("up", 1.7e9)
    assert fake.requests[0][2]["authorization"] == "Basic " + base64.b64encode(b"ops:pass-5120").decode()
    assert engine.shown_url == fake.url
    assert (
        str(caught.value) == f"query engine {fake.url} answered HTTP 500 Internal Server Error without the API's JSON"
    )


@pytest.mark.parametrize(
    ("status", "body", "content_type", "error_type", "message"),
    [
        (
            401,
            b"<html>Unauthorized</html>",
            "text/html",
            "unavailable",
            "answered HTTP 401 Unauthorized without the API's JSON",
        ),
        (404, b"404 page not found", "text/plain", "unavailable", "answered HTTP 404 Not Found without the API's JSON"),
        (502, b"", "text/plain", "unavailable", "answered HTTP 502 Bad Gateway without the API's JSON"),
        (422, b'{"status":"error","errorType":"422","error":"too many series"}', "application/json", "execution", None),
        (503, b'{"status":"error","errorType":"503","error":"storage busy"}', "application/json", "unavailable", None),
        (400, b'{"status":"error","errorType":"bad_data","error":"bad step"}', "application/json", "bad_data", None),
        (422, b'{"status":"error","errorType":"execution","error":"boom"}', "application/json", "execution", None),
    ],
)
def test_engine_answers_become_query_errors(
    status: int, body: bytes, content_type: str, error_type: str, message: str | None
) -> None:
    with fake_engine() as fake, PrometheusEngine(fake.url) as engine:
        fake.status, fake.body, fake.content_type = status, body, content_type
        with pytest.raises(QueryError) as caught:
            engine.instant("up", 1.7e9)
    assert caught.value.error_type == error_type
    want = f"query engine {fake.url} {message}" if message else json.loads(body)["error"]
    assert str(caught.value) == want


def test_warnings_and_matrix_answers_of_instant_queries_come_through() -> None:
    answer = {
        "status": "success",
        "warnings": ["partial response"],
        "data": {
            "resultType": "matrix",
            "result": [
                {"metric": {"b": "2"}, "values": [[1700000000, "1"], [1700000015.5, "NaN"]]},
                {"metric": {"a": "1", "__name__": "x"}, "values": [[1700000000, "+Inf"]]},
            ],
        },
    }
    with fake_engine() as fake, PrometheusEngine(fake.url) as engine:
        fake.body = json.dumps(answer).encode()
        got = engine.instant("x[1m]", 1700000015.5)
    assert got.warnings == ("partial response",)
    assert [(s.labels, s.points[0]) for s in got.matrix] == [
        (Labels(__name__="x", a="1"), (1700000000.0, math.inf)),
        (Labels(b="2"), (1700000000.0, 1.0)),
    ]
    assert math.isnan(got.matrix[1].points[1][1])


def test_an_engine_that_answers_too_late_is_a_timeout() -> None:
    with fake_engine() as fake, PrometheusEngine(fake.url, timeout=0.3) as engine:
        fake.delay = 1.0
        with pytest.raises(QueryError) as caught:
            engine.instant("up", 1.7e9)
    assert caught.value.error_type == "timeout"
    assert str(caught.value) == f"query engine {fake.url} no answer within 0.3s (ReadTimeout: timed out)"


def test_tls_verifies_with_the_ca_file_or_not_at_all(tmp_path: Path) -> None:
    cert = self_signed(tmp_path, days=1)
    with fake_engine(cert.server_context()) as fake:
        with PrometheusEngine(fake.url, ca_file=cert.cert_file) as engine:
            assert engine.instant("up", 1.7e9).vector == ()
        with PrometheusEngine(fake.url, insecure_skip_verify=True) as engine:
            assert engine.instant("up", 1.7e9).vector == ()
        with PrometheusEngine(fake.url) as engine, pytest.raises(QueryError) as caught:
            engine.instant("up", 1.7e9)
    assert caught.value.error_type == "unavailable"
    assert str(caught.value).startswith(
        f"query engine {fake.url} cannot be reached (ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED]"
    )


# -- series look-ups and the console's API ---------------------------------------------------------
def api(world: World, name: str) -> QueryApi:
    if name == "embedded":
        engine: Any = world.embedded
        store: Any = world.store
    else:
        engine = world.engines[name]
        store = RemoteSeries(engine)
    return QueryApi(engine, store, lambda name: None, now=lambda: world.start + 3000, version="test")


LOOKUPS: list[tuple[str, dict[str, list[str]]]] = [
    ("series", {"match[]": ['up{target="rtr-east-01"}']}),
    ("series", {"match[]": ["interface_oper_up", '{link="east-west-1"}']}),
    ("series", {"match[]": ['{__name__=~"probe_.+", site="dc-west"}']}),
    ("labels", {}),
    ("labels", {"match[]": ["ALERTS"]}),
    ("label_values:target", {}),
    ("label_values:__name__", {}),
    ("label_values:link", {"match[]": ["interface_oper_up"]}),
]


@pytest.mark.parametrize("name", ["prometheus", "victoriametrics"])
@pytest.mark.parametrize("span", ["all time", "the data's span"])
def test_series_and_label_lookups_answer_as_over_the_embedded_store(world: World, name: str, span: str) -> None:
    bounds = {"start": [f"{world.start}"], "end": [f"{world.start + 3000}"]} if span != "all time" else {}
    for what, params in LOOKUPS:
        method, _, label = what.partition(":")
        answers = []
        for engine in ("embedded", name):
            target = api(world, engine)
            call = getattr(target, method)
            answer = call(label, Params({**params, **bounds})) if label else call(Params({**params, **bounds}))
            answers.append(answer.data)
        assert answers[1] == answers[0], (what, params)
        assert answers[0], (what, params)


def test_look_ups_after_a_series_ended_differ_on_victoria_metrics_by_day(world: World) -> None:
    """Prometheus knows when each series has samples; VictoriaMetrics' index knows the days."""
    params = Params({"match[]": ['up{target="srv-west-01"}'], "start": [f"{world.start + 2500}"]})
    assert api(world, "embedded").series(params).data == []
    assert api(world, "prometheus").series(params).data == []
    assert len(api(world, "victoriametrics").series(params).data) == 3
    params = Params({"match[]": ['up{target="srv-west-01"}'], "start": [f"{world.start + 2400}"]})
    assert len(api(world, "embedded").series(params).data) == 3
    assert len(api(world, "prometheus").series(params).data) == 3


@pytest.mark.parametrize("name", ["prometheus", "victoriametrics"])
def test_the_consoles_query_api_answers_the_same_json_through_the_engine(world: World, name: str) -> None:
    for expr in (DOWN_EXPR, LINK_UP_EXPR, "sort_desc(cpu_utilisation_ratio)"):
        params = Params.of(query=expr, time=f"{world.start + 1150}")
        assert success_body(api(world, name).query(params)) == success_body(api(world, "embedded").query(params))
        params = Params.of(query=expr, start=f"{world.start}", end=f"{world.start + 3000}", step="60")
        assert success_body(api(world, name).query_range(params)) == success_body(
            api(world, "embedded").query_range(params)
        )


def test_metadata_of_remote_written_data_is_unknown(world: World) -> None:
    for engine in world.engines.values():
        assert RemoteSeries(engine).metadata("up") is None


def test_selectors_quote_values_and_always_select_a_metric_name() -> None:
    matchers = [Matcher("target", MatchOp.EQ, 'a"b\\c\n東'), Matcher("site", MatchOp.NRE, "x|y")]
    assert selector_text(matchers) == r'{target="a\"b\\c\n東",site!~"x|y",__name__!=""}'
    assert series_selector(selector_text(matchers)) == (*matchers, Matcher("__name__", MatchOp.NE, ""))
    assert selector_text([Matcher("__name__", MatchOp.RE, "up|probe_.+")]) == '{__name__=~"up|probe_.+"}'


def test_one_engine_answers_many_threads_at_once(world: World) -> None:
    engine = world.engines["prometheus"]
    jobs = [(expr, world.start + s) for expr in CONSOLE_QUERIES for s in INSTANTS]
    alone = [engine.instant(expr, at) for expr, at in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda job: engine.instant(*job), jobs))
    assert together == alone
