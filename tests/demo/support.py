"""Running the demo estate in a test: its agents and front ends on free ports, the console as a
process on the demo's config made short, and waiting on the console's API."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from demo import estate
from demo.config import config_files, write_files
from tests.collectors.snmpd_agent import free_udp_port
from tests.helpers import free_port

REPO = Path(__file__).resolve().parents[2]
SNMPSIM_INSTALL = "pip install snmpsim pysmi"


def built_on_free_ports(pager_port: int | None = None) -> estate.Estate:
    return estate.build(
        tuple(free_udp_port() for _ in estate.DEFAULT_PORTS),
        {system: free_port() for system in estate.FRONT_END_PORTS},
        pager_port=pager_port or free_port(),
    )


POLL, PROBE_TIMEOUT = "5s", "2s"
RULE_INTERVAL = "5s"
SHORT_FOR = {"WanLinkDown": "10s", "LinkRedundancyLost": "10s", "LinkGroupDown": "10s", "DeviceUnreachable": "20s"}
"""The shipped 1m/2m, shortened in the same order: a link alert fires before what is behind it."""
GROUP_WAIT, LINK_GROUP_WAIT = "5s", "40s"
"""The demo's 30s and 1m, shortened: the link page waits until both links' alerts and LinkGroupDown
(a poll and an evaluation apart) have fired, so that they are one page."""


def rehearsal_config(directory: Path, built: estate.Estate, listen: str) -> Path:
    """The demo's config of `built` (config/demo.yaml as demo/estate.py generates it, its community
    files, and a copy of config/rules/) made short for a test: every collector every `POLL` (probes
    time out after `PROBE_TIMEOUT`), the `devices` and `links` rule groups every `RULE_INTERVAL`
    with `SHORT_FOR`, the routes' group_wait `GROUP_WAIT` and `LINK_GROUP_WAIT`; without the
    flapping office-07 link and its office router (its WanLinkDown would join the cut's page
    whenever the wall clock has it down). Returns its path."""
    files = config_files(built)
    write_files(files, directory)
    data = yaml.safe_load(files["demo.yaml"])
    data["console"] = {"listen": listen, "data_dir": str(directory / "data")}
    flapping_router = estate.FLAPPING_LINK.replace("office-", "rtr-office-")
    data["devices"] = [d for d in data["devices"] if d["name"] != flapping_router]
    for device in data["devices"]:
        for kind, settings in device["collectors"].items():
            settings["interval"] = POLL
            if kind != "snmp":  # the probes' default timeout (10s) would exceed the interval
                settings["timeout"] = PROBE_TIMEOUT
    data["links"] = [link for link in data["links"] if link["name"] != estate.FLAPPING_LINK]
    for system in data["availability"]["systems"]:
        system["tree"] = _without_link(system["tree"], estate.FLAPPING_LINK)
    route = data["alerting"]["route"]
    route["group_wait"] = GROUP_WAIT
    assert route["routes"][0]["matchers"] == ['scope="link"']
    route["routes"][0]["group_wait"] = LINK_GROUP_WAIT
    (directory / "rules").mkdir()
    for path in sorted((REPO / "config" / "rules").glob("*.yaml")):
        rules = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in rules["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") in SHORT_FOR:
                    rule["for"] = SHORT_FOR[rule["alert"]]
                    group["interval"] = RULE_INTERVAL
        (directory / "rules" / path.name).write_text(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False))
    path = directory / "demo.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _without_link(node: dict[str, Any], link: str) -> dict[str, Any]:
    """A service tree of the availability section without the leaf `{link: <link>}` (k_of_n's k
    lowered with its children)."""
    for kind in ("all", "any"):
        if kind in node:
            return {kind: [_without_link(c, link) for c in node[kind] if c != {"link": link}]}
    if "k_of_n" in node:
        children = [_without_link(c, link) for c in node["k_of_n"]["of"] if c != {"link": link}]
        dropped = len(node["k_of_n"]["of"]) - len(children)
        return {"k_of_n": {"k": max(1, node["k_of_n"]["k"] - dropped), "of": children}}
    return node


def api(base: str, path: str, token: str) -> Any:
    """The `data` of the console's successful answer to GET `path`, asked with API token `token`."""
    asked = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(asked, timeout=5) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return body["data"]


T = TypeVar("T")


def wait_for(what: str, observe: Callable[[], T], done: Callable[[T], bool], timeout: float) -> T:
    """Observe every 0.5 s until `done(observed)`; fail with the last observation after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            seen = observe()
        except OSError as exc:  # the console is not listening yet
            last = exc
        else:
            if done(seen):
                return seen
            last = seen
        time.sleep(0.5)
    pytest.fail(f"{what}: not within {timeout:.0f} s; last seen: {last!r}")


@contextlib.contextmanager
def running_console(config_path: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`run_console.py run --config CONFIG` with its log in `log`; stopped with SIGTERM on exit."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "run_console.py", "run", "--config", str(config_path)],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
