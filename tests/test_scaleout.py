"""Scale-out across sites, end to end with real processes and real engines (issue 10):

- two collector nodes (`run --role collector --node east|west`, half the demo estate each) write into
  VictoriaMetrics and Prometheus at once; a web node (`run --role web`) on each engine shows the whole
  estate, site by site;
- a node with the embedded store that also writes remotely (`--role all` with `remote_write:`): the
  same queries answer the same through its own engine and through web nodes on VictoriaMetrics and
  Prometheus, on the same data;
- the engine stopped for 2 minutes while that node keeps polling, then started: once the queue has
  drained, every sample of the window is in the engine, none missing and none twice (counted against
  the node's own store, which holds exactly what it polled).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from demo import agents, estate
from tests.demo.support import SNMPSIM_INSTALL, built_on_free_ports, rehearsal_config
from tests.helpers import api_token, free_port, require, require_root
from tests.store.engines import Prometheus, VictoriaMetrics, outage, start_prometheus, start_victoria_metrics

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
EAST_OFFICES = [f"office-{n:02d}" for n in range(1, 11)]
WEST_OFFICES = [f"office-{n:02d}" for n in range(11, 21)]


@contextlib.contextmanager
def node(config: Path, log: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`run_console.py run --config CONFIG ARGS...`, stopped with SIGTERM (it must exit 0)."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "run_console.py", "run", "--config", str(config), *args],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(20) == 0, log.read_text(encoding="utf-8")[-3000:]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def query(base: str, token: str, expr: str, at: float | None = None) -> list[dict[str, Any]]:
    params = {"query": expr} | ({"time": f"{at:.3f}"} if at is not None else {})
    answer = httpx.get(f"{base}/api/v1/query", params=params, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    body = answer.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def until(what: str, check: Any, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (httpx.HTTPError, KeyError, AssertionError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(1)
    pytest.fail(f"{what}: not within {timeout:.0f} s; last: {last!r}")


def _engines_yaml(vm: VictoriaMetrics, prom: Prometheus) -> list[dict[str, Any]]:
    return [
        {"name": "vm", "url": vm.write_url, "queue": {"batch_send_deadline": "1s"}},
        {"name": "prometheus", "url": prom.write_url, "queue": {"batch_send_deadline": "1s"}},
    ]


def test_two_collector_nodes_write_into_both_engines_and_a_web_node_shows_the_whole_estate(tmp_path: Path) -> None:
    require(agents.find_program() or agents.PROGRAM, install=SNMPSIM_INSTALL)
    require_root("the collectors ping every device (raw ICMP sockets)")
    vm, prom = start_victoria_metrics(tmp_path / "vm"), start_prometheus(tmp_path / "prometheus")
    built = built_on_free_ports()
    path = rehearsal_config(tmp_path / "config", built, f"127.0.0.1:{free_port()}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["remote_write"] = _engines_yaml(vm, prom)
    data["nodes"] = [
        {"name": "east", "sites": ["dc-east", *EAST_OFFICES], "listen": f"127.0.0.1:{free_port()}"},
        {"name": "west", "sites": ["dc-west", *WEST_OFFICES], "listen": f"127.0.0.1:{free_port()}"},
    ]
    collectors = tmp_path / "config" / "collectors.yaml"
    collectors.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    webs = {}
    for name, engine in (("vm", vm), ("prometheus", prom)):
        web = dict(data, nodes=[], remote_write=[], query={"backend": "prometheus", "url": engine.url})
        web["console"] = {"listen": f"127.0.0.1:{free_port()}", "data_dir": str(tmp_path / f"web-{name}")}
        webs[name] = tmp_path / "config" / f"web-{name}.yaml"
        webs[name].write_text(yaml.safe_dump(web, allow_unicode=True, sort_keys=False), encoding="utf-8")
    targets = len([d for d in data["devices"] for _ in d["collectors"]])
    sites = {s["id"] for s in data["sites"]} - {estate.FLAPPING_LINK}
    try:
        with contextlib.ExitStack() as stack:
            stack.enter_context(agents.running_agents(built, tmp_path / "agents"))
            stack.enter_context(agents.running_front_ends(built))
            for name in ("east", "west"):
                data_dir = tmp_path / f"collector-{name}"
                stack.enter_context(
                    node(
                        collectors,
                        tmp_path / f"{name}.log",
                        "--role",
                        "collector",
                        "--node",
                        name,
                        "--data-dir",
                        str(data_dir),
                    )
                )
            bases = {}
            for name, web_path in webs.items():
                stack.enter_context(node(web_path, tmp_path / f"web-{name}.log", "--role", "web"))
                web_data = yaml.safe_load(web_path.read_text(encoding="utf-8"))
                bases[name] = (
                    f"http://{web_data['console']['listen']}",
                    api_token(Path(web_data["console"]["data_dir"])),
                )
            for name, (base, token) in bases.items():
                counted = until(
                    f"every target in {name}",
                    lambda base=base, token=token: (
                        (r := query(base, token, "count(up)")) and int(r[0]["value"][1]) == targets
                    ),
                )
                assert counted
                alerts = httpx.get(f"{base}/api/v1/alerts", headers={"Authorization": f"Bearer {token}"}, timeout=30)
                assert alerts.json()["status"] == "success"  # the web node evaluates the rules through the engine
                by_site = {r["metric"]["site"] for r in query(base, token, "count by (site) (up)")}
                assert by_site == {s for s in sites if any(d["site"] == s for d in data["devices"])}
    finally:
        vm.stop()
        prom.stop()


def test_the_same_queries_answer_the_same_from_the_embedded_store_and_through_both_engines(tmp_path: Path) -> None:
    vm, prom = start_victoria_metrics(tmp_path / "vm"), start_prometheus(tmp_path / "prometheus")
    port = free_port()
    config = _host_config(tmp_path, port, _engines_yaml(vm, prom))
    webs = {}
    for name, engine in (("vm", vm), ("prometheus", prom)):
        web_port = free_port()
        webs[name] = (_host_config(tmp_path / f"web-{name}", web_port, [], query=engine.url), web_port)
    try:
        with node(config, tmp_path / "all.log"):
            token = api_token(tmp_path / "data", role="viewer")
            base = f"http://127.0.0.1:{port}"
            until(
                "a few polls",
                lambda: (
                    query(base, token, "count_over_time(up[1m])")
                    and int(query(base, token, "count_over_time(up[1m])")[0]["value"][1]) >= 5
                ),
            )
            time.sleep(4)  # batch_send_deadline 1s: what was polled so far is in both engines
            at = time.time() - 3
            expressions = [
                "up",
                "count by (site) (up)",
                "sum by (target) (up)",
                'count_over_time(up{target="console-host"}[30s])',
                "scrape_samples_scraped",
            ]
            embedded = {e: _sorted(query(base, token, e, at)) for e in expressions}
            with contextlib.ExitStack() as stack:
                for name, (web_config, web_port) in webs.items():
                    stack.enter_context(node(web_config, tmp_path / f"web-{name}.log", "--role", "web"))
                    web_token = api_token(web_config.parent / "data", role="viewer")
                    web_base = f"http://127.0.0.1:{web_port}"
                    until(f"{name} web node", lambda b=web_base, t=web_token: query(b, t, "up", at))
                    for expr in expressions:
                        assert _sorted(query(web_base, web_token, expr, at)) == embedded[expr], (name, expr)
    finally:
        vm.stop()
        prom.stop()


def test_an_engine_down_for_two_minutes_loses_nothing_once_the_queue_has_drained(tmp_path: Path) -> None:
    vm = start_victoria_metrics(tmp_path / "vm")
    port = free_port()
    config = _host_config(tmp_path, port, [{"name": "vm", "url": vm.write_url, "queue": {"batch_send_deadline": "1s"}}])
    selector = '{target="console-host"}'
    try:
        with node(config, tmp_path / "all.log"):
            token = api_token(tmp_path / "data", role="viewer")
            base = f"http://127.0.0.1:{port}"
            until("the first polls", lambda: query(base, token, "up"))
            start = float(int(time.time()) + 1)
            time.sleep(4)
            with outage(vm):
                time.sleep(120)
            time.sleep(3)
            end = float(int(time.time()))
            polled = _count_in_store(base, token, selector, start, end)

            def drained() -> bool:
                pending = _metric(base, "remote_write_pending_samples")
                return pending == 0.0

            until("the queue drained", drained, timeout=120)
            stored = vm.raw_samples(selector, start + 0.001, end)  # count_over_time's window: (start, end]
            counted = sum(len(points) for points in stored.values())
            assert polled > 120 * len(stored) * 0.9  # about one sample a second per series, two minutes
            assert counted == polled
            assert all(len({t for t, _ in points}) == len(points) for points in stored.values())  # none twice
    finally:
        vm.stop()


def _host_config(directory: Path, port: int, remote_write: list[dict[str, Any]], query: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "console": {"listen": f"127.0.0.1:{port}", "data_dir": str(directory / "data")},
        "security": {"totp_roles": []},
        "sites": [{"id": "dc-east", "name": "East"}],
        "systems": [{"id": "records", "name": "Records"}],
        "devices": [
            {
                "name": "console-host",
                "site": "dc-east",
                "system": "records",
                "role": "server",
                "address": "127.0.0.1",
                "collectors": {"host": {"interval": "1s", "timeout": "900ms"}},
            }
        ],
    }
    if remote_write:
        data["remote_write"] = remote_write
    if query is not None:
        data["query"] = {"backend": "prometheus", "url": query}
    path = directory / "console.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _sorted(result: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((json.dumps(r["metric"], sort_keys=True), r["value"][1]) for r in result)


def _count_in_store(base: str, token: str, selector: str, start: float, end: float) -> int:
    """How many samples of the series `selector` matches the node's own store holds in (start, end]."""
    names = httpx.get(
        f"{base}/api/v1/label/__name__/values",
        params={"match[]": selector},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()["data"]
    window = f"{round(end - start)}s"
    total = 0
    for name in names:  # count_over_time drops the metric name: one name at a time
        found = query(base, token, f"sum(count_over_time({name}{selector}[{window}]))", end)
        total += int(float(found[0]["value"][1])) if found else 0
    return total


def _metric(base: str, name: str) -> float | None:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{")]
    return sum(values) if values else None


@pytest.mark.parametrize(
    ("role", "message"),
    [
        ("collector", "error: --role collector writes to the engines of remote_write: the config has none\n"),
        ("web", "error: --role web reads through query: backend: prometheus (with its url): the config has none\n"),
    ],
)
def test_a_role_the_config_does_not_provide_for_is_refused_before_anything_starts(
    tmp_path: Path, role: str, message: str
) -> None:
    config = _host_config(tmp_path, free_port(), [])
    result = subprocess.run(
        [sys.executable, "run_console.py", "run", "--config", str(config), "--role", role],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr[-len(message) :]) == (2, message)
    assert not (tmp_path / "data").exists()


def test_an_unknown_node_is_refused_naming_the_known_ones(tmp_path: Path) -> None:
    config = _host_config(tmp_path, free_port(), [])
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["nodes"] = [{"name": "east", "sites": ["dc-east"]}]
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "run_console.py", "run", "--config", str(config), "--node", "north"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (2, f'--node: "north" is not a node of {config} (known: east)\n')
