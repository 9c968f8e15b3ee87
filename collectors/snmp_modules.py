"""SNMP modules as numeric OID maps of our own, and pure functions from walked values to samples.

No MIB compilation: each module names the columns it reads by number. The SNMP collector walks the
columns, hands the results here, and gets canonical samples (DESIGN.md) back; nothing here touches
the network, so the parsing is tested with recorded answers.

Interfaces: static columns (ifDescr, ifName, ifAlias, ifSpeed, ifHighSpeed, ifType) are read
rarely and cached by the collector; dynamic columns (status and counters) every cycle. 64-bit
(ifHC*) octet and packet counters are used where the device has them, else the 32-bit ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from collectors.counters import CounterRates
from model import Labels, Sample

__all__ = [
    "IF_COUNTER32_TWINS",
    "IF_DYNAMIC",
    "IF_STATIC",
    "SYS_DESCR",
    "SYS_NAME",
    "SYS_UPTIME",
    "Interface",
    "InterfaceCounters",
    "counters_from_columns",
    "hc_complete",
    "interface_samples",
    "interfaces_from_columns",
    "system_samples",
]

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"

_IF = "1.3.6.1.2.1.2.2.1."  # ifTable entry
_IFX = "1.3.6.1.2.1.31.1.1.1."  # ifXTable entry

IF_STATIC = {
    "descr": _IF + "2",
    "type": _IF + "3",
    "speed": _IF + "5",
    "name": _IFX + "1",
    "high_speed": _IFX + "15",
    "alias": _IFX + "18",
}
"""Columns that rarely change: walked at start, every N cycles, and after a reboot."""

IF_DYNAMIC = {
    "admin_status": _IF + "7",
    "oper_status": _IF + "8",
    "in_octets": _IF + "10",
    "in_ucast": _IF + "11",
    "in_discards": _IF + "13",
    "in_errors": _IF + "14",
    "out_octets": _IF + "16",
    "out_ucast": _IF + "17",
    "out_discards": _IF + "19",
    "out_errors": _IF + "20",
    "hc_in_octets": _IFX + "6",
    "hc_in_ucast": _IFX + "7",
    "hc_out_octets": _IFX + "10",
    "hc_out_ucast": _IFX + "11",
}
"""Columns read every cycle (the 32-bit twins only while some interface lacks its ifHC* column)."""

IF_COUNTER32_TWINS = {
    "in_octets": "hc_in_octets",
    "in_ucast": "hc_in_ucast",
    "out_octets": "hc_out_octets",
    "out_ucast": "hc_out_ucast",
}
"""32-bit counter column -> its 64-bit ifXTable twin."""

Columns = Mapping[str, Mapping[int, object]]
"""Column name -> {ifIndex: value}, as the collector builds them from walks."""


@dataclass(frozen=True, slots=True)
class Interface:
    """The static facts of one interface. `speed_bps` is 0 when the device does not report one."""

    index: int
    name: str
    alias: str
    speed_bps: int


@dataclass(frozen=True, slots=True)
class InterfaceCounters:
    """One cycle's dynamic values of one interface (counters as exact ints; None when absent)."""

    oper_up: bool | None
    admin_up: bool | None
    in_octets: int | None
    out_octets: int | None
    in_ucast: int | None
    out_ucast: int | None
    in_errors: int | None
    out_errors: int | None
    in_discards: int | None
    out_discards: int | None
    wrap: int
    """2**64 when the octet counters came from the ifHC* columns, else 2**32."""


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").strip("\x00").strip()
    return "" if value is None else str(value)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def hc_complete(columns: Columns) -> bool:
    """True when every interface in `columns` has every ifHC* twin of `IF_COUNTER32_TWINS`, so
    the 32-bit columns need not be read (they would only be ignored)."""
    indexes = {i for col in columns.values() for i in col}
    return bool(indexes) and all(
        _int(columns.get(twin, {}).get(i)) is not None for twin in IF_COUNTER32_TWINS.values() for i in indexes
    )


def interfaces_from_columns(columns: Columns) -> dict[int, Interface]:
    """Static columns -> interfaces by ifIndex. Name: ifName, else ifDescr, else `if<index>`.
    Speed: ifHighSpeed (Mbit/s) when it is set, else ifSpeed (bit/s)."""
    indexes = sorted({i for col in columns.values() for i in col})
    out: dict[int, Interface] = {}
    for i in indexes:
        name = _text(columns.get("name", {}).get(i)) or _text(columns.get("descr", {}).get(i)) or f"if{i}"
        high = _int(columns.get("high_speed", {}).get(i)) or 0
        speed = high * 1_000_000 if high else (_int(columns.get("speed", {}).get(i)) or 0)
        out[i] = Interface(index=i, name=name, alias=_text(columns.get("alias", {}).get(i)), speed_bps=speed)
    return out


def counters_from_columns(columns: Columns) -> dict[int, InterfaceCounters]:
    """Dynamic columns -> counters by ifIndex, preferring the 64-bit columns where present."""

    def col(name: str, i: int) -> int | None:
        return _int(columns.get(name, {}).get(i))

    indexes = sorted({i for col_values in columns.values() for i in col_values})
    out: dict[int, InterfaceCounters] = {}
    for i in indexes:
        hc = col("hc_in_octets", i) is not None and col("hc_out_octets", i) is not None
        oper, admin = col("oper_status", i), col("admin_status", i)
        out[i] = InterfaceCounters(
            oper_up=None if oper is None else oper == 1,
            admin_up=None if admin is None else admin == 1,
            in_octets=col("hc_in_octets" if hc else "in_octets", i),
            out_octets=col("hc_out_octets" if hc else "out_octets", i),
            in_ucast=col("hc_in_ucast", i) if col("hc_in_ucast", i) is not None else col("in_ucast", i),
            out_ucast=col("hc_out_ucast", i) if col("hc_out_ucast", i) is not None else col("out_ucast", i),
            in_errors=col("in_errors", i),
            out_errors=col("out_errors", i),
            in_discards=col("in_discards", i),
            out_discards=col("out_discards", i),
            wrap=2**64 if hc else 2**32,
        )
    return out


def system_samples(values: Mapping[str, object], ts: float) -> list[Sample]:
    """`device_uptime_seconds` from sysUpTime (TimeTicks, hundredths of a second) and
    `device_info{sysname, sysdescr} 1`."""
    out: list[Sample] = []
    ticks = _int(values.get(SYS_UPTIME))
    if ticks is not None:
        out.append(Sample("device_uptime_seconds", Labels(), ticks / 100, ts))
    info = Labels(sysname=_text(values.get(SYS_NAME)), sysdescr=_text(values.get(SYS_DESCR))[:200])
    out.append(Sample("device_info", info, 1.0, ts))
    return out


def interface_samples(
    interfaces: Mapping[int, Interface],
    counters: Mapping[int, InterfaceCounters],
    rates: CounterRates[tuple[int, str]],
    *,
    ts: float,
    elapsed_clock: float,
    uptime: float | None,
    bandwidth_bps: Mapping[int, int] | None = None,
    links: Mapping[int, str] | None = None,
) -> list[Sample]:
    """Canonical interface samples for one cycle. Rates per second from `rates` (keyed by
    (ifIndex, counter); first cycle: none); `elapsed_clock` is the monotonic reading used for rates;
    `bandwidth_bps` (configured link bandwidth) overrides the reported speed for utilisation;
    `links` adds a `link` label. Labels: ifindex, ifname (+ ifalias when set, link when known)."""
    out: list[Sample] = []
    bandwidth_bps = bandwidth_bps or {}
    links = links or {}
    for i, c in sorted(counters.items()):
        iface = interfaces.get(i) or Interface(index=i, name=f"if{i}", alias="", speed_bps=0)
        labels = Labels(ifindex=str(i), ifname=iface.name, ifalias=iface.alias, link=links.get(i, ""))
        # The port's reported speed is its line rate (the ceiling for plausible rates); a link's
        # configured bandwidth (a 100 Mbit/s circuit on a gigabit port) is what utilisation is of.
        line_rate = iface.speed_bps or bandwidth_bps.get(i, 0)
        speed = bandwidth_bps.get(i) or iface.speed_bps
        if c.oper_up is not None:
            out.append(Sample("interface_oper_up", labels, 1.0 if c.oper_up else 0.0, ts))
        if c.admin_up is not None:
            out.append(Sample("interface_admin_up", labels, 1.0 if c.admin_up else 0.0, ts))
        if iface.speed_bps:
            out.append(Sample("interface_speed_bits_per_second", labels, float(iface.speed_bps), ts))
        max_octets = line_rate / 8 * 1.05 if line_rate else None  # a little over line rate: poll jitter

        def rate(name: str, value: int | None, wrap: int, max_rate: float | None, index: int = i) -> float | None:
            if value is None:
                return None
            return rates.rate((index, name), value, elapsed_clock, wrap=wrap, uptime=uptime, max_rate=max_rate)

        for direction in ("in", "out"):
            octets = rate(f"{direction}_octets", getattr(c, f"{direction}_octets"), c.wrap, max_octets)
            dir_labels = labels.merge({"direction": direction})
            if octets is not None:
                bits = octets * 8
                out.append(Sample(f"interface_{direction}_bits_per_second", labels, bits, ts))
                if speed:
                    out.append(Sample("interface_utilisation_ratio", dir_labels, bits / speed, ts))
            for counter, metric in (
                ("errors", "interface_errors_per_second"),
                ("discards", "interface_discards_per_second"),
            ):
                value = rate(f"{direction}_{counter}", getattr(c, f"{direction}_{counter}"), 2**32, None)
                if value is not None:
                    out.append(Sample(metric, dir_labels, value, ts))
            packets = rate(f"{direction}_ucast", getattr(c, f"{direction}_ucast"), c.wrap, None)
            if packets is not None:
                out.append(Sample("interface_unicast_packets_per_second", dir_labels, packets, ts))
    return out
