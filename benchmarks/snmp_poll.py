"""SNMP poll benchmark: our poller over N devices of 48 interfaces, beside Debian's snmp_exporter.

Run (as root: it creates a network namespace): `.venv/bin/python benchmarks/snmp_poll.py`
(about 3 minutes; `--devices 50,200,1000` adds the 1,000-device cycle). Needs `apt-get install -y
snmpd snmp` and, for the reference, `apt-get install -y prometheus-snmp-exporter` (installed on the
way when missing; without it the reference is skipped and said so).

Set-up: a network namespace `opsbench` with `lo` up, 24 veth pairs (ge0..ge47, so IF-MIB lists 49
interfaces with lo), the device addresses 127.0.1.1, 127.0.1.2, ... on its `lo`, and one net-snmp
snmpd (v2c community `public`) on udp 0.0.0.0:161 inside it: every address is one "device". The
measuring parts run inside the namespace (`ip netns exec opsbench python benchmarks/snmp_poll.py
--inner ...`), each in a fresh process; everything is torn down in `finally`.

Ours: `SnmpCollector.collect()` for every device at once on one loop, with one shared
`SnmpClientProvider` (max_concurrency 32, the console's default), modules system + if_mib, the
spec's defaults (25 repetitions, timeout 1 s, 1 retry). Cycle 1 is cold (static columns read);
the warm cycles after it (cached statics, only the changing columns) are the steady state measured:
wall seconds per cycle, process CPU seconds (`time.process_time()`) per device-cycle, varbinds on
the wire (counted by a small `SnmpClient` subclass around its one request method), and RSS.

Reference, same run, same agent, same devices: Debian's prometheus-snmp-exporter with a generated
snmp.yml whose `if_mib` module is the generator's: get sysUpTime, walk ifTable (1.3.6.1.2.1.2) and
ifXTable (1.3.6.1.2.1.31.1.1), every column a metric with ifIndex and the ifAlias/ifDescr/ifName
lookups. Every device is scraped once, 16 at a time, after a short warm-up; its CPU (utime+stime
from /proc/PID/stat) per scrape, walk size (`snmp_scrape_pdus_returned`) and RSS are recorded.
The headline is "our CPU per device-cycle / snmp_exporter CPU per scrape" (target <= 1.0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import append_report, cpu_model, log, utc_stamp
from demo.agents import stop_process

NETNS = "opsbench"
VETH_PAIRS = 24
COMMUNITY = "public"
EXPORTER_PORT = 19116
EXPORTER_CONCURRENCY = 16
CLK_TCK = os.sysconf("SC_CLK_TCK")


def device_address(i: int) -> str:
    """The i-th device (0-based): 127.0.1.1 .. 127.0.1.250, then 127.0.2.1 ..."""
    return f"127.0.{1 + i // 250}.{1 + i % 250}"


def proc_cpu(pid: int) -> float:
    """utime + stime of a process, seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_rss(pid: int | str = "self", key: str = "VmRSS") -> int:
    """Resident set size (or `key`, e.g. VmHWM for the peak) of a process, bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


# -- inside the namespace: our poller --------------------------------------------------------------
def inner_ours(devices: int, warm_cycles: int, concurrency: int, snmpd_pid: int) -> dict[str, Any]:
    from collectors.base import SnmpClientProvider
    from collectors.snmp import SnmpCollector
    from collectors.snmp_client import SnmpClient
    from model import Device, Secret, SnmpCollectorSpec, SystemClock, Target

    class CountingClient(SnmpClient):
        """Counts requests and the varbinds of their answers (what crossed the wire)."""

        requests = 0
        varbinds = 0

        async def _request(self, *args: Any, **kwargs: Any) -> list[tuple[Any, Any]]:
            answer = await super()._request(*args, **kwargs)
            CountingClient.requests += 1
            CountingClient.varbinds += len(answer)
            return answer

    class CountingProvider(SnmpClientProvider):
        def client(self) -> SnmpClient:
            loop = asyncio.get_running_loop()
            if self._client is None or self._loop is not loop:
                self.close()
                self._client = CountingClient(max_concurrency=self.max_concurrency)
                self._loop = loop
            return self._client

    spec = SnmpCollectorSpec(
        kind="snmp",
        interval=60.0,
        timeout=55.0,
        community=Secret(COMMUNITY, reference="bench"),
        modules=("system", "if_mib"),
    )
    targets = [
        Target(Device(f"dev-{i:04d}", "bench", "bench", "switch", device_address(i), collectors=(spec,)), spec)
        for i in range(devices)
    ]
    provider = CountingProvider(max_concurrency=concurrency)
    collector = SnmpCollector(clients=provider, clock=SystemClock())

    async def cycle() -> dict[str, float]:
        CountingClient.requests = CountingClient.varbinds = 0
        agent0 = proc_cpu(snmpd_pid)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        results = await asyncio.gather(*(collector.collect(t) for t in targets), return_exceptions=True)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            log(f"  {len(failures)} devices failed, first: {failures[0]!r}")
        samples = sum(len(r) for r in results if isinstance(r, list))
        return {
            "wall": wall,
            "cpu": cpu,
            "requests": CountingClient.requests,
            "varbinds": CountingClient.varbinds,
            "samples": samples,
            "failures": len(failures),
            "agent_cpu": proc_cpu(snmpd_pid) - agent0,
        }

    async def run() -> dict[str, Any]:
        cold = await cycle()
        log(f"  ours cold cycle: {cold['wall']:.2f} s wall, {cold['cpu']:.2f} CPU-s, {cold['varbinds']} varbinds")
        warm = []
        for k in range(warm_cycles):
            await asyncio.sleep(1.0)  # a little time for the counters to move
            warm.append(await cycle())
            log(
                f"  ours warm cycle {k + 1}: {warm[-1]['wall']:.2f} s wall, {warm[-1]['cpu']:.2f} CPU-s, "
                f"{warm[-1]['varbinds']} varbinds, {warm[-1]['samples']} samples"
            )
        provider.close()
        return {"cold": cold, "warm": warm}

    out = asyncio.run(run())
    out["rss"] = proc_rss()
    out["rss_peak"] = proc_rss(key="VmHWM")
    return out


# -- inside the namespace: the reference --------------------------------------------------------
IF_TABLE = "1.3.6.1.2.1.2.2.1."
IF_X_TABLE = "1.3.6.1.2.1.31.1.1.1."
_IF_COLUMNS: list[tuple[str, str, str]] = [
    (IF_TABLE + "1", "ifIndex", "gauge"),
    (IF_TABLE + "3", "ifType", "gauge"),
    (IF_TABLE + "4", "ifMtu", "gauge"),
    (IF_TABLE + "5", "ifSpeed", "gauge"),
    (IF_TABLE + "6", "ifPhysAddress", "PhysAddress48"),
    (IF_TABLE + "7", "ifAdminStatus", "gauge"),
    (IF_TABLE + "8", "ifOperStatus", "gauge"),
    (IF_TABLE + "9", "ifLastChange", "gauge"),
    (IF_TABLE + "10", "ifInOctets", "counter"),
    (IF_TABLE + "11", "ifInUcastPkts", "counter"),
    (IF_TABLE + "12", "ifInNUcastPkts", "counter"),
    (IF_TABLE + "13", "ifInDiscards", "counter"),
    (IF_TABLE + "14", "ifInErrors", "counter"),
    (IF_TABLE + "15", "ifInUnknownProtos", "counter"),
    (IF_TABLE + "16", "ifOutOctets", "counter"),
    (IF_TABLE + "17", "ifOutUcastPkts", "counter"),
    (IF_TABLE + "18", "ifOutNUcastPkts", "counter"),
    (IF_TABLE + "19", "ifOutDiscards", "counter"),
    (IF_TABLE + "20", "ifOutErrors", "counter"),
    (IF_TABLE + "21", "ifOutQLen", "gauge"),
    (IF_X_TABLE + "2", "ifInMulticastPkts", "counter"),
    (IF_X_TABLE + "3", "ifInBroadcastPkts", "counter"),
    (IF_X_TABLE + "4", "ifOutMulticastPkts", "counter"),
    (IF_X_TABLE + "5", "ifOutBroadcastPkts", "counter"),
    (IF_X_TABLE + "6", "ifHCInOctets", "counter"),
    (IF_X_TABLE + "7", "ifHCInUcastPkts", "counter"),
    (IF_X_TABLE + "8", "ifHCInMulticastPkts", "counter"),
    (IF_X_TABLE + "9", "ifHCInBroadcastPkts", "counter"),
    (IF_X_TABLE + "10", "ifHCOutOctets", "counter"),
    (IF_X_TABLE + "11", "ifHCOutUcastPkts", "counter"),
    (IF_X_TABLE + "12", "ifHCOutMulticastPkts", "counter"),
    (IF_X_TABLE + "13", "ifHCOutBroadcastPkts", "counter"),
    (IF_X_TABLE + "14", "ifLinkUpDownTrapEnable", "gauge"),
    (IF_X_TABLE + "15", "ifHighSpeed", "gauge"),
    (IF_X_TABLE + "16", "ifPromiscuousMode", "gauge"),
    (IF_X_TABLE + "17", "ifConnectorPresent", "gauge"),
    (IF_X_TABLE + "19", "ifCounterDiscontinuityTime", "gauge"),
]
"""The metrics of the generator's if_mib module (ifDescr, ifName, ifAlias are lookups only)."""
_LOOKUPS = [
    ("ifAlias", IF_X_TABLE + "18"),
    ("ifDescr", IF_TABLE + "2"),
    ("ifName", IF_X_TABLE + "1"),
]


def exporter_version(binary: str) -> tuple[int, int]:
    text = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    found = re.search(r"version (\d+)\.(\d+)", text.stdout + text.stderr)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def exporter_config(version: tuple[int, int]) -> tuple[str, str]:
    """snmp.yml text (JSON is YAML) for this exporter version and the scrape's extra query string.
    0.23+ takes `auths:` + `modules:` and `&auth=NAME`; older versions a top-level map of modules,
    each with its own `version` and `auth`."""
    lookups = [
        {"labels": ["ifIndex"], "labelname": name, "oid": oid, "type": "DisplayString"} for name, oid in _LOOKUPS
    ]
    metrics: list[dict[str, Any]] = [
        {"name": "sysUpTime", "oid": "1.3.6.1.2.1.1.3", "type": "gauge", "help": "sysUpTime"},
        {"name": "ifNumber", "oid": "1.3.6.1.2.1.2.1", "type": "gauge", "help": "ifNumber"},
    ]
    for oid, name, kind in _IF_COLUMNS:
        metrics.append(
            {
                "name": name,
                "oid": oid,
                "type": kind,
                "help": name,
                "indexes": [{"labelname": "ifIndex", "type": "gauge"}],
                "lookups": lookups,
            }
        )
    module: dict[str, Any] = {
        "get": ["1.3.6.1.2.1.1.3.0"],
        "walk": ["1.3.6.1.2.1.2", "1.3.6.1.2.1.31.1.1"],
        "metrics": metrics,
        "max_repetitions": 25,
        "retries": 1,
        "timeout": "5s",
    }
    if version >= (0, 23):
        config = {"auths": {"public_v2": {"community": COMMUNITY, "version": 2}}, "modules": {"if_mib": module}}
        return json.dumps(config, indent=1), "&auth=public_v2"
    module["version"] = 2
    module["auth"] = {"community": COMMUNITY}
    return json.dumps({"if_mib": module}, indent=1), ""


def inner_exporter(devices: int, binary: str, snmpd_pid: int) -> dict[str, Any]:
    version = exporter_version(binary)
    config_text, auth_query = exporter_config(version)
    with tempfile.TemporaryDirectory(prefix="opsbench-exporter-") as tmp:
        config = Path(tmp) / "snmp.yml"
        config.write_text(config_text)
        check = subprocess.run(
            [binary, f"--config.file={config}", "--dry-run"], capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            raise SystemExit(f"snmp_exporter rejects the generated config: {check.stderr.strip()}")
        logfile = (Path(tmp) / "exporter.log").open("wb")
        proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--web.listen-address=127.0.0.1:{EXPORTER_PORT}", "--log.level=warn"],
            stdout=logfile,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{EXPORTER_PORT}"
            deadline = time.monotonic() + 10
            while True:
                try:
                    urllib.request.urlopen(base + "/metrics", timeout=1).read()
                    break
                except OSError as error:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        text = (Path(tmp) / "exporter.log").read_text()
                        raise SystemExit(f"snmp_exporter did not start: {text}") from error
                    time.sleep(0.05)

            def scrape(address: str) -> tuple[float, int, int]:
                url = f"{base}/snmp?target={address}&module=if_mib{auth_query}"
                body = urllib.request.urlopen(url, timeout=60).read().decode()
                pdus = re.search(r"^snmp_scrape_pdus_returned (\S+)$", body, re.M)
                walk = re.search(r"^snmp_scrape_walk_duration_seconds (\S+)$", body, re.M)
                lines = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
                if pdus is None or walk is None:
                    raise RuntimeError(f"scrape of {address} failed: {body[:300]}")
                return float(walk.group(1)), int(float(pdus.group(1))), lines

            addresses = [device_address(i) for i in range(devices)]
            with ThreadPoolExecutor(EXPORTER_CONCURRENCY) as pool:
                list(pool.map(scrape, addresses[:EXPORTER_CONCURRENCY]))  # warm-up
                agent0, cpu0, wall0 = proc_cpu(snmpd_pid), proc_cpu(proc.pid), time.perf_counter()
                results = list(pool.map(scrape, addresses))
                wall, cpu = time.perf_counter() - wall0, proc_cpu(proc.pid) - cpu0
                agent_cpu = proc_cpu(snmpd_pid) - agent0
            rss = proc_rss(proc.pid)
            rss_peak = proc_rss(proc.pid, key="VmHWM")
        finally:
            stop_process(proc, timeout=5)
            logfile.close()
    return {
        "version": ".".join(map(str, version)),
        "wall": wall,
        "cpu": cpu,
        "agent_cpu": agent_cpu,
        "varbinds": sum(r[1] for r in results),
        "samples": sum(r[2] for r in results),
        "walk_seconds": sum(r[0] for r in results),
        "rss": rss,
        "rss_peak": rss_peak,
    }


# -- outside: set-up, orchestration, report ---------------------------------------------------------
def run(cmd: list[str], *, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=check)


def setup_namespace(devices: int) -> None:
    if NETNS in run(["ip", "netns", "list"]).stdout.split():
        log(f"removing a stale namespace {NETNS} (left by an interrupted run)")
        run(["ip", "netns", "del", NETNS])
    run(["ip", "netns", "add", NETNS])
    lines = ["link set lo up"]
    for k in range(VETH_PAIRS):
        a, b = f"ge{2 * k}", f"ge{2 * k + 1}"
        lines += [f"link add {a} type veth peer name {b}", f"link set {a} up", f"link set {b} up"]
    lines += [f"address add {device_address(i)}/32 dev lo" for i in range(devices)]
    result = run(["ip", "-n", NETNS, "-batch", "-"], stdin="\n".join(lines) + "\n", check=False)
    if result.returncode != 0:
        raise SystemExit(f"namespace set-up failed: {result.stderr.strip()}")


def start_snmpd(tmp: Path) -> subprocess.Popen[bytes]:
    snmpd = shutil.which("snmpd") or "/usr/sbin/snmpd"
    if not Path(snmpd).exists():
        raise SystemExit("snmpd is missing: apt-get install -y snmpd snmp")
    (tmp / "conf").mkdir()
    (tmp / "state").mkdir()
    conf = tmp / "conf" / "snmpd.conf"
    conf.write_text(f"agentaddress udp:0.0.0.0:161\nrocommunity {COMMUNITY} 127.0.0.0/8\n")
    logfile = tmp / "snmpd.log"
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(tmp / "state"), "MIBS": ""}
    with logfile.open("wb") as out:
        # `ip netns exec` execs snmpd: the Popen pid is snmpd's.
        proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                NETNS,
                snmpd,
                "-f",
                "-C",
                "-I",
                "-smux",
                "-c",
                str(conf),
                "-Lo",
                "-p",
                str(tmp / "snmpd.pid"),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 5
    while b"NET-SNMP version" not in logfile.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"snmpd did not start: {logfile.read_text()}")
        time.sleep(0.02)
    return proc


def exporter_binary(install: bool) -> str | None:
    found = shutil.which("prometheus-snmp-exporter")
    if found is None and install:
        log("installing prometheus-snmp-exporter (apt-get install -y prometheus-snmp-exporter)")
        result = run(["apt-get", "install", "-y", "--no-install-recommends", "prometheus-snmp-exporter"], check=False)
        if result.returncode != 0:
            log(f"cannot install prometheus-snmp-exporter: {result.stderr.strip()[-300:]}")
        found = shutil.which("prometheus-snmp-exporter")
    return found


def inner(
    kind: Literal["ours", "exporter"],
    args: argparse.Namespace,
    devices: int,
    snmpd_pid: int,
    exporter: str | None = None,
) -> dict[str, Any]:
    cmd = [
        "ip",
        "netns",
        "exec",
        NETNS,
        sys.executable,
        str(Path(__file__).resolve()),
        "--inner",
        kind,
        "--devices",
        str(devices),
        "--snmpd-pid",
        str(snmpd_pid),
        "--warm-cycles",
        str(args.warm_cycles),
        "--concurrency",
        str(args.concurrency),
    ]
    if exporter:
        cmd += ["--exporter", exporter]
    result = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"the {kind} part failed with {result.returncode}")
    parsed: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def summarise(devices: int, ours: dict[str, Any], ref: dict[str, Any] | None) -> dict[str, Any]:
    warm = ours["warm"]
    n_warm = len(warm)

    def mean(key: str) -> float:
        return sum(c[key] for c in warm) / n_warm

    row: dict[str, Any] = {
        "devices": devices,
        "wall": mean("wall"),
        "cpu_per_device": mean("cpu") / devices,
        "varbinds_per_device": mean("varbinds") / devices,
        "requests_per_device": mean("requests") / devices,
        "varbinds_per_s": mean("varbinds") / mean("wall"),
        "cpu_per_1000_varbinds": 1000 * mean("cpu") / mean("varbinds"),
        "samples_per_device": mean("samples") / devices,
        "failures": max(c["failures"] for c in warm),
        "agent_cpu_per_device": mean("agent_cpu") / devices,
        "rss": ours["rss"],
        "rss_peak": ours["rss_peak"],
        "cold_wall": ours["cold"]["wall"],
        "cold_cpu_per_device": ours["cold"]["cpu"] / devices,
        "cold_varbinds_per_device": ours["cold"]["varbinds"] / devices,
    }
    if ref is not None:
        row |= {
            "ref_wall": ref["wall"],
            "ref_cpu_per_scrape": ref["cpu"] / devices,
            "ref_varbinds_per_scrape": ref["varbinds"] / devices,
            "ref_varbinds_per_s": ref["varbinds"] / ref["wall"],
            "ref_cpu_per_1000_varbinds": 1000 * ref["cpu"] / ref["varbinds"],
            "ref_samples_per_scrape": ref["samples"] / devices,
            "ref_agent_cpu_per_scrape": ref["agent_cpu"] / devices,
            "ref_rss": ref["rss"],
            "ref_version": ref["version"],
            "ratio": (mean("cpu") / devices) / (ref["cpu"] / devices) if ref["cpu"] else float("inf"),
        }
    return row


def render(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    import pysnmp

    cpu = cpu_model()
    when = utc_stamp()
    snmpd_version = run(["snmpd", "-v"], check=False).stdout
    found = re.search(r"NET-SNMP version:\s*(\S+)", snmpd_version)
    ref_version = next((r["ref_version"] for r in rows if "ref_version" in r), None)
    command = " ".join(["benchmarks/snmp_poll.py", *(["--devices", args.devices] if args.devices != "50,200" else [])])

    def ref(row: dict[str, Any], key: str, fmt: str) -> str:
        return format(row[key], fmt) if key in row else "-"

    lines = [
        f"\n## SNMP poll benchmark, {when}\n",
        f"Machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}, pysnmp {pysnmp.__version__}, "
        f"net-snmp snmpd {found.group(1) if found else '?'}, prometheus-snmp-exporter "
        f"{ref_version or 'not available'}.  ",
        f"Devices: one snmpd in a network namespace answering on N loopback addresses, 49 interfaces each "
        f"(lo + 24 veth pairs), v2c. Ours: system + if_mib, {args.concurrency} requests in flight, "
        f"25 repetitions, the mean of {args.warm_cycles} warm cycles (statics cached) after a cold one. "
        f"Reference: snmp_exporter's if_mib-style module (ifTable + ifXTable walk, ifAlias/ifDescr/ifName "
        f"lookups), every device scraped once, {EXPORTER_CONCURRENCY} at a time. "
        f"Command: `.venv/bin/python {command}` (as root).\n",
        "| devices | figure | ours | snmp_exporter | ours / exporter | target |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        n = r["devices"]
        ratio = f"**{r['ratio']:.2f}**" if "ratio" in r else "-"
        lines += [
            f"| {n} | CPU-s per device-cycle (exporter: per scrape) | {r['cpu_per_device']:.4f} | "
            f"{ref(r, 'ref_cpu_per_scrape', '.4f')} | {ratio} | <= 1.0 |",
            f"| {n} | wall s per cycle (exporter: all N scrapes) | {r['wall']:.2f} | {ref(r, 'ref_wall', '.2f')} | - | "
            f"{'<= 60' if n >= 1000 else '-'} |",
            f"| {n} | varbinds per device-cycle | {r['varbinds_per_device']:,.0f} | "
            f"{ref(r, 'ref_varbinds_per_scrape', ',.0f')} | - | - |",
            f"| {n} | varbinds/s | {r['varbinds_per_s']:,.0f} | {ref(r, 'ref_varbinds_per_s', ',.0f')} | - | - |",
            f"| {n} | CPU-s per 1,000 varbinds | {r['cpu_per_1000_varbinds']:.3f} | "
            f"{ref(r, 'ref_cpu_per_1000_varbinds', '.3f')} | - | - |",
            f"| {n} | samples per device | {r['samples_per_device']:,.0f} | {ref(r, 'ref_samples_per_scrape', ',.0f')} | "
            "- | - |",
            f"| {n} | RSS, MB (ours: after the cycles; peak {r['rss_peak'] / 1e6:.0f}) | {r['rss'] / 1e6:.0f} | "
            f"{'-' if 'ref_rss' not in r else format(r['ref_rss'] / 1e6, '.0f')} | - | "
            f"{'<= 400' if n >= 1000 else '-'} |",
            f"| {n} | snmpd CPU-s per device-cycle / scrape | {r['agent_cpu_per_device']:.4f} | "
            f"{ref(r, 'ref_agent_cpu_per_scrape', '.4f')} | - | - |",
        ]
    lines.append("")
    for r in rows:
        lines.append(
            f"- {r['devices']} devices, ours cold cycle (statics read): {r['cold_wall']:.2f} s wall, "
            f"{r['cold_cpu_per_device']:.4f} CPU-s and {r['cold_varbinds_per_device']:,.0f} varbinds per device; "
            f"{r['requests_per_device']:.0f} requests per device in a warm cycle; failed devices: {r['failures']}."
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", default="50,200", help="comma-separated device counts (default 50,200)")
    parser.add_argument("--warm-cycles", type=int, default=2, help="warm cycles measured per device count")
    parser.add_argument("--concurrency", type=int, default=32, help="our requests in flight (console default 32)")
    parser.add_argument("--no-reference", action="store_true", help="skip prometheus-snmp-exporter")
    parser.add_argument("--no-install", action="store_true", help="do not apt-get install a missing exporter")
    parser.add_argument("--no-write", action="store_true", help="do not append to docs/benchmarks.md")
    parser.add_argument("--inner", choices=("ours", "exporter"), help=argparse.SUPPRESS)
    parser.add_argument("--snmpd-pid", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--exporter", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.inner == "ours":
        print(json.dumps(inner_ours(int(args.devices), args.warm_cycles, args.concurrency, args.snmpd_pid)))
        return
    if args.inner == "exporter":
        print(json.dumps(inner_exporter(int(args.devices), args.exporter, args.snmpd_pid)))
        return

    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark creates a network namespace")
    counts = [int(x) for x in args.devices.split(",") if x.strip()]
    exporter = None if args.no_reference else exporter_binary(not args.no_install)
    if exporter is None and not args.no_reference:
        log("prometheus-snmp-exporter is not available: the reference is skipped")
    rows = []
    snmpd: subprocess.Popen[bytes] | None = None
    with tempfile.TemporaryDirectory(prefix="opsbench-") as tmp:
        try:
            setup_namespace(max(counts))
            snmpd = start_snmpd(Path(tmp))
            log(f"namespace {NETNS}: {2 * VETH_PAIRS} veth interfaces, {max(counts)} addresses, snmpd pid {snmpd.pid}")
            for n in counts:
                log(f"{n} devices: our poller")
                ours = inner("ours", args, n, snmpd.pid)
                ref = None
                if exporter is not None:
                    log(f"{n} devices: prometheus-snmp-exporter")
                    ref = inner("exporter", args, n, snmpd.pid, exporter)
                row = summarise(n, ours, ref)
                rows.append(row)
                log(json.dumps(row))
        finally:
            if snmpd is not None:
                stop_process(snmpd, timeout=5)
            run(["ip", "netns", "del", NETNS], check=False)
    report = render(rows, args)
    print(report)
    if not args.no_write:
        append_report(report)


if __name__ == "__main__":
    main()
