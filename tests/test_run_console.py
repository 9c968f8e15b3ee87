"""The command line, end to end: real subprocesses, the shipped config, a real HTTP server."""

from __future__ import annotations

import io
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

from model import Labels, Sample, SystemClock
from store import Matcher, MatchOp, Store
from tests.helpers import api_token, free_port, require

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config" / "console.yaml"


def _cli(*args: str, timeout: float = 60, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPS_CONSOLE_TOKEN": token} if token is not None else None
    return subprocess.run(
        [sys.executable, "run_console.py", *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
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
    assert result.stdout == f"{SHIPPED}: ok (1 devices, 1 targets, 16 rules in 6 groups)\n"


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


def _get(url: str, token: str | None = None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as resp:
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
        deadline = time.monotonic() + 60  # the console starting on a busy machine (browser tests beside)
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
        deadline = time.monotonic() + 60  # the console starting on a busy machine (browser tests beside)
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


def test_run_refuses_to_start_pinging_without_icmp_and_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # This machine can ping (root here); the check is replaced by what a machine without raw sockets
    # and without fping answers, so the refusal itself is what is tested.
    import collectors.probes
    import run_console

    path = _config(tmp_path, free_port())
    web_02 = "{name: web-02, site: dc-east, system: records, role: server, address: 127.0.0.2, collectors: {ping: }}"
    path.write_text(path.read_text() + f"      ping: {{interval: 30s}}\n  - {web_02}\n")
    message = "ICMP probes (ping:) need raw sockets: ... (raw socket: not root; fping: not found)"
    monkeypatch.setattr(collectors.probes, "check_icmp_available", lambda: message)
    err = io.StringIO()

    code = run_console.run(run_console.parser().parse_args(["run", "--config", str(path)]), err)

    assert code == 2
    assert err.getvalue() == f"error: {message}; needed by the ping collector of console-host and 1 more\n"
    assert not (tmp_path / "data").exists()  # nothing started


# -- query -----------------------------------------------------------------------------------------
UP_LABELS = 'collector="host", role="server", site="dc-east", system="records", target="console-host"'


@pytest.mark.slow
def test_query_asks_the_running_console_and_prints_like_promtool(tmp_path: Path) -> None:
    port = free_port()
    cfg = _config(tmp_path, port)
    console = subprocess.Popen(
        [sys.executable, "run_console.py", "run", "--config", str(cfg)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        token = api_token(tmp_path / "data", role="viewer")
        deadline = time.monotonic() + 60  # the console starting on a busy machine (browser tests beside)
        text = _cli("query", "up", "--config", str(cfg), token=token)
        while time.monotonic() < deadline and not text.stdout.startswith("up{"):
            time.sleep(0.3)
            text = _cli("query", "up", "--config", str(cfg), token=token)
        url = f"http://127.0.0.1:{port}/"
        as_json = _cli("query", "up", "--config", str(cfg), "--format", "json", "--url", url, token=token)
        bad = _cli("query", "up{", "--config", str(cfg), token=token)
        without = _cli("query", "up", "--config", str(cfg))
    finally:
        console.send_signal(signal.SIGTERM)
        console.wait(10)
    assert (text.returncode, text.stderr) == (0, "")
    line = text.stdout.splitlines()[0]
    assert line.startswith(f"up{{{UP_LABELS}}} => 1 @[")
    assert (as_json.returncode, as_json.stderr) == (0, "")
    data = json.loads(as_json.stdout)
    assert data["resultType"] == "vector"
    assert data["result"][0]["metric"] == {
        "__name__": "up",
        "collector": "host",
        "role": "server",
        "site": "dc-east",
        "system": "records",
        "target": "console-host",
    }
    assert (bad.returncode, bad.stdout) == (2, "")
    assert bad.stderr == (
        'error: bad_data: invalid parameter "query": parse error: unexpected end of input inside braces\n'
    )
    assert (without.returncode, without.stdout) == (1, "")
    assert without.stderr == (
        f"error: http://127.0.0.1:{port} needs an API token: set OPS_CONSOLE_TOKEN (run_console.py users token NAME)\n"
    )


def _store_with_up(data_dir: Path) -> float:
    """A stopped console's store: `up` of one target every 15 s for the last minute; returns the
    time of the last sample."""
    clock = SystemClock()
    last = float(int(clock.now()))
    store = Store.open(data_dir, clock=clock, metrics=CollectorRegistry())
    try:
        store.append([Sample("up", Labels(target="console-host"), 1.0, last - 15 * i) for i in range(4, -1, -1)])
        assert store.flush()
    finally:
        store.close()
    return last


def test_query_evaluates_on_the_store_when_no_console_answers(tmp_path: Path) -> None:
    port = free_port()
    cfg = _config(tmp_path, port)
    last = _store_with_up(tmp_path / "data")
    instant = _cli("query", "up", "--config", str(cfg), "--at", str(last))
    ranged = _cli("query", "up", "--config", str(cfg), "--start", str(last - 15), "--end", str(last), "--step", "15s")
    as_json = _cli("query", "up", "--config", str(cfg), "--at", str(last), "--format", "json")
    note = f"note: no console answers at http://127.0.0.1:{port} ([Errno 111] Connection refused); "
    note += f"evaluating on the store in {tmp_path / 'data'}\n"
    assert (instant.returncode, instant.stderr) == (0, note)
    assert instant.stdout == f'up{{target="console-host"}} => 1 @[{int(last)}]\n'
    assert (ranged.returncode, ranged.stderr) == (0, note)
    assert ranged.stdout == f'up{{target="console-host"}} =>\n1 @[{int(last) - 15}]\n1 @[{int(last)}]\n'
    assert json.loads(as_json.stdout) == {
        "resultType": "vector",
        "result": [{"metric": {"__name__": "up", "target": "console-host"}, "value": [int(last), "1"]}],
    }


def test_query_without_console_and_with_the_store_in_use_exits_1(tmp_path: Path) -> None:
    cfg = _config(tmp_path, free_port())
    _store_with_up(tmp_path / "data")
    holder = Store.open(tmp_path / "data", clock=SystemClock(), metrics=CollectorRegistry())  # holds the lock
    try:
        result = _cli("query", "up", "--config", str(cfg))
    finally:
        holder.close()
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines()[-1] == (
        f"error: no console answers and the store cannot be opened: {tmp_path / 'data'} is in use by another "
        "process (lock store.lock)"
    )


def test_query_without_console_and_without_store_exits_1(tmp_path: Path) -> None:
    result = _cli("query", "up", "--config", str(_config(tmp_path, free_port())))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines()[-1] == f"error: no console answers and {tmp_path / 'data'} holds no store"
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--at", "1", "--start", "1"], "query: --at cannot be combined with --start, --end and --step\n"),
        (["--start", "1", "--end", "2"], "query: a range query needs all of --start, --end and --step\n"),
    ],
)
def test_query_refuses_mixed_time_arguments_with_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = _cli("query", "up", "--config", str(_config(tmp_path, free_port())), *args)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message)


def test_query_bad_times_are_the_apis_messages_and_exit_2(tmp_path: Path) -> None:
    cfg = _config(tmp_path, free_port())
    _store_with_up(tmp_path / "data")
    result = _cli("query", "up", "--config", str(cfg), "--start", "x", "--end", "1", "--step", "15")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines()[-1] == (
        'error: bad_data: invalid parameter "start": cannot parse "x" to a valid timestamp'
    )


RULES = """\
groups:
  - name: console
    interval: 1s
    rules:
      - alert: ConsoleHostUp
        expr: up{target="console-host"} == 1
        labels: {severity: info}
        annotations: {summary: "{{ $labels.target }} answers"}
"""


def test_check_config_reports_rule_file_problems_with_file_line_and_field(tmp_path: Path) -> None:
    path = _config(tmp_path, free_port())
    (tmp_path / "rules.yaml").write_text(RULES.replace("== 1", "== 1 and holt_winters(up[5m], 0.5, 0.5) > 0"))
    path.write_text(path.read_text() + "rule_files: [rules.yaml]\n")

    result = _cli("check-config", str(path))

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith(f"{tmp_path / 'rules.yaml'}:6: groups[0].rules[0].expr: unsupported function")
    assert '"holt_winters"' in result.stderr


def test_run_evaluates_the_rule_files_and_the_alert_fires_as_an_alerts_series(tmp_path: Path) -> None:
    port = free_port()
    path = _config(tmp_path, port)
    (tmp_path / "rules.yaml").write_text(RULES)
    path.write_text(path.read_text() + "rule_files: [rules.yaml]\n")
    proc = subprocess.Popen(
        [sys.executable, "run_console.py", "run", "--config", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        query = urllib.parse.urlencode({"query": "ALERTS"})
        token = api_token(tmp_path / "data", role="viewer")
        deadline = time.monotonic() + 60  # start, a host collection and a rule evaluation, on a busy machine
        found: list[dict[str, object]] = []
        while time.monotonic() < deadline and not found:
            try:
                _, body = _get(f"http://127.0.0.1:{port}/api/v1/query?{query}", token)
                found = json.loads(body)["data"]["result"]
            except OSError:
                pass
            time.sleep(0.3)
        assert [r["metric"] for r in found] == [
            {
                "__name__": "ALERTS",
                "alertname": "ConsoleHostUp",
                "alertstate": "firing",
                "collector": "host",
                "role": "server",
                "severity": "info",
                "site": "dc-east",
                "system": "records",
                "target": "console-host",
            }
        ]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read() if proc.stderr else ""
    assert "evaluating 1 rules in 1 groups" in stderr
    assert "Traceback" not in stderr
    assert (tmp_path / "data" / "alerts.sqlite3").exists()  # the alert state outlives the process


def test_export_rules_writes_files_that_amtool_and_promtool_accept(tmp_path: Path) -> None:
    amtool = require("amtool", install="apt-get install prometheus-alertmanager")
    promtool = require("promtool", install="apt-get install prometheus")
    out = tmp_path / "export"
    done = _cli("export-rules", str(out), "--config", str(SHIPPED))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{out / 'alertmanager.yml'} and 2 rule files in {out / 'rules'}\n"
    assert "warning: topology_suppression has no Alertmanager equivalent" in done.stderr
    assert sorted(p.name for p in (out / "rules").iterdir()) == ["console.yaml", "estate.yaml"]
    checked = subprocess.run(
        [amtool, "check-config", str(out / "alertmanager.yml")], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rules = subprocess.run(
        [promtool, "check", "rules", *map(str, sorted((out / "rules").iterdir()))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rules.returncode == 0, rules.stdout + rules.stderr


def test_export_rules_of_a_broken_config_names_the_problem_and_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text("alerting:\n  route: {receiver: nobody}\n", encoding="utf-8")
    out = tmp_path / "export"
    done = _cli("export-rules", str(out), "--config", str(config))
    assert done.returncode == 2
    assert 'alerting.route.receiver: "nobody" is not a defined receiver' in done.stderr
    assert not out.exists()
