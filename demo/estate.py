"""The demo estate: the simulated devices, links, front ends and pager, built by `build()`.

A pure function of the estate's shape (no randomness, no I/O): the same call gives the same estate.
demo/snmprec.py generates each device's `.snmprec` data file from it and demo/config.py the matching
config; the shipped `config/demo.yaml` (and `config/demo-secrets/`) is checked against them.
Regenerate it with `python -m demo.estate [DIR]` (demo/config.py's `main`) after changing either.

The estate (docs/operations.md, "Demo estate"):

- east DC (dc-east, 東日本センター), record management system (records): 4 mainframe replacements,
  8 peripheral servers, 2 core switches, 2 WAN routers;
- west DC (dc-west, 西日本センター), basic pension number system (kiso): the same shape; and the
  pension benefit system (benefit): 2 servers behind kiso's core switches;
- 2 redundant east-west WAN links (group east-west) and 20 regional offices (office-01 .. office-20),
  each with an office router (system wan) on a 10 Mbit/s link to a WAN router: offices 01-10 to the
  east routers, 11-20 to the west ones, alternately.

Each device is one snmpsim data file `<community>.snmprec`, answering its own v2c community; the
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

A cut (`demo.snmprec.data_files(estate, cut=links)`, rehearsed on the running demo by
demo/agents.py): both ends of each cut link report their interface operationally down, and every
device cut off behind them (`Estate.cut_off`) has no data file, so it stops answering as the dead
device does.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "ADDRESS",
    "CONSOLE_HOST",
    "DEAD_DEVICE",
    "DEFAULT_PORTS",
    "FLAPPING_LINK",
    "FLAP_PERIOD_SECONDS",
    "FRONT_END_PORTS",
    "PAGER_PORT",
    "Estate",
    "FrontEnd",
    "SimDevice",
    "SimInterface",
    "SimLink",
    "build",
]

ADDRESS = "127.0.0.1"
DEFAULT_PORTS = (16100, 16101, 16102)
"""UDP ports of the three responders: east DC, west DC, regional offices."""
DEAD_DEVICE = "srv-kiso-08"
FLAPPING_LINK = "office-07"
FLAP_PERIOD_SECONDS = 180
FRONT_END_PORTS: Mapping[str, int] = {"records": 18080, "kiso": 18081, "benefit": 18082}
"""TCP ports of the business systems' front ends (HTTP on 127.0.0.1), by system id."""
PAGER_PORT = 18099
"""TCP port of the demo pager (HTTP on 127.0.0.1): the webhook receiver every notification goes to."""
CONSOLE_HOST = "console-host"
"""The device that is this machine: psutil's `host:` (and node_exporter's scrape, added by `demo`)."""

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
        """The v2c community, which is also the data file's name (`<community>.snmprec`): derived from
        the name but not the name, so that the console's redaction of secrets (security/secrets.py)
        never hides a device's name in its logs."""
        return "ro-" + hashlib.sha256(f"ops-console demo {self.name}".encode()).hexdigest()[:12]


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


if __name__ == "__main__":  # python -m demo.estate [DIR]: regenerate config/demo.yaml and config/demo-secrets/
    from demo.config import main

    main(sys.argv[1:])
