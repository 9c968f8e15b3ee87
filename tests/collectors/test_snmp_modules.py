"""Walked IF-MIB and system values become exact canonical samples; counters become exact rates."""

from __future__ import annotations

from collectors.counters import CounterRates
from collectors.snmp_modules import (
    SYS_DESCR,
    SYS_NAME,
    SYS_UPTIME,
    counters_from_columns,
    hc_complete,
    interface_samples,
    interfaces_from_columns,
    system_samples,
)
from model import Labels, Sample

T0 = 1_800_000_000.0
STATIC = {
    "descr": {1: b"GigabitEthernet0/1", 2: b"Serial0/0"},
    "name": {1: b"Gi0/1"},  # the serial port has no ifName: ifDescr is used
    "alias": {1: b"to dc-west", 2: b""},
    "speed": {1: 4_294_967_295, 2: 2_048_000},
    "high_speed": {1: 1000, 2: 0},  # gigabit: ifSpeed saturates, ifHighSpeed is right
}


def _dynamic(in1: int, out1: int, in2: int, out2: int, errors: int = 0) -> dict[str, dict[int, object]]:
    return {
        "oper_status": {1: 1, 2: 2},
        "admin_status": {1: 1, 2: 1},
        "in_octets": {1: in1 % 2**32, 2: in2},
        "out_octets": {1: out1 % 2**32, 2: out2},
        "hc_in_octets": {1: in1},  # only port 1 has 64-bit counters
        "hc_out_octets": {1: out1},
        "in_errors": {1: errors, 2: 0},
        "out_errors": {1: 0, 2: 0},
        "in_discards": {1: 0, 2: 0},
        "out_discards": {1: 0, 2: 0},
    }


def _by_key(samples: list[Sample]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, s.labels.pairs): s.value for s in samples}


def test_static_columns_give_names_aliases_and_speeds() -> None:
    interfaces = interfaces_from_columns(STATIC)
    assert [(i.index, i.name, i.alias, i.speed_bps) for i in interfaces.values()] == [
        (1, "Gi0/1", "to dc-west", 1_000_000_000),
        (2, "Serial0/0", "", 2_048_000),
    ]


def test_first_cycle_has_states_and_speeds_and_no_rates() -> None:
    rates: CounterRates[tuple[int, str]] = CounterRates()
    samples = interface_samples(
        interfaces_from_columns(STATIC),
        counters_from_columns(_dynamic(10, 20, 30, 40)),
        rates,
        ts=T0,
        elapsed_clock=0.0,
        uptime=1000.0,
        links={1: "east-west-1"},
    )
    gi = (("ifalias", "to dc-west"), ("ifindex", "1"), ("ifname", "Gi0/1"), ("link", "east-west-1"))
    se = (("ifindex", "2"), ("ifname", "Serial0/0"))
    assert _by_key(samples) == {
        ("interface_oper_up", gi): 1.0,
        ("interface_admin_up", gi): 1.0,
        ("interface_speed_bits_per_second", gi): 1e9,
        ("interface_oper_up", se): 0.0,
        ("interface_admin_up", se): 1.0,
        ("interface_speed_bits_per_second", se): 2_048_000.0,
    }


def test_second_cycle_gives_exact_rates_with_64_bit_and_wrapped_32_bit_counters() -> None:
    rates: CounterRates[tuple[int, str]] = CounterRates()
    interfaces = interfaces_from_columns(STATIC)
    big = 2**63 + 5  # a Counter64 value a float could not subtract exactly
    first = _dynamic(big, 1000, 2**32 - 6000, 0)
    second = _dynamic(big + 7_500_000_000, 1000 + 60_000, 6000, 60, errors=30)  # port 2's counter wrapped
    interface_samples(interfaces, counters_from_columns(first), rates, ts=T0, elapsed_clock=0.0, uptime=1000.0)
    samples = interface_samples(
        interfaces, counters_from_columns(second), rates, ts=T0 + 60, elapsed_clock=60.0, uptime=1060.0
    )
    got = _by_key(samples)
    gi = Labels(ifalias="to dc-west", ifindex="1", ifname="Gi0/1")
    se = Labels(ifindex="2", ifname="Serial0/0")
    assert got[("interface_in_bits_per_second", gi.pairs)] == 1e9  # 7.5e9 octets in 60 s
    assert got[("interface_out_bits_per_second", gi.pairs)] == 8000.0
    assert got[("interface_utilisation_ratio", gi.merge({"direction": "in"}).pairs)] == 1.0
    assert got[("interface_errors_per_second", gi.merge({"direction": "in"}).pairs)] == 0.5
    assert got[("interface_in_bits_per_second", se.pairs)] == 1600.0  # 12,000 octets across the wrap
    assert got[("interface_utilisation_ratio", se.merge({"direction": "out"}).pairs)] == 8.0 / 2_048_000


def test_a_reboot_and_a_rate_above_line_speed_give_no_rate() -> None:
    rates: CounterRates[tuple[int, str]] = CounterRates()
    interfaces = interfaces_from_columns(STATIC)
    interface_samples(
        interfaces, counters_from_columns(_dynamic(10, 10, 10, 10)), rates, ts=T0, elapsed_clock=0.0, uptime=1000.0
    )
    rebooted = interface_samples(
        interfaces, counters_from_columns(_dynamic(20, 20, 20, 20)), rates, ts=T0 + 60, elapsed_clock=60.0, uptime=5.0
    )
    assert [s.name for s in rebooted if s.name.endswith("bits_per_second") and "speed" not in s.name] == []
    jump = interface_samples(
        interfaces,
        counters_from_columns(_dynamic(20 + 10**12, 30, 30, 30)),
        rates,
        ts=T0 + 120,
        elapsed_clock=120.0,
        uptime=65.0,
    )
    names = {(s.name, s.labels["ifname"]) for s in jump}
    assert ("interface_in_bits_per_second", "Gi0/1") not in names  # 1e12 octets in 60 s > 1 Gbit/s
    assert ("interface_out_bits_per_second", "Gi0/1") in names
    assert rates.discontinuities == 1


def test_system_values_give_uptime_and_info() -> None:
    values = {SYS_UPTIME: 123_456, SYS_NAME: b"rtr-east-01", SYS_DESCR: b"Cisco IOS XE"}
    assert system_samples(values, T0) == [
        Sample("device_uptime_seconds", Labels(), 1234.56, T0),
        Sample("device_info", Labels(sysname="rtr-east-01", sysdescr="Cisco IOS XE"), 1.0, T0),
    ]


def test_hc_complete_only_when_every_interface_has_every_64_bit_twin() -> None:
    every_twin = {twin: {1: 10, 2: 20} for twin in ("hc_in_octets", "hc_out_octets", "hc_in_ucast", "hc_out_ucast")}
    assert hc_complete({"oper_status": {1: 1, 2: 1}, **every_twin}) is True
    one_short = {**every_twin, "hc_in_ucast": {1: 10}}  # interface 2 has no 64-bit unicast counter
    assert hc_complete({"oper_status": {1: 1, 2: 1}, **one_short}) is False
    assert hc_complete({"oper_status": {1: 1}, "in_octets": {1: 5}}) is False  # no ifXTable at all
    assert hc_complete({}) is False
