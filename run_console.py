"""Ops Console: the composition root and command line. The only module that reads argv or exits.

    python run_console.py run [--config PATH] [--listen HOST:PORT] [--data-dir PATH] [--role all|collector|web]
                              [--node NAME]
    python run_console.py demo [--config PATH] [--listen HOST:PORT] [--data-dir PATH]
    python run_console.py check-config PATH
    python run_console.py collect-once --config PATH [--target NAME] --format json
    python run_console.py query EXPR [--at T | --start T --end T --step S] [--config PATH] [--url URL]
                                [--format text|json]
    python run_console.py report availability --period P [...]
    python run_console.py users add|passwd|disable|enable|role|totp|unlock|list|token [NAME] [ROLE]
                                [--role ROLE] [--remove] [--revoke] [--config PATH] [--data-dir PATH]
    python run_console.py kiosk add|revoke|list [NAME] [--config PATH] [--data-dir PATH]
    python run_console.py audit verify [--config PATH] [--data-dir PATH]

Exit codes: 0 success; 1 a runtime failure (a target down in collect-once, the store locked, no
console and no store for `query`); 2 invalid input (a bad config, an unknown target, a bad query),
with one line per problem on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import getpass
import importlib.metadata
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Protocol, TextIO

import dash
import flask
import prometheus_client

import config
import demo.console
import demo.estate
from alerts.alertconfig import AlertingConfig
from alerts.evaluation import QueryEngineLike
from alerts.evaluation import SampleSink as AlertSink
from alerts.export import write_export
from alerts.maintenance import MaintenanceWindow
from alerts.reload import changed_sections, restart_needed
from alerts.rules import RuleGroup, expand_rule_globs, load_rule_files
from alerts.service import DEFAULT_RECEIVER, Alerting
from collectors import COLLECTOR_KINDS, CollectorDeps, Scheduler, oneshot
from collectors.scheduler import SampleSink
from collectors.selfmetrics import keep_recording
from config.schema import BasicAuthSettings
from dashboards import ComponentHealth, HealthReport, api_client, create_server
from dashboards.actions import ApiActions, ConsoleActions
from dashboards.api import QueryApi
from dashboards.api_alerts import AlertsApi
from dashboards.api_availability import AvailabilityApi
from dashboards.app import create_dash
from dashboards.auth import Access, AccessPolicy, install_access
from dashboards.authz import current_principal
from dashboards.queries import ConsoleData, LiveData
from dashboards.serve import HttpServer, TlsError
from model import Inventory, Sample, Secret, SystemClock, Target, TargetState
from model.gcfreeze import keep_frozen
from reports.cli import report_availability
from reports.report import EXPORT_FORMATS
from reports.reporting import Reporting, keep_observing
from security import cli as security_cli
from security.exports import config_status, export_config_yaml
from security.secrets import install_redaction, secret_values
from security.users import Role
from store import Retention, Store, StoreError
from store.query import QueryEngine
from store.query.remote_engine import PrometheusEngine
from store.query.remote_series import RemoteSeries
from store.remote import RemoteWriter, RemoteWriteTarget

log = logging.getLogger("ops_console")

DEFAULT_CONFIG = Path(__file__).resolve().parent / "config" / "console.yaml"
DEMO_CONFIG = Path(__file__).resolve().parent / "config" / "demo.yaml"
SCHEDULER_STUCK_AFTER = 10.0
SHUTDOWN_SECONDS = 5.0
STALE_AFTER = 300.0
"""/metrics leaves out series not updated for this long (seconds), as Prometheus' staleness does."""
TOKEN_ENV = "OPS_CONSOLE_TOKEN"
"""The API token `query` sends to a running console (`users token NAME` prints one)."""
MAX_POINTS_PER_SERIES = 11_000
"""Range queries and the engine refuse more points per series than this (Prometheus' limit)."""


class UsageError(Exception):
    """Invalid input from the command line: exit 2 with this message."""


# -- check-config --------------------------------------------------------------------------------
def check_config(path: Path, out: TextIO, err: TextIO) -> int:
    loaded = _load(path, err)
    if loaded is None:
        return 2
    groups = load_rules(loaded, err)
    if groups is None:
        return 2
    targets = sum(1 for _ in loaded.inventory.targets())
    rules = f", {sum(len(g.rules) for g in groups)} rules in {len(groups)} groups" if groups else ""
    out.write(f"{path}: ok ({len(loaded.inventory.devices)} devices, {targets} targets{rules})\n")
    return 0


def load_rules(loaded: config.Config, err: TextIO) -> list[RuleGroup] | None:
    """The rule groups of the config's `rule_files:` (globs relative to the config file), or None
    after writing every problem of every rule file to `err`."""
    try:
        return load_rule_files(expand_rule_globs(loaded.base_dir, loaded.rule_files))
    except config.ConfigError as exc:
        for problem in exc.problems:
            err.write(f"{problem}\n")
        return None


def _load(path: Path, err: TextIO) -> config.Config | None:
    try:
        return config.load_file(path)
    except config.ConfigError as exc:
        for problem in exc.problems:
            err.write(f"{problem}\n")
        return None


# -- export-rules --------------------------------------------------------------------------------
def export_rules(path: Path, out_dir: Path, out: TextIO, err: TextIO) -> int:
    """Write the config's rule files and an Alertmanager configuration equivalent to its
    `alerting:` routing into `out_dir`, for sites that move to Prometheus + Alertmanager
    (alerts/export.py); print what could not be carried over."""
    loaded = _load(path, err)
    if loaded is None or load_rules(loaded, err) is None:
        return 2
    alerting = loaded.alerting or AlertingConfig.model_validate(
        {"route": {"receiver": DEFAULT_RECEIVER}, "receivers": [{"name": DEFAULT_RECEIVER}]}
    )
    files = expand_rule_globs(loaded.base_dir, loaded.rule_files)
    try:
        warnings = write_export(alerting, files, out_dir, base_dir=loaded.base_dir)
    except (ValueError, OSError) as exc:
        err.write(f"{path}: cannot export: {exc}\n")
        return 2
    for warning in warnings:
        err.write(f"warning: {warning}\n")
    out.write(f"{out_dir / 'alertmanager.yml'} and {len(files)} rule files in {out_dir / 'rules'}\n")
    return 0


# -- export-config -------------------------------------------------------------------------------
def export_config(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Print the effective configuration of `--config` as YAML, every secret as `<secret>`
    (security/exports.py)."""
    loaded = _load(args.config, err)
    if loaded is None:
        return 2
    out.write(export_config_yaml(loaded))
    return 0


# -- report --------------------------------------------------------------------------------------
def report(args: argparse.Namespace, err: TextIO) -> int:
    """`report availability`: reports/cli.py over the config's data dir."""
    loaded = _load(args.config, err)
    if loaded is None:
        return 2
    windows = loaded.alerting.maintenance_windows if loaded.alerting is not None else ()
    return report_availability(
        loaded.availability,
        loaded.inventory,
        windows,
        args.data_dir or loaded.console.data_dir,
        period=args.period,
        systems=args.system,
        fmt=args.format,
        lang=args.lang or loaded.console.language,
        out=args.out,
        now=time.time(),
        stdout=sys.stdout.buffer,
        err=err,
    )


# -- users, audit --------------------------------------------------------------------------------
def users(args: argparse.Namespace, err: TextIO) -> int:
    """`users ACTION [NAME]`: security/cli.py over the config's data dir, acting as the shell's user."""
    loaded = _load(args.config, err)
    if loaded is None:
        return 2
    if args.action == "first-admin":
        data_dir = args.data_dir or loaded.console.data_dir
        needs_totp = "admin" in loaded.security.totp_roles
        actor = security_cli.shell_actor()
        return security_cli.first_admin(
            data_dir, second_factor=needs_totp, actor=actor, now=time.time(), out=sys.stdout
        )
    return security_cli.users(
        args.action,
        getattr(args, "name", None),
        args.data_dir or loaded.console.data_dir,
        role=getattr(args, "role", None),
        actor=security_cli.shell_actor(),
        now=time.time(),
        password=lambda name: security_cli.read_password(name, os.environ, getpass.getpass),
        out=sys.stdout,
        err=err,
        remove=getattr(args, "remove", False),
        revoke=getattr(args, "revoke", False),
    )


def kiosk(args: argparse.Namespace, err: TextIO) -> int:
    """`kiosk ACTION [NAME]`: the wall screens' tokens in the config's data dir, acting as the shell's user."""
    loaded = _load(args.config, err)
    if loaded is None:
        return 2
    return security_cli.kiosk(
        args.action,
        getattr(args, "name", None),
        args.data_dir or loaded.console.data_dir,
        actor=security_cli.shell_actor(),
        now=time.time(),
        out=sys.stdout,
        err=err,
    )


def audit(args: argparse.Namespace, err: TextIO) -> int:
    """`audit verify`: the audit log's hash chain in the config's data dir."""
    loaded = _load(args.config, err)
    if loaded is None:
        return 2
    return security_cli.audit_verify(args.data_dir or loaded.console.data_dir, sys.stdout, err)


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


def collect_once(path: Path, target: str | None, out: TextIO, err: TextIO) -> int:
    """Every collector of the config (or of device `target`) once, printed (collectors/oneshot.py):
    0, 1 when a target is down, 2 for a bad config."""
    loaded = _load(path, err)
    if loaded is None:
        return 2
    return oneshot.collect_once(select_targets(loaded.inventory, target), loaded.inventory.links, out, err)


# -- query ---------------------------------------------------------------------------------------
def query(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Evaluate EXPR through the running console's HTTP API (`--url`, default `console.listen`) with the
    API token in $OPS_CONSOLE_TOKEN (`users token NAME`); when nothing answers there, on the config's
    data directory in this process (taking the store's lock).
    Prints the `data` object (`--format json`) or promtool's text. Exit 0, 2 for a bad query or
    bad times, 1 when neither the console nor the store can answer or evaluation fails."""
    loaded = _load(args.config, err)
    if loaded is None:
        return 2
    try:
        path, form = api_client.query_request(args.expr, at=args.at, start=args.start, end=args.end, step=args.step)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    url = (args.url or f"http://{loaded.console.listen}").rstrip("/")
    try:
        token = os.environ.get(TOKEN_ENV)
        reply = api_client.post(url + path, form, Secret(token, reference=f"env:{TOKEN_ENV}") if token else None)
        if reply[0] == 401:
            err.write(f"error: {url} needs an API token: set {TOKEN_ENV} (run_console.py users token NAME)\n")
            return 1
    except OSError as exc:  # nothing answers (refused, no route, timeout)
        reason = getattr(exc, "reason", exc)
        data_dir = loaded.console.data_dir
        err.write(f"note: no console answers at {url} ({reason}); evaluating on the store in {data_dir}\n")
        reply = _query_store(loaded.console, data_dir, path, form)
    return api_client.print_reply(reply, args.format, out, err)


def _query_store(console: config.ConsoleSettings, data_dir: Path, path: str, form: dict[str, str]) -> api_client.Reply:
    """Evaluate on the store in `data_dir` in this process, through the same `QueryApi` the
    console serves: (HTTP status it would answer, body), or (None, why the store cannot answer)."""
    if not (data_dir / "store.sqlite3").exists():
        return None, f"no console answers and {data_dir} holds no store"
    clock = SystemClock()
    try:
        store = open_store(console, data_dir, clock, prometheus_client.CollectorRegistry())
    except StoreError as exc:
        return None, f"no console answers and the store cannot be opened: {exc}"
    try:
        return api_client.evaluate(build_query_api(store, lambda name: None, clock.now), path, form)
    finally:
        store.close()


# -- run -----------------------------------------------------------------------------------------
@dataclasses.dataclass
class Console:
    """Everything `run` starts, in the order it stops them. By role (`ROLES`): `all` has everything
    but maybe `remote`; a `collector` has no store, query API, alerting, reports or web console (it
    polls and writes remotely); a `web` node has no store, scheduler or collectors (it reads and
    evaluates through the remote engine)."""

    server: HttpServer
    store: Store | None
    scheduler: Scheduler | None
    deps: CollectorDeps | None
    loop: asyncio.AbstractEventLoop
    loop_thread: threading.Thread
    query_api: QueryApi | None
    alerting: Alerting | None = None
    reporting: Reporting | None = None
    access: Access | None = None
    app: flask.Flask | None = None
    """What `server` serves (the tests walk its routes)."""
    settings: config.Config | None = None
    """The config it started with (a reload compares the file with it)."""
    remote: RemoteWriter | None = None
    """Remote write to the engines of `remote_write:` (its queue in DATA_DIR/remote-write)."""
    role: str = "all"

    def health(self) -> HealthReport:
        components: dict[str, ComponentHealth] = {}
        if self.store is not None:
            ok, detail = self.store.health()
            components["store"] = ComponentHealth(ok=ok, detail=detail)
        if self.scheduler is not None:
            age = self.scheduler.heartbeat_age()
            components["scheduler"] = ComponentHealth(
                ok=age <= SCHEDULER_STUCK_AFTER,
                detail=f"last heartbeat {age:.1f}s ago" if math.isfinite(age) else "not started",
            )
        if self.remote is not None:  # an engine that is down delays, never loses: not a failure here
            components["remote_write"] = ComponentHealth(ok=True, detail=f"{self.remote.pending()} samples queued")
        return HealthReport(components=components)

    def stop(self) -> None:
        """Stop serving, stop collecting, then commit and close the store: all within 5 s (a remote
        write queue keeps what it could not send for the next start)."""
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        try:
            self.server.stop(timeout=1.0)
            if self.alerting is not None:
                self.alerting.stop(self.loop, timeout=1.0)
            if self.scheduler is not None:
                self.scheduler.shutdown_threadsafe(timeout=1.0)
            if self.deps is not None:
                asyncio.run_coroutine_threadsafe(_close_clients(self.deps), self.loop).result(1.0)
        except Exception:  # a stuck loop must not keep the store from closing
            log.exception("stopping the collectors failed; closing the store anyway")
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.loop_thread.join(0.5)
            if not self.loop.is_running():
                self.loop.close()
            if self.store is not None:
                self.store.close(timeout=max(0.5, deadline - time.monotonic()))
            if self.remote is not None:
                self.remote.stop(timeout=max(0.5, deadline - time.monotonic()))
            if self.alerting is not None:
                self.alerting.close()
            if self.reporting is not None:
                self.reporting.close()
            if self.access is not None:
                self.access.close()


class _Sink(SampleSink, AlertSink, Protocol):
    """Where a node's samples go: the collectors' and the rules' sink at once."""


class _Both:
    """A `SampleSink` writing to the store and to remote write (`run --role all` with `remote_write:`)."""

    def __init__(self, store: Store, remote: RemoteWriter) -> None:
        self._store, self._remote = store, remote

    def append(self, samples: Sequence[Sample]) -> None:
        self._store.append(samples)
        self._remote.append(samples)

    def record_state(self, target: str, state: TargetState, ts: float, cause: str) -> None:
        self._store.record_state(target, state, ts, cause)

    def flush(self, timeout: float = 30.0) -> bool:
        """The store's (remote write queues what it is given before `append` returns)."""
        return self._store.flush(timeout)


class _Nowhere:
    """A `SampleSink` for a web node without `remote_write:`: its rules' ALERTS series are not kept."""

    def append(self, samples: Sequence[Sample]) -> None:
        return None

    def record_state(self, target: str, state: TargetState, ts: float, cause: str) -> None:
        return None

    def flush(self, timeout: float = 30.0) -> bool:
        return True


async def _close_clients(deps: CollectorDeps) -> None:
    """Close the shared SNMP client on its own loop and let its cancelled timer task finish."""
    deps.snmp.close()
    await asyncio.sleep(0.05)


ROLES = ("all", "collector", "web")
"""`run --role`: everything in one process (the default); a collector node (polls, writes remotely);
a web node (serves the console and evaluates rules against the engine of `query:`)."""


class RoleError(ValueError):
    """A role the config does not provide for (a collector without `remote_write:`, ...)."""


def start_console(
    settings: config.Config, listen: str, data_dir: Path, groups: Sequence[RuleGroup] = (), role: str = "all"
) -> Console:
    """Bind the HTTP port, open the store, start the scheduler on its own loop, then serve.

    Raises RoleError when the config lacks what `role` needs, OSError when the port cannot be bound
    and StoreError when the store cannot be opened; nothing is left running then."""
    _check_role(settings, role)
    clock = SystemClock()
    metrics = prometheus_client.CollectorRegistry()
    console = settings.console
    holder: dict[str, Console] = {}
    app, web = web_app(settings, holder, clock, metrics) if role != "collector" else (node_app(holder, metrics), None)
    host, port = config.split_listen(listen)
    tls = (console.tls.cert_file, console.tls.key_file) if console.tls is not None else None
    server = HttpServer(app, host=host, port=port, tls=tls)  # binds now: a busy port fails before anything starts
    access: Access | None = None
    store: Store | None = None
    try:
        if web is not None:
            access = Access.open(data_dir, access_policy(settings), clock)
            install_access(app, web, access)  # before the server serves its first request
        if role == "all":
            store = open_store(console, data_dir, clock, metrics)
        remote = remote_writer(settings, data_dir, clock, metrics)
    except BaseException:
        server.stop()
        if access is not None:
            access.close()
        if store is not None:
            store.close()
        raise
    sink = _sink(store, remote)
    loop = asyncio.new_event_loop()
    deps, scheduler = start_collectors(settings, sink, clock, metrics, loop) if role != "web" else (None, None)
    loop_thread = threading.Thread(target=loop.run_forever, name="collectors", daemon=True)
    loop_thread.start()
    api = None
    if store is not None and deps is not None:
        api = build_query_api(store, deps.metadata.get, clock.now)
    elif role == "web":
        api = remote_query_api(settings.query, clock.now)
    alerting, reporting = None, None
    if api is not None:
        alerting, reporting = start_services(settings, groups, api.engine, sink, clock, metrics, data_dir, loop)
    loop.call_soon_threadsafe(keep_frozen, loop)
    loop.call_soon_threadsafe(keep_recording, loop, metrics, sink, clock)
    if remote is not None:
        remote.start()
    holder["console"] = Console(
        server, store, scheduler, deps, loop, loop_thread, api, alerting, reporting, access, app, settings, remote, role
    )
    server.start()
    log.info("Ops Console (%s) listening on %s/ (data in %s)", role, server.url, data_dir)
    if access is not None and not access.users.list():
        log.warning("no users yet: nobody can log in; add the first with `run_console.py users add NAME --role admin`")
    return holder["console"]


def start_services(
    settings: config.Config,
    groups: Sequence[RuleGroup],
    engine: QueryEngineLike,
    sink: _Sink,
    clock: SystemClock,
    metrics: prometheus_client.CollectorRegistry,
    data_dir: Path,
    loop: asyncio.AbstractEventLoop,
) -> tuple[Alerting, Reporting]:
    """Alerting and the availability reports (their recorder every 15 s) over `engine`, on `loop`."""
    alerting = start_alerting(settings, groups, engine, sink, clock, metrics, data_dir, loop)
    reporting = start_reporting(settings, alerting, data_dir)
    firing = alerting.pipeline.firing
    loop.call_soon_threadsafe(
        keep_observing, loop, reporting.recorder(engine.instant, lambda: firing().values()), clock
    )
    return alerting, reporting


def start_collectors(
    settings: config.Config,
    sink: _Sink,
    clock: SystemClock,
    metrics: prometheus_client.CollectorRegistry,
    loop: asyncio.AbstractEventLoop,
) -> tuple[CollectorDeps, Scheduler]:
    """Every target of the inventory on its schedule, on `loop`, into `sink`."""
    deps = CollectorDeps(clock=clock)
    scheduler = Scheduler(
        targets=list(settings.inventory.targets()),
        registry=COLLECTOR_KINDS,
        deps=deps,
        sink=sink,
        clock=clock,
        metrics=metrics,
        links=settings.inventory.links,
    )
    scheduler.start(loop)
    return deps, scheduler


def _sink(store: Store | None, remote: RemoteWriter | None) -> _Sink:
    if store is not None:
        return _Both(store, remote) if remote is not None else store
    return remote if remote is not None else _Nowhere()


def _check_role(settings: config.Config, role: str) -> None:
    if role not in ROLES:
        raise RoleError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    if role == "collector" and not settings.remote_write:
        raise RoleError("--role collector writes to the engines of remote_write: the config has none")
    if role == "web" and settings.query.backend != "prometheus":
        raise RoleError("--role web reads through query: backend: prometheus (with its url): the config has none")


def remote_writer(
    settings: config.Config, data_dir: Path, clock: SystemClock, metrics: prometheus_client.CollectorRegistry
) -> RemoteWriter | None:
    """Remote write to every engine of `remote_write:` (None without one); its queues in DATA_DIR/remote-write."""
    if not settings.remote_write:
        return None
    targets = [
        RemoteWriteTarget(
            url=w.url,
            headers={**w.headers, **auth_headers(w.bearer_token, w.basic_auth)},
            timeout=w.timeout,
            shards=w.queue.shards,
            max_samples_per_send=w.queue.max_samples_per_send,
            batch_send_deadline=w.queue.batch_send_deadline,
            min_backoff=w.queue.min_backoff,
            max_backoff=w.queue.max_backoff,
            ca_file=str(w.tls.ca_file) if w.tls.ca_file is not None else None,
            insecure_skip_verify=w.tls.insecure_skip_verify,
        )
        for w in settings.remote_write
    ]
    return RemoteWriter(targets, data_dir / "remote-write", clock=clock, registry=metrics)


def remote_query_api(query: config.QuerySettings, now: Callable[[], float]) -> QueryApi:
    """The query API over the engine of `query:` (Prometheus or VictoriaMetrics), for a web node."""
    assert query.url is not None  # the config requires it for backend prometheus
    engine = PrometheusEngine(
        query.url,
        headers=auth_headers(query.bearer_token, query.basic_auth),
        timeout=query.timeout,
        ca_file=query.tls.ca_file,
        insecure_skip_verify=query.tls.insecure_skip_verify,
    )
    series = RemoteSeries(engine)
    return QueryApi(
        engine=engine,
        store=series,
        metadata_lookup=series.metadata,
        now=now,
        version=_version(),
        max_points_per_series=MAX_POINTS_PER_SERIES,
    )


def auth_headers(bearer: Secret | None, basic: BasicAuthSettings | None) -> dict[str, str | Secret]:
    """The `Authorization` header of a bearer token or basic credentials, kept secret."""
    if bearer is not None:
        return {"Authorization": Secret(f"Bearer {bearer.reveal()}", reference=bearer.reference)}
    if basic is not None:
        pair = base64.b64encode(f"{basic.username}:{basic.password.reveal()}".encode()).decode()
        return {"Authorization": Secret(f"Basic {pair}", reference=basic.password.reference)}
    return {}


def node_app(holder: dict[str, Console], metrics: prometheus_client.CollectorRegistry) -> flask.Flask:
    """A collector node's HTTP server: its own /metrics and /healthz (open, as exporters are)."""

    def health() -> HealthReport:
        return holder["console"].health()

    return create_server(metrics=metrics, latest=list, health=health)


def web_app(
    settings: config.Config,
    holder: dict[str, Console],
    clock: SystemClock,
    metrics: prometheus_client.CollectorRegistry,
) -> tuple[flask.Flask, dash.Dash]:
    """The console's Flask app (/metrics, /healthz, the APIs) and its web console, to put behind
    `install_access` before serving. Each request reads the running console from `holder` (empty
    while starting)."""
    console = settings.console

    def access() -> Access:
        found = holder["console"].access
        assert found is not None  # start_console always opens it
        return found

    def record(action: str, subject: str, detail: Mapping[str, object]) -> None:
        access().record(action, subject, detail)

    def health() -> HealthReport:
        return holder["console"].health()

    def latest() -> list[Sample]:
        store = holder["console"].store
        return store.latest(max_age=STALE_AFTER) if store is not None else []

    def query_api() -> QueryApi:
        found = holder["console"].query_api
        assert found is not None  # a node serving the console has one
        return found

    def web_data() -> ConsoleData | None:
        running = holder.get("console")
        if running is None:
            return None
        pipeline = running.alerting.pipeline if running.alerting is not None else None
        if running.query_api is None:
            return None
        engine = running.query_api.engine
        return LiveData(
            settings.inventory,
            engine,
            pipeline,
            running.health,
            clock,
            console.timezone,
            console.language,
            running.reporting,
            running.access.audit if running.access is not None else None,
        )

    def actor() -> str | None:
        principal = current_principal()
        return principal.actor if principal is not None else None

    def alerts_api() -> AlertsApi | None:
        alerting = holder["console"].alerting if "console" in holder else None
        if alerting is None:
            return None
        return AlertsApi(alerting.pipeline, clock, actor(), record, alerting.handoff)

    def availability_api() -> AvailabilityApi | None:
        reporting = holder["console"].reporting if "console" in holder else None
        return AvailabilityApi(reporting, clock, actor(), record) if reporting is not None else None

    def web_actions() -> ConsoleActions | None:
        api = alerts_api()
        return ApiActions(api, availability_api()) if api is not None else None

    app = create_server(
        metrics=metrics,
        latest=latest,
        health=health,
        metrics_token=console.metrics_token,
        api=query_api,
        alerts=alerts_api,
        availability=availability_api,
        audit=lambda: access().audit,
        status_config=lambda: config_status(settings),
        reload=lambda: reload_config(holder["console"]),
    )
    web = create_dash(app, web_data, default_language=console.language, actions=web_actions)
    return app, web


class ReloadRefused(ValueError):
    """A config reload that changed nothing: the file's problems, one per line as check-config writes them."""


def reload_config(running: Console, *, actor: str | None = None) -> dict[str, object]:
    """Read the config file `running` started from again (and its rule files) and apply what can
    change live: the rule groups and the config's maintenance windows (alerts/reload.py); returns
    what was done, naming the sections that changed but need a restart. A file with problems changes
    nothing: ReloadRefused. Recorded in the audit log as `config.reload` (by the request's principal,
    else `actor`)."""
    assert running.settings is not None and running.alerting is not None and running.access is not None
    alerting, access = running.alerting, running.access
    try:
        new = config.load_file(running.settings.source)
        groups = load_rule_files(expand_rule_globs(new.base_dir, new.rule_files))
    except config.ConfigError as exc:
        problems = [str(problem) for problem in exc.problems]
        failed = {"outcome": "failed", "problems": problems}
        access.record("config.reload", running.settings.source, failed, actor=actor)
        raise ReloadRefused("\n".join(problems)) from None
    changed = changed_sections(running.settings, new)
    rules = asyncio.run_coroutine_threadsafe(alerting.replace_rules(groups), running.loop).result(30)
    windows = new.alerting.maintenance_windows if new.alerting is not None else ()
    replaced = alerting.replace_windows(windows)
    answer: dict[str, object] = {
        "changed": changed,
        "restartNeeded": restart_needed(changed),
        "groups": rules.groups_after,
        "rules": rules.rules_after,
        "groupsGone": list(rules.gone),
        "windowsReplaced": replaced,
    }
    access.record("config.reload", running.settings.source, answer, actor=actor)
    log.info(
        "config reloaded: %d rules in %d groups; changed: %s; needs a restart: %s",
        rules.rules_after,
        rules.groups_after,
        ", ".join(changed) or "nothing",
        ", ".join(restart_needed(changed)) or "nothing",
    )
    return answer


def access_policy(settings: config.Config) -> AccessPolicy:
    """The `security:` section as the web side applies it."""
    found = settings.security
    return AccessPolicy(
        session_idle=found.session_idle,
        session_max=found.session_max,
        lockout_attempts=found.lockout_attempts,
        lockout_for=found.lockout_for,
        totp_roles=frozenset(Role(role) for role in found.totp_roles),
        secure_cookies=found.cookies_secure(settings.console),
    )


def start_alerting(
    settings: config.Config,
    groups: Sequence[RuleGroup],
    engine: QueryEngineLike,
    store: _Sink,
    clock: SystemClock,
    metrics: prometheus_client.CollectorRegistry,
    data_dir: Path,
    loop: asyncio.AbstractEventLoop,
) -> Alerting:
    """Rules on their intervals through `engine`, the notification pipeline and the outbox, on
    `loop`; their state in data_dir (alerts/service.py)."""
    alerting = Alerting.open(
        groups,
        settings.alerting,
        settings.inventory,
        engine=engine,
        store=store,
        clock=clock,
        registry=metrics,
        data_dir=data_dir,
    )
    alerting.start(loop)
    receivers = len(settings.alerting.receivers) if settings.alerting is not None else 0
    rules = sum(len(g.rules) for g in groups)
    if alerting.handoff is not None:
        peers = len(settings.alerting.alertmanager.peers) if settings.alerting and settings.alerting.alertmanager else 0
        log.info("evaluating %d rules in %d groups; Alertmanager mode: %d peers notify", rules, len(groups), peers)
    else:
        log.info("evaluating %d rules in %d groups; %d receivers", rules, len(groups), receivers)
    return alerting


def start_reporting(settings: config.Config, alerting: Alerting, data_dir: Path) -> Reporting:
    """The state history (recorded on the collectors' loop by the caller) and the availability
    reports over it, with the maintenance windows the alerting knows (reports/reporting.py)."""
    maintenances = alerting.pipeline.maintenances

    def windows() -> list[MaintenanceWindow]:
        return [record.window for record in maintenances.list()] if maintenances is not None else []

    return Reporting.open(data_dir, settings.availability, settings.inventory, windows)


def open_store(
    console: config.ConsoleSettings, data_dir: Path, clock: SystemClock, metrics: prometheus_client.CollectorRegistry
) -> Store:
    """The store in `data_dir` with the `console:` settings; raises StoreError (StoreLocked: in use)."""
    return Store.open(
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


def build_query_api(
    store: Store, metadata: Callable[[str], tuple[str, str] | None], now: Callable[[], float]
) -> QueryApi:
    """The HTTP query API (and `query`'s in-process evaluation) over `store`, with the engine's
    limits; `metadata` is the exporters' `family -> (type, help)` (CollectorDeps.metadata.get)."""
    engine = QueryEngine(store, max_points_per_series=MAX_POINTS_PER_SERIES)
    return QueryApi(
        engine=engine,
        store=store,
        metadata_lookup=metadata,
        now=now,
        version=_version(),
        max_points_per_series=MAX_POINTS_PER_SERIES,
    )


def _version() -> str:
    try:
        return importlib.metadata.version("ops-console")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def run(args: argparse.Namespace, err: TextIO) -> int:
    """`run [--role R] [--node N]`: a node polls only its sites (`nodes:`), listening where `nodes:`
    says unless --listen does."""
    loaded = _load(args.config, err)
    if loaded is None:
        return 2
    listen = args.listen or loaded.console.listen
    if args.node is not None:
        try:
            inventory = config.node_inventory(loaded, args.node)
        except ValueError as exc:
            raise UsageError(f"--node: {exc}") from None
        loaded = dataclasses.replace(loaded, inventory=inventory)
        node = next(n for n in loaded.nodes if n.name == args.node)
        listen = args.listen or node.listen or listen
    return serve(loaded, listen, args.data_dir or loaded.console.data_dir, err, role=args.role)


def serve(loaded: config.Config, listen: str, data_dir: Path, err: TextIO, *, role: str = "all") -> int:
    """Run the console (as `role`, ROLES) on `loaded` until SIGTERM or SIGINT, then stop it."""
    missing = missing_capabilities(loaded.inventory)
    if missing is not None:
        err.write(f"error: {missing}\n")
        return 2
    groups = load_rules(loaded, err)
    if groups is None:
        return 2
    hidden = secret_values(loaded)
    install_redaction(lambda: hidden)  # a backstop: no code logs a secret on purpose (security/secrets.py)
    try:
        console = start_console(loaded, listen, data_dir, groups, role)
    except (RoleError, TlsError) as exc:  # the config's problem (a TLS key that cannot be loaded, ...)
        err.write(f"error: {'console.tls: ' if isinstance(exc, TlsError) else ''}{exc}\n")
        return 2
    except StoreError as exc:
        err.write(f"error: {exc}\n")
        return 1
    except OSError as exc:
        err.write(f"error: cannot listen on {listen}: {exc.strerror or exc}\n")
        return 1
    stopping, reloading = threading.Event(), threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("received %s: shutting down", signal.Signals(signum).name)
        stopping.set()

    def on_hangup(signum: int, frame: FrameType | None) -> None:
        reloading.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_hangup)  # reload the config, as Prometheus does
    while not stopping.wait(0.5):
        if reloading.is_set():
            reloading.clear()
            if console.alerting is None:
                log.warning("SIGHUP: a %s node has no rules to reload; restart it to apply a new config", role)
                continue
            try:
                reload_config(console, actor="signal:SIGHUP")
            except ReloadRefused as exc:
                log.error("config reload refused, nothing changed:\n%s", exc)
    console.stop()
    log.info("stopped")
    return 0


def missing_capabilities(inventory: Inventory) -> str | None:
    """What this machine lacks for the configured collectors (ICMP for `ping:`), or None. A console
    that cannot ping must not start and report every device down."""
    pings = [target.name for target in inventory.targets() if target.spec.kind == "ping"]
    if not pings:
        return None
    from collectors.probes import check_icmp_available

    problem = check_icmp_available()
    if problem is None:
        return None
    more = f" and {len(pings) - 1} more" if len(pings) > 1 else ""
    return f"{problem}; needed by the ping collector of {pings[0]}{more}"


# -- demo ----------------------------------------------------------------------------------------
def run_demo(args: argparse.Namespace, err: TextIO) -> int:
    """Start the demo estate's simulated agents, front ends, pager and, when installed, node_exporter
    (demo/console.py; their data under DATA_DIR/agents); then `run` the console on the demo config;
    they all stop when the console does. With `--cut`/`--restore`: cut or restore links on the demo
    running with that data dir, and exit (UsageError for an unknown link)."""
    loaded = _load(args.config, err)
    if loaded is None:
        return 2
    data_dir: Path = args.data_dir or loaded.console.data_dir
    estate = demo.estate.build()
    if args.cut or args.restore:
        try:
            return demo.console.cut_demo(estate, data_dir / "agents", args.cut or (), err)
        except ValueError as exc:
            raise UsageError(f"--cut: {exc}") from None

    def serve_demo(demo_config: config.Config) -> int:
        return serve(demo_config, args.listen or demo_config.console.listen, data_dir, err)

    return demo.console.run_demo(estate, loaded, data_dir, serve_demo, err)


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
    r.add_argument("--role", choices=ROLES, default="all", help="all (default), collector or web (docs/deployment.md)")
    r.add_argument("--node", help="this node's name in nodes: (it polls only that node's sites)")
    d = sub.add_parser("demo", help="start the simulated demo estate and run the console on it until stopped")
    d.add_argument("--config", type=Path, default=DEMO_CONFIG)
    d.add_argument("--listen", type=_listen, help="HOST:PORT, overriding console.listen")
    d.add_argument("--data-dir", type=Path, help="overrides console.data_dir (default: the repository's data/demo-run)")
    rehearse = d.add_mutually_exclusive_group()
    rehearse.add_argument("--cut", nargs="+", metavar="LINK", help="on the running demo: cut links (or groups), exit")
    rehearse.add_argument("--restore", action="store_true", help="on the running demo: restore every link, then exit")
    c = sub.add_parser("check-config", help="validate a config file")
    c.add_argument("path", type=Path)
    e = sub.add_parser(
        "export-rules", help="write the rule files and an equivalent Alertmanager config (for amtool/promtool)"
    )
    e.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    e.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    x = sub.add_parser("export-config", help="print the effective configuration as YAML, every secret as <secret>")
    x.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    o = sub.add_parser("collect-once", help="run every collector once and print the samples")
    o.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    o.add_argument("--target", help="only this device")
    o.add_argument("--format", choices=["json"], default="json")
    q = sub.add_parser("query", help="evaluate a PromQL expression (the running console's API, else the store)")
    q.add_argument("expr", metavar="EXPR")
    q.add_argument("--at", metavar="T", help="instant query time: RFC 3339 or Unix seconds (default now)")
    q.add_argument("--start", metavar="T", help="range query start (with --end and --step)")
    q.add_argument("--end", metavar="T", help="range query end")
    q.add_argument("--step", metavar="S", help="range query step: seconds or a duration (15s, 1m)")
    q.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    q.add_argument("--url", help="the console's base URL (default http://<console.listen>)")
    q.add_argument("--format", choices=["text", "json"], default="text")
    rep = sub.add_parser("report", help="write a report of the recorded history (availability: PDF, CSV, JSON)")
    rep.add_argument("kind", choices=["availability"])
    rep.add_argument("--period", required=True, help="2026-11, 2026-Q3, FY2026 or 2026-04..2027-03")
    rep.add_argument("--system", action="append", default=[], help="a system id (repeat; default: every system)")
    rep.add_argument("--format", choices=list(EXPORT_FORMATS), default="pdf")
    rep.add_argument("--lang", choices=["ja", "en"], help="default: console.language")
    rep.add_argument("--out", help="the file to write (default: standard output for csv and json)")
    rep.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    rep.add_argument("--data-dir", type=Path, help="overrides console.data_dir")
    _security_parsers(sub)
    return p


def _security_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`users ...`, `kiosk ...` and `audit verify` (security/cli.py)."""
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    where.add_argument("--data-dir", type=Path, help="overrides console.data_dir")
    roles = ", ".join(r.value for r in Role) + " (in order of power)"
    u = sub.add_parser("users", help="add, change, disable, enable and list users; second factors, API tokens")
    actions = u.add_subparsers(dest="action", required=True)
    ua = actions.add_parser("add", parents=[where], help="a new user (password: $OPS_CONSOLE_PASSWORD or asked)")
    ua.add_argument("name", metavar="NAME")
    ua.add_argument("--role", required=True, help=roles)
    for action, text in [
        ("passwd", "set a user's password ($OPS_CONSOLE_PASSWORD or asked) and end their web sessions"),
        ("disable", "stop a user logging in or using API tokens; end their web sessions"),
        ("enable", "let a disabled user in again"),
        ("unlock", "lift the lock on a user's logins after failed attempts"),
    ]:
        actions.add_parser(action, parents=[where], help=text).add_argument("name", metavar="NAME")
    ur = actions.add_parser("role", parents=[where], help="change a user's role and end their web sessions")
    ur.add_argument("name", metavar="NAME")
    ur.add_argument("role", metavar="ROLE", help=roles)
    ut = actions.add_parser("totp", parents=[where], help="enrol a second factor (TOTP): print its secret, once")
    ut.add_argument("name", metavar="NAME")
    ut.add_argument("--remove", action="store_true", help="remove the user's second factor instead")
    uk = actions.add_parser("token", parents=[where], help="issue an API token for a user and print it (shown once)")
    uk.add_argument("name", metavar="NAME")
    uk.add_argument("--revoke", action="store_true", help="revoke every API token of the user instead")
    actions.add_parser("list", parents=[where], help="every user: name, role, disabled, totp, created")
    actions.add_parser(
        "first-admin",
        parents=[where],
        help="set-up: add `admin` with a random password (printed once) if no admin exists",
    )
    k = sub.add_parser("kiosk", help="tokens for wall screens (kiosks): add, revoke, list")
    kiosk_actions = k.add_subparsers(dest="action", required=True)
    for action, text in [
        ("add", "a new kiosk: print its token and the /kiosk/<token> path to open on the wall screen (shown once)"),
        ("revoke", "stop a kiosk's token working and end its web sessions"),
    ]:
        kiosk_actions.add_parser(action, parents=[where], help=text).add_argument("name", metavar="NAME")
    kiosk_actions.add_parser("list", parents=[where], help="every kiosk: name, issued, revoked")
    a = sub.add_parser("audit", parents=[where], help="check the audit log's hash chain")
    a.add_argument("action", choices=["verify"])


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every run at INFO
    logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs every request (probe, scrape) at INFO
    commands: dict[str, Callable[[], int]] = {
        "check-config": lambda: check_config(args.path, sys.stdout, sys.stderr),
        "export-rules": lambda: export_rules(args.config, args.out_dir, sys.stdout, sys.stderr),
        "export-config": lambda: export_config(args, sys.stdout, sys.stderr),
        "collect-once": lambda: collect_once(args.config, args.target, sys.stdout, sys.stderr),
        "query": lambda: query(args, sys.stdout, sys.stderr),
        "report": lambda: report(args, sys.stderr),
        "users": lambda: users(args, sys.stderr),
        "kiosk": lambda: kiosk(args, sys.stderr),
        "audit": lambda: audit(args, sys.stderr),
        "demo": lambda: run_demo(args, sys.stderr),
        "run": lambda: run(args, sys.stderr),
    }
    if args.command in ("query", "report", "users", "kiosk", "audit"):
        logging.getLogger().setLevel(logging.WARNING)  # stdout is the answer; stderr only problems
    try:
        return commands[args.command]()
    except UsageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
