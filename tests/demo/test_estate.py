"""The demo estate: its generated config (and the shipped config/demo.yaml, which must equal it),
its snmpsim data files, the flapping status under snmpsim's own `numeric` variation, and one
collection cycle over the whole estate (SNMP, ping, HTTP front ends, this host) served by the real
simulated agents and front ends."""

from __future__ import annotations

import asyncio
import collections
import itertools
import math
import socket
import time
import types
from pathlib import Path
from typing import Any

import prometheus_client
import pytest

import config
import run_console
from collectors import COLLECTOR_KINDS, CollectorDeps, Scheduler
from collectors.base import SnmpClientProvider
from collectors.oneshot import NullSink
from demo import agents, estate, snmprec
from demo.config import SECRETS_DIR, config_files, write_files
from model import HttpProbeSpec, PingProbeSpec, Sample, SnmpCollectorSpec, SystemClock, TargetState
from tests.collectors.snmpd_agent import free_udp_port
from tests.helpers import free_port, require

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config"
SNMPSIM_INSTALL = "pip install snmpsim pysmi"
TAGS = {"2", "4", "4x", "6", "65", "66", "67", "70"}
NUMERIC_KEYS = {"initial", "rate", "wrap", "function", "scale", "offset", "min", "max", "atime"}


def load(tmp_path: Path, built: estate.Estate) -> config.Config:
    write_files(config_files(built), tmp_path)
    return config.load_file(tmp_path / "demo.yaml")


def kind(site: str) -> str:
    return site if site.startswith("dc-") else "office"


def test_generated_config_loads_with_the_described_estate(tmp_path: Path) -> None:
    inventory = load(tmp_path, estate.build()).inventory

    counts = collections.Counter((kind(d.site), d.system, d.role) for d in inventory.devices)
    assert counts == {
        ("dc-east", "records", "mainframe"): 4,
        ("dc-east", "records", "server"): 9,  # 8 and console-host
        ("dc-east", "records", "switch"): 2,
        ("dc-east", "records", "router"): 2,
        ("dc-west", "kiso", "mainframe"): 4,
        ("dc-west", "kiso", "server"): 8,
        ("dc-west", "kiso", "switch"): 2,
        ("dc-west", "kiso", "router"): 2,
        ("dc-west", "benefit", "server"): 2,
        ("office", "wan", "router"): 20,
    }
    sites = {s.id: s.name for s in inventory.sites}
    assert sites["dc-east"] == "東日本センター"
    assert sites["dc-west"] == "西日本センター"
    offices = [f"office-{n:02d}" for n in range(1, 21)]
    assert sorted(s for s in sites if s.startswith("office-")) == offices
    assert all(sites[o].endswith("社会保険事務所") for o in offices)
    assert collections.Counter(d.site for d in inventory.devices if d.site.startswith("office-")) == dict.fromkeys(
        offices, 1
    )
    assert {s.id: s.name for s in inventory.systems}.items() >= {
        ("records", "記録管理システム"),
        ("kiso", "基礎年金番号管理システム"),
        ("benefit", "年金給付システム"),
    }

    # Topology: the console sits in the east DC.
    office_dc_router = {f"office-{n:02d}": f"rtr-{'east' if n <= 10 else 'west'}-{2 - n % 2:02d}" for n in range(1, 21)}
    expected: dict[str, tuple[str, ...]] = {estate.CONSOLE_HOST: ()}
    for dc, servers in (
        ("east", [*(f"mf-records-{k:02d}" for k in range(1, 5)), *(f"srv-records-{k:02d}" for k in range(1, 9))]),
        (
            "west",
            [
                *(f"mf-kiso-{k:02d}" for k in range(1, 5)),
                *(f"srv-kiso-{k:02d}" for k in range(1, 9)),
                "srv-benefit-01",
                "srv-benefit-02",
            ],
        ),
    ):
        core = (f"sw-{dc}-core-01", f"sw-{dc}-core-02")
        expected |= dict.fromkeys(servers, core)
        expected |= dict.fromkeys(core, (f"rtr-{dc}-01", f"rtr-{dc}-02"))
    expected |= {"rtr-east-01": (), "rtr-east-02": ()}
    expected |= dict.fromkeys(("rtr-west-01", "rtr-west-02"), ("east-west-1", "east-west-2"))
    expected |= {f"rtr-{office}": (office,) for office in offices}
    assert {d.name: d.parents for d in inventory.devices} == expected

    by_name = {d.name: d for d in inventory.devices}
    links = {link.name: link for link in inventory.links}
    assert sorted(links) == ["east-west-1", "east-west-2", *offices]
    assert {links[n].group for n in ("east-west-1", "east-west-2")} == {"east-west"}
    assert {name: (link.a.device, link.b.device) for name, link in links.items()} == {
        "east-west-1": ("rtr-east-01", "rtr-west-01"),
        "east-west-2": ("rtr-east-02", "rtr-west-02"),
        **{office: (office_dc_router[office], f"rtr-{office}") for office in offices},
    }
    assert {name: link.parents for name, link in links.items()} == {
        "east-west-1": ("rtr-east-01",),
        "east-west-2": ("rtr-east-02",),
        **{office: (office_dc_router[office],) for office in offices},
    }
    assert estate.FLAPPING_LINK in links
    assert estate.DEAD_DEVICE in by_name

    # Collectors: SNMP v2c on loopback with its own community for every simulated device, a ping for
    # every device, an HTTP check of each business system's front end, psutil for this machine.
    targets = list(inventory.targets())
    assert collections.Counter(t.spec.kind for t in targets) == {"snmp": 54, "ping": 55, "http": 3, "host": 1}
    assert len(targets) == 113
    snmp = {t.name: t.spec for t in targets if isinstance(t.spec, SnmpCollectorSpec)}
    assert set(snmp) == set(by_name) - {estate.CONSOLE_HOST}
    assert {s.version for s in snmp.values()} == {"2c"}
    communities = {name: s.community.reveal() if s.community else None for name, s in snmp.items()}
    assert communities == {d.name: d.community for d in estate.build().devices if d.name in snmp}
    assert all(c is not None and c.startswith("ro-") and len(c) == 15 for c in communities.values())
    pings = {t.name: t.spec for t in targets if isinstance(t.spec, PingProbeSpec)}
    assert set(pings) == set(by_name)
    assert {(s.interval, s.packets) for s in pings.values()} == {(30.0, 3)}
    assert {d.address for d in inventory.devices} == {"127.0.0.1"}
    assert {t.name: (t.spec.url, t.spec.interval) for t in targets if isinstance(t.spec, HttpProbeSpec)} == {
        "srv-records-01": ("http://127.0.0.1:18080/", 30.0),
        "srv-kiso-01": ("http://127.0.0.1:18081/", 30.0),
        "srv-benefit-01": ("http://127.0.0.1:18082/", 30.0),
    }
    assert [(t.name, t.spec.interval) for t in targets if t.spec.kind == "host"] == [(estate.CONSOLE_HOST, 15.0)]
    host = by_name[estate.CONSOLE_HOST]
    assert (host.site, host.system, host.role, host.address) == ("dc-east", "records", "server", "127.0.0.1")


def test_shipped_config_is_what_the_generator_makes() -> None:
    generated = config_files(estate.build())
    shipped = {
        str(p.relative_to(SHIPPED)): p.read_text(encoding="utf-8")
        for p in [SHIPPED / "demo.yaml", *sorted((SHIPPED / SECRETS_DIR).iterdir())]
    }
    assert shipped == generated, "config/demo.yaml is stale: regenerate it with `python -m demo.estate`"


def test_shipped_config_passes_check_config(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    assert run_console.check_config(SHIPPED / "demo.yaml", sys.stdout, sys.stderr) == 0
    assert capsys.readouterr().out == f"{SHIPPED / 'demo.yaml'}: ok (55 devices, 113 targets, 16 rules in 6 groups)\n"


def test_every_data_file_parses_in_oid_order_with_valid_tags() -> None:
    from snmpsim.record.snmprec import SnmprecRecord

    parser = SnmprecRecord()
    built = estate.build()
    device_of = {f"{d.community}.snmprec": d.name for d in built.devices}
    files = snmprec.data_files(built)
    assert sorted(len(f) for f in files.values()) == [16, 17, 20]  # dead device: no file; all under 31
    assert all(len(f) <= 25 for f in files.values())
    for port_files in files.values():
        for name, text in port_files.items():
            oids: list[tuple[int, ...]] = []
            for line in text.splitlines():
                oid, tag, value = line.split("|")
                oids.append(tuple(int(part) for part in oid.split(".")))
                base, _, variation = tag.partition(":")
                assert base in TAGS, (name, line)
                if variation:
                    assert variation == "numeric", (name, line)
                    settings = dict(item.split("=") for item in value.split(","))
                    assert set(settings) <= NUMERIC_KEYS, (name, line)
                    assert all(k == "function" or math.isfinite(float(v)) for k, v in settings.items()), line
                    value = "0"
                parser.evaluate(f"{oid}|{base}|{value}".encode())  # raises on what snmpsim cannot read
            assert oids == sorted(oids) and len(set(oids)) == len(oids), name
            assert f"1.3.6.1.2.1.1.5.0|4|{device_of[name]}\n" in text  # sysName


def test_flapping_status_alternates_under_snmpsims_numeric_variation() -> None:
    """snmpsim's own numeric.py, evaluated at chosen wall-clock times: only up(1)/down(2), down a third of the time."""
    import snmpsim

    source = Path(snmpsim.__file__).parent / "variation" / "numeric.py"
    tag, value = snmprec._flapping_status()
    assert tag == "2:numeric"
    start = 1_800_000_000 - 1_800_000_000 % estate.FLAP_PERIOD_SECONDS
    seen = []
    for t in range(0, 2 * estate.FLAP_PERIOD_SECONDS, 5):
        module: dict[str, Any] = {"moduleContext": {}}
        exec(compile(source.read_text(), str(source), "exec"), module)
        module["recordContext"] = {}
        module["time"] = types.SimpleNamespace(time=lambda t=t: float(start + t))
        _, _, v = module["variate"](
            "1.3", "2", value, nextFlag=False, exactMatch=True, setFlag=False, origOid="1.3", errorStatus=None
        )
        seen.append(int(v))
    assert set(seen) == {1, 2}
    assert 0.25 < seen.count(2) / len(seen) < 0.4
    changes = sum(1 for a, b in itertools.pairwise(seen) if a != b)
    assert changes == 4  # down and up again, twice in two periods


def refused(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((estate.ADDRESS, port)) != 0


@pytest.mark.slow
def test_agents_and_front_ends_serve_the_estate_and_one_cycle_finds_everything_up_but_the_dead_agent(
    tmp_path: Path,
) -> None:
    require(agents.find_program() or agents.PROGRAM, install=SNMPSIM_INSTALL)
    front_end_ports = {system: free_port() for system in estate.FRONT_END_PORTS}
    built = estate.build(tuple(free_udp_port() for _ in estate.DEFAULT_PORTS), front_end_ports)
    inventory = load(tmp_path / "config", built).inventory
    targets = list(inventory.targets())
    deps = CollectorDeps(clock=SystemClock(), snmp=SnmpClientProvider(max_concurrency=16))

    async def one_cycle() -> tuple[list[Sample], dict[str, tuple[bool | None, str | None]], dict[str, TargetState]]:
        scheduler = Scheduler(
            targets=targets,
            registry=COLLECTOR_KINDS,
            deps=deps,
            sink=NullSink(),
            clock=SystemClock(),
            metrics=prometheus_client.CollectorRegistry(),
            links=inventory.links,
        )
        try:
            samples = await scheduler.run_once_all()
        finally:
            deps.snmp.close()
        health = {h.key: (h.up, h.last_cause) for h in scheduler.health().values()}
        return samples, health, dict(scheduler.states())

    started = time.monotonic()
    with (
        agents.running_agents(built, tmp_path / "run") as responders,
        agents.running_front_ends(built) as front_ends,
    ):
        assert [(r.port, r.devices) for r in responders] == list(zip(built.ports, (16, 17, 20), strict=True))
        assert [(f.front_end.system, f.front_end.port) for f in front_ends] == list(front_end_ports.items())
        samples, health, states = asyncio.run(one_cycle())
        processes = [r.process for r in responders]
    assert all(p.poll() is not None for p in processes)  # stopped on exit
    assert [port for port in front_end_ports.values() if not refused(port)] == []
    elapsed = time.monotonic() - started

    dead_snmp = f"{estate.DEAD_DEVICE}/snmp"
    up = {f"{s.labels['target']}/{s.labels['collector']}": s.value for s in samples if s.name == "up"}
    assert up == {t.key: 0.0 if t.key == dead_snmp else 1.0 for t in targets}
    # The dead device's host answers (ping), its agent does not: down, not unreachable.
    assert states == {t.key: TargetState.DOWN if t.key == dead_snmp else TargetState.UP for t in targets}
    assert health[dead_snmp] == (False, "timeout")
    assert health[f"{estate.DEAD_DEVICE}/ping"] == (True, None)
    status = {s.labels["target"]: s.value for s in samples if s.name == "probe_http_status_code"}
    assert status == {"srv-records-01": 200.0, "srv-kiso-01": 200.0, "srv-benefit-01": 200.0}
    info = {s.labels["target"]: s.labels["sysname"] for s in samples if s.name == "device_info"}
    assert info == {d.name: d.name for d in built.devices if d.served}
    oper = {
        (s.labels["target"], s.labels["ifname"]): s.value
        for s in samples
        if s.name == "interface_oper_up" and s.labels.get("link") == estate.FLAPPING_LINK
    }
    assert len(oper) == 2 and set(oper.values()) <= {0.0, 1.0}
    aliases = {s.labels.get("ifalias") for s in samples if s.name == "interface_oper_up"}
    assert "事務所LAN" in aliases  # UTF-8 (hex) strings arrive as text
    assert elapsed < 20, elapsed


def test_demo_command_defaults_to_the_shipped_demo_config() -> None:
    args = run_console.parser().parse_args(["demo", "--listen", "127.0.0.1:8051"])
    assert (args.command, args.config, args.listen, args.data_dir) == (
        "demo",
        SHIPPED / "demo.yaml",
        "127.0.0.1:8051",
        None,
    )


def test_build_refuses_front_end_ports_that_do_not_name_every_business_system() -> None:
    with pytest.raises(ValueError) as caught:
        estate.build(front_end_ports={"records": 18080, "kiso": 18081})

    assert str(caught.value) == "expected front end ports for ['benefit', 'kiso', 'records'], got ['kiso', 'records']"
