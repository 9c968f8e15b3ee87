"""The SNMP collector, driven by the real scheduler against a real net-snmp snmpd on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import prometheus_client
import pytest

from collectors import COLLECTOR_KINDS, CollectorDeps, Scheduler, SnmpClientProvider
from collectors.snmp_client import Community, SnmpClient
from collectors.snmp_modules import IF_COUNTER32_TWINS, IF_DYNAMIC, IF_STATIC
from model import Device, Labels, Sample, Secret, SnmpCollectorSpec, SystemClock, Target, TargetState
from tests.collectors.snmpd_agent import Agent, running_snmpd

T = TypeVar("T")

SNMPD_CONF = """\
agentaddress udp:127.0.0.1:{port}
sysName snmp-test-agent
sysDescr Ops Console collector test agent
rocommunity ops-public 127.0.0.1
createUser sha-aes128 SHA "auth-key-1" AES "priv-key-1"
createUser sha256-aes256 SHA-256 "auth-key-2" AES256 "priv-key-2"
rouser sha-aes128 priv
rouser sha256-aes256 priv
"""
IF_CACHE_SECONDS = 3.1  # net-snmp re-reads interface counters at most every 3 s
HEALTH = {"up", "collect_duration_seconds", "collect_samples", "target_unreachable"}


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    with running_snmpd(tmp_path_factory.mktemp("snmpd"), SNMPD_CONF) as started:
        yield started


def secret(value: str) -> Secret:
    return Secret(value, reference=f"test:{value}")


def snmp_target(name: str, agent: Agent, **spec: Any) -> Target:
    """Target `name` on the test agent; `spec` overrides SnmpCollectorSpec fields."""
    settings: dict[str, Any] = {"interval": 30.0, "timeout": 5.0, "port": agent.port, "request_timeout": 1.0}
    settings.update(spec)
    device = Device(name=name, site="dc-east", system="records", role="router", address="127.0.0.1")
    return Target(device=device, spec=SnmpCollectorSpec(kind="snmp", **settings))


def v2c(name: str, agent: Agent, community: str = "ops-public", **spec: Any) -> Target:
    return snmp_target(name, agent, version="2c", community=secret(community), **spec)


def v3(name: str, agent: Agent, user: str, auth: tuple[str, str], priv: tuple[str, str], **spec: Any) -> Target:
    return snmp_target(
        name,
        agent,
        version="3",
        user=user,
        auth_protocol=auth[0],
        auth_key=secret(auth[1]),
        priv_protocol=priv[0],
        priv_key=secret(priv[1]),
        **spec,
    )


def same_device_three_ways(agent: Agent) -> list[Target]:
    return [
        v2c("v2c", agent),
        v3("sha-aes128", agent, "sha-aes128", ("sha", "auth-key-1"), ("aes128", "priv-key-1")),
        v3("sha256-aes256", agent, "sha256-aes256", ("sha256", "auth-key-2"), ("aes256-blumenthal", "priv-key-2")),
    ]


class RecordingSink:
    def __init__(self) -> None:
        self.appends: list[list[Sample]] = []
        self.states: list[tuple[str, TargetState, float, str]] = []

    def append(self, samples: Sequence[Sample]) -> None:
        self.appends.append(list(samples))

    def record_state(self, target: str, state: TargetState, ts: float, cause: str) -> None:
        self.states.append((target, state, ts, cause))


def run_scheduled(targets: Sequence[Target], scenario: Callable[[Scheduler], Awaitable[T]]) -> T:
    """Run `scenario(scheduler)` on a fresh loop over the real registry, real clock and one
    shared SNMP client, closed at the end."""
    deps = CollectorDeps(clock=SystemClock(), snmp=SnmpClientProvider(max_concurrency=16))

    async def main() -> T:
        scheduler = Scheduler(
            targets=targets,
            registry=COLLECTOR_KINDS,
            deps=deps,
            sink=RecordingSink(),
            clock=SystemClock(),
            metrics=prometheus_client.CollectorRegistry(),
        )
        try:
            return await scenario(scheduler)
        finally:
            deps.snmp.close()

    return asyncio.run(main())


def by_target(samples: Sequence[Sample]) -> dict[str, list[Sample]]:
    """Collector samples (no health) per target name, without the target's own labels."""
    out: dict[str, list[Sample]] = {}
    for sample in samples:
        labels = {k: v for k, v in sample.labels.items() if k not in {"target", "site", "system", "role"}}
        if sample.name not in HEALTH:
            out.setdefault(sample.labels["target"], []).append(sample._replace(labels=Labels(labels)))
    return out


def up_by_target(samples: Sequence[Sample]) -> dict[str, float]:
    return {s.labels["target"]: s.value for s in samples if s.name == "up"}


def names_and_labels(samples: Sequence[Sample]) -> set[tuple[str, Labels]]:
    return {(s.name, s.labels) for s in samples}


def lo_value(samples: Sequence[Sample], name: str) -> float | None:
    values = [s.value for s in samples if s.name == name and s.labels.get("ifname") == "lo"]
    assert len(values) <= 1, values
    return values[0] if values else None


def send_loopback_udp(datagrams: int, size: int) -> int:
    """Send UDP datagrams to a closed port on 127.0.0.1; returns the payload bytes sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(datagrams):
            sock.sendto(b"x" * size, ("127.0.0.1", 9))
    return datagrams * size


# -- tests ------------------------------------------------------------------------------------------


def test_v2c_and_v3_auth_priv_give_the_same_samples_with_lo(agent: Agent) -> None:
    samples = run_scheduled(same_device_three_ways(agent), lambda scheduler: scheduler.run_once_all())

    assert up_by_target(samples) == {"v2c": 1.0, "sha-aes128": 1.0, "sha256-aes256": 1.0}
    per_target = by_target(samples)
    reference = per_target["v2c"]
    for name in ("sha-aes128", "sha256-aes256"):
        assert names_and_labels(per_target[name]) == names_and_labels(reference), name
    info = [s for s in reference if s.name == "device_info"]
    assert [(s.labels["sysname"], s.labels["sysdescr"], s.value) for s in info] == [
        ("snmp-test-agent", "Ops Console collector test agent", 1.0)
    ]
    for name, target_samples in per_target.items():
        assert lo_value(target_samples, "interface_oper_up") == 1.0, name
        assert lo_value(target_samples, "interface_admin_up") == 1.0, name
        assert lo_value(target_samples, "interface_speed_bits_per_second") == 10_000_000.0, name
        assert lo_value(target_samples, "interface_in_bits_per_second") is None, name  # first cycle: no rate
        assert len({s.ts for s in target_samples}) == 1, name


def test_second_cycle_gives_the_rate_of_loopback_traffic(agent: Agent) -> None:
    payload = 64 * 1000

    async def two_cycles(scheduler: Scheduler) -> tuple[list[Sample], list[Sample], int, float]:
        started = time.monotonic()
        first = await scheduler.run_once_all()
        sent = send_loopback_udp(64, 1000)
        await asyncio.sleep(IF_CACHE_SECONDS)
        second = await scheduler.run_once_all()
        return first, second, sent, time.monotonic() - started

    # Other tests' traffic on lo (browser tests load megabytes) can push a reading above lo's 10 Mbit/s
    # speed, which the collector rightly rejects (no rate); such a measurement is taken again.
    for _ in range(3):
        first, second, sent, span = run_scheduled(same_device_three_ways(agent), two_cycles)
        if all(lo_value(samples, "interface_in_bits_per_second") is not None for samples in by_target(second).values()):
            break

    assert sent == payload
    assert up_by_target(second) == {"v2c": 1.0, "sha-aes128": 1.0, "sha256-aes256": 1.0}
    firsts, seconds = by_target(first), by_target(second)
    for name, samples in seconds.items():
        assert lo_value(firsts[name], "interface_in_bits_per_second") is None, name
        rate = lo_value(samples, "interface_in_bits_per_second")
        # Our datagrams crossed lo between the two readings, which lie within `span` of each other.
        assert rate is not None and rate >= payload * 8 / span, (name, rate)
        assert lo_value(samples, "interface_out_bits_per_second") is not None, name
    reference = names_and_labels(seconds["v2c"])
    assert names_and_labels(seconds["sha-aes128"]) == reference
    assert names_and_labels(seconds["sha256-aes256"]) == reference


def test_each_credential_error_has_its_cause_and_only_its_target_goes_down(agent: Agent) -> None:
    fast_fail: dict[str, Any] = {"request_timeout": 0.3, "retries": 0}
    targets = [
        v2c("good", agent, **fast_fail),
        v2c("wrong-community", agent, community="not-the-community", **fast_fail),
        v3("wrong-auth-key", agent, "sha-aes128", ("sha", "not-the-auth-key"), ("aes128", "priv-key-1"), **fast_fail),
        v3("unknown-user", agent, "nobody", ("sha", "auth-key-1"), ("aes128", "priv-key-1"), **fast_fail),
    ]

    async def one_run(
        scheduler: Scheduler,
    ) -> tuple[list[Sample], dict[str, tuple[bool | None, str | None, str | None]]]:
        samples = await scheduler.run_once_all()
        health = {key: (h.up, h.last_cause, h.last_error) for key, h in scheduler.health().items()}
        return samples, health

    started = time.monotonic()
    samples, health = run_scheduled(targets, one_run)

    assert time.monotonic() - started < 3.0
    assert up_by_target(samples) == {"good": 1.0, "wrong-community": 0.0, "wrong-auth-key": 0.0, "unknown-user": 0.0}
    assert set(by_target(samples)) == {"good"}
    assert lo_value(by_target(samples)["good"], "interface_oper_up") == 1.0
    assert {key: (up, cause) for key, (up, cause, _) in health.items()} == {
        "good/snmp": (True, None),
        "wrong-community/snmp": (False, "timeout"),
        "wrong-auth-key/snmp": (False, "auth"),
        "unknown-user/snmp": (False, "unknown_user"),
    }
    errors = {key: error or "" for key, (_, _, error) in health.items()}
    assert "a wrong community or privacy key looks the same" in errors["wrong-community/snmp"]
    assert "check the auth key" in errors["wrong-auth-key/snmp"]
    assert "'nobody'" in errors["unknown-user/snmp"]


def _record_walks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Patch the client to note every root it walks (each walk_columns call's roots, flattened)."""
    walked: list[str] = []
    real_walk_columns = SnmpClient.walk_columns

    async def recording(self: SnmpClient, host: str, port: int, auth: Any, roots: Any, **options: Any) -> Any:
        walked.extend(roots)
        return await real_walk_columns(self, host, port, auth, roots, **options)

    monkeypatch.setattr(SnmpClient, "walk_columns", recording)
    return walked


EVERY_COLUMN = sorted([*IF_DYNAMIC.values(), *IF_STATIC.values()])
HC_DYNAMIC = sorted(oid for name, oid in IF_DYNAMIC.items() if name not in IF_COUNTER32_TWINS)
"""What a cycle between static refreshes walks on a device whose interfaces all have ifHC* counters."""


def test_static_columns_are_walked_first_and_then_every_n_cycles(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    walked = _record_walks(monkeypatch)

    async def three_cycles(scheduler: Scheduler) -> list[list[str]]:
        roots = []
        for _ in range(3):
            await scheduler.run_once_all()
            roots.append(sorted(walked))
            walked.clear()
        return roots

    roots = run_scheduled([v2c("r1", agent, static_refresh_cycles=2)], three_cycles)

    assert roots == [EVERY_COLUMN, HC_DYNAMIC, EVERY_COLUMN]


def test_agent_restart_rereads_static_columns_and_gives_no_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    walked = _record_walks(monkeypatch)
    before_reboot = contextlib.ExitStack()
    agent = before_reboot.enter_context(running_snmpd(tmp_path / "before", SNMPD_CONF))
    target = v2c("r1", agent, static_refresh_cycles=100)

    async def restart_between_cycles(scheduler: Scheduler) -> list[tuple[list[str], list[Sample]]]:
        cycles = []
        for index in range(3):
            if index == 1:
                await asyncio.sleep(1.1)  # sysUpTime above 1 s before the reboot, below it after
            if index == 2:
                before_reboot.close()
                with running_snmpd(tmp_path / "after", SNMPD_CONF, port=agent.port):
                    samples = await scheduler.run_once_all()
            else:
                samples = await scheduler.run_once_all()
            cycles.append((sorted(walked), by_target(samples)["r1"]))
            walked.clear()
        return cycles

    with before_reboot:
        cycles = run_scheduled([target], restart_between_cycles)

    assert [roots for roots, _ in cycles] == [EVERY_COLUMN, HC_DYNAMIC, EVERY_COLUMN]
    uptimes = [[s.value for s in samples if s.name == "device_uptime_seconds"] for _, samples in cycles]
    assert uptimes[1][0] > 1.0 > uptimes[2][0]
    rate_names = [
        sorted({s.name for s in samples if s.name.endswith("_per_second") and "speed" not in s.name})
        for _, samples in cycles
    ]
    assert rate_names[1] != []  # the cycle before the reboot had rates; the reboot gives none, no spike
    assert (rate_names[0], rate_names[2]) == ([], [])


def test_targets_share_one_client_per_loop() -> None:
    provider = SnmpClientProvider(max_concurrency=4)

    async def twice() -> tuple[SnmpClient, SnmpClient]:
        return provider.client(), provider.client()

    async def twice_then_close() -> tuple[SnmpClient, SnmpClient]:
        try:
            return await twice()
        finally:
            provider.close()

    first, again = asyncio.run(twice())
    other_loop, _ = asyncio.run(twice_then_close())

    assert first is again
    assert other_loop is not first
    with pytest.raises(RuntimeError, match=r"^SnmpClient is closed$"):  # replaced on the new loop
        asyncio.run(first.get("127.0.0.1", 1, Community("2c", "x"), ["1.3.6.1.2.1.1.5.0"]))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"version": "2c"}, "SNMP v2c needs a community"),
        ({"version": "3", "user": "u", "auth_protocol": "sha3"}, "unknown SNMP auth protocol 'sha3'"),
        ({"version": "2c", "community": secret("c"), "modules": ("entity",)}, "SNMP modules not supported yet: entity"),
    ],
)
def test_unusable_spec_is_a_config_error(spec: dict[str, Any], message: str) -> None:
    target = Target(
        device=Device(name="r1", site="s", system="y", role="router", address="127.0.0.1"),
        spec=SnmpCollectorSpec(kind="snmp", interval=30.0, timeout=1.0, **spec),
    )

    async def one_run(scheduler: Scheduler) -> tuple[bool | None, str | None, str | None]:
        await scheduler.run_once_all()
        health = scheduler.health()["r1/snmp"]
        return health.up, health.last_cause, health.last_error

    assert run_scheduled([target], one_run) == (False, "config", message)


def test_host_resources_and_ucd_modules_read_filesystems_load_and_memory_once(agent: Agent) -> None:
    target = v2c("srv", agent, modules=("host_resources", "ucd"))

    async def once(scheduler: Scheduler) -> list[Sample]:
        return await scheduler.run_once_all()

    samples = by_target(run_scheduled([target], once))["srv"]
    names = [s.name for s in samples]
    assert {"system_load1", "system_load5", "system_load15", "memory_total_bytes", "swap_total_bytes"} <= set(names)
    assert names.count("memory_total_bytes") == 1  # from UCD only: hrStorage counts cache as used
    root = [s for s in samples if s.name == "filesystem_utilisation_ratio" and s.labels.get("mountpoint") == "/"]
    assert len(root) == 1 and 0.0 < root[0].value < 1.0
    memory = next(s.value for s in samples if s.name == "memory_total_bytes")
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    assert memory == total_kb * 1024
