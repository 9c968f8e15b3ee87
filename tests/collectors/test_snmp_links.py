"""Configured links on the SNMP collector, against the real net-snmp snmpd of test_snmp.py: a link
end on `lo` (by ifName or by ifIndex) labels lo's series with `link`, and lo's utilisation is
measured against the link's configured bandwidth instead of the reported speed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from collectors import Scheduler
from model import Sample, Target
from tests.collectors.snmpd_agent import Agent, running_snmpd
from tests.collectors.test_snmp import (
    IF_CACHE_SECONDS,
    SNMPD_CONF,
    by_target,
    lo_value,
    run_scheduled,
    send_loopback_udp,
    up_by_target,
    v2c,
)

CONFIGURED = 1_000_000_000  # lo reports 10 Mbit/s; the link says 1 Gbit/s
REPORTED = 10_000_000.0
LO_IFINDEX = "1"  # Linux numbers the loopback interface 1


@pytest.fixture(scope="module")
def two_cycles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[Sample]]]:
    """Second-cycle samples (with rates) per target: lo linked by ifName, by ifIndex, on a name
    the agent does not have, and by ifName without a bandwidth."""
    with running_snmpd(tmp_path_factory.mktemp("snmpd-links"), SNMPD_CONF) as agent:
        targets = [
            linked("by-name", agent, ("lo", "lab-loop", CONFIGURED)),
            linked("by-index", agent, (LO_IFINDEX, "lab-loop", CONFIGURED)),
            linked("no-such-interface", agent, ("Gi0/99", "lab-loop", CONFIGURED)),
            linked("no-bandwidth", agent, ("lo", "lab-loop", None)),
        ]

        async def scenario(scheduler: Scheduler) -> list[Sample]:
            await scheduler.run_once_all()
            send_loopback_udp(64, 1000)
            await asyncio.sleep(IF_CACHE_SECONDS)
            return await scheduler.run_once_all()

        second = run_scheduled(targets, scenario)
    assert up_by_target(second) == {name: 1.0 for name in ("by-name", "by-index", "no-such-interface", "no-bandwidth")}
    yield by_target(second)


def linked(name: str, agent: Agent, *links: tuple[str, str, int | None], **spec: Any) -> Target:
    return v2c(name, agent, links=links, **spec)


def lo_samples(samples: list[Sample]) -> list[Sample]:
    return [s for s in samples if s.labels.get("ifname") == "lo"]


def utilisation(samples: list[Sample], direction: str) -> float | None:
    values = [
        s.value
        for s in lo_samples(samples)
        if s.name == "interface_utilisation_ratio" and s.labels.get("direction") == direction
    ]
    assert len(values) <= 1, values
    return values[0] if values else None


@pytest.mark.parametrize("target", ["by-name", "by-index"])
def test_link_on_lo_labels_every_lo_series_and_only_those(two_cycles: dict[str, list[Sample]], target: str) -> None:
    samples = two_cycles[target]
    lo = lo_samples(samples)
    assert lo and all(s.labels.get("ifindex") == LO_IFINDEX for s in lo)
    assert {s.labels.get("link") for s in lo} == {"lab-loop"}
    assert {s.labels.get("link") for s in samples if s.labels.get("ifname") not in (None, "lo")} <= {None}
    assert {s.name for s in lo} >= {
        "interface_oper_up",
        "interface_in_bits_per_second",
        "interface_out_bits_per_second",
        "interface_utilisation_ratio",
    }


@pytest.mark.parametrize("target", ["by-name", "by-index"])
def test_lo_utilisation_is_its_bit_rate_over_the_configured_bandwidth(
    two_cycles: dict[str, list[Sample]], target: str
) -> None:
    samples = two_cycles[target]
    for direction in ("in", "out"):
        bits = lo_value(samples, f"interface_{direction}_bits_per_second")
        assert bits is not None and bits > 0, direction
        assert utilisation(samples, direction) == bits / CONFIGURED, direction


def test_link_without_bandwidth_keeps_the_reported_speed_for_utilisation(
    two_cycles: dict[str, list[Sample]],
) -> None:
    samples = two_cycles["no-bandwidth"]
    assert {s.labels.get("link") for s in lo_samples(samples)} == {"lab-loop"}
    assert lo_value(samples, "interface_speed_bits_per_second") == REPORTED
    bits = lo_value(samples, "interface_in_bits_per_second")
    assert bits is not None and utilisation(samples, "in") == bits / REPORTED


def test_interface_the_device_does_not_have_labels_nothing(two_cycles: dict[str, list[Sample]]) -> None:
    samples = two_cycles["no-such-interface"]
    assert all("link" not in s.labels for s in samples)
    assert lo_value(samples, "interface_speed_bits_per_second") == REPORTED
    bits = lo_value(samples, "interface_in_bits_per_second")
    assert bits is not None and utilisation(samples, "in") == bits / REPORTED


@pytest.mark.parametrize("target", ["by-name", "by-index"])
def test_lo_speed_stays_the_reported_one_on_a_link_with_bandwidth(
    two_cycles: dict[str, list[Sample]], target: str
) -> None:
    assert lo_value(two_cycles[target], "interface_speed_bits_per_second") == REPORTED
