"""The ICMP probe: real echo to loopback through the shared raw socket and icmplib (as root) and fping;
loss and timeouts through a stand-in pinger (only loopback may be pinged, and it always answers)."""

from __future__ import annotations

import asyncio
import os

import pytest

from collectors import COLLECTOR_KINDS, CollectorDeps
from collectors.health import RunResult, TargetRunner
from collectors.probes import IcmpProvider, check_icmp_available
from collectors.probes.icmp import EchoResult, FpingPinger, IcmplibPinger, RawSocketPinger, packet_timeout
from model import PingProbeSpec, SystemClock
from tests.collectors.probe_support import run_once, target, values
from tests.helpers import require, require_root

PING = PingProbeSpec(kind="ping", interval=5.0, timeout=2.5, probe_timeout=2.0)


def deps(icmp: IcmpProvider) -> CollectorDeps:
    return CollectorDeps(clock=SystemClock(), icmp=icmp)


def assert_answered(got: dict[str, float]) -> None:
    assert (got["probe_success"], got["probe_loss_ratio"]) == (1.0, 0.0)
    rtt = [got[f"probe_rtt_seconds{{stat={stat}}}"] for stat in ("min", "avg", "max")]
    assert 0 < rtt[0] <= rtt[1] <= rtt[2] < 0.5


def test_loopback_answers_through_the_shared_raw_socket_for_many_probes_at_once() -> None:
    require_root("raw sockets need root")
    provider = IcmpProvider()
    assert isinstance(provider.pinger(), RawSocketPinger)

    async def ping_all() -> list[RunResult]:
        collector = COLLECTOR_KINDS["ping"](deps(provider))
        runners = [
            TargetRunner(target=target(PING, f"127.0.3.{i}"), collector=collector, clock=SystemClock())
            for i in range(1, 101)
        ]
        return await asyncio.gather(*(runner.run_once() for runner in runners))

    results = asyncio.run(ping_all())
    assert [r.health.up for r in results] == [True] * 100
    for result in results:
        assert_answered(values(result))


def test_loopback_answers_through_icmplib_raw_sockets() -> None:
    require_root("icmplib with raw sockets needs root")
    provider = IcmpProvider(backend="icmplib")
    result = run_once(target(PING, "127.0.0.1"), deps(provider))
    assert isinstance(provider.pinger(), IcmplibPinger)
    assert result.health.up is True
    assert_answered(values(result))


def test_loopback_answers_through_fping() -> None:
    fping = require("fping", install="apt-get install -y fping")
    provider = IcmpProvider(backend="fping", fping=fping)
    result = run_once(target(PING, "127.0.0.2"), deps(provider))
    assert isinstance(provider.pinger(), FpingPinger)
    assert result.health.up is True
    assert_answered(values(result))


class Silent:
    """A pinger whose requests are never answered (or that takes `delay` seconds)."""

    name = "silent"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[tuple[str, int, float, float]] = []

    async def ping(self, ip: str, *, count: int, interval: float, timeout: float) -> EchoResult:
        self.calls.append((ip, count, interval, timeout))
        await asyncio.sleep(self.delay)
        return EchoResult(sent=count, rtts=())


def test_all_requests_lost_is_reason_loss_with_loss_ratio_1_kept() -> None:
    silent = Silent()
    result = run_once(target(PING, "127.0.0.9"), deps(IcmpProvider(backend=silent)))
    assert silent.calls == [("127.0.0.9", 3, 0.2, packet_timeout(PING))]
    assert (result.health.up, result.health.last_cause) == (False, "loss")
    assert result.health.last_error == "no answer to 3 echo requests to 127.0.0.9"
    got = values(result)
    assert (got["probe_success"], got["probe_loss_ratio"], got["collect_samples"]) == (0.0, 1.0, 3.0)


def test_a_probe_longer_than_its_timeout_fails_with_reason_timeout() -> None:
    spec = PingProbeSpec(kind="ping", interval=5.0, timeout=0.8, probe_timeout=0.3)
    result = run_once(target(spec), deps(IcmpProvider(backend=Silent(delay=5))))
    assert (result.health.last_cause, result.health.last_error) == ("timeout", "no answer within 0.3s")
    got = values(result)
    assert got["probe_success"] == 0.0
    assert 0.3 <= got["probe_duration_seconds"] < 0.8


def test_packet_timeout_shares_what_the_gaps_leave_within_bounds() -> None:
    assert packet_timeout(PING) == pytest.approx((2.0 * 0.9 - 0.4) / 3)
    assert packet_timeout(PingProbeSpec(kind="ping", interval=30, timeout=10.5, probe_timeout=10)) == 2.0
    assert packet_timeout(PingProbeSpec(kind="ping", interval=1, timeout=0.5, probe_timeout=0.1, packets=5)) == 0.05


def test_icmp_is_available_here() -> None:
    assert check_icmp_available() is None


def test_without_raw_sockets_or_fping_icmp_is_a_startup_error_not_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    message = check_icmp_available(fping="/nonexistent/fping")
    assert message == (
        "ICMP probes (ping:) need raw sockets: run the console as root, or install fping "
        "(apt-get install -y fping), which carries cap_net_raw (raw socket: not root; fping: not installed)"
    )
    result = run_once(target(PING), deps(IcmpProvider(fping="/nonexistent/fping")))
    assert result.health.last_cause == "icmp_unavailable"
    assert values(result)["probe_success"] == 0.0
