"""Web console benchmark (issue 7): server time of every page's first render and of every
callback, bytes per callback, first paint in Chromium, on the demo estate scaled 10x; once on a
healthy estate and once with 5,000 alerts firing.

Run: `.venv/bin/python benchmarks/web.py` (about 10 minutes while the storm refresh takes seconds; needs chromium, the test
extra for Playwright). `--no-write` skips appending the results to docs/benchmarks.md; smaller
sizes (`--copies 2 --alerts 500 --refreshes 1 --replays 10`) for a quick look.

The estate (benchmarks/web_estate.py): config/demo.yaml's inventory (55 devices, 22 sites, 22
links) copied `--copies` times with suffixed names, parents kept within each copy. A real Store in
a temporary directory holds the last `--minutes` of every series the pages query, at 15 s
(`up`, `target_unreachable`, `probe_*`, interface state, rates, errors and utilisation, host
metrics); a real QueryEngine answers. The alerting side is the console's own
(`alerts.service.Alerting.open` with the demo config's routes and topology suppression, no rule
groups) whose Pipeline receives the alerts: "normal" has the dead device of each copy down,
"storm" `--alerts` firing alerts (every WAN link and router down, the rest unreachable, then
interface, probe and host alerts). The web console is `create_dash` on the console's Flask server,
served by waitress on loopback; the clock is the system's.

Measured per page (/wall?kiosk=1, /alerts, a device, a link, /explore with a query) in a fresh
Chromium context at 1920x1080: `first-contentful-paint` from the performance API; "ready", when the
last callback of the first render has its answer (from navigation start); and each
`/_dash-update-component` request: server time as Playwright's `responseStart - requestStart` (on
loopback that is the server's time plus a little) and the response body's size (Dash sends it
uncompressed). On the wall, `--refreshes` refresh intervals (10 s each) pass. Then each callback's
captured request (and the page's HTML GET) is POSTed again `--replays` times with urllib, one at a
time: p50/p95 of those round trips are the stable figures.

The wall comes whole with its page (`_pages_content.children`) and its refreshes send only what
changed, so the captured refreshes of an unchanging estate are the steady ones. The wall refresh is
also measured in-process, in parts (the pipeline's briefs, the three instant queries, a steady
refresh, the first render) and in its worst case: the page shows the healthy estate and every part
changes at once (tiles, map, ticker, health), whose time and bytes are reported too.

Targets: the wall's refresh callback p95 <= 200 ms and <= 50 kB, in both scenarios (the worst
refresh too); first paint of every page <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import plotly.io as pio  # type: ignore[import-untyped]
from playwright.sync_api import Browser, Request
from prometheus_client import CollectorRegistry

import config
from alerts.service import Alerting
from benchmarks.machine import BENCHMARKS_MD, append_report, cpu_model, log, utc_stamp
from benchmarks.web_estate import batches, interfaces, quiet, scaled_inventory, series_count, storm
from dashboards.app import create_dash
from dashboards.http import HealthReport, create_server
from dashboards.queries import LiveData
from dashboards.serve import HttpServer
from dashboards.views import wall
from demo.estate import build
from model import Inventory, SystemClock
from model.gcfreeze import freeze_survivors
from store.query.engine import QueryEngine
from store.tsdb import Store
from tests.dashboards.browser import chromium

TARGET_REFRESH_MS = 200.0
TARGET_REFRESH_BYTES = 50_000
TARGET_PAINT_MS = 2000.0
REPLAY_BUDGET_MS = 60_000.0
"""Replays of one callback stop once they have taken this long (the count is reported)."""
WALL_REFRESH = "wall-tiles.children"
"""The label of the wall's refresh callback (its first output)."""


@dataclass
class Callback:
    """One callback (or the page's HTML GET) of one page: what the browser saw, then the replays."""

    label: str
    url: str
    body: bytes | None
    browser_ms: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    replay_ms: list[float] = field(default_factory=list)

    def p(self, q: float) -> float:
        ordered = sorted(self.replay_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


@dataclass
class PageFigures:
    path: str
    paint_ms: float | None
    ready_ms: float | None
    callbacks: list[Callback]
    errors: list[str]


def label(body: bytes | None) -> str:
    """A callback's name: its first output (`id.property`), `+n` for the others."""
    try:
        outputs = json.loads(body or b"{}").get("outputs")
    except ValueError:
        return "?"
    outputs = outputs if isinstance(outputs, list) else [outputs]
    first = outputs[0] if outputs else {}
    ident = first.get("id", "?") if isinstance(first, dict) else "?"
    text = f"{ident if isinstance(ident, str) else json.dumps(ident)}.{first.get('property', '?')}"
    return text + (f" +{len(outputs) - 1}" if len(outputs) > 1 else "")


def fetch(url: str, body: bytes | None) -> int:
    """One request (POST when `body`), its answer read; the answer's size in bytes."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request, timeout=120) as response:
        return len(response.read())


def measure_page(browser: Browser, base: str, path: str, refreshes: int, replays: int) -> PageFigures:
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    seen: list[Request] = []
    errors: list[str] = []
    flight = {"open": 0, "last": time.monotonic()}

    def on_request(r: Request) -> None:
        if "/_dash-update-component" in r.url:
            flight["open"] += 1

    def on_finished(r: Request) -> None:
        if "/_dash-update-component" in r.url:
            flight["open"], flight["last"] = flight["open"] - 1, time.monotonic()
            seen.append(r)

    page.on("request", on_request)
    page.on("requestfinished", on_finished)
    page.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + path, wait_until="load", timeout=120_000)
    # The first render is over when no callback has been in flight for a second (the alerts page's
    # own refresh interval keeps the network from ever being idle for Playwright's "networkidle").
    deadline = time.monotonic() + 120
    while not seen or flight["open"] or time.monotonic() - flight["last"] < 1.0:
        if time.monotonic() > deadline:
            errors.append("the first render did not end within 120 s")
            break
        page.wait_for_timeout(100)
    if path.startswith("/wall"):
        deadline = time.monotonic() + (refreshes + 1) * 10 + 30
        while sum(label(r.post_data_buffer).split()[0] == WALL_REFRESH for r in seen) < refreshes + 1:
            if time.monotonic() > deadline:
                errors.append("the wall did not refresh in time")
                break
            page.wait_for_timeout(250)
    paint = page.evaluate("() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null")
    origin: float = page.evaluate("() => performance.timeOrigin")
    callbacks: dict[str, Callback] = {"GET page": Callback("GET page", base + path, None)}
    ready = None
    for r in list(seen):
        body = r.post_data_buffer
        cb = callbacks.setdefault(label(body), Callback(label(body), r.url, body))
        timing = r.timing
        cb.browser_ms.append(timing["responseStart"] - timing["requestStart"])
        cb.sizes.append(r.sizes()["responseBodySize"])
        if len(cb.browser_ms) == 1:
            ready = max(ready or 0.0, timing["startTime"] + timing["responseEnd"] - origin)
    context.close()
    for cb in callbacks.values():
        if not cb.browser_ms:
            fetch(cb.url, cb.body)  # warm-up (the browser's own requests warmed the callbacks)
        for _ in range(replays):
            if sum(cb.replay_ms) > REPLAY_BUDGET_MS:
                break  # a callback that takes seconds: a few replays say enough
            started = time.perf_counter()
            size = fetch(cb.url, cb.body)
            cb.replay_ms.append((time.perf_counter() - started) * 1000)
        if not cb.sizes:
            cb.sizes.append(size)
    return PageFigures(path, paint, ready, list(callbacks.values()), errors)


def _median_ms(call: Callable[[], object], runs: int) -> float:
    times: list[float] = []
    for _ in range(runs):
        if sum(times) > REPLAY_BUDGET_MS / 2:
            break
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def breakdown(data: LiveData, healthy: LiveData, runs: int) -> tuple[dict[str, float], int]:
    """The wall refresh in-process: median ms of its parts, and the bytes of the worst refresh
    (the page showed the healthy estate and every part changes at once)."""
    before = wall.refresh(healthy, "ja").sent
    steady = wall.refresh(data, "ja").sent
    parts: dict[str, Callable[[], object]] = {
        "pipeline briefs (data.alert_briefs())": data.alert_briefs,
        "3 instant queries": lambda: [
            data.instant(e) for e in (wall.UNREACHABLE_EXPR, wall.LINK_UP_EXPR, wall.LINK_USE_EXPR)
        ],
        "steady refresh (nothing changed)": lambda: wall.refresh(data, "ja", steady),
        "worst refresh (every part changed)": lambda: wall.refresh(data, "ja", before),
        "first render (the page's layout)": lambda: wall.refresh(data, "ja"),
    }
    worst = len(pio.json.to_json_plotly(wall.refresh(data, "ja", before)))  # Dash's encoder is plotly's
    return {name: _median_ms(call, runs) for name, call in parts.items()}, worst


@dataclass
class Scenario:
    name: str
    alerts: int
    pages: list[PageFigures]
    split: dict[str, float]
    worst_bytes: int

    def refresh(self) -> Callback | None:
        wall_page = next((p for p in self.pages if p.path.startswith("/wall")), None)
        return next((c for c in wall_page.callbacks if c.label.split()[0] == WALL_REFRESH), None) if wall_page else None


def run_scenario(
    name: str,
    alerts: list[Any],
    inventory: Inventory,
    engine: QueryEngine,
    store: Store,
    workdir: Path,
    browser: Browser,
    paths: list[str],
    args: argparse.Namespace,
) -> Scenario:
    loaded = config.load_file(ROOT / "config" / "demo.yaml")
    clock = SystemClock()
    (workdir / name).mkdir()
    alerting = Alerting.open(
        [],
        loaded.alerting,
        inventory,
        engine=engine,
        store=store,
        clock=clock,
        registry=CollectorRegistry(),
        data_dir=workdir / name,
    )
    alerting.pipeline.receive("bench", alerts)
    data = LiveData(inventory, engine, alerting.pipeline, lambda: HealthReport({}), clock)
    app = create_server(metrics=CollectorRegistry(), latest=list, health=lambda: HealthReport({}))
    create_dash(app, lambda: data, default_language="ja")
    server = HttpServer(app, host="127.0.0.1", port=0, threads=4).start()
    try:
        pages = []
        for path in paths:
            log(f"  {name}: {path} ...")
            pages.append(measure_page(browser, server.url, path, args.refreshes, args.replays))
        healthy = LiveData(inventory, engine, None, lambda: HealthReport({}), clock)
        split, worst = breakdown(data, healthy, max(3, args.replays // 3))
    finally:
        server.stop()
        alerting.close()
    return Scenario(name, len(alerts), pages, split, worst)


# -- the report --------------------------------------------------------------------------------------
def ms(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def table(s: Scenario) -> list[str]:
    lines = [
        f"**{s.name}** ({s.alerts:,} alerts held by the pipeline)",
        "",
        "| page | first paint, ms | ready, ms | callback | in Chromium, ms | replayed p50 / p95, ms | bytes |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in s.pages:
        for n, c in enumerate(p.callbacks):
            head = f"| {p.path} | {ms(p.paint_ms)} | {ms(p.ready_ms)} " if n == 0 else "| | | "
            seen = ", ".join(ms(x) for x in c.browser_ms[:6]) or "-"
            replayed = f"{ms(c.p(0.5))} / {ms(c.p(0.95))} (n={len(c.replay_ms)})"
            lines.append(f"{head}| `{c.label}` | {seen} | {replayed} | {max(c.sizes):,} |")
    lines += [
        "",
        "Wall refresh in-process (median ms): "
        + "; ".join(f"{k} {v:.1f}" for k, v in s.split.items())
        + f". The worst refresh sends {s.worst_bytes:,} bytes.",
    ]
    return lines


def reading(scenarios: list[Scenario]) -> list[str]:
    lines = []
    for s in scenarios:
        cb = s.refresh()
        if cb is None:
            lines.append(f"- {s.name}: missed: no wall refresh was seen.")
            continue
        p95, size = cb.p(0.95), max(cb.sizes)
        worst_ms = s.split["worst refresh (every part changed)"]
        for what, ok, text in (
            ("refresh time", p95 <= TARGET_REFRESH_MS, f"p95 {p95:.0f} ms (target <= {TARGET_REFRESH_MS:g} ms)"),
            ("worst refresh time", worst_ms <= TARGET_REFRESH_MS, f"{worst_ms:.0f} ms in-process, median"),
            ("refresh size", size <= TARGET_REFRESH_BYTES, f"{size / 1000:.1f} kB (target <= 50 kB)"),
            ("worst refresh size", s.worst_bytes <= TARGET_REFRESH_BYTES, f"{s.worst_bytes / 1000:.1f} kB"),
        ):
            lines.append(f"- {s.name}, wall {what}: {'met' if ok else 'missed'}, {text}.")
        for p in s.pages:
            ok = p.paint_ms is not None and p.paint_ms <= TARGET_PAINT_MS
            lines.append(f"- {s.name}, first paint of {p.path}: {'met' if ok else 'missed'}, {ms(p.paint_ms)} ms.")
            if p.errors:
                lines.append(f"  Page errors: {'; '.join(p.errors)[:300]}")
    return lines


DESCRIPTION = """
## `benchmarks/web.py`: the web console on the demo estate scaled 10x

```sh
.venv/bin/python benchmarks/web.py      # about 3 minutes; Debian's chromium, the test extra
```

Every page (wall in kiosk mode, alerts, a device, a link, explore) in Chromium over a real store,
query engine and alert pipeline (issue #7): first contentful paint, "ready" (the last first-render
callback answered), each Dash callback's server time as Chromium saw it and replayed with urllib
(p50/p95), and its answer's size; the wall's refresh in parts in-process, and its worst case (every
part changing at once). Two scenarios: the healthy estate and 5,000 alerts firing.
Targets: wall refresh p95 <= 200 ms and <= 50 kB in both; first paint of every page <= 2 s.
"""


def append_docs(scenarios: list[Scenario], facts: str, command: str) -> None:
    parts = [] if "## `benchmarks/web.py`" in BENCHMARKS_MD.read_text() else [DESCRIPTION]
    parts.append(f"\n## Web console benchmark, {utc_stamp()}\n")
    parts.append(
        f"\nMachine: {os.cpu_count()} cores, {cpu_model()}; Python {platform.python_version()}; "
        f"Debian's Chromium, headless. {facts} Command: `{command}`.\n\n"
    )
    for s in scenarios:
        parts.append("\n".join(table(s)) + "\n\n")
    parts.append("Targets (computed by the script):\n\n" + "\n".join(reading(scenarios)) + "\n")
    append_report("".join(parts))


def main() -> int:
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" while Chromium loads
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=10, help="copies of the demo estate")
    parser.add_argument("--alerts", type=int, default=5000, help="firing alerts in the storm scenario")
    parser.add_argument("--minutes", type=int, default=60, help="minutes of samples, at 15 s")
    parser.add_argument("--refreshes", type=int, default=3, help="wall refresh intervals to wait for in Chromium")
    parser.add_argument("--replays", type=int, default=30, help="replays of each captured callback")
    parser.add_argument("--storm-pages", choices=("all", "wall"), default="all", help="pages in the storm scenario")
    parser.add_argument("--no-write", action="store_true", help="do not append to docs/benchmarks.md")
    args = parser.parse_args()
    if shutil.which("chromium") is None:
        log("chromium is missing: apt-get install -y chromium")
        return 2
    inventory = scaled_inventory(config.load_file(ROOT / "config" / "demo.yaml").inventory, args.copies)
    ifaces = interfaces(inventory, build())
    workdir = Path(tempfile.mkdtemp(prefix="web-bench-"))
    store = Store.open(workdir / "store", clock=SystemClock(), metrics=CollectorRegistry())
    try:
        now = time.time()
        started = time.perf_counter()
        for batch in batches(inventory, ifaces, now - args.minutes * 60, now, 15.0):
            store.append(batch)
        if not store.flush(timeout=900):
            raise RuntimeError("the store did not take the samples")
        series = series_count(inventory, ifaces)
        facts = (
            f"Estate: {len(inventory.devices):,} devices, {len(ifaces):,} interfaces, {len(inventory.links)} links, "
            f"{len(inventory.sites)} sites; {series:,} series x {args.minutes} min at 15 s."
        )
        log(f"{facts} Loaded in {time.perf_counter() - started:.0f} s.")
        engine = QueryEngine(store, lookback_delta=300.0)
        freeze_survivors()
        device = next(d.name for d in inventory.devices if d.name == "rtr-east-01")
        q = quote("sum by (site) (interface_in_bits_per_second)")
        paths = ["/wall?kiosk=1", "/alerts", f"/device/{device}", "/link/east-west-1", f"/explore?q={q}"]
        scenarios = []
        with chromium() as browser:
            for name, alerts in (
                ("normal", quiet(inventory, time.time())),
                (f"storm, {args.alerts:,} alerts firing", storm(inventory, ifaces, args.alerts, time.time())),
            ):
                some = paths[:1] if name != "normal" and args.storm_pages == "wall" else paths
                scenarios.append(run_scenario(name, alerts, inventory, engine, store, workdir, browser, some, args))
    finally:
        store.close(timeout=60)
        shutil.rmtree(workdir, ignore_errors=True)
    for s in scenarios:
        print("\n".join(table(s)) + "\n")
    print("\n".join(reading(scenarios)))
    if not args.no_write:
        command = "python benchmarks/web.py " + " ".join(a for a in sys.argv[1:] if a != "--no-write")
        append_docs(scenarios, facts, command.strip())
        log("appended to docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
