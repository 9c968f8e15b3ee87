"""Ops Console: the composition root and command line. The only module that reads argv or exits.

    python run_console.py run [--config PATH] [--listen HOST:PORT] [--data-dir PATH]
    python run_console.py demo [--config PATH] [--listen HOST:PORT] [--data-dir PATH]
    python run_console.py check-config PATH
    python run_console.py collect-once --config PATH [--target NAME] --format json

Exit codes: 0 success; 1 a runtime failure (a target down in collect-once, the store locked);
2 invalid input (a bad config, an unknown target), with one line per problem on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

import prometheus_client

import config
import demo.agents
import demo.estate
from collectors import COLLECTOR_KINDS, CollectorDeps, Scheduler
from dashboards import ComponentHealth, HealthReport, create_server
from dashboards.serve import HttpServer
from model import Inventory, Sample, SystemClock, Target
from store import Retention, Store, StoreError

log = logging.getLogger("ops_console")

DEFAULT_CONFIG = Path(__file__).resolve().parent / "config" / "console.yaml"
DEMO_CONFIG = Path(__file__).resolve().parent / "config" / "demo.yaml"
SCHEDULER_STUCK_AFTER = 10.0
SHUTDOWN_SECONDS = 5.0
STALE_AFTER = 300.0
"""/metrics leaves out series not updated for this long (seconds), as Prometheus' staleness does."""


class UsageError(Exception):
    """Invalid input from the command line: exit 2 with this message."""


# -- check-config --------------------------------------------------------------------------------
def check_config(path: Path, out: TextIO, err: TextIO) -> int:
    loaded = _load(path, err)
    if loaded is None:
        return 2
    targets = sum(1 for _ in loaded.inventory.targets())
    out.write(f"{path}: ok ({len(loaded.inventory.devices)} devices, {targets} targets)\n")
    return 0


def _load(path: Path, err: TextIO) -> config.Config | None:
    try:
        return config.load_file(path)
    except config.ConfigError as exc:
        for problem in exc.problems:
            err.write(f"{problem}\n")
        return None


# -- collect-once ------------------------------------------------------------------------------
def select_targets(inventory: Inventory, name: str | None) -> list[Target]:
    """Every target, or those of one device; raises UsageError naming the known devices."""
    targets = list(inventory.targets())
    if name is None:
        return targets
    chosen = [t for t in targets if t.name == name]
    if not chosen:
        known = ", ".join(sorted({t.name for t in targets})) or "none"
        raise UsageError(f'--target: no device "{name}" in the config (known: {known})')
    return chosen


def sample_json(sample: Sample) -> str:
    """One sample as one JSON object: name, labels, value (null for NaN/inf), ts (Unix seconds)."""
    value: float | None = sample.value if math.isfinite(sample.value) else None
    return json.dumps(
        {"name": sample.name, "labels": dict(sample.labels), "value": value, "ts": sample.ts},
        ensure_ascii=False,
        sort_keys=False,
    )


class _NullSink:
    """collect-once writes nothing: the scheduler's run_once_all returns the samples."""

    def append(self, samples: Sequence[Sample]) -> None:
        return None

    def record_state(self, target: str, state: object, ts: float, cause: str) -> None:
        return None


def collect_once(path: Path, target: str | None, out: TextIO, err: TextIO) -> int:
    loaded = _load(path, err)
    if loaded is None:
        return 2
    targets = select_targets(loaded.inventory, target)
    clock = SystemClock()
    deps = CollectorDeps(clock=clock)
    scheduler = Scheduler(
        targets=targets,
        registry=COLLECTOR_KINDS,
        deps=deps,
        sink=_NullSink(),
        clock=clock,
        metrics=prometheus_client.CollectorRegistry(),
        links=loaded.inventory.links,
    )

    async def once() -> list[Sample]:
        try:
            return await scheduler.run_once_all()
        finally:
            deps.snmp.close()  # on this loop, before asyncio.run closes it

    samples = asyncio.run(once())
    for sample in samples:
        out.write(sample_json(sample) + "\n")
    down = [h for h in scheduler.health().values() if h.up is False]
    for h in down:
        err.write(f"{h.key}: down: {h.last_error} (cause: {h.last_cause})\n")
    return 1 if down else 0


# -- run -----------------------------------------------------------------------------------------
@dataclasses.dataclass
class Console:
    """Everything `run` starts, in the order it stops them."""

    server: HttpServer
    store: Store
    scheduler: Scheduler
    deps: CollectorDeps
    loop: asyncio.AbstractEventLoop
    loop_thread: threading.Thread

    def health(self) -> HealthReport:
        ok, detail = self.store.health()
        age = self.scheduler.heartbeat_age()
        scheduler_ok = age <= SCHEDULER_STUCK_AFTER
        return HealthReport(
            components={
                "store": ComponentHealth(ok=ok, detail=detail),
                "scheduler": ComponentHealth(
                    ok=scheduler_ok,
                    detail=f"last heartbeat {age:.1f}s ago" if math.isfinite(age) else "not started",
                ),
            }
        )

    def stop(self) -> None:
        """Stop serving, stop collecting, then commit and close the store: all within 5 s."""
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        try:
            self.server.stop(timeout=1.0)
            self.scheduler.shutdown_threadsafe(timeout=1.0)
            asyncio.run_coroutine_threadsafe(_close_clients(self.deps), self.loop).result(1.0)
        except Exception:  # a stuck loop must not keep the store from closing
            log.exception("stopping the collectors failed; closing the store anyway")
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.loop_thread.join(0.5)
            if not self.loop.is_running():
                self.loop.close()
            self.store.close(timeout=max(0.5, deadline - time.monotonic()))


async def _close_clients(deps: CollectorDeps) -> None:
    """Close the shared SNMP client on its own loop and let its cancelled timer task finish."""
    deps.snmp.close()
    await asyncio.sleep(0.05)


def start_console(settings: config.Config, listen: str, data_dir: Path) -> Console:
    """Bind the HTTP port, open the store, start the scheduler on its own loop, then serve.

    Raises OSError when the port cannot be bound and StoreError when the store cannot be opened;
    nothing is left running then."""
    clock = SystemClock()
    metrics = prometheus_client.CollectorRegistry()
    console = settings.console
    holder: dict[str, Console] = {}

    def health() -> HealthReport:
        return holder["console"].health()

    def latest() -> list[Sample]:
        return holder["console"].store.latest(max_age=STALE_AFTER)

    app = create_server(metrics=metrics, latest=latest, health=health, metrics_token=console.metrics_token)
    host, port = config.split_listen(listen)
    server = HttpServer(app, host=host, port=port)  # binds now: a busy port fails before anything starts
    try:
        store = Store.open(
            data_dir,
            clock=clock,
            metrics=metrics,
            head_window=console.head,
            retention=Retention(
                raw=console.retention.raw,
                rollup_5m=console.retention.rollup_5m,
                rollup_1h=console.retention.rollup_1h,
            ),
            queue_batches=console.store.queue_batches,
            stall_timeout=console.store.stall_timeout,
        )
    except BaseException:
        server.stop()
        raise
    deps = CollectorDeps(clock=clock)
    scheduler = Scheduler(
        targets=list(settings.inventory.targets()),
        registry=COLLECTOR_KINDS,
        deps=deps,
        sink=store,
        clock=clock,
        metrics=metrics,
        links=settings.inventory.links,
    )
    loop = asyncio.new_event_loop()
    scheduler.start(loop)
    loop_thread = threading.Thread(target=loop.run_forever, name="collectors", daemon=True)
    loop_thread.start()
    holder["console"] = Console(server, store, scheduler, deps, loop, loop_thread)
    server.start()
    log.info("Ops Console listening on %s/ (data in %s)", server.url, data_dir)
    return holder["console"]


def run(args: argparse.Namespace, err: TextIO) -> int:
    loaded = _load(args.config, err)
    if loaded is None:
        return 2
    return serve(loaded, args.listen or loaded.console.listen, args.data_dir or loaded.console.data_dir, err)


def serve(loaded: config.Config, listen: str, data_dir: Path, err: TextIO) -> int:
    """Run the console on `loaded` until SIGTERM or SIGINT, then stop it."""
    try:
        console = start_console(loaded, listen, data_dir)
    except StoreError as exc:
        err.write(f"error: {exc}\n")
        return 1
    except OSError as exc:
        err.write(f"error: cannot listen on {listen}: {exc.strerror or exc}\n")
        return 1
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: shutting down", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stopping.wait(0.5):
        pass
    console.stop()
    log.info("stopped")
    return 0


# -- demo ----------------------------------------------------------------------------------------
def run_demo(args: argparse.Namespace, err: TextIO) -> int:
    """Start the demo estate's simulated agents (data under DATA_DIR/agents/agent-PORT), then `run` the
    console on the demo config; the agents stop when the console does."""
    loaded = _load(args.config, err)
    if loaded is None:
        return 2
    data_dir: Path = args.data_dir or loaded.console.data_dir
    try:
        with demo.agents.running_agents(demo.estate.build(), data_dir / "agents") as responders:
            for r in responders:
                log.info("simulated agents: %d devices on udp %s:%d", r.devices, demo.estate.ADDRESS, r.port)
            return serve(loaded, args.listen or loaded.console.listen, data_dir, err)
    except demo.agents.AgentError as exc:
        err.write(f"error: {exc}\n")
        return 1


# -- arguments ---------------------------------------------------------------------------------
def _listen(text: str) -> str:
    try:
        config.split_listen(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="run_console.py", description="Ops Console")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="collect, store and serve /metrics and /healthz until stopped")
    r.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    r.add_argument("--listen", type=_listen, help="HOST:PORT, overriding console.listen")
    r.add_argument("--data-dir", type=Path, help="overrides console.data_dir")
    d = sub.add_parser("demo", help="start the simulated demo estate and run the console on it until stopped")
    d.add_argument("--config", type=Path, default=DEMO_CONFIG)
    d.add_argument("--listen", type=_listen, help="HOST:PORT, overriding console.listen")
    d.add_argument("--data-dir", type=Path, help="overrides console.data_dir (default: the repository's data/demo-run)")
    c = sub.add_parser("check-config", help="validate a config file")
    c.add_argument("path", type=Path)
    o = sub.add_parser("collect-once", help="run every collector once and print the samples")
    o.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    o.add_argument("--target", help="only this device")
    o.add_argument("--format", choices=["json"], default="json")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every run at INFO
    try:
        if args.command == "check-config":
            return check_config(args.path, sys.stdout, sys.stderr)
        if args.command == "collect-once":
            return collect_once(args.config, args.target, sys.stdout, sys.stderr)
        if args.command == "demo":
            return run_demo(args, sys.stderr)
        return run(args, sys.stderr)
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
