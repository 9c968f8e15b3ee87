"""The demo estate: its generated config (and the shipped config/demo.yaml, which must equal it),
its snmpsim data files, the flapping status under snmpsim's own `numeric` variation, and one
collection cycle over the whole estate served by the real simulated agents."""

from __future__ import annotations

import asyncio
import collections
import itertools
import math
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
from demo import agents, estate
from model import Sample, SnmpCollectorSpec, SystemClock
from tests.collectors.snmpd_agent import free_udp_port
from tests.helpers import require

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config"
SNMPSIM_INSTALL = "pip install snmpsim pysmi"
TAGS = {"2", "4", "4x", "6", "65", "66", "67", "70"}
NUMERIC_KEYS = {"initial", "rate", "wrap", "function", "scale", "offset", "min", "max", "atime"}


def load(tmp_path: Path, built: estate.Estate) -> config.Config:
    estate.write_files(estate.config_files(built), tmp_path)
    return config.load_file(tmp_path / "demo.yaml")


def kind(site: str) -> str:
    return site if site.startswith("dc-") else "office"


def test_generated_config_loads_with_the_described_estate(tmp_path: Path) -> None:
    inventory = load(tmp_path, estate.build()).inventory

    counts = collections.Counter((kind(d.site), d.system, d.role) for d in inventory.devices)
    assert counts == {
        ("dc-east", "records", "mainframe"): 4,
        ("dc-east", "records", "server"): 8,
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

    by_name = {d.name: d for d in inventory.devices}
    for d in inventory.devices:
        parent_roles = {by_name[p].role for p in d.parents}
        if d.role in {"mainframe", "server"}:
            assert parent_roles == {"switch"}, d.name
        elif d.role == "switch":
            assert parent_roles == {"router"}, d.name
        elif d.site.startswith("office-"):
            assert len(d.parents) == 1 and by_name[d.parents[0]].site.startswith("dc-"), d.name
        else:
            assert d.role == "router" and d.parents == (), d.name  # a DC's WAN routers: the top
        if d.site.startswith("dc-"):
            assert {by_name[p].site for p in d.parents} <= {d.site}, d.name

    links = {link.name: link for link in inventory.links}
    assert sorted(links) == ["east-west-1", "east-west-2", *offices]
    assert {links[n].group for n in ("east-west-1", "east-west-2")} == {"east-west"}
    for name in offices:
        a, b = links[name].a, links[name].b
        assert by_name[a.device].site.startswith("dc-") and by_name[b.device].site == name
        assert by_name[b.device].parents == (a.device,)
    assert estate.FLAPPING_LINK in links
    assert estate.DEAD_DEVICE in by_name
    # every device polled over SNMP v2c on loopback, with its own community
    specs = [t.spec for t in inventory.targets()]
    assert len(specs) == len(inventory.devices) == 54
    assert all(isinstance(s, SnmpCollectorSpec) and s.version == "2c" for s in specs)
    communities = {
        t.name: t.spec.community.reveal()
        for t in inventory.targets()
        if isinstance(t.spec, SnmpCollectorSpec) and t.spec.community
    }
    assert communities == {d.name: d.name for d in inventory.devices}


def test_shipped_config_is_what_the_generator_makes() -> None:
    generated = estate.config_files(estate.build())
    shipped = {
        str(p.relative_to(SHIPPED)): p.read_text(encoding="utf-8")
        for p in [SHIPPED / "demo.yaml", *sorted((SHIPPED / estate.SECRETS_DIR).iterdir())]
    }
    assert shipped == generated, "config/demo.yaml is stale: regenerate it with `python -m demo.estate`"


def test_shipped_config_passes_check_config(capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    assert run_console.check_config(SHIPPED / "demo.yaml", sys.stdout, sys.stderr) == 0
    assert "ok (54 devices, 54 targets)" in capsys.readouterr().out


def test_every_data_file_parses_in_oid_order_with_valid_tags() -> None:
    from snmpsim.record.snmprec import SnmprecRecord

    parser = SnmprecRecord()
    files = estate.data_files(estate.build())
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
            assert f"1.3.6.1.2.1.1.5.0|4|{name.removesuffix('.snmprec')}\n" in text


def test_flapping_status_alternates_under_snmpsims_numeric_variation() -> None:
    """snmpsim's own numeric.py, evaluated at chosen wall-clock times: only up(1)/down(2), down a third of the time."""
    import snmpsim

    source = Path(snmpsim.__file__).parent / "variation" / "numeric.py"
    tag, value = estate._flapping_status()
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


@pytest.mark.slow
def test_agents_serve_the_estate_and_one_cycle_finds_every_device_but_the_dead_one(tmp_path: Path) -> None:
    require(agents.find_program() or agents.PROGRAM, install=SNMPSIM_INSTALL)
    built = estate.build(tuple(free_udp_port() for _ in estate.DEFAULT_PORTS))
    targets = list(load(tmp_path / "config", built).inventory.targets())
    deps = CollectorDeps(clock=SystemClock(), snmp=SnmpClientProvider(max_concurrency=16))

    async def one_cycle() -> tuple[list[Sample], dict[str, tuple[bool | None, str | None]]]:
        scheduler = Scheduler(
            targets=targets,
            registry=COLLECTOR_KINDS,
            deps=deps,
            sink=run_console._NullSink(),
            clock=SystemClock(),
            metrics=prometheus_client.CollectorRegistry(),
        )
        try:
            samples = await scheduler.run_once_all()
        finally:
            deps.snmp.close()
        return samples, {h.key: (h.up, h.last_cause) for h in scheduler.health().values()}

    started = time.monotonic()
    with agents.running_agents(built, tmp_path / "run") as responders:
        assert [(r.port, r.devices) for r in responders] == list(zip(built.ports, (16, 17, 20), strict=True))
        samples, health = asyncio.run(one_cycle())
        processes = [r.process for r in responders]
    assert all(p.poll() is not None for p in processes)  # stopped on exit
    elapsed = time.monotonic() - started

    up = {s.labels["target"]: s.value for s in samples if s.name == "up"}
    assert up == {d.name: 0.0 if d.name == estate.DEAD_DEVICE else 1.0 for d in built.devices}
    assert health[f"{estate.DEAD_DEVICE}/snmp"] == (False, "timeout")
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
