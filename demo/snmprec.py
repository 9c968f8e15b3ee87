"""The simulated devices' snmpsim data files (`<device>.snmprec`), generated from the demo estate.

Pure functions of the estate (demo/estate.py): system group, ifNumber, ifTable and ifXTable of each
device. Octet and packet counters grow at the device's rates (snmpsim's `numeric` variation); a
flapping interface's ifOperStatus follows a `numeric` variation of wall-clock time, down for a
third of every `FLAP_PERIOD_SECONDS`. `data_files(estate, cut=links)` gives every responder's files,
with the cut links' ends down and no file for the devices cut off behind them.
"""

from __future__ import annotations

import math
from collections.abc import Collection

from demo.estate import FLAP_PERIOD_SECONDS, Estate, SimDevice, SimInterface

__all__ = ["data_files", "snmprec"]

# Octets per packet when packet counters are derived from octet counters.
PACKET_SIZE = 800
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
