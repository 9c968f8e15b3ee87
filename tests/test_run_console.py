"""The command line, end to end: real subprocesses, the shipped config, a real HTTP server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from model import SystemClock
from store import Matcher, MatchOp, Store
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config" / "console.yaml"


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run_console.py", *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "console.yaml"
    path.write_text(
        f"""console:
  listen: 127.0.0.1:{port}
  data_dir: {tmp_path / "data"}
sites: [{{id: dc-east, name: East}}]
systems: [{{id: records, name: Records}}]
devices:
  - name: console-host
    site: dc-east
    system: records
    role: server
    address: 127.0.0.1
    collectors:
      host: {{interval: 1s, timeout: 900ms}}
""",
        encoding="utf-8",
    )
    return path


def test_check_config_accepts_the_shipped_config() -> None:
    result = _cli("check-config", str(SHIPPED))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"{SHIPPED}: ok (1 devices, 1 targets)\n"


def test_check_config_names_file_line_field_and_problem_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "console.yaml"
    bad.write_text(
        "devices:\n  - name: h\n    site: s\n    system: y\n    role: server\n    address: 127.0.0.1\n"
        "    collectors:\n      host: {interval: 5x}\n",
        encoding="utf-8",
    )
    result = _cli("check-config", str(bad))
    assert result.returncode == 2
    assert f'{bad}:8: devices[0].collectors.host.interval: "5x" is not a duration' in result.stderr.splitlines()
    assert result.stdout == ""


def test_collect_once_prints_this_hosts_samples_as_json_lines() -> None:
    result = _cli("collect-once", "--config", str(SHIPPED), "--format", "json")
    assert result.returncode == 0, result.stderr
    samples = [json.loads(line) for line in result.stdout.splitlines()]
    names = {s["name"] for s in samples}
    assert {
        "up",
        "collect_duration_seconds",
        "collect_samples",
        "cpu_utilisation_ratio",
        "memory_utilisation_ratio",
        "device_uptime_seconds",
    } <= names
    up = next(s for s in samples if s["name"] == "up")
    assert up["value"] == 1
    assert up["labels"] == {
        "collector": "host",
        "role": "server",
        "site": "dc-east",
        "system": "records",
        "target": "console-host",
    }
    assert all(set(s) == {"name", "labels", "value", "ts"} for s in samples)
    count = next(s for s in samples if s["name"] == "collect_samples")["value"]
    assert count == len(samples) - 4  # everything but the four health samples


def test_collect_once_refuses_an_unknown_target_with_exit_2() -> None:
    result = _cli("collect-once", "--config", str(SHIPPED), "--target", "nope", "--format", "json")
    assert result.returncode == 2
    assert result.stderr == '--target: no device "nope" in the config (known: console-host)\n'


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.slow
def test_run_serves_metrics_and_healthz_then_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "run_console.py", "run", "--config", str(_config(tmp_path, port))],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        body = ""
        while time.monotonic() < deadline:
            try:
                status, body = _get(f"{base}/metrics")
                if (
                    'up{collector="host",role="server",site="dc-east",system="records",target="console-host"} 1.0'
                    in body
                ):
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert 'up{collector="host",role="server",site="dc-east",system="records",target="console-host"} 1.0' in body
        assert "store_samples_ingested_total" in body
        assert 'cpu_utilisation_ratio{role="server",site="dc-east",system="records",target="console-host"}' in body
        status, health = _get(f"{base}/healthz")
        assert status == 200
        assert json.loads(health)["status"] == "ok"
        assert set(json.loads(health)["components"]) == {"store", "scheduler"}
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        assert time.monotonic() - started < 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read() if proc.stderr else ""
    assert "received SIGTERM: shutting down" in stderr
    assert "Traceback" not in stderr
    store = Store.open(tmp_path / "data", clock=SystemClock(), metrics=CollectorRegistry())
    try:  # what the console stored survived the stop, and the stop itself is in the state history
        ups = store.select([Matcher("__name__", MatchOp.EQ, "up")])
        assert [dict(r.labels) for r in ups] == [
            {"collector": "host", "role": "server", "site": "dc-east", "system": "records", "target": "console-host"}
        ]
        values = store.read_range([ups[0].id], 0, 2**62)[ups[0].id].values.tolist()
        assert values and set(values) == {1.0}
        states = store.state_intervals("console-host/host", 0, 2e10)
        assert [(r.state, r.cause) for r in states] == [("up", ""), ("unknown", "console stopped")]
    finally:
        store.close()


def test_run_on_a_port_in_use_says_so_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _cli("run", "--config", str(_config(tmp_path, port)), timeout=30)
    assert result.returncode == 1
    assert result.stderr.endswith(f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n")
    assert not (tmp_path / "data").exists()  # nothing was started


@pytest.mark.slow
def test_a_second_console_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    port = free_port()
    cfg = _config(tmp_path, port)
    first = subprocess.Popen(
        [sys.executable, "run_console.py", "run", "--config", str(cfg)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (tmp_path / "data" / "store.lock").exists():
            time.sleep(0.1)
        time.sleep(0.5)
        second = _cli("run", "--config", str(cfg), "--listen", f"127.0.0.1:{free_port()}", timeout=20)
        assert second.returncode == 1
        assert second.stderr.endswith(f"error: {tmp_path / 'data'} is in use by another process (lock store.lock)\n")
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(10)


SNMP_CONFIG = """
sites: [{{id: dc-east, name: East}}]
systems: [{{id: wan, name: WAN}}]
devices:
  - {{name: rtr-good, site: dc-east, system: wan, role: router, address: 127.0.0.1,
     collectors: {{snmp: {{port: {port}, community: env:GOOD, timeout: 300ms, retries: 0}}}}}}
  - {{name: rtr-bad, site: dc-east, system: wan, role: router, address: 127.0.0.1,
     collectors: {{snmp: {{port: {port}, community: env:BAD, timeout: 300ms, retries: 0}}}}}}
"""


def test_collect_once_polls_snmp_devices_and_reports_the_one_that_does_not_answer(tmp_path: Path) -> None:
    from tests.collectors.snmpd_agent import running_snmpd

    conf = "agentaddress udp:127.0.0.1:{port}\nrocommunity opsread 127.0.0.1\nsysName rtr-good\n"
    with running_snmpd(tmp_path / "agent", conf) as agent:
        path = tmp_path / "snmp.yaml"
        path.write_text(SNMP_CONFIG.format(port=agent.port), encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "run_console.py", "collect-once", "--config", str(path), "--format", "json"],
            check=False,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "GOOD": "opsread", "BAD": "wrong"},
        )
    assert result.returncode == 1
    samples = [json.loads(line) for line in result.stdout.splitlines()]
    up = {s["labels"]["target"]: s["value"] for s in samples if s["name"] == "up"}
    assert up == {"rtr-good": 1, "rtr-bad": 0}
    info = next(s for s in samples if s["name"] == "device_info")
    assert (info["labels"]["target"], info["labels"]["sysname"]) == ("rtr-good", "rtr-good")
    assert any(s["name"] == "interface_oper_up" and s["labels"]["ifname"] == "lo" for s in samples)
    assert result.stderr.startswith("rtr-bad/snmp: down: SNMP 127.0.0.1:")
    assert "(a wrong community or privacy key looks the same)" in result.stderr
    assert result.stderr.rstrip().endswith("(cause: timeout)")
