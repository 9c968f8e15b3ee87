"""The demo estate, generated: every simulated device's `.snmprec` data and the matching config.

Pure functions of the estate's shape (no randomness, no I/O except `write_files`): the same call
gives the same text, so the shipped `config/demo.yaml` (and `config/demo-secrets/`) can be checked
against the generator. Regenerate them with `python -m demo.estate` after changing this file.

The estate (docs/operations.md, "Demo estate"):

- east DC (dc-east, 東日本センター), record management system (records): 4 mainframe replacements,
  8 peripheral servers, 2 core switches, 2 WAN routers;
- west DC (dc-west, 西日本センター), basic pension number system (kiso): the same shape; and the
  pension benefit system (benefit): 2 servers behind kiso's core switches;
- 2 redundant east-west WAN links (group east-west) and 20 regional offices (office-01 .. office-20),
  each with an office router (system wan) on a 10 Mbit/s link to a WAN router: offices 01-10 to the
  east routers, 11-20 to the west ones, alternately.

Each device is one snmpsim data file `<device>.snmprec`, answering v2c community `<device>`; the
east, west and office devices are served by one responder each (ports `DEFAULT_PORTS`), so no
responder has more data files than snmpsim keeps open (31). Octet and packet counters grow at
device-specific rates (snmpsim's `numeric` variation). The office-07 link flaps: both ends'
ifOperStatus follow a `numeric` variation of wall-clock time, down for a third of every
`FLAP_PERIOD_SECONDS`. `DEAD_DEVICE` is configured but has no data file: it never answers (timeout).

Every device is also pinged (its address is 127.0.0.1, so every ping answers, the dead device's
too); each business system has a front end, a small HTTP server on `FRONT_END_PORTS`, probed by
`http:` from its first server (`srv-<system>-01`); `CONSOLE_HOST` is this machine (psutil `host:`).
Every notification goes to the demo pager, a webhook receiver on `PAGER_PORT` (demo/agents.py).

Topology (`parents`): the console sits in the east DC, so the east WAN routers are the top; each
east-west link hangs off its east router, the west WAN routers behind both east-west links (a
redundant pair), each office link behind its DC router and each office router behind its link;
core switches behind their DC's WAN routers, servers and mainframes behind the core switches.

A cut (`data_files(estate, cut=links)`, rehearsed on the running demo by demo/agents.py): both ends of
each cut link report their interface operationally down, and every device cut off behind them
(`Estate.cut_off`) has no data file, so it stops answering as the dead device does.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ADDRESS",
    "CONSOLE_HOST",
    "DEAD_DEVICE",
    "DEFAULT_PORTS",
    "FLAPPING_LINK",
    "FLAP_PERIOD_SECONDS",
    "FRONT_END_PORTS",
    "PAGER_PORT",
    "PAGER_RECEIVER",
    "SECRETS_DIR",
    "Estate",
    "FrontEnd",
    "SimDevice",
    "SimInterface",
    "SimLink",
    "build",
    "config_files",
    "config_yaml",
    "data_files",
    "snmprec",
    "write_files",
]

ADDRESS = "127.0.0.1"
DEFAULT_PORTS = (16100, 16101, 16102)
"""UDP ports of the three responders: east DC, west DC, regional offices."""
SECRETS_DIR = "demo-secrets"
"""The community files, next to the config (`file:demo-secrets/<device>`)."""
DEAD_DEVICE = "srv-kiso-08"
FLAPPING_LINK = "office-07"
FLAP_PERIOD_SECONDS = 180
FRONT_END_PORTS: Mapping[str, int] = {"records": 18080, "kiso": 18081, "benefit": 18082}
"""TCP ports of the business systems' front ends (HTTP on 127.0.0.1), by system id."""
PAGER_PORT = 18099
"""TCP port of the demo pager (HTTP on 127.0.0.1): the webhook receiver every notification goes to."""
PAGER_RECEIVER = "demo-pager"
CONSOLE_HOST = "console-host"
"""The device that is this machine: psutil's `host:` (and node_exporter's scrape, added by `demo`)."""
INTERVAL = "15s"
TIMEOUT = "1s"
PROBE_INTERVAL = "30s"
HOST_INTERVAL = "15s"

EAST, WEST, OFFICES = "dc-east", "dc-west", "offices"
OFFICE_NAMES = (
    "札幌東",
    "旭川",
    "青森",
    "仙台北",
    "秋田",
    "山形",
    "福島",
    "前橋",
    "浦和",
    "新宿",
    "名古屋西",
    "金沢",
    "京都上",
    "大阪東",
    "神戸",
    "岡山",
    "広島東",
    "高松",
    "福岡中",
    "鹿児島北",
)
SYSTEMS = (
    ("records", "記録管理システム"),
    ("kiso", "基礎年金番号管理システム"),
    ("benefit", "年金給付システム"),
    ("wan", "拠点間回線（WAN）"),
)
DESCR = {
    "mainframe": "Linux {name} 5.14.0-427.el9.x86_64 x86_64 (simulated mainframe replacement)",
    "server": "Linux {name} 5.14.0-427.el9.x86_64 x86_64 (simulated peripheral server)",
    "switch": "Simulated core switch {name}, 48x10GE",
    "router": "Simulated WAN router {name}",
}

# Octets per packet when packet counters are derived from octet counters.
PACKET_SIZE = 800


@dataclass(frozen=True, slots=True)
class SimInterface:
    """One simulated interface. Rates are octets per second; `flapping` alternates ifOperStatus."""

    index: int
    name: str
    alias: str
    speed_mbps: int
    in_rate: int
    out_rate: int
    flapping: bool = False


@dataclass(frozen=True, slots=True)
class SimDevice:
    name: str
    site: str
    system: str
    role: str
    port: int
    parents: tuple[str, ...]
    interfaces: tuple[SimInterface, ...]
    descr: str
    location: str
    uptime_days: int
    served: bool = True
    """False for the dead device: configured, but no data file answers its community."""

    @property
    def community(self) -> str:
        """The v2c community, which is also the data file's name (`<community>.snmprec`)."""
        return self.name


@dataclass(frozen=True, slots=True)
class SimLink:
    name: str
    a: tuple[str, str]
    b: tuple[str, str]
    bandwidth: str
    group: str | None = None
    parents: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FrontEnd:
    """A business system's front end: an HTTP server on `ADDRESS:port` whose `GET /` answers 200
    with a short HTML page naming the system; `device` is the server whose `http:` probe asks it."""

    system: str
    title: str
    port: int
    device: str

    @property
    def url(self) -> str:
        return f"http://{ADDRESS}:{self.port}/"


@dataclass(frozen=True, slots=True)
class Estate:
    sites: tuple[tuple[str, str], ...]
    systems: tuple[tuple[str, str], ...]
    devices: tuple[SimDevice, ...]
    links: tuple[SimLink, ...]
    ports: tuple[int, ...]
    front_ends: tuple[FrontEnd, ...] = ()
    listen: str = "127.0.0.1:8050"
    data_dir: str = "../data/demo-run"
    pager_port: int = PAGER_PORT

    @property
    def pager_url(self) -> str:
        return f"http://{ADDRESS}:{self.pager_port}/pages"

    def device(self, name: str) -> SimDevice:
        return next(d for d in self.devices if d.name == name)

    def links_named(self, names: Sequence[str]) -> tuple[str, ...]:
        """The links `names` mean, each a link or a redundancy group (all its links), in config
        order. Raises ValueError naming the unknown ones and what is known."""
        groups = {link.group for link in self.links if link.group}
        unknown = [n for n in names if n not in groups and all(link.name != n for link in self.links)]
        if unknown:
            known = ", ".join([*sorted(groups), *(link.name for link in self.links)])
            raise ValueError(f"no link or link group {', '.join(unknown)} in the demo estate (known: {known})")
        return tuple(link.name for link in self.links if link.name in names or link.group in names)

    def cut_off(self, links: Collection[str]) -> tuple[str, ...]:
        """The devices that have no path left when `links` are cut (every path to them runs through
        one of them, by `parents`), in estate order."""
        parents = {d.name: d.parents for d in self.devices} | {k.name: k.parents for k in self.links}
        reachable: dict[str, bool] = {}

        def walk(node: str) -> bool:
            if node not in reachable:
                reachable[node] = True  # parents are acyclic (the config refuses cycles): a guard only
                ps = parents.get(node, ())
                reachable[node] = node not in links and (not ps or any(walk(p) for p in ps))
            return reachable[node]

        return tuple(d.name for d in self.devices if not walk(d.name))

    def front_end_of(self, device: str) -> FrontEnd | None:
        """The front end `device` probes over HTTP, if any."""
        return next((f for f in self.front_ends if f.device == device), None)


# -- building ------------------------------------------------------------------------------------
def _rates(ordinal: int, index: int, capacity_mbps: int) -> tuple[int, int]:
    """Deterministic in/out octet rates: 5 % to 50 % of `capacity_mbps`, varying per device and port."""
    share_in = 0.05 + ((ordinal * 7 + index * 3) % 10) * 0.05
    share_out = 0.05 + ((ordinal * 3 + index * 7 + 4) % 10) * 0.045
    octets = capacity_mbps * 125_000
    return round(octets * share_in), round(octets * share_out)


class _Builder:
    def __init__(self, ports: Sequence[int]) -> None:
        self.ports = {EAST: ports[0], WEST: ports[1], OFFICES: ports[2]}
        self.devices: list[SimDevice] = []

    def add(
        self,
        name: str,
        site: str,
        system: str,
        role: str,
        parents: Sequence[str],
        interfaces: Sequence[tuple[str, str, int, int]],
        *,
        location: str,
        port_group: str,
        flapping: str | None = None,
    ) -> None:
        """`interfaces`: (ifName, ifAlias, port speed Mbit/s, capacity Mbit/s the rates are a share of)."""
        ordinal = len(self.devices) + 1
        ifaces = []
        for i, (if_name, alias, speed, capacity) in enumerate(interfaces, start=1):
            in_rate, out_rate = _rates(ordinal, i, capacity)
            ifaces.append(SimInterface(i, if_name, alias, speed, in_rate, out_rate, flapping=if_name == flapping))
        self.devices.append(
            SimDevice(
                name=name,
                site=site,
                system=system,
                role=role,
                port=self.ports[port_group],
                parents=tuple(parents),
                interfaces=tuple(ifaces),
                descr=DESCR[role].format(name=name),
                location=location,
                uptime_days=3 + (ordinal * 11) % 60,
                served=name != DEAD_DEVICE,
            )
        )


def _office_id(n: int) -> str:
    return f"office-{n:02d}"


def build(
    ports: Sequence[int] = DEFAULT_PORTS,
    front_end_ports: Mapping[str, int] = FRONT_END_PORTS,
    *,
    pager_port: int = PAGER_PORT,
) -> Estate:
    """The demo estate with its three responders on UDP `ports` (east, west, offices), its front
    ends on TCP `front_end_ports` (system id -> port, one per business system) and its pager on TCP
    `pager_port`."""
    if len(ports) != len(DEFAULT_PORTS):
        raise ValueError(f"expected {len(DEFAULT_PORTS)} ports (east, west, offices), got {len(ports)}")
    if set(front_end_ports) != set(FRONT_END_PORTS):
        raise ValueError(f"expected front end ports for {sorted(FRONT_END_PORTS)}, got {sorted(front_end_ports)}")
    b = _Builder(ports)
    links: list[SimLink] = []
    offices = range(1, len(OFFICE_NAMES) + 1)
    # Offices 01-10 hang off the east WAN routers, 11-20 off the west ones, alternating 01/02.
    office_router = {n: f"rtr-{'east' if n <= 10 else 'west'}-{2 - n % 2:02d}" for n in offices}

    for dc, site, site_name, systems in (
        ("east", EAST, "東日本センター", ("records",)),
        ("west", WEST, "西日本センター", ("kiso", "benefit")),
    ):
        main = systems[0]
        core = [f"sw-{dc}-core-{k:02d}" for k in (1, 2)]
        wan = [f"rtr-{dc}-{k:02d}" for k in (1, 2)]
        for k in (1, 2, 3, 4):
            b.add(
                f"mf-{main}-{k:02d}",
                site,
                main,
                "mainframe",
                core,
                [
                    ("eth0", "業務LAN 1", 10_000, 10_000),
                    ("eth1", "業務LAN 2", 10_000, 10_000),
                    ("eth2", "バックアップLAN", 10_000, 10_000),
                    ("eth3", "管理LAN", 1_000, 1_000),
                ],
                location=site_name,
                port_group=site,
            )
        for k in range(1, 9):
            b.add(
                f"srv-{main}-{k:02d}",
                site,
                main,
                "server",
                core,
                [("eth0", "業務LAN", 1_000, 1_000), ("eth1", "管理LAN", 1_000, 1_000)],
                location=site_name,
                port_group=site,
            )
        for system in systems[1:]:
            for k in (1, 2):
                b.add(
                    f"srv-{system}-{k:02d}",
                    site,
                    system,
                    "server",
                    core,
                    [("eth0", "業務LAN", 1_000, 1_000), ("eth1", "管理LAN", 1_000, 1_000)],
                    location=site_name,
                    port_group=site,
                )
        for k, switch in enumerate(core, start=1):
            b.add(
                switch,
                site,
                main,
                "switch",
                wan,
                [
                    ("Te1/0/1", f"上位 {wan[0]}", 10_000, 1_000),
                    ("Te1/0/2", f"上位 {wan[1]}", 10_000, 1_000),
                    ("Te1/0/3", "サーバーファーム", 10_000, 10_000),
                    ("Te1/0/4", f"スイッチ間 {core[2 - k]}", 10_000, 10_000),
                ],
                location=site_name,
                port_group=site,
            )
        for k, router in enumerate(wan, start=1):
            served = [n for n in offices if office_router[n] == router]
            interfaces = [
                ("Gi0/0", "センター内LAN", 1_000, 1_000),
                ("Gi0/1", f"東西間回線 east-west-{k}", 1_000, 1_000),
            ]
            interfaces += [
                (f"Se0/1/{j}", f"{OFFICE_NAMES[n - 1]}社会保険事務所 回線", 100, 10) for j, n in enumerate(served)
            ]
            flap = [f"Se0/1/{j}" for j, n in enumerate(served) if _office_id(n) == FLAPPING_LINK]
            b.add(
                router,
                site,
                main,
                "router",
                # The console sits in the east DC: the east routers are the top, the west ones are
                # reached over either east-west link.
                [] if dc == "east" else ["east-west-1", "east-west-2"],
                interfaces,
                location=site_name,
                port_group=site,
                flapping=flap[0] if flap else None,
            )
            for j, n in enumerate(served):
                links.append(
                    SimLink(
                        _office_id(n),
                        (router, f"Se0/1/{j}"),
                        (f"rtr-office-{n:02d}", "Se0/0/0"),
                        "10Mbps",
                        parents=(router,),
                    )
                )
    links[:0] = [
        SimLink(
            f"east-west-{k}",
            (f"rtr-east-{k:02d}", "Gi0/1"),
            (f"rtr-west-{k:02d}", "Gi0/1"),
            "1Gbps",
            "east-west",
            parents=(f"rtr-east-{k:02d}",),
        )
        for k in (1, 2)
    ]

    for n in offices:
        name = f"{OFFICE_NAMES[n - 1]}社会保険事務所"
        b.add(
            f"rtr-office-{n:02d}",
            _office_id(n),
            "wan",
            "router",
            [_office_id(n)],  # reached over its link
            [("Se0/0/0", "センター向け回線", 100, 10), ("Gi0/0", "事務所LAN", 1_000, 10)],
            location=name,
            port_group=OFFICES,
            flapping="Se0/0/0" if _office_id(n) == FLAPPING_LINK else None,
        )
    links.sort(key=lambda link: (not link.name.startswith("east-west"), link.name))
    sites = (
        (EAST, "東日本センター"),
        (WEST, "西日本センター"),
        *((_office_id(n), f"{OFFICE_NAMES[n - 1]}社会保険事務所") for n in offices),
    )
    titles = dict(SYSTEMS)
    front_ends = tuple(
        FrontEnd(system, titles[system], front_end_ports[system], f"srv-{system}-01") for system in FRONT_END_PORTS
    )
    return Estate(
        sites=sites,
        systems=SYSTEMS,
        devices=tuple(b.devices),
        links=tuple(links),
        ports=tuple(ports),
        front_ends=front_ends,
        pager_port=pager_port,
    )


# -- .snmprec ------------------------------------------------------------------------------------
SYS = "1.3.6.1.2.1.1."
IF_NUMBER = "1.3.6.1.2.1.2.1.0"
IF = "1.3.6.1.2.1.2.2.1."
IFX = "1.3.6.1.2.1.31.1.1.1."
ETHERNET_CSMACD, PROP_POINT_TO_POINT_SERIAL = 6, 22
TICKS_PER_DAY = 8_640_000


def _octets(text: str) -> tuple[str, str]:
    """(tag, value) of an OctetString: plain when printable ASCII, else UTF-8 as hex (`4x`)."""
    if text.isascii() and text.isprintable() and "|" not in text:
        return "4", text
    return "4x", text.encode("utf-8").hex()


def _counter(tag: str, rate: int, initial: int) -> tuple[str, str]:
    """A counter growing by `rate` per second from `initial` (reset when the responder restarts)."""
    limit = 2**64 if tag == "70" else 2**32
    return f"{tag}:numeric", f"initial={initial % limit},rate={rate},wrap=1"


def _flapping_status() -> tuple[str, str]:
    """ifOperStatus alternating up(1)/down(2) with wall-clock time (`atime`): the value is
    1 + 1000·sin(2πt/period) − 500 clamped to 1..2, so down while sin > 0.5: a third of each period."""
    rate = 2 * math.pi / FLAP_PERIOD_SECONDS
    return "2:numeric", f"function=sin,rate={rate:.9f},scale=1000,offset=-500,min=1,max=2,atime=1"


def _oper_status(iface: SimInterface, *, down: bool) -> tuple[str, str]:
    if down:
        return "2", "2"
    return _flapping_status() if iface.flapping else ("2", "1")


def snmprec(device: SimDevice, down: Collection[str] = ()) -> str:
    """The device's snmpsim data file: system group, ifNumber, ifTable and ifXTable, lines in OID order.
    The interfaces named in `down` report ifOperStatus down(2) (a cut link's end)."""
    up_seconds = device.uptime_days * 86_400
    records: list[tuple[str, str, str]] = [
        (SYS + "1.0", *_octets(device.descr)),
        (SYS + "2.0", "6", "1.3.6.1.4.1.8072.3.2.10"),
        (SYS + "3.0", "67:numeric", f"initial={device.uptime_days * TICKS_PER_DAY},rate=100"),
        (SYS + "4.0", *_octets("ops-console demo")),
        (SYS + "5.0", *_octets(device.name)),
        (SYS + "6.0", *_octets(device.location)),
        (IF_NUMBER, "2", str(len(device.interfaces))),
    ]
    for iface in device.interfaces:
        i = iface.index
        serial = iface.name.startswith("Se")
        in_packets, out_packets = max(1, iface.in_rate // PACKET_SIZE), max(1, iface.out_rate // PACKET_SIZE)
        records += [
            (f"{IF}1.{i}", "2", str(i)),
            (f"{IF}2.{i}", *_octets(iface.name)),
            (f"{IF}3.{i}", "2", str(PROP_POINT_TO_POINT_SERIAL if serial else ETHERNET_CSMACD)),
            (f"{IF}5.{i}", "66", str(min(iface.speed_mbps * 1_000_000, 2**32 - 1))),
            (f"{IF}7.{i}", "2", "1"),
            (f"{IF}8.{i}", *_oper_status(iface, down=iface.name in down)),
            (f"{IF}10.{i}", *_counter("65", iface.in_rate, iface.in_rate * up_seconds)),
            (f"{IF}11.{i}", *_counter("65", in_packets, in_packets * up_seconds)),
            (f"{IF}13.{i}", "65", "0"),
            (f"{IF}14.{i}", "65", "0"),
            (f"{IF}16.{i}", *_counter("65", iface.out_rate, iface.out_rate * up_seconds)),
            (f"{IF}17.{i}", *_counter("65", out_packets, out_packets * up_seconds)),
            (f"{IF}19.{i}", "65", "0"),
            (f"{IF}20.{i}", "65", "0"),
            (f"{IFX}1.{i}", *_octets(iface.name)),
            (f"{IFX}6.{i}", *_counter("70", iface.in_rate, iface.in_rate * up_seconds)),
            (f"{IFX}7.{i}", *_counter("70", in_packets, in_packets * up_seconds)),
            (f"{IFX}10.{i}", *_counter("70", iface.out_rate, iface.out_rate * up_seconds)),
            (f"{IFX}11.{i}", *_counter("70", out_packets, out_packets * up_seconds)),
            (f"{IFX}15.{i}", "66", str(iface.speed_mbps)),
            (f"{IFX}18.{i}", *_octets(iface.alias)),
        ]
    records.sort(key=lambda r: tuple(int(part) for part in r[0].split(".")))
    return "".join(f"{oid}|{tag}|{value}\n" for oid, tag, value in records)


def data_files(estate: Estate, cut: Collection[str] = ()) -> dict[int, dict[str, str]]:
    """Responder port -> {data file name: .snmprec text}, for every served device. With `cut` links:
    both ends' interfaces of each report oper down, and the devices cut off behind them have no file."""
    ends: dict[str, set[str]] = {}
    for link in estate.links:
        if link.name in cut:
            for end, interface in (link.a, link.b):
                ends.setdefault(end, set()).add(interface)
    silent = set(estate.cut_off(cut)) if cut else set()
    out: dict[int, dict[str, str]] = {port: {} for port in estate.ports}
    for device in estate.devices:
        if device.served and device.name not in silent:
            out[device.port][f"{device.community}.snmprec"] = snmprec(device, ends.get(device.name, ()))
    return out


# -- config ----------------------------------------------------------------------------------------
def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def config_yaml(estate: Estate) -> str:
    """The console config of the estate (what `config/demo.yaml` ships), communities as
    `file:demo-secrets/<device>` references relative to the config file."""
    lines = [
        "# Ops Console: the demo estate (generated by demo/estate.py; regenerate with `python -m demo.estate`).",
        "# `python run_console.py demo` starts the simulated agents and front ends this file polls, then the console.",
        "# Check it with:  python run_console.py check-config config/demo.yaml",
        "",
        "console:",
        f"  listen: {estate.listen}",
        f"  data_dir: {estate.data_dir}        # relative to this file: the repository's data/demo-run",
        "",
        "sites:",
        *(f"  - {{id: {sid}, name: {_q(name)}}}" for sid, name in estate.sites),
        "",
        "systems:",
        *(f"  - {{id: {sid}, name: {_q(name)}}}" for sid, name in estate.systems),
        "",
        "devices:",
    ]
    for d in estate.devices:
        lines += _device_yaml(d, estate.front_end_of(d.name))
    lines += [
        "  # This machine (psutil). `run_console.py demo` adds a scrape of node_exporter when it is installed.",
        f"  - name: {CONSOLE_HOST}",
        f"    site: {EAST}",
        "    system: records",
        "    role: server",
        f"    address: {ADDRESS}",
        "    collectors:",
        f"      host: {{interval: {HOST_INTERVAL}}}",
        f"      ping: {{interval: {PROBE_INTERVAL}}}",
        "",
        "links:",
    ]
    for link in estate.links:
        lines += _link_yaml(link)
    lines += [
        "",
        "# The shipped alerting rules (Prometheus rule files): device down, unreachable, links, resources, probes.",
        "rule_files: [rules/*.yaml]",
        "",
        *_alerting_yaml(estate),
    ]
    return "\n".join(lines) + "\n"


def _alerting_yaml(estate: Estate) -> list[str]:
    return [
        f"# Every notification pages the demo pager, which `run_console.py demo` runs on {ADDRESS}:{estate.pager_port}",
        "# and which logs one line per page. Alerts are grouped by scope, so a WAN cut is one page (WanLinkDown",
        "# of each link, LinkGroupDown), not one per device behind it: their DeviceUnreachable alerts are",
        "# suppressed by topology (`parents`) and the page names the devices cut off (`behind` annotation).",
        "alerting:",
        "  route:",
        f"    receiver: {PAGER_RECEIVER}",
        "    group_by: [scope]",
        "    group_wait: 30s",
        "    routes:",
        "      # A link's page waits a minute so that both links of a pair and LinkGroupDown, which can fire",
        "      # a poll and an evaluation apart, land in one page.",
        "      - matchers: ['scope=\"link\"']",
        "        group_wait: 1m",
        "  receivers:",
        f"    - name: {PAGER_RECEIVER}",
        f"      webhook_configs: [{{url: {_q(estate.pager_url)}}}]",
        '  inhibit_rules:  # docs/alerting.md, "One alert, not thousands, when the console is blind"',
        '    - source_matchers: [alertname="CollectorBlind"]',
        "      target_matchers: ['scope=~\"device|link|service|resource\"']",
        '    - source_matchers: [alertname="DeviceDown"]',
        "      target_matchers: ['alertname=~\"ProbeFailing|CpuHigh|MemoryHigh|FilesystemFilling\"']",
        "      equal: [target]",
        '    - source_matchers: [alertname="LinkGroupDown"]',
        '      target_matchers: [alertname="LinkRedundancyLost"]',
        "      equal: [link_group]",
    ]


def _device_yaml(d: SimDevice, front_end: FrontEnd | None) -> list[str]:
    lines = []
    if not d.served:
        lines.append("  # The demo's dead device: no simulated agent answers its community (up=0, cause timeout).")
    lines += [
        f"  - name: {d.name}",
        f"    site: {d.site}",
        f"    system: {d.system}",
        f"    role: {d.role}",
        f"    address: {ADDRESS}",
    ]
    if d.parents:
        lines.append(f"    parents: [{', '.join(d.parents)}]")
    lines += [
        "    collectors:",
        f"      snmp: {{port: {d.port}, community: file:{SECRETS_DIR}/{d.name}, "
        f"interval: {INTERVAL}, timeout: {TIMEOUT}, retries: 1}}",
        f"      ping: {{interval: {PROBE_INTERVAL}}}",
    ]
    if front_end is not None:
        lines.append(f"      http: {{url: {front_end.url}, interval: {PROBE_INTERVAL}}}  # {d.system}'s front end")
    return lines


def _link_yaml(link: SimLink) -> list[str]:
    lines = []
    if link.name == FLAPPING_LINK:
        lines.append(f"  # Flaps: down for a third of every {FLAP_PERIOD_SECONDS} s.")
    lines += [
        f"  - name: {link.name}",
        f"    a: {{device: {link.a[0]}, interface: {link.a[1]}}}",
        f"    b: {{device: {link.b[0]}, interface: {link.b[1]}}}",
        f"    bandwidth: {link.bandwidth}",
    ]
    if link.group:
        lines.append(f"    group: {link.group}")
    if link.parents:
        lines.append(f"    parents: [{', '.join(link.parents)}]")
    return lines


def config_files(estate: Estate) -> dict[str, str]:
    """Relative path -> text of the config and its community files (`demo.yaml`, `demo-secrets/*`)."""
    files = {"demo.yaml": config_yaml(estate)}
    for d in estate.devices:
        files[f"{SECRETS_DIR}/{d.name}"] = d.community + "\n"
    return files


def write_files(files: Mapping[str, str], directory: Path) -> None:
    """Write `files` (relative path -> text, UTF-8) under `directory`, creating subdirectories."""
    for relative, text in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":  # python -m demo.estate [DIR]: regenerate config/demo.yaml and config/demo-secrets/
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "config"
    write_files(config_files(build()), target)
    sys.stdout.write(f"wrote {target / 'demo.yaml'} and {target / SECRETS_DIR}/\n")
