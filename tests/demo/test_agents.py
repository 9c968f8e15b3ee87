"""The demo's front ends (HTTP servers in threads) and node_exporter, and how `run_console.py demo`
adds node_exporter's scrape to console-host: real servers and processes on free loopback ports."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import http.client
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import prometheus_client
import pytest

import config
from collectors import COLLECTOR_KINDS, CollectorDeps, Scheduler
from collectors.oneshot import NullSink
from demo import agents, estate
from demo.console import demo_node_exporter
from model import Device, ExporterCollectorSpec, Sample, SystemClock, Target
from tests.helpers import free_port, require

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "demo.yaml"


def get(port: int, path: str) -> tuple[int, str, str]:
    """(status, Content-Type, body as UTF-8) of GET `path` on 127.0.0.1:`port`."""
    connection = http.client.HTTPConnection(estate.ADDRESS, port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read().decode()
    finally:
        connection.close()


def refused(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((estate.ADDRESS, port)) != 0


@contextlib.contextmanager
def listening(port: int) -> Iterator[None]:
    """Something else holding TCP 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((estate.ADDRESS, port))
        sock.listen()
        yield


def built_with_free_front_ends() -> estate.Estate:
    return estate.build(front_end_ports={system: free_port() for system in estate.FRONT_END_PORTS})


def console_host(loaded: config.Config) -> Device:
    return next(d for d in loaded.inventory.devices if d.name == estate.CONSOLE_HOST)


# -- front ends --------------------------------------------------------------------------------------
def test_front_ends_answer_their_page_on_root_and_404_elsewhere_and_stop_on_exit() -> None:
    built = built_with_free_front_ends()
    ports = {f.system: f.port for f in built.front_ends}

    with agents.running_front_ends(built) as servers:
        assert [(s.front_end.system, s.front_end.device) for s in servers] == [
            ("records", "srv-records-01"),
            ("kiso", "srv-kiso-01"),
            ("benefit", "srv-benefit-01"),
        ]
        pages = {system: get(port, "/") for system, port in ports.items()}
        missing = get(ports["records"], "/login")

    assert pages == {
        f.system: (200, "text/html; charset=utf-8", agents.front_end_page(f).decode()) for f in built.front_ends
    }
    assert "<title>記録管理システム</title>" in pages["records"][2]
    assert "<h1>基礎年金番号管理システム</h1>" in pages["kiso"][2]
    assert "<h1>年金給付システム</h1>" in pages["benefit"][2]
    assert missing[0] == 404
    assert [port for port in ports.values() if not refused(port)] == []


def test_a_busy_front_end_port_is_an_agent_error_and_leaves_nothing_running() -> None:
    built = built_with_free_front_ends()
    busy = built.front_ends[-1].port

    with listening(busy), pytest.raises(agents.AgentError) as caught, agents.running_front_ends(built):
        pass

    assert str(caught.value) == f"TCP port 127.0.0.1:{busy} for the benefit front end is in use: Address already in use"
    assert [f.port for f in built.front_ends if not refused(f.port)] == []


# -- node_exporter -----------------------------------------------------------------------------------
def test_a_busy_node_exporter_port_is_an_agent_error_before_anything_starts(tmp_path: Path) -> None:
    port = free_port()

    program = "/nonexistent/node_exporter"  # never started: the port is checked first
    with (
        listening(port),
        pytest.raises(agents.AgentError) as caught,
        agents.running_node_exporter(program, port, tmp_path),
    ):
        pass

    assert str(caught.value) == f"TCP port 127.0.0.1:{port} for node_exporter is in use: Address already in use"


def test_demo_adds_a_node_exporter_scrape_to_console_host_and_stops_it_on_exit(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    require(agents.NODE_EXPORTER, install=agents.NODE_EXPORTER_INSTALL)
    loaded = config.load_file(SHIPPED)
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    caplog.set_level(logging.INFO, logger="ops_console")

    with contextlib.ExitStack() as stack:
        updated = demo_node_exporter(loaded, stack, tmp_path, port=port)
        host = console_host(updated)
        samples = asyncio.run(one_cycle([Target(host, spec) for spec in host.collectors if spec.kind == "exporter"]))

    before = console_host(loaded)
    assert host == dataclasses.replace(
        before,
        collectors=(
            *before.collectors,
            ExporterCollectorSpec(kind="exporter", interval=30.0, timeout=11.0, url=url, scrape_timeout=10.0),
        ),
    )
    others = [d for d in updated.inventory.devices if d.name != estate.CONSOLE_HOST]
    assert others == [d for d in loaded.inventory.devices if d.name != estate.CONSOLE_HOST]
    assert dataclasses.replace(updated, inventory=loaded.inventory) == loaded
    assert [s.value for s in samples if s.name == "up"] == [1.0]
    assert [s.labels["target"] for s in samples if s.name == "node_load1"] == [estate.CONSOLE_HOST]
    assert caplog.messages == [f"node_exporter on {url}, scraped by console-host's exporter collector every 30s"]
    assert refused(port)  # stopped with the stack
    assert (tmp_path / "node-exporter.log").is_file()


def test_demo_without_node_exporter_logs_how_to_install_it_and_adds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    loaded = config.load_file(SHIPPED)
    monkeypatch.setenv("PATH", str(tmp_path))  # no prometheus-node-exporter here
    caplog.set_level(logging.INFO, logger="ops_console")

    with contextlib.ExitStack() as stack:
        updated = demo_node_exporter(loaded, stack, tmp_path, port=free_port())

    assert updated is loaded
    assert caplog.messages == [
        "node_exporter scrape skipped: prometheus-node-exporter is not installed "
        "(apt-get install -y prometheus-node-exporter)"
    ]


async def one_cycle(targets: list[Target]) -> list[Sample]:
    scheduler = Scheduler(
        targets=targets,
        registry=COLLECTOR_KINDS,
        deps=CollectorDeps(clock=SystemClock()),
        sink=NullSink(),
        clock=SystemClock(),
        metrics=prometheus_client.CollectorRegistry(),
    )
    return await scheduler.run_once_all()
