"""The demo estate's simulated agents: one `snmpsim-command-responder` process per responder port,
the business systems' front ends (HTTP servers in threads) and, when installed, node_exporter.

`running_agents(estate, run_dir)` writes each responder's data files under `run_dir`, starts the
responders on 127.0.0.1, waits until each answers an SNMP GET, and stops them all on exit (also when
starting one of them fails). The processes run in their own session, so a Ctrl-C in the terminal
reaches the console, which then stops them; on Linux they are also told to terminate should the
process that started them die without stopping them.

`running_front_ends(estate)` serves each front end's page (`GET /`: 200, HTML naming the system) on
127.0.0.1 from a thread of this process, and `running_node_exporter(program, port, run_dir)` runs
Debian's node_exporter on 127.0.0.1 with a few light collectors; both stop on exit.

`running_pager(port, log_file)` is the demo pager: a webhook receiver on 127.0.0.1 that logs one line
per notification it receives (`page_line`). `cut_links(estate, run_dir, links)` rehearses a cut on
the running responders by rewriting their data files (`demo.snmprec.data_files(estate, cut=links)`):
snmpsim re-reads a data file whose mtime changed at its next request, and drops requests for a data
file that is gone, so the devices behind the cut time out like the dead device (each dropped request
leaves a traceback in the responder's log). `cut_links(estate, run_dir, ())` restores the estate.
"""

from __future__ import annotations

import contextlib
import ctypes
import html
import http.client
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from demo.estate import ADDRESS, Estate, FrontEnd
from demo.snmprec import data_files

__all__ = [
    "NODE_EXPORTER",
    "NODE_EXPORTER_INSTALL",
    "PROGRAM",
    "AgentError",
    "FrontEndServer",
    "Responder",
    "cut_links",
    "find_node_exporter",
    "find_program",
    "front_end_page",
    "page_line",
    "running_agents",
    "running_front_ends",
    "running_node_exporter",
    "running_pager",
    "stop_process",
]

log = logging.getLogger(__name__)

PROGRAM = "snmpsim-command-responder"
NODE_EXPORTER = "prometheus-node-exporter"
NODE_EXPORTER_INSTALL = "apt-get install -y prometheus-node-exporter"
NODE_EXPORTER_COLLECTORS = ("cpu", "diskstats", "filesystem", "loadavg", "meminfo", "netdev", "stat", "time", "uname")
"""The only collectors the demo's node_exporter runs (`--collector.disable-defaults`): light ones."""
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
_SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)


class AgentError(Exception):
    """A simulated agent could not be started (the program is missing, a port is busy, ...)."""


@dataclass(frozen=True, slots=True)
class Responder:
    port: int
    devices: int
    """How many data files (simulated devices) it serves."""
    process: subprocess.Popen[bytes]
    log: Path


def find_program() -> str | None:
    """The responder program: next to this interpreter (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / PROGRAM
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(PROGRAM)


@contextlib.contextmanager
def running_agents(estate: Estate, run_dir: Path, *, ready_timeout: float = READY_TIMEOUT) -> Iterator[list[Responder]]:
    """Start one responder per port of `estate` (data and logs under `run_dir/agent-PORT/`), yield
    them once every one answers, and stop them all on exit. Raises AgentError when one cannot start;
    nothing is left running then."""
    program = find_program()
    if program is None:
        raise AgentError(f"{PROGRAM} not found (it comes with the snmpsim package: pip install snmpsim pysmi)")
    files_by_port = data_files(estate)
    for port in files_by_port:
        _check_free(port)
    responders: list[Responder] = []
    try:
        for port, files in files_by_port.items():
            if files:
                responders.append(_start(program, port, files, run_dir / f"agent-{port}"))
        deadline = time.monotonic() + ready_timeout
        for responder, community in zip(responders, _a_community_per_port(estate), strict=True):
            _wait_ready(responder, community, deadline)
        yield responders
    finally:
        for responder in responders:
            stop_process(responder.process)


# -- front ends ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FrontEndServer:
    front_end: FrontEnd
    server: ThreadingHTTPServer
    thread: threading.Thread


def front_end_page(front_end: FrontEnd) -> bytes:
    """The UTF-8 HTML page a front end answers `GET /` with."""
    title = html.escape(front_end.title)
    return (
        '<!DOCTYPE html>\n<html lang="ja"><head><meta charset="utf-8">'
        f"<title>{title}</title></head>\n"
        f"<body><h1>{title}</h1><p>{html.escape(front_end.system)} front end (ops-console demo)</p></body></html>\n"
    ).encode()


class _FrontEndHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, front_end: FrontEnd) -> None:
        self.page = front_end_page(front_end)
        super().__init__((ADDRESS, front_end.port), _FrontEndHandler)


class _FrontEndHandler(BaseHTTPRequestHandler):
    """`GET /` and `HEAD /`: 200 with the page; any other path: 404."""

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        assert isinstance(self.server, _FrontEndHttpServer)
        if self.path != "/":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.server.page)))
        self.end_headers()
        if with_body:
            self.wfile.write(self.server.page)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a request every 30 s per front end is not worth a log line."""


@contextlib.contextmanager
def running_front_ends(estate: Estate) -> Iterator[list[FrontEndServer]]:
    """Serve every front end of `estate` on 127.0.0.1 (one thread each), yield them, and stop them all
    on exit. Raises AgentError when a port is in use; nothing is left running then."""
    servers: list[FrontEndServer] = []
    try:
        for front_end in estate.front_ends:
            try:
                server = _FrontEndHttpServer(front_end)
            except OSError as exc:
                raise AgentError(
                    f"TCP port {ADDRESS}:{front_end.port} for the {front_end.system} front end is in use: "
                    f"{exc.strerror or exc}"
                ) from None
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.2}, name=f"front-end-{front_end.system}"
            )
            thread.daemon = True
            thread.start()
            servers.append(FrontEndServer(front_end, server, thread))
        yield servers
    finally:
        for each in servers:
            each.server.shutdown()
            each.server.server_close()
            each.thread.join()


# -- the demo pager ------------------------------------------------------------------------------
def page_line(payload: Mapping[str, Any]) -> str:
    """One line for an Alertmanager webhook payload (version 4): status, groupKey, and each alert's
    name with the device or link it is about, resolved ones marked, and its `behind` annotation:
    `FIRING {}:{scope="link"}: LinkGroupDown; WanLinkDown east-west-1 (behind: 3 alerts: a, b, c)`."""
    alerts = []
    for alert in payload.get("alerts", ()):
        labels, annotations = alert.get("labels", {}), alert.get("annotations", {})
        text = " ".join(v for v in (labels.get("alertname", "?"), labels.get("target") or labels.get("link")) if v)
        if alert.get("status") == "resolved":
            text += " (resolved)"
        if annotations.get("behind"):
            text += f" (behind: {annotations['behind']})"
        alerts.append(text)
    return f"{str(payload.get('status', '?')).upper()} {payload.get('groupKey', '?')}: {'; '.join(alerts)}"


class _PagerHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, log_file: Path) -> None:
        self.log_file = log_file
        self.lock = threading.Lock()
        super().__init__((ADDRESS, port), _PagerHandler)


class _PagerHandler(BaseHTTPRequestHandler):
    """`POST` (any path) of a webhook payload: 200 and one line logged; not JSON: 400."""

    def do_POST(self) -> None:
        assert isinstance(self.server, _PagerHttpServer)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            payload = json.loads(body)
            line = page_line(payload)
        except (ValueError, AttributeError, TypeError) as exc:
            log.warning("demo pager: refused a request that is not a webhook payload: %s", exc)
            self.send_error(400, "expected an Alertmanager webhook payload (JSON)")
            return
        log.info("demo pager: %s", line)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        with self.server.lock, self.server.log_file.open("a", encoding="utf-8") as out:
            out.write(f"{stamp} {line}\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: each page is logged by `do_POST`."""


@contextlib.contextmanager
def running_pager(port: int, log_file: Path) -> Iterator[str]:
    """Serve the demo pager on 127.0.0.1:`port` from a thread, appending each page's line (with
    its time) to `log_file` and logging it; yield its URL; stop on exit. Raises AgentError when the
    port is in use."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = _PagerHttpServer(port, log_file)
    except OSError as exc:
        raise AgentError(f"TCP port {ADDRESS}:{port} for the demo pager is in use: {exc.strerror or exc}") from None
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="demo-pager")
    thread.daemon = True
    thread.start()
    try:
        yield f"http://{ADDRESS}:{port}/pages"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# -- rehearsing a cut ----------------------------------------------------------------------------
def cut_links(estate: Estate, run_dir: Path, links: Collection[str]) -> tuple[str, ...]:
    """Make the running responders (data under `run_dir/agent-PORT/data`, as `running_agents`
    writes it) serve `estate` with `links` cut; `()` restores it. Returns the devices that stop
    answering (cut off behind the links). Raises AgentError when `run_dir` holds no demo agents' data
    or none of them answers (the demo is not running)."""
    wanted = data_files(estate, cut=links)
    dirs = {port: run_dir / f"agent-{port}" / "data" for port in wanted}
    missing = [str(d) for d in dirs.values() if not d.is_dir()]
    if missing:
        raise AgentError(f"no demo agents' data in {', '.join(missing)}: is the demo running with this data dir?")
    present = {port: next(iter(sorted(d.glob("*.snmprec"))), None) for port, d in dirs.items()}
    if not any(_answers(port, path.stem) for port, path in present.items() if path is not None):
        ports = ", ".join(str(port) for port in dirs)
        raise AgentError(f"no demo agent answers on udp {ADDRESS}:{ports}: is the demo running?")
    for port, files in wanted.items():
        directory = dirs[port]
        for old in directory.glob("*.snmprec"):
            if old.name not in files:
                old.unlink()  # snmpsim drops the requests of a data file that is gone: a timeout
        for name, text in files.items():
            _replace(directory / name, text)
    return estate.cut_off(links) if links else ()


def _replace(path: Path, text: str) -> None:
    """Write `path` at once (snmpsim never reads half a file), with an mtime later in whole seconds
    than the one it had: snmpsim compares `int(st_mtime)` to notice a changed file."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return
        before = int(path.stat().st_mtime)
    except FileNotFoundError:
        before = 0
    staged = path.with_name(path.name + ".new")
    staged.write_text(text, encoding="utf-8")
    mtime = max(int(time.time()), before + 1)
    os.utime(staged, (mtime, mtime))
    staged.replace(path)


# -- node_exporter -------------------------------------------------------------------------------
def find_node_exporter() -> str | None:
    """Debian's node_exporter (`prometheus-node-exporter`) on PATH, or None."""
    return shutil.which(NODE_EXPORTER)


@contextlib.contextmanager
def running_node_exporter(
    program: str, port: int, run_dir: Path, *, ready_timeout: float = READY_TIMEOUT
) -> Iterator[str]:
    """Start node_exporter (`program`) on 127.0.0.1:`port` with `NODE_EXPORTER_COLLECTORS` only (log
    in `run_dir/node-exporter.log`), yield its /metrics URL once it answers 200, stop it on exit.
    Raises AgentError when the port is in use or it does not start; nothing is left running then."""
    _check_free_tcp(port, "node_exporter")
    run_dir.mkdir(parents=True, exist_ok=True)
    log = run_dir / "node-exporter.log"
    url = f"http://{ADDRESS}:{port}/metrics"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                program,
                f"--web.listen-address={ADDRESS}:{port}",
                "--collector.disable-defaults",
                *(f"--collector.{name}" for name in NODE_EXPORTER_COLLECTORS),
                "--no-collector.systemd",
                "--log.level=warn",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent(),  # noqa: PLW1509 (only async-signal-safe work: one prctl call)
        )
    try:
        deadline = time.monotonic() + ready_timeout
        while not _answers_200(port, "/metrics"):
            if process.poll() is not None:
                raise AgentError(f"{NODE_EXPORTER} on {ADDRESS}:{port} exited with {process.returncode}: {_tail(log)}")
            if time.monotonic() > deadline:
                raise AgentError(f"{NODE_EXPORTER} on {ADDRESS}:{port} did not answer: {_tail(log)}")
            time.sleep(0.05)
        yield url
    finally:
        stop_process(process)


def _answers_200(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection(ADDRESS, port, timeout=1.0)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
    except OSError:
        return False
    finally:
        connection.close()
    return response.status == 200


def _check_free_tcp(port: int, what: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: TIME_WAIT is no owner
        try:
            sock.bind((ADDRESS, port))
        except OSError as exc:
            raise AgentError(f"TCP port {ADDRESS}:{port} for {what} is in use: {exc.strerror or exc}") from None


# -- SNMP responders -----------------------------------------------------------------------------
def _check_free(port: int) -> None:
    """snmpsim reports "listening" even when another socket holds the port (and then never gets a
    request): refuse a port that is in use before starting anything."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((ADDRESS, port))
        except OSError as exc:
            raise AgentError(
                f"UDP port {ADDRESS}:{port} for the simulated agents is in use: {exc.strerror or exc}"
            ) from None


def _a_community_per_port(estate: Estate) -> list[str]:
    first: dict[int, str] = {}
    for device in estate.devices:
        if device.served:
            first.setdefault(device.port, device.community)
    return [first[port] for port in estate.ports if port in first]


def _start(program: str, port: int, files: dict[str, str], directory: Path) -> Responder:
    data, cache = directory / "data", directory / "cache"
    shutil.rmtree(data, ignore_errors=True)  # a data file left from another estate must not answer
    data.mkdir(parents=True)
    cache.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (data / name).write_text(text, encoding="utf-8")
    log = directory / "responder.log"
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}  # as root it refuses to start without it
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                program,
                f"--data-dir={data}",
                f"--cache-dir={cache}",
                "--force-index-rebuild",
                f"--agent-udpv4-endpoint={ADDRESS}:{port}",
                "--log-level=error",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent(),  # noqa: PLW1509 (only async-signal-safe work: one prctl call)
        )
    return Responder(port=port, devices=len(files), process=process, log=log)


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux: a child-side hook asking the kernel to SIGTERM the child when its parent dies."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def hook() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


def _wait_ready(responder: Responder, community: str, deadline: float) -> None:
    request = _get_request(community, _SYS_UPTIME)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while True:
            if responder.process.poll() is not None:
                raise AgentError(
                    f"{PROGRAM} on {ADDRESS}:{responder.port} exited with {responder.process.returncode}: "
                    f"{_tail(responder.log)}"
                )
            sock.sendto(request, (ADDRESS, responder.port))
            try:
                sock.recvfrom(65535)
            except (TimeoutError, ConnectionRefusedError):
                pass
            else:
                return
            if time.monotonic() > deadline:
                raise AgentError(f"{PROGRAM} on {ADDRESS}:{responder.port} did not answer: {_tail(responder.log)}")


def _answers(port: int, community: str, timeout: float = 0.5) -> bool:
    """Whether the responder on `port` answers a GET of sysUpTime for `community` within `timeout`."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(_get_request(community, _SYS_UPTIME), (ADDRESS, port))
        try:
            sock.recvfrom(65535)
        except (TimeoutError, ConnectionRefusedError):
            return False
    return True


def stop_process(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """Terminate a child process, and kill it if it has not ended within `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "(no log)"
    return " | ".join(text.splitlines()[-lines:]) or "(empty log)"


# -- a minimal SNMPv2c GET, BER-encoded by hand (readiness only; the collectors use snmp_client) --
def _tlv(tag: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + payload


def _oid(parts: tuple[int, ...]) -> bytes:
    body = bytearray([parts[0] * 40 + parts[1]])
    for part in parts[2:]:
        chunk, rest = [part & 0x7F], part >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _get_request(community: str, oid: tuple[int, ...], request_id: int = 1) -> bytes:
    varbind = _tlv(0x30, _oid(oid) + b"\x05\x00")
    pdu = _tlv(
        0xA0,
        _tlv(0x02, request_id.to_bytes(4, "big")) + b"\x02\x01\x00\x02\x01\x00" + _tlv(0x30, varbind),
    )
    return _tlv(0x30, b"\x02\x01\x01" + _tlv(0x04, community.encode()) + pdu)
