"""Rehearsing a WAN cut on the demo estate: the cut's data files, `cut_links` on running responders,
the demo pager, and the issue's acceptance check — cutting the east–west links produces exactly one
page (plus the grouped details), not one per west device."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import io
import json
import logging
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import config
import run_console
from collectors.snmp_client import Community, SnmpClient, SnmpError
from demo import agents, estate
from demo.console import cut_demo
from demo.snmprec import data_files
from tests.alerts.hooks import serve_hook
from tests.demo.support import (
    SNMPSIM_INSTALL,
    api,
    built_on_free_ports,
    rehearsal_config,
    running_console,
    wait_for,
)
from tests.helpers import api_token, free_port, require, require_root

PAIR = ("east-west-1", "east-west-2")
WEST_DC = (
    *(f"mf-kiso-{k:02d}" for k in range(1, 5)),
    *(f"srv-kiso-{k:02d}" for k in range(1, 9)),
    "srv-benefit-01",
    "srv-benefit-02",
    "sw-west-core-01",
    "sw-west-core-02",
    "rtr-west-01",
    "rtr-west-02",
)
WEST_OFFICES = tuple(f"rtr-office-{n:02d}" for n in range(11, 21))
"""The offices whose links hang off the west WAN routers: behind the cut too."""
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"
GI0_1 = 2
"""ifIndex of Gi0/1 (the east-west link) on the WAN routers; Gi0/0 (the office LAN) on office routers."""

LINK_PAGE = '{}/{scope="link"}/0:{scope="link"}'
SUPPRESSED = 'suppressed by WanLinkDown{link="east-west-1"}, WanLinkDown{link="east-west-2"}'
BEHIND = (
    "28 devices cut off: mf-kiso-01, mf-kiso-02, mf-kiso-03, mf-kiso-04, "
    + ", ".join(f"rtr-office-{n}" for n in range(11, 21))
    + ", rtr-west-01, rtr-west-02, srv-benefit-01, srv-benefit-02, srv-kiso-01, srv-kiso-02 and 8 more"
)


# -- the cut's data files ------------------------------------------------------------------------
def test_cutting_the_east_west_pair_takes_both_link_ends_down_and_leaves_out_everything_behind_it() -> None:
    built = estate.build()
    east, west, offices = estate.DEFAULT_PORTS

    files = data_files(built, cut=PAIR)
    file_of = {d.name: f"{d.community}.snmprec" for d in built.devices}

    assert built.links_named(["east-west"]) == PAIR
    assert built.cut_off(PAIR) == (*WEST_DC, *WEST_OFFICES)
    assert files[west] == {}
    assert sorted(files[offices]) == sorted(file_of[f"rtr-office-{n:02d}"] for n in range(1, 11))
    assert files[east].keys() == data_files(built)[east].keys()
    for router in ("rtr-east-01", "rtr-east-02"):
        status = [line for line in files[east][file_of[router]].splitlines() if line.startswith(IF_OPER_STATUS)]
        assert status[:2] == [f"{IF_OPER_STATUS}.1|2|1", f"{IF_OPER_STATUS}.{GI0_1}|2|2"]
    unchanged = {name for name, text in files[east].items() if text == data_files(built)[east][name]}
    assert sorted(files[east].keys() - unchanged) == sorted([file_of["rtr-east-01"], file_of["rtr-east-02"]])


def test_links_named_takes_links_and_groups_and_names_what_is_unknown() -> None:
    built = estate.build()

    assert built.links_named(["office-12", "east-west-2"]) == ("east-west-2", "office-12")
    with pytest.raises(ValueError) as raised:
        built.links_named(["east-west", "nope"])
    offices = ", ".join(f"office-{n:02d}" for n in range(1, 21))
    assert str(raised.value) == (
        f"no link or link group nope in the demo estate (known: east-west, east-west-1, east-west-2, {offices})"
    )


# -- cut_links on running responders -------------------------------------------------------------
async def oper_status(built: estate.Estate, devices: tuple[str, ...]) -> dict[str, int | str]:
    """Each device's ifOperStatus of ifIndex 2, or the SnmpError cause."""
    client = SnmpClient()
    out: dict[str, int | str] = {}
    try:
        for name in devices:
            device = built.device(name)
            oid = f"{IF_OPER_STATUS}.{GI0_1}"
            try:
                answer = await client.get(
                    estate.ADDRESS, device.port, Community("2c", device.community), [oid], timeout=0.5, retries=0
                )
            except SnmpError as exc:
                out[name] = exc.cause
            else:
                value = answer[oid]
                assert isinstance(value, int)
                out[name] = value
    finally:
        client.close()
    return out


@pytest.mark.slow
def test_demo_cut_on_running_responders_takes_the_link_ends_down_silences_what_is_behind_and_restores(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    require(agents.find_program() or agents.PROGRAM, install=SNMPSIM_INSTALL)
    built = built_on_free_ports()
    ends = ("rtr-east-01", "rtr-east-02", "rtr-west-01", "rtr-west-02", "rtr-office-01", "rtr-office-11")
    caplog.set_level(logging.INFO, logger="ops_console")
    err = io.StringIO()
    with agents.running_agents(built, tmp_path / "agents"):
        before = asyncio.run(oper_status(built, ends))
        # At once: the rewrite is usually within the second the responders wrote their files.
        codes = [cut_demo(built, tmp_path / "agents", ["east-west"], err)]
        cut = asyncio.run(oper_status(built, ends))
        codes.append(cut_demo(built, tmp_path / "agents", [], err))
        restored = asyncio.run(oper_status(built, ends))

    assert (codes, err.getvalue()) == ([0, 0], "")
    assert [r.getMessage() for r in caplog.records if r.name == "ops_console"] == [
        "cut east-west-1, east-west-2: both ends report their interface down",
        f"28 devices behind the cut stop answering SNMP: {', '.join((*WEST_DC, *WEST_OFFICES))}",
        "restored: every link up, every device answering",
    ]
    assert before == dict.fromkeys(ends, 1)
    assert cut == {
        "rtr-east-01": 2,
        "rtr-east-02": 2,
        "rtr-west-01": "timeout",
        "rtr-west-02": "timeout",
        "rtr-office-01": 1,  # behind an east router: answering
        "rtr-office-11": "timeout",
    }
    assert restored == before
    with pytest.raises(agents.AgentError) as raised:  # the responders have stopped
        agents.cut_links(built, tmp_path / "agents", PAIR)
    ports = ", ".join(str(p) for p in built.ports)
    assert str(raised.value) == f"no demo agent answers on udp 127.0.0.1:{ports}: is the demo running?"


def test_demo_cut_without_a_demo_running_on_the_data_dir_says_where_it_looked_and_exits_1(tmp_path: Path) -> None:
    err = io.StringIO()
    args = run_console.parser().parse_args(["demo", "--data-dir", str(tmp_path), "--cut", "east-west"])

    code = run_console.run_demo(args, err)

    dirs = ", ".join(str(tmp_path / "agents" / f"agent-{port}" / "data") for port in estate.DEFAULT_PORTS)
    assert (code, err.getvalue()) == (
        1,
        f"error: no demo agents' data in {dirs}: is the demo running with this data dir?\n",
    )


def test_demo_cut_of_an_unknown_link_is_a_usage_error(tmp_path: Path) -> None:
    args = run_console.parser().parse_args(["demo", "--data-dir", str(tmp_path), "--cut", "nope"])
    with pytest.raises(run_console.UsageError) as raised:
        run_console.run_demo(args, io.StringIO())
    assert str(raised.value).startswith("--cut: no link or link group nope in the demo estate (known: east-west, ")


# -- the demo pager --------------------------------------------------------------------------------
def post(url: str, body: bytes) -> int:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.request("POST", parts.path, body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_demo_pager_logs_one_line_per_page_and_refuses_what_is_not_a_payload(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    page = {
        "receiver": "demo-pager",
        "status": "firing",
        "groupKey": LINK_PAGE,
        "alerts": [
            {"status": "firing", "labels": {"alertname": "LinkGroupDown", "link_group": "east-west"}},
            {
                "status": "firing",
                "labels": {"alertname": "WanLinkDown", "link": "east-west-1"},
                "annotations": {"behind": "2 alerts: rtr-west-01, rtr-west-02"},
            },
            {"status": "resolved", "labels": {"alertname": "DeviceUnreachable", "target": "rtr-west-01"}},
        ],
    }
    line = (
        'FIRING {}/{scope="link"}/0:{scope="link"}: LinkGroupDown; '
        "WanLinkDown east-west-1 (behind: 2 alerts: rtr-west-01, rtr-west-02); DeviceUnreachable rtr-west-01 (resolved)"
    )
    caplog.set_level(logging.INFO, logger="demo.agents")
    pages = tmp_path / "agents" / "pages.log"
    with agents.running_pager(free_port(), pages) as url:
        statuses = [post(url, json.dumps(page).encode()), post(url, b"not json")]

    assert statuses == [200, 400]
    assert [r.getMessage() for r in caplog.records] == [
        f"demo pager: {line}",
        "demo pager: refused a request that is not a webhook payload: Expecting value: line 1 column 1 (char 0)",
    ]
    logged = pages.read_text(encoding="utf-8").splitlines()
    assert [entry.split(" ", 1)[1] for entry in logged] == [line]


def test_a_busy_pager_port_is_an_agent_error(tmp_path: Path) -> None:
    port = free_port()
    with (
        agents.running_pager(port, tmp_path / "pages.log"),
        pytest.raises(agents.AgentError) as raised,
        agents.running_pager(port, tmp_path / "pages.log"),
    ):
        pass
    assert str(raised.value) == f"TCP port 127.0.0.1:{port} for the demo pager is in use: Address already in use"


def node(alert: dict[str, Any]) -> str:
    labels = alert["labels"]
    return str(labels.get("target") or labels.get("link") or labels.get("link_group"))


@pytest.mark.slow
def test_cutting_the_east_west_links_pages_once_for_the_link_group_not_once_per_west_device(tmp_path: Path) -> None:
    """The demo estate's agents and front ends, and the console (`run_console.py run`) on the demo's
    config made short (`rehearsal_config`), paging this test's webhook receiver instead of the demo
    pager. Once every target is up and nothing has paged, `cut_links` cuts east-west-1 and -2; when
    the pages have settled, exactly one has come: the link group's, with both WanLinkDown alerts
    (each naming the 28 devices behind the cut) and LinkGroupDown. The DeviceUnreachable alerts of
    those devices fire too, suppressed by the two WanLinkDown alerts. About 80 s."""
    require(agents.find_program() or agents.PROGRAM, install=SNMPSIM_INSTALL)
    require_root("the console pings every device (raw ICMP sockets)")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with contextlib.ExitStack() as stack:
        hook = stack.enter_context(serve_hook())
        built = built_on_free_ports(pager_port=urllib.parse.urlsplit(hook.url).port)
        config_path = rehearsal_config(tmp_path / "config", built, f"127.0.0.1:{port}")
        inventory = config.load_file(config_path).inventory
        answering = sum(1 for t in inventory.targets()) - 1  # all but the dead device's SNMP agent
        stack.enter_context(agents.running_agents(built, tmp_path / "agents"))
        stack.enter_context(agents.running_front_ends(built))
        console = stack.enter_context(running_console(config_path, tmp_path / "console.log"))
        token = api_token(tmp_path / "config" / "data", role="viewer")

        def up() -> float:
            assert console.poll() is None, (tmp_path / "console.log").read_text(encoding="utf-8")[-2000:]
            result = api(base, "/api/v1/query?query=count(up%3D%3D1)", token)["result"]
            return float(result[0]["value"][1]) if result else 0.0

        wait_for("every target up", up, lambda n: n == answering, 40)
        assert api(base, "/api/v1/alerts", token)["alerts"] == []
        assert hook.received == []

        silent = agents.cut_links(built, tmp_path / "agents", PAIR)
        assert silent == (*WEST_DC, *WEST_OFFICES)

        def settled(alerts: list[dict[str, Any]]) -> bool:
            unreachable = [a for a in alerts if a["labels"]["alertname"] == "DeviceUnreachable"]
            flushed = all(g["status"].startswith("not notified yet") for a in unreachable for g in a["groups"])
            return len(unreachable) == len(silent) and flushed and bool(hook.received)

        wait_for("the cut's page", lambda: api(base, "/api/v1/alerts", token)["alerts"], settled, 120)
        time.sleep(6)  # a rule evaluation and a group_wait more: nothing else may page
        # This machine's own resource alerts (CpuHigh on console-host while the tests load it) are not the cut's.
        alerts = [
            a for a in api(base, "/api/v1/alerts", token)["alerts"] if a["labels"].get("target") != estate.CONSOLE_HOST
        ]
        received, payloads = list(hook.received), list(hook.payloads)
    assert console.returncode == 0
    assert "Traceback" not in (tmp_path / "console.log").read_text(encoding="utf-8")

    assert received == [(LINK_PAGE, 200)]
    page = payloads[0]
    assert (page["receiver"], page["status"], page["groupLabels"]) == ("demo-pager", "firing", {"scope": "link"})
    paged = sorted(page["alerts"], key=node)
    assert [(a["status"], a["labels"]) for a in paged] == [
        ("firing", {"alertname": "LinkGroupDown", "link_group": "east-west", "scope": "link", "severity": "critical"}),
        ("firing", {"alertname": "WanLinkDown", "link": "east-west-1", "scope": "link", "severity": "critical"}),
        ("firing", {"alertname": "WanLinkDown", "link": "east-west-2", "scope": "link", "severity": "critical"}),
    ]
    assert [a["annotations"].get("behind") for a in paged] == [None, BEHIND, BEHIND]

    by_node = {(a["labels"]["alertname"], node(a)): a for a in alerts}
    assert sorted(by_node) == sorted(
        [("WanLinkDown", "east-west-1"), ("WanLinkDown", "east-west-2"), ("LinkGroupDown", "east-west")]
        + [("DeviceUnreachable", device) for device in silent]
    )
    link_fp = by_node[("WanLinkDown", "east-west-1")]["fingerprint"]
    mutes = {device: by_node[("DeviceUnreachable", device)]["mutes"] for device in silent}
    source = 'WanLinkDown{link="east-west-1"}, WanLinkDown{link="east-west-2"}'
    expected = [{"reason": "suppressed", "detail": SUPPRESSED, "ref": link_fp, "args": {"source": source}}]
    assert mutes == {device: expected for device in silent}
    assert {a["state"] for a in alerts} == {"firing"}
