"""Probe benchmark: 1,000 TCP and 1,000 ICMP probes to loopback addresses per cycle, beside fping
and Debian's prometheus-blackbox-exporter in the same run.

Run (as root: raw ICMP sockets): `.venv/bin/python benchmarks/probes.py` (about a minute; `--no-write`
to leave docs/benchmarks.md alone). Needs `apt-get install -y fping` and, for the reference,
`prometheus-blackbox-exporter` (installed on the way when missing; without it that column says so).

Targets: 1,000 addresses 127.0.1.1 ... 127.0.4.250 (Linux answers the whole of 127.0.0.0/8 on `lo`).
TCP: one listener process on 0.0.0.0:PORT that accepts and closes, so every address has an open port.

Ours, each kind in a fresh process: one `TargetRunner` per target around the registered probe
collector (`COLLECTOR_KINDS["tcp"]` / `["ping"]`, the console's `CollectorDeps`), as the scheduler
runs them. Two ways of running a cycle:
- *burst*: all 1,000 at once (`asyncio.gather`), the worst case: 1 warm-up cycle, then the mean of
  `--cycles` cycles; wall seconds and process CPU seconds (`time.process_time()`, plus children:
  fping when not root) per cycle;
- *scheduled*: each target started at its scheduler phase (`scrape_offset(key, 10 s)`) within a
  10 s interval, as the scheduler spreads them: CPU seconds / wall seconds is the share of one core
  the probes need at a 10 s interval (target < 0.3), wall is until the last probe has finished.
Ping is 3 echo requests 200 ms apart per target (the `ping:` defaults), TCP a connect and close.
ICMP as root uses our shared raw socket; icmplib (one raw socket per probe) is measured once for
the record, in burst mode only.

References, same run, same addresses: `fping -C 3 -q -p 200 -t 500 -i 1 ADDRESSES...` (one process,
3 requests per address, 1 ms between sends); prometheus-blackbox-exporter with modules `tcp_connect`
(prober tcp) and `icmp` (prober icmp, ONE echo request per probe: its only mode), every address
scraped once through `/probe`, 64 at a time, its CPU (utime+stime from /proc/PID/stat) per cycle.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import append_report, cpu_model, utc_stamp
from demo.agents import stop_process

PROBES = 1000
INTERVAL = 10.0
EXPORTER_PORT = 19115
EXPORTER_CONCURRENCY = 64
CLK_TCK = os.sysconf("SC_CLK_TCK")

LISTENER = """
import socket, sys
server = socket.create_server(("0.0.0.0", 0), backlog=4096)
print(server.getsockname()[1], flush=True)
while True:
    conn, _ = server.accept()
    conn.close()
"""


def log(message: str) -> None:
    print(f"[probes] {message}", file=sys.stderr, flush=True)


def address(i: int) -> str:
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_now() -> float:
    """This process's CPU seconds plus its finished children's (fping when not root)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def inner_ours(kind: str, port: int, cycles: int, backend: str, modes: list[str]) -> dict[str, Any]:
    from collectors import COLLECTOR_KINDS, CollectorDeps
    from collectors.health import RunResult, TargetRunner
    from collectors.probes import IcmpProvider
    from collectors.scheduler import scrape_offset
    from model import Device, PingProbeSpec, SystemClock, Target, TcpProbeSpec

    clock = SystemClock()
    deps = CollectorDeps(clock=clock, icmp=IcmpProvider(backend=backend))  # type: ignore[arg-type]
    spec: Any
    if kind == "tcp":
        spec = TcpProbeSpec(kind="tcp", interval=INTERVAL, timeout=5.5, probe_timeout=5.0, port=port)
    else:
        spec = PingProbeSpec(kind="ping", interval=INTERVAL, timeout=5.5, probe_timeout=5.0)
    runners = []
    for i in range(PROBES):
        device = Device(name=f"dev-{i:04d}", site="dc-east", system="bench", role="server", address=address(i))
        target = Target(device=device, spec=spec)
        runners.append(TargetRunner(target=target, collector=COLLECTOR_KINDS[kind](deps), clock=clock))

    async def at_offset(runner: TargetRunner, start: float) -> RunResult:
        await asyncio.sleep(max(0.0, start + scrape_offset(runner.target.key, INTERVAL) - time.monotonic()))
        return await runner.run_once()

    async def cycle(scheduled: bool) -> dict[str, float]:
        wall, cpu = time.monotonic(), cpu_now()
        if scheduled:
            results = await asyncio.gather(*(at_offset(r, wall) for r in runners))
        else:
            results = await asyncio.gather(*(r.run_once() for r in runners))
        return {
            "wall": time.monotonic() - wall,
            "cpu": cpu_now() - cpu,
            "failures": float(sum(not r.ok for r in results)),
        }

    async def run() -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "burst" in modes:
            await cycle(False)  # warm-up: imports, first sockets
            out["burst"] = [await cycle(False) for _ in range(cycles)]
        if "scheduled" in modes:
            out["scheduled"] = await cycle(True)
        out["rss"] = proc_rss()
        return out

    return asyncio.run(run())


def ours(kind: str, port: int, cycles: int, backend: str = "auto", modes: str = "burst,scheduled") -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--inner", kind, "--port", str(port)]
    cmd += ["--cycles", str(cycles), "--backend", backend, "--modes", modes]
    result = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"our {kind} part failed with {result.returncode}")
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def start_listener() -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen([sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


def run_fping(binary: str) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.monotonic()
    cmd = [binary, "-C", "3", "-q", "-p", "200", "-t", "500", "-i", "1", *(address(i) for i in range(PROBES))]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.monotonic() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    answered = sum(
        1
        for line in result.stderr.splitlines()
        if " : " in line and any(f != "-" for f in line.split(" : ")[1].split())
    )
    return {"wall": wall, "cpu": cpu, "failures": float(PROBES - answered)}


def exporter_binary(install: bool) -> str | None:
    found = shutil.which("prometheus-blackbox-exporter")
    if found is None and install:
        log("installing prometheus-blackbox-exporter (apt-get install -y prometheus-blackbox-exporter)")
        result = subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "prometheus-blackbox-exporter"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            log(f"cannot install prometheus-blackbox-exporter: {result.stderr.strip()[-300:]}")
        found = shutil.which("prometheus-blackbox-exporter")
    return found


EXPORTER_CONFIG = """\
modules:
  tcp_connect:
    prober: tcp
    timeout: 5s
  icmp:
    prober: icmp
    timeout: 5s
    icmp:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
"""


def run_exporter(binary: str, tmp: Path, port: int) -> dict[str, Any]:
    config = tmp / "blackbox.yml"
    config.write_text(EXPORTER_CONFIG)
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{EXPORTER_PORT}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{EXPORTER_PORT}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen(f"{base}/-/healthy", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("prometheus-blackbox-exporter did not start") from None
                time.sleep(0.05)

        def probe(url: str) -> bool:
            with urllib.request.urlopen(url, timeout=10) as response:
                return b"\nprobe_success 1\n" in b"\n" + response.read()

        def cycle(module: str, target: Any) -> dict[str, float]:
            urls = [f"{base}/probe?module={module}&target={target(i)}" for i in range(PROBES)]
            cpu, wall = proc_cpu(proc.pid), time.monotonic()
            with ThreadPoolExecutor(EXPORTER_CONCURRENCY) as pool:
                ok = sum(pool.map(probe, urls))
            return {"wall": time.monotonic() - wall, "cpu": proc_cpu(proc.pid) - cpu, "failures": float(PROBES - ok)}

        out: dict[str, Any] = {}
        for module, target in (("tcp_connect", lambda i: f"{address(i)}:{port}"), ("icmp", address)):
            cycle(module, target)  # warm-up
            out[module] = cycle(module, target)
        out["rss"] = proc_rss(proc.pid)
        out["version"] = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, check=False
        ).stdout.split()[2]
        return out
    finally:
        stop_process(proc, timeout=5)


def mean(cycles: list[dict[str, float]], key: str) -> float:
    return sum(c[key] for c in cycles) / len(cycles)


def render(results: dict[str, Any], args: argparse.Namespace) -> str:
    when, cpu = utc_stamp(), cpu_model()
    ref = results.get("exporter")
    fping_version = subprocess.run(["fping", "-v"], capture_output=True, text=True, check=False).stdout.strip()
    lines = [
        f"\n## Probe benchmark, {when}\n",
        f"Machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}; {fping_version}; "
        f"prometheus-blackbox-exporter {ref['version'] if ref else 'not available'}.  ",
        f"1,000 targets 127.0.1.1 ... 127.0.4.250; TCP: one accepting listener on 0.0.0.0; ping: 3 echo requests "
        f"200 ms apart per target (blackbox: 1, its only mode). Ours burst: all 1,000 at once, mean of "
        f"{args.cycles} cycles after a warm-up; ours scheduled: each target started at its scheduler phase within "
        f"a {INTERVAL:g} s interval. blackbox_exporter: every target scraped once, {EXPORTER_CONCURRENCY} at a "
        "time, its own CPU. Command: `.venv/bin/python benchmarks/probes.py` (as root).\n",
        "| probe | figure | ours, burst | ours, scheduled over 10 s | fping | blackbox_exporter | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, ref_key, fping in (("tcp", "tcp_connect", None), ("ping", "icmp", results.get("fping"))):
        burst, sched = results[kind]["burst"], results[kind]["scheduled"]
        r = ref[ref_key] if ref else None

        def cell(row: dict[str, float] | None, fmt: str, key: str, scale: float = 1.0) -> str:
            return "-" if row is None else format(row[key] * scale, fmt)

        b = {k: mean(burst, k) for k in ("wall", "cpu", "failures")}
        name = "TCP connect" if kind == "tcp" else "ICMP echo"
        lines += [
            f"| {name} | wall s per 1,000 probes | {b['wall']:.2f} | {sched['wall']:.2f} | {cell(fping, '.2f', 'wall')} | "
            f"{cell(r, '.2f', 'wall')} | <= 10 |",
            f"| {name} | CPU ms per probe | {b['cpu']:.3f} | {sched['cpu']:.3f} | {cell(fping, '.3f', 'cpu')} | "
            f"{cell(r, '.3f', 'cpu')} | - |",
            f"| {name} | share of one core (CPU s / wall s) | {b['cpu'] / b['wall']:.2f} | "
            f"**{sched['cpu'] / sched['wall']:.3f}** | {'-' if fping is None else format(fping['cpu'] / fping['wall'], '.2f')} | "
            f"{'-' if r is None else format(r['cpu'] / r['wall'], '.2f')} | < 0.3 |",
            f"| {name} | failed probes | {b['failures']:.0f} | {sched['failures']:.0f} | {cell(fping, '.0f', 'failures')} | "
            f"{cell(r, '.0f', 'failures')} | 0 |",
        ]
    lines.append("")
    lines.append(
        "CPU ms per probe = CPU seconds per 1,000 probes. "
        f"RSS of our process after the cycles: TCP {results['tcp']['rss'] / 1e6:.0f} MB, ping "
        f"{results['ping']['rss'] / 1e6:.0f} MB" + (f"; blackbox_exporter {ref['rss'] / 1e6:.0f} MB." if ref else ".")
    )
    icmplib = results.get("icmplib")
    if icmplib:
        c = icmplib["burst"][0]
        lines.append(
            f"For the record, icmplib's `async_ping` (one raw socket per probe, 256 in flight), burst: "
            f"{c['wall']:.2f} s wall, {c['cpu']:.2f} CPU-s, {c['failures']:.0f} failed probes per 1,000: every raw "
            "socket receives every ICMP packet, so the cost grows with the square of the probes in flight. "
            "That is why the ping probe shares one raw socket."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=3, help="measured burst cycles per kind (after a warm-up)")
    parser.add_argument("--no-reference", action="store_true", help="skip prometheus-blackbox-exporter")
    parser.add_argument("--no-icmplib", action="store_true", help="skip the icmplib measurement")
    parser.add_argument("--no-install", action="store_true", help="do not apt-get install a missing exporter")
    parser.add_argument("--no-write", action="store_true", help="do not append to docs/benchmarks.md")
    parser.add_argument("--inner", choices=("tcp", "ping"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="auto", help=argparse.SUPPRESS)
    parser.add_argument("--modes", default="burst,scheduled", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.inner:
        print(json.dumps(inner_ours(args.inner, args.port, args.cycles, args.backend, args.modes.split(","))))
        return
    if os.geteuid() != 0:
        raise SystemExit("run as root: the ping probes and the references use raw sockets")
    fping = shutil.which("fping")
    exporter = None if args.no_reference else exporter_binary(not args.no_install)
    if exporter is None and not args.no_reference:
        log("prometheus-blackbox-exporter is not available: the reference is skipped")
    listener, port = start_listener()
    results: dict[str, Any] = {}
    try:
        with socket.create_connection((address(PROBES - 1), port), timeout=2):
            pass
        log(f"listener on 0.0.0.0:{port} (pid {listener.pid})")
        for kind in ("tcp", "ping"):
            log(f"ours: {kind}")
            results[kind] = ours(kind, port, args.cycles)
            log(json.dumps(results[kind]))
        if not args.no_icmplib:
            log("icmplib, burst")
            results["icmplib"] = ours("ping", port, 1, backend="icmplib", modes="burst")
        if fping:
            log("fping")
            results["fping"] = run_fping(fping)
            log(json.dumps(results["fping"]))
        if exporter:
            log("prometheus-blackbox-exporter")
            with tempfile.TemporaryDirectory(prefix="opsbench-") as tmp:
                results["exporter"] = run_exporter(exporter, Path(tmp), port)
            log(json.dumps(results["exporter"]))
    finally:
        stop_process(listener, timeout=5)
    report = render(results, args)
    print(report)
    if not args.no_write:
        append_report(report)


if __name__ == "__main__":
    main()
