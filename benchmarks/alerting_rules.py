"""Part (1) of the alerting benchmark (benchmarks/alerting.py): rule evaluation, the console's
beside a real Prometheus 2.42.

10,000 series (2,000 instances in 20 sites x 10 roles, 5 metrics: three gauges, two counters; 20
minutes at 15 s, the last 5 ahead of the wall clock: see LEAD) and 1,000 alerting rules in 10 groups
(interval 15 s, the same rule file for both): thresholds on selectors matching 10 or 100 series,
`rate(x[5m]) > y`, a ratio of two rates, `avg by (site)` / `max by (site, role)` / `sum by (site)`
of 200 or 100 series, `and`, `absent(...)` of present and of missing series, some with `for`, every
rule with templated annotations. Ours: `RuleEvaluator` (alert state in SQLite, as the console runs
it) over the store on a `FakeClock` and the PromQL engine; every group is evaluated at one time t,
then at t + 15 s, ... (`--rounds` rounds, as the rule manager would); a round is timed with
`time.process_time()` (CPU of every thread, the store's writer included: the round ends with
`store.flush()` of the ALERTS samples) and `perf_counter()`. Prometheus: started with no rules, fed
the same samples by remote write, then given the rule file by SIGHUP; per round the sum of
`prometheus_rule_group_last_duration_seconds` over the groups (wall time of each group's evaluation;
its groups run in parallel goroutines), and its process' CPU (psutil) over the rounds, minus its
idle CPU measured just before, per round. The first round of each is a warm-up and not in the
medians. The active alerts (pending and firing) of both are compared label set by label set.
Prometheus runs first (it evaluates at wall-clock time, which must stay within the data), and is
stopped before ours runs. When our median misses the target, one more round runs under cProfile and
its top functions are reported. Target: <= 2 s CPU per round.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import shutil
import signal
import statistics
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from alerts.evaluation import RuleEvaluator
from alerts.model import Alert, AlertState
from alerts.rules import RuleGroup, load_rules
from alerts.statedb import AlertStateDB
from benchmarks.machine import log
from model import FakeClock, Labels, Sample
from model.gcfreeze import freeze_survivors
from store.query.engine import QueryEngine
from store.remote import group
from store.tsdb import Store
from tests.helpers import free_port
from tests.query.prometheus import PrometheusServer

ROOT = Path(__file__).resolve().parent.parent
TARGET_CPU_SECONDS = 2.0
INTERVAL = 15.0
LEAD = 300.0
"""Seconds the rule data runs on past the wall clock at its generation: every evaluation (Prometheus'
at wall-clock time within the next ~3 minutes, ours at the same times on the fake clock) sees full
5-minute windows, so both give the same alerts whenever they evaluate (rates over a window the data
has stopped in shrink with time, by Prometheus' extrapolation)."""
SITES = 20
ROLES = ("web", "app", "db", "cache", "queue", "lb", "dns", "mail", "store", "batch")
KINDS = (
    "HighCpu",
    "HighMemory",
    "ErrorRate",
    "ErrorRatio",
    "SiteCpuAvg",
    "CpuSeriesAbsent",
    "DiskFull",
    "LowTraffic",
    "DiskAndCpu",
    "FanSensorAbsent",
)


@dataclass(frozen=True)
class RuleSizes:
    instances: int
    minutes: int
    rules: int
    groups: int
    rounds: int


# -- the data and the rules ------------------------------------------------------------------------
def instance_labels(i: int) -> Labels:
    return Labels(instance=f"node-{i:05d}", site=f"site-{i % SITES:02d}", role=ROLES[(i // SITES) % len(ROLES)])


def instance_values(i: int, n: int) -> list[tuple[str, float]]:
    """The 5 metrics of instance i at its n-th sample: constant gauges, counters at a constant rate
    (so every evaluation time within the lookback gives the same alerts in both)."""
    return [
        ("node_cpu_ratio", (i * 37 % 100) / 100),
        ("node_memory_ratio", ((i * 53 + 11) % 100) / 100),
        ("node_disk_ratio", ((i * 71 + 29) % 100) / 100),
        ("node_errors_total", n * 15 * (i % 20) * 0.05),
        ("node_requests_total", n * 15.0 * (5 + i % 7)),
    ]


def batches(end: float, sizes: RuleSizes, slice_seconds: int = 300) -> Iterator[list[Sample]]:
    """Every sample, ascending in time, one batch per `slice_seconds` of data, ending at `end`."""
    labels = [instance_labels(i) for i in range(sizes.instances)]
    steps = sizes.minutes * 60 // int(INTERVAL)
    batch: list[Sample] = []
    for n in range(steps + 1):
        t = end - (steps - n) * INTERVAL
        for i, lb in enumerate(labels):
            batch.extend(Sample(name, lb, value, t) for name, value in instance_values(i, n))
        if (n + 1) % (slice_seconds // int(INTERVAL)) == 0 or n == steps:
            yield batch
            batch = []


def rule(r: int) -> dict[str, Any]:
    """Rule number r: its kind is r % 10; j = r // 10 picks the site, role and threshold tier so
    that no two rules give the same alert label set. Thresholds sit between the values the data
    takes (a value equal to a threshold would compare by float rounding, differently in each)."""
    kind, j = r % len(KINDS), r // len(KINDS)
    site, role, tier = f"site-{j % SITES:02d}", ROLES[(j // SITES + j) % len(ROLES)], j // SITES
    one = f'site="{site}",role="{role}"'
    exprs: list[tuple[str, str, dict[str, str]]] = [
        (f"node_cpu_ratio{{{one}}} > 0.905", "1m", {}),
        (f'node_memory_ratio{{site="{site}"}} > {0.905 + 0.01 * tier:.3f}', "0s", {"threshold": f"{tier}"}),
        (f"rate(node_errors_total{{{one}}}[5m]) > 0.775", "2m", {}),
        (
            f'rate(node_errors_total{{site="{site}"}}[5m]) / rate(node_requests_total{{site="{site}"}}[5m])'
            f" > {0.155 + 0.01 * tier:.3f}",
            "0s",
            {"threshold": f"{tier}"},
        ),
        (
            f'avg by (site) (node_cpu_ratio{{role="{ROLES[j % len(ROLES)]}"}}) > {0.455 + 0.01 * (j // len(ROLES)):.3f}',
            "0s",
            {"threshold": f"{j // len(ROLES)}", "role": ROLES[j % len(ROLES)]},
        ),
        (f"absent(node_cpu_ratio{{{one}}})", "2m", {}),
        (
            f'max by (site, role) (node_disk_ratio{{site="{site}"}}) > {0.955 + 0.01 * tier:.3f}',
            "5m",
            {"threshold": f"{tier}"},
        ),
        (
            f'sum by (site) (rate(node_requests_total{{site="{site}"}}[5m])) < {725 + 50 * tier}',
            "0s",
            {"threshold": f"{tier}"},
        ),
        (f"node_disk_ratio{{{one}}} > 0.805 and node_cpu_ratio{{{one}}} > 0.505", "0s", {}),
        (f'absent(node_fan_ok{{site="{site}",rack="rack-{j:03d}"}})', "0s", {}),
    ]
    expr, for_, labels = exprs[kind]
    return {
        "alert": KINDS[kind],
        "expr": expr,
        "for": for_,
        "labels": {"severity": "critical" if kind % 3 == 0 else "warning", **labels},
        "annotations": {
            "summary": "{{ $labels.site }} {{ $labels.instance }}: " + KINDS[kind] + " at {{ $value }}",
            "description": f"Rule {r} of the alerting benchmark.",
        },
    }


def rule_file(sizes: RuleSizes) -> str:
    per_group = sizes.rules // sizes.groups
    groups = [
        {"name": f"bench-{g:02d}", "interval": "15s", "rules": [rule(g * per_group + k) for k in range(per_group)]}
        for g in range(sizes.groups)
    ]
    return yaml.safe_dump({"groups": groups}, sort_keys=False, width=1000)


AlertKey = tuple[tuple[str, str], ...]


# -- Prometheus ------------------------------------------------------------------------------------
@dataclass
class PromFigures:
    rounds: int = 0
    round_seconds: list[float] = field(default_factory=list)
    """Per round after the first: the sum of the groups' last_duration_seconds."""
    cpu_per_round: float | None = None
    alerts: set[AlertKey] = field(default_factory=set)
    states: dict[str, int] = field(default_factory=dict)


def scrape(url: str) -> dict[tuple[str, str], float]:
    """(metric, rule_group) -> value of the rule group gauges on Prometheus' /metrics."""
    wanted = ("prometheus_rule_group_last_duration_seconds", "prometheus_rule_group_last_evaluation_timestamp_seconds")
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {
        (s.name, s.labels["rule_group"]): s.value
        for family in text_string_to_metric_families(text)
        if family.name in wanted
        for s in family.samples
    }


def prometheus_rounds(prom: PrometheusServer, rules_path: Path, sizes: RuleSizes) -> PromFigures:
    """Idle CPU for one interval, then the rule file by SIGHUP and `rounds + 1` evaluations of
    every group (the first a warm-up), timed by Prometheus' own gauges and by its process CPU from
    the end of the first round to the end of the last (the idle CPU, /metrics polled once a second
    as here, subtracted)."""
    process = psutil.Process(prom.pid)

    def cpu() -> tuple[float, float]:
        times = process.cpu_times()
        return time.monotonic(), times.user + times.system

    idle_from = cpu()
    while time.monotonic() < idle_from[0] + INTERVAL:
        scrape(prom.url)
        time.sleep(1.0)
    idle_to = cpu()
    idle_rate = (idle_to[1] - idle_from[1]) / (idle_to[0] - idle_from[0])
    (prom.workdir / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1m\n  evaluation_interval: 15s\n"
        f"rule_files: [{str(rules_path)!r}]\nscrape_configs: []\n"
    )
    os.kill(prom.pid, signal.SIGHUP)
    seen: dict[str, dict[float, float]] = {}  # group -> evaluation timestamp -> duration
    first: tuple[float, float, int] | None = None  # (time, CPU, rounds) once every group ran
    deadline = time.monotonic() + (sizes.rounds + 4) * INTERVAL
    count = 0
    while time.monotonic() < deadline:
        values = scrape(prom.url)
        now = cpu()
        for (name, key), value in values.items():
            if name.endswith("timestamp_seconds") and value > 0:
                seen.setdefault(key, {})[value] = values[("prometheus_rule_group_last_duration_seconds", key)]
        count = min((len(v) for v in seen.values()), default=0) if len(seen) == sizes.groups else 0
        if first is None and count >= 1:
            first = (*now, count)
        if count >= sizes.rounds + 1:
            break
        time.sleep(1.0)
    figures = PromFigures(rounds=count)
    if first is None or count - first[2] < 1:
        log(f"  prometheus evaluated {len(seen)} groups {count} times; no figures")
        return figures
    per_group = [[d for _, d in sorted(v.items())] for v in seen.values()]
    figures.round_seconds = [sum(d[k] for d in per_group) for k in range(1, count)]
    figures.cpu_per_round = max(now[1] - first[1] - idle_rate * (now[0] - first[0]), 0.0) / (count - first[2])
    with urllib.request.urlopen(f"{prom.url}/api/v1/alerts", timeout=30) as response:
        alerts = json.loads(response.read())["data"]["alerts"]
    figures.alerts = {tuple(sorted(a["labels"].items())) for a in alerts}
    for a in alerts:
        figures.states[a["state"]] = figures.states.get(a["state"], 0) + 1
    return figures


# -- ours ------------------------------------------------------------------------------------------
@dataclass
class OurFigures:
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    alerts: set[AlertKey] = field(default_factory=set)
    states: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    profile: list[str] = field(default_factory=list)


def load_store(path: Path, batches_: Sequence[list[Sample]], now: float) -> tuple[Store, FakeClock]:
    """The store on a clock that steps with the data up to `now` (the data runs on LEAD seconds
    past it: the store takes samples up to 10 minutes ahead of its clock)."""
    clock = FakeClock(start=batches_[0][0].ts)
    store = Store.open(path, clock=clock, metrics=CollectorRegistry())
    for batch in batches_:
        clock.set(max(clock.now(), min(batch[-1].ts, now)))
        store.append(batch)
    if not store.flush(timeout=900):
        raise RuntimeError("the store did not take the data")
    return store, clock


def our_rounds(
    store: Store, clock: FakeClock, groups: Sequence[RuleGroup], t0: float, sizes: RuleSizes, workdir: Path
) -> OurFigures:
    """`rounds` evaluation rounds of every group at t0, t0 + 15 s, ...; one more under cProfile
    when the median misses the target."""
    engine = QueryEngine(store, lookback_delta=300.0)
    statedb = AlertStateDB(workdir / "alerts.sqlite3")
    evaluator = RuleEvaluator(
        engine=engine, store=store, clock=clock, registry=CollectorRegistry(), state_store=statedb
    )
    freeze_survivors()  # what the running console does at start (model/gcfreeze.py)
    figures = OurFigures()
    alerts: list[Alert] = []

    def one_round(t: float) -> None:
        clock.set(t)
        alerts.clear()
        for g in groups:
            result = evaluator.evaluate_group(g, t)
            alerts.extend(result.alerts)
            figures.errors.extend(result.errors)
        store.flush()

    try:
        for k in range(sizes.rounds + 1):
            cpu, wall = time.process_time(), time.perf_counter()
            one_round(t0 + k * INTERVAL)
            figures.cpu.append(time.process_time() - cpu)
            figures.wall.append(time.perf_counter() - wall)
            log(f"  round {k}: {figures.cpu[-1]:.2f} s CPU, {figures.wall[-1]:.2f} s wall, {len(alerts)} alerts")
        active = [a for a in alerts if a.state is not AlertState.INACTIVE]
        figures.alerts = {a.labels.pairs for a in active}
        for a in active:
            figures.states[a.state.value] = figures.states.get(a.state.value, 0) + 1
        if statistics.median(figures.cpu[1:]) > TARGET_CPU_SECONDS:
            profiler = cProfile.Profile()
            profiler.runcall(one_round, t0 + (sizes.rounds + 1) * INTERVAL)
            figures.profile = top_functions(profiler)
    finally:
        statedb.close()
    return figures


def top_functions(profiler: cProfile.Profile, count: int = 14) -> list[str]:
    """The profile's top functions by cumulative time, then by own time (this thread only)."""
    out: list[str] = []
    for order in ("cumulative", "tottime"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(count)
        lines = text.getvalue().splitlines()
        start = next(i for i, line in enumerate(lines) if line.strip().startswith("ncalls"))
        out.append(f"by {order} time:")
        out.extend(line.replace(str(ROOT) + "/", "") for line in lines[start : start + count + 1])
    return out


# -- the part --------------------------------------------------------------------------------------
def run_rules(sizes: RuleSizes, workdir: Path, with_prometheus: bool) -> tuple[OurFigures, PromFigures | None]:
    """Part (1) in `workdir`: the data and the rule file, Prometheus' rounds (unless not
    `with_prometheus`; raises SystemExit when its binary is missing), then ours."""
    text = rule_file(sizes)
    rules_path = workdir / "rules.yml"
    rules_path.write_text(text)
    groups = load_rules(text, source=str(rules_path))
    now = time.time() // INTERVAL * INTERVAL
    end = now + LEAD
    log(f"(1) generating {sizes.instances * 5:,} series x {sizes.minutes} min ...")
    data = list(batches(end, sizes))
    prom: PromFigures | None = None
    if with_prometheus:
        binary = shutil.which("prometheus")
        if binary is None:
            raise SystemExit("prometheus is missing: apt-get install -y --no-install-recommends prometheus")
        server = PrometheusServer(binary, workdir / "prometheus", free_port())
        server.start()
        try:
            started = time.perf_counter()
            for batch in data:
                server.write(group(batch))
            log(f"  Prometheus: remote write in {time.perf_counter() - started:.0f} s; rules by SIGHUP ...")
            prom = prometheus_rounds(server, rules_path, sizes)
            log(f"  Prometheus: {prom.rounds} rounds, sums {[f'{x:.3f}' for x in prom.round_seconds]} s")
        finally:
            server.stop()
    started = time.perf_counter()
    store, clock = load_store(workdir / "store", data, now)
    del data
    log(f"  store loaded in {time.perf_counter() - started:.0f} s; evaluating ...")
    try:
        ours = our_rounds(store, clock, groups, now + 4 * INTERVAL, sizes, workdir)
    finally:
        store.close(timeout=60)
    return ours, prom
