"""Query benchmark: the console's PromQL engine beside a real Prometheus 2.42 holding the same data,
in the same run (issue 5).

Run: `.venv/bin/python benchmarks/query.py` (about 3 minutes; needs `apt-get install -y
--no-install-recommends prometheus` and the `test` extra for cramjam). `--no-write` skips appending
the results to docs/benchmarks.md; smaller sizes (`--series 1000 --month-days 3`) for a quick look.

Queries, each timed as the median of `--runs` runs after one warm-up:

  (a) instant `rate(bench_requests_total[5m])` over 10,000 series (20 sites x 500 instances,
      15 minutes at 15 s), at the newest sample;
  (b) instant `sum by (site) (rate(bench_requests_total[5m]))` over the same;
  (c) range `rate(bench_range_total[5m])`, 6 hours at a 30 s step, 100 series at 15 s;
  (d) range `avg_over_time(bench_month_gauge[1h])`, 30 days at a 1 h step, 100 series at 60 s
      (old data: the console answers it from its rollups where raw data has aged out).

Targets: each within 3x of Prometheus' time, and (a), (b) under 150 ms.

How the data gets in. Prometheus: (d) is backfilled with `promtool tsdb create-blocks-from
openmetrics --max-block-duration=744h` into its data directory before it starts (its head takes
only recent samples by remote write; the default 2 h blocks make promtool re-read the file once per
block: minutes instead of seconds); (a)-(c) end at the benchmark's "now" and go in by remote write,
in ascending time across all series. Retention is 400 days so the backfill is kept. The console: one
store on a `FakeClock` that steps forward with the data (a store started on the system clock refuses
samples from before the previous hour block), (d) first, then (a)-(c), in the same batches; then the
clock is set to now. The store keeps its default retention (raw 15 days, 5-minute rollups 90 days):
what the console runs with, so (d)'s older half is answered from rollups.

Timing. Prometheus: the HTTP round trip of a POSTed form to /api/v1/query(_range) with urllib,
JSON decoding included. The console: the same HTTP round trip to its own API (dashboards/api.py on
the console's server, waitress on 127.0.0.1) when that can be built; otherwise in-process
(`engine.instant()`/`range()` plus `json.dumps(result.to_json())`), and the report says which. Each
answer is also checked against Prometheus' (same series, largest relative value difference).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prometheus_client import CollectorRegistry

from benchmarks.machine import BENCHMARKS_MD, append_report, cpu_model, log, utc_stamp
from dashboards.api import QueryApi
from dashboards.http import HealthReport, create_server
from dashboards.serve import HttpServer
from model import FakeClock, Labels, Sample
from model.gcfreeze import freeze_survivors
from store.query.engine import QueryEngine
from store.remote import group
from store.tsdb import Store
from tests.helpers import free_port
from tests.query.prometheus import PrometheusServer

TARGET_RATIO = 3.0
TARGET_INSTANT_MS = 150.0


@dataclass(frozen=True)
class Sizes:
    series: int
    minutes: int
    range_series: int
    range_hours: int
    month_series: int
    month_days: int
    month_interval: int


@dataclass(frozen=True)
class Query:
    key: str
    title: str
    expr: str
    at: float | None = None  # instant
    start: float = 0.0
    end: float = 0.0
    step: float = 0.0

    def form(self) -> tuple[str, dict[str, str]]:
        if self.at is not None:
            return "query", {"query": self.expr, "time": f"{self.at:.3f}"}
        return "query_range", {
            "query": self.expr,
            "start": f"{self.start:.3f}",
            "end": f"{self.end:.3f}",
            "step": f"{self.step:g}",
        }


@dataclass
class Figure:
    query: Query
    prometheus_ms: float
    ours_ms: float | None = None
    ours_in_process_ms: float | None = None
    agreement: str = "-"

    def ratio(self) -> float | None:
        return None if self.ours_ms is None else self.ours_ms / self.prometheus_ms

    def missed(self) -> list[str]:
        """The targets this figure misses, in words."""
        ratio = self.ratio()
        if self.ours_ms is None or ratio is None:
            return []
        out = [f"{ratio:.2f}x Prometheus (target <= {TARGET_RATIO:g}x)"] if ratio > TARGET_RATIO else []
        if self.query.key in "ab" and self.ours_ms >= TARGET_INSTANT_MS:
            out.append(f"{self.ours_ms:.0f} ms (target < {TARGET_INSTANT_MS:g} ms)")
        return out


# -- the data ----------------------------------------------------------------------------------------
def _site(i: int) -> str:
    return f"site-{i % 20:02d}"


def recent_batches(now: float, sizes: Sizes, slice_seconds: int = 300) -> Iterator[list[Sample]]:
    """(a)/(b) and (c) together, in ascending time, one batch per `slice_seconds` of data."""
    requests = [Labels(site=_site(i), instance=f"host-{i:05d}") for i in range(sizes.series)]
    ranged = [Labels(site=_site(i), instance=f"range-{i:03d}") for i in range(sizes.range_series)]
    first_request = now - sizes.minutes * 60
    t = now - sizes.range_hours * 3600
    batch: list[Sample] = []
    slice_end = t + slice_seconds
    while t <= now:
        k = int((t - (now - sizes.range_hours * 3600)) // 15)
        batch.extend(
            Sample("bench_range_total", lb, float(k * (i % 13 + 1) * 4 + k % 3), t) for i, lb in enumerate(ranged)
        )
        if t >= first_request:
            n = int((t - first_request) // 15)
            batch.extend(
                Sample("bench_requests_total", lb, float(n * (i % 97 + 1) * 15 + (n * i) % 7), t)
                for i, lb in enumerate(requests)
            )
        t += 15
        if t >= slice_end or t > now:
            yield batch
            batch, slice_end = [], slice_end + slice_seconds


def month_values(t: int, i: int, interval: int) -> float:
    return round(50 + 40 * math.sin(t / 86400 * 2 * math.pi + i) + (t // interval * 7 + i) % 10 / 10, 2)


def month_batches(end: int, sizes: Sizes) -> Iterator[list[Sample]]:
    """(d): one batch per hour of data, ascending."""
    labels = [Labels(site=_site(i), instance=f"month-{i:03d}") for i in range(sizes.month_series)]
    step = sizes.month_interval
    t = end - sizes.month_days * 86400 + step
    while t <= end:
        hour_end = min(end, (t // 3600 + 1) * 3600 - 1)
        batch: list[Sample] = []
        while t <= hour_end:
            batch.extend(
                Sample("bench_month_gauge", lb, month_values(t, i, step), float(t)) for i, lb in enumerate(labels)
            )
            t += step
        yield batch


def write_openmetrics(path: Path, end: int, sizes: Sizes) -> None:
    """(d) as an OpenMetrics file for promtool: time-major, every series ascending."""
    prefixes = [f'bench_month_gauge{{site="{_site(i)}",instance="month-{i:03d}"}} ' for i in range(sizes.month_series)]
    step = sizes.month_interval
    with path.open("w") as f:
        f.write("# TYPE bench_month_gauge gauge\n")
        for t in range(end - sizes.month_days * 86400 + step, end + 1, step):
            f.write("".join(f"{p}{month_values(t, i, step)!r} {t}\n" for i, p in enumerate(prefixes)))
        f.write("# EOF\n")


# -- timing ------------------------------------------------------------------------------------------
def post(url: str, endpoint: str, form: dict[str, str]) -> dict[str, Any]:
    """One API call; the body (`{"status", "data", ...}`), errors included."""
    request = urllib.request.Request(
        f"{url}/api/v1/{endpoint}", data=urllib.parse.urlencode(form).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            body: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        body = json.loads(exc.read())
    return body


def median_ms(call: Callable[[], dict[str, Any]], runs: int) -> tuple[float, dict[str, Any]]:
    answer = call()  # warm-up; its answer is the one checked
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), answer


def agreement(ours: dict[str, Any], theirs: dict[str, Any]) -> str:
    """Same series and point times? The largest relative value difference."""
    if ours.get("status") != "success" or theirs.get("status") != "success":
        return f"error: ours {ours.get('error', 'ok')!s:.80}, prometheus {theirs.get('error', 'ok')!s:.80}"

    def points(data: dict[str, Any]) -> dict[tuple[tuple[str, str], ...], list[list[Any]]]:
        key = "value" if data["resultType"] == "vector" else "values"
        return {tuple(sorted(r["metric"].items())): ([r[key]] if key == "value" else r[key]) for r in data["result"]}

    mine, other = points(ours["data"]), points(theirs["data"])
    if mine.keys() != other.keys():
        return f"series differ: ours {len(mine)}, prometheus {len(other)}, {len(mine.keys() & other.keys())} common"
    worst, only_ours, only_theirs, differing = 0.0, 0, 0, 0
    for labels, theirs_points in other.items():
        ours_at = {t: float(v) for t, v in mine[labels]}
        theirs_at = {t: float(v) for t, v in theirs_points}
        only_ours += len(ours_at.keys() - theirs_at.keys())
        only_theirs += len(theirs_at.keys() - ours_at.keys())
        for t in ours_at.keys() & theirs_at.keys():
            x, y = ours_at[t], theirs_at[t]
            if x != y and not (math.isnan(x) and math.isnan(y)):
                worst = max(worst, abs(x - y) / max(abs(x), abs(y)))
                differing += x != y
    text = f"same {len(other)} series, max rel diff {worst:.1e}"
    if differing:
        text += f" ({differing} points differ)"
    if only_ours or only_theirs:
        text += f"; points only in Prometheus {only_theirs}, only in ours {only_ours}"
    return text


# -- the console's side ------------------------------------------------------------------------------
def console_api(store: Store, engine: QueryEngine, registry: CollectorRegistry) -> HttpServer:
    """The console's HTTP API serving `engine`, on a free port."""

    def api() -> QueryApi:
        return QueryApi(engine=engine, store=store, metadata_lookup=lambda name: None, now=time.time, version="bench")

    app = create_server(metrics=registry, latest=list, health=lambda: HealthReport({}), api=api)
    return HttpServer(app, host="127.0.0.1", port=0, threads=4).start()


def load_store(path: Path, now: float, month_end: int, sizes: Sizes, prometheus: PrometheusServer) -> Store:
    """The store with (d), then (a)-(c); (a)-(c) also go to Prometheus by remote write, batch by batch."""
    clock = FakeClock(start=month_end - sizes.month_days * 86400)
    registry = CollectorRegistry()
    store = Store.open(path, clock=clock, metrics=registry)
    started = time.perf_counter()
    for n, batch in enumerate(month_batches(month_end, sizes)):
        clock.set(max(clock.now(), batch[-1].ts))
        store.append(batch)
        # Keep the clock in step with the writer thread: a new store takes samples from the previous
        # hour block of the clock at its first write, and retention follows the clock.
        if n % 24 == 0 and not store.flush(timeout=900):
            raise RuntimeError("the store did not take the 30-day data")
    if not store.flush(timeout=900):
        raise RuntimeError("the store did not take the 30-day data")
    log(f"  store: 30-day data in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    sent = 0
    for batch in recent_batches(now, sizes):
        prometheus.write(group(batch))
        clock.set(max(clock.now(), batch[-1].ts))
        store.append(batch)
        sent += len(batch)
    clock.set(max(clock.now(), time.time()))
    if not store.flush(timeout=900):
        raise RuntimeError("the store did not take the recent data")
    rejected = sum(s.value for m in registry.collect() for s in m.samples if s.name == "store_samples_rejected_total")
    log(
        f"  recent data: {sent:,} samples into both in {time.perf_counter() - started:.0f} s; store rejected {rejected:g}"
    )
    return store


# -- the report --------------------------------------------------------------------------------------
def table(figures: list[Figure]) -> list[str]:
    lines = [
        "| query | ours, ms | ours in-process, ms | Prometheus, ms | ours / Prometheus | target | answers |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        ours = "-" if f.ours_ms is None else f"{f.ours_ms:.1f}"
        inner = "-" if f.ours_in_process_ms is None else f"{f.ours_in_process_ms:.1f}"
        ratio = f.ratio()
        ratio_text = "-" if ratio is None else f"{ratio:.2f}x"
        target = f"<= {TARGET_RATIO:g}x" + (f", < {TARGET_INSTANT_MS:g} ms" if f.query.key in "ab" else "")
        lines.append(
            f"| ({f.query.key}) {f.query.title} | {ours} | {inner} | {f.prometheus_ms:.1f} | {ratio_text} | {target} "
            f"| {f.agreement} |"
        )
    return lines


def reading(figures: list[Figure]) -> list[str]:
    """Which targets are met and missed, and where the answers differ."""
    lines = []
    for f in figures:
        missed = f.missed()
        verdict = "missed: " + "; ".join(missed) if missed else "met"
        lines.append(f"- ({f.query.key}) {verdict}.")
        if not f.agreement.startswith("same") or "differ" in f.agreement or "only in" in f.agreement:
            lines.append(f"  Answers differ from Prometheus': {f.agreement}.")
    return lines


DESCRIPTION = """
## `benchmarks/query.py`: PromQL queries, the console's engine beside Prometheus 2.42

```sh
.venv/bin/python benchmarks/query.py      # about 3 minutes; Debian's prometheus package and the test extra
```

Four queries on the same data in both (issue #5): (a) instant `rate(x[5m])` over 10,000 series,
(b) `sum by (site) (rate(x[5m]))` over them, (c) a 6-hour range at a 30 s step over 100 series,
(d) a 30-day range at a 1 h step over 100 series (the console answers old data from rollups).
Prometheus gets (d) by promtool backfill, the rest by remote write; the console's store the same
samples on a clock that steps with the data. Times are medians of several HTTP round trips (or
in-process calls for the console when its API cannot be served; the section says which); "ours
in-process" is the engine call plus the JSON encoding, without HTTP. The answers column compares
every answer with Prometheus' (series, point times, largest relative value difference).
Targets: each within 3x of Prometheus, (a) and (b) under 150 ms.
"""


def append_docs(figures: list[Figure], sizes: Sizes, how: str, command: str) -> None:
    text = BENCHMARKS_MD.read_text()
    parts = [] if "## `benchmarks/query.py`" in text else [DESCRIPTION]
    parts.append(f"\n## Query benchmark, {utc_stamp()}\n")
    parts.append(
        f"\nMachine: {os.cpu_count()} cores, {cpu_model()}; Python {platform.python_version()}; Prometheus 2.42 (Debian).  \n"
        f"Data: (a)/(b) {sizes.series:,} series x {sizes.minutes} min at 15 s; (c) {sizes.range_series} series x "
        f"{sizes.range_hours} h at 15 s; (d) {sizes.month_series} series x {sizes.month_days} days at "
        f"{sizes.month_interval} s. Ours timed {how}. Command: `{command}`.\n\n"
    )
    parts.append("\n".join(table(figures)) + "\n")
    parts.append("\nTargets (computed by the script):\n\n" + "\n".join(reading(figures)) + "\n")
    append_report("".join(parts))


# -- main --------------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--minutes", type=int, default=15)
    parser.add_argument("--range-series", type=int, default=100)
    parser.add_argument("--range-hours", type=int, default=6)
    parser.add_argument("--month-series", type=int, default=100)
    parser.add_argument("--month-days", type=int, default=30)
    parser.add_argument("--month-interval", type=int, default=60, help="seconds between (d)'s samples")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="do not append to docs/benchmarks.md")
    args = parser.parse_args()
    sizes = Sizes(
        args.series,
        args.minutes,
        args.range_series,
        args.range_hours,
        args.month_series,
        args.month_days,
        args.month_interval,
    )
    binary, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if binary is None or promtool is None:
        log("prometheus is missing: apt-get install -y --no-install-recommends prometheus")
        return 2
    now = time.time() // 60 * 60 - 60  # a whole minute, a little in the past
    month_end = int(now // 3600 * 3600 - 7 * 3600)  # before the 6-hour data: Prometheus' head starts after it
    workdir = Path(tempfile.mkdtemp(prefix="query-bench-"))
    prometheus = PrometheusServer(
        binary, workdir / "prometheus", free_port(), extra_args=["--storage.tsdb.retention.time=400d"]
    )
    store: Store | None = None
    server = None
    try:
        log(
            f"backfilling (d) into Prometheus with promtool ({sizes.month_series} series x {sizes.month_days} days) ..."
        )
        started = time.perf_counter()
        om = workdir / "month.om"
        write_openmetrics(om, month_end, sizes)
        prometheus.data_dir.mkdir(parents=True)
        subprocess.run(
            [
                promtool,
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "--max-block-duration=744h",
                str(om),
                str(prometheus.data_dir),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        om.unlink()
        log(f"  {time.perf_counter() - started:.0f} s")
        prometheus.start()
        log("loading the store and remote-writing (a)-(c) into Prometheus ...")
        store = load_store(workdir / "store", now, month_end, sizes, prometheus)

        queries = [
            Query("a", f"instant rate(x[5m]), {sizes.series:,} series", "rate(bench_requests_total[5m])", at=now),
            Query(
                "b",
                f"instant sum by (site) (rate(x[5m])), {sizes.series:,} series",
                "sum by (site) (rate(bench_requests_total[5m]))",
                at=now,
            ),
            Query(
                "c",
                f"range rate(x[5m]), {sizes.range_hours} h at 30 s, {sizes.range_series} series",
                "rate(bench_range_total[5m])",
                start=now - sizes.range_hours * 3600,
                end=now,
                step=30,
            ),
            Query(
                "d",
                f"range avg_over_time(x[1h]), {sizes.month_days} d at 1 h, {sizes.month_series} series",
                "avg_over_time(bench_month_gauge[1h])",
                start=month_end - sizes.month_days * 86400 + 3600,
                end=month_end,
                step=3600,
            ),
        ]
        engine = QueryEngine(store, lookback_delta=300.0)
        freeze_survivors()  # what the running console does at start and every 10 minutes (model/gcfreeze.py)
        server = console_api(store, engine, CollectorRegistry())
        how = "through the console's HTTP API (dashboards/api.py, waitress)"
        log(f"ours timed {how}")
        figures = []
        for q in queries:
            endpoint, form = q.form()
            log(f"({q.key}) {q.expr} ...")
            their_ms, theirs = median_ms(partial(post, prometheus.url, endpoint, form), args.runs)
            figure = Figure(q, their_ms)
            figure.ours_ms, ours = median_ms(partial(post, server.url, endpoint, form), args.runs)
            figure.ours_in_process_ms, _ = median_ms(partial(in_process, engine, q), args.runs)
            figure.agreement = agreement(ours, theirs)
            figures.append(figure)
            ours_text = "-" if figure.ours_ms is None else f"{figure.ours_ms:.1f}"
            log(f"  prometheus {figure.prometheus_ms:.1f} ms, ours {ours_text} ms; {figure.agreement}")
    finally:
        if server is not None:
            server.stop()
        prometheus.stop()
        if store is not None:
            store.close(timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)

    print("\n".join(table(figures)))
    if not args.no_write:
        command = "python benchmarks/query.py " + " ".join(a for a in sys.argv[1:] if a != "--no-write")
        append_docs(figures, sizes, how, command.strip())
        log("appended to docs/benchmarks.md")
    return 0


def in_process(engine: QueryEngine, q: Query) -> dict[str, Any]:
    """The engine's answer as the API would send it (the same JSON work as an HTTP answer)."""
    from store.query.result import QueryError

    try:
        result = engine.instant(q.expr, q.at) if q.at is not None else engine.range(q.expr, q.start, q.end, q.step)
    except QueryError as exc:
        return {"status": "error", "errorType": exc.error_type, "error": str(exc)}
    body: dict[str, Any] = json.loads(json.dumps({"status": "success", "data": result.to_json()}))
    return body


if __name__ == "__main__":
    sys.exit(main())
