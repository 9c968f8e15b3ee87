"""Walked HOST-RESOURCES-MIB and UCD-SNMP-MIB values become exact canonical samples.

The recorded values are what net-snmp 5.9 (Debian snmpd 5.9.3, Linux) answers: hrStorage rows with
their OID types, laLoad as text, the memory group in kB. A last test walks a real snmpd.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from collectors.snmp_client import Community, SnmpClient
from collectors.snmp_host_modules import (
    HR_PROCESSOR,
    HR_STORAGE,
    HR_STORAGE_DYNAMIC,
    HR_STORAGE_STATIC,
    UCD_LOAD,
    UCD_MEMORY,
    host_resources_samples,
    processor_samples,
    storage_samples,
    ucd_samples,
)
from model import Labels, Sample
from tests.collectors.snmpd_agent import Agent, running_snmpd

T0 = 1_800_000_000.0
NONE = Labels()

RAM, VIRTUAL, OTHER, FIXED, NETWORK = (f"1.3.6.1.2.1.25.2.1.{n}" for n in (2, 3, 1, 4, 10))

# hrProcessorLoad of a 4-core server (indexed by hrDeviceIndex, as net-snmp numbers CPUs).
PROCESSOR = {"load": {196608: 12, 196609: 3, 196610: 100, 196611: 0}}

# hrStorageTable as net-snmp 5.9 walks it (types are OIDs, descriptions bytes, sizes in blocks).
STORAGE: dict[str, dict[int, object]] = {
    "type": {1: RAM, 3: VIRTUAL, 6: OTHER, 10: VIRTUAL, 31: FIXED, 35: FIXED, 40: NETWORK},
    "descr": {
        1: b"Physical memory",
        3: b"Virtual memory",
        6: b"Memory buffers",
        10: b"Swap space",
        31: b"/",
        35: b"/boot",
        40: b"/srv/archive",
    },
    "units": {1: 1024, 3: 1024, 6: 1024, 10: 1024, 31: 4096, 35: 1024, 40: 8192},
    "size": {1: 24684092, 3: 24684092, 6: 24684092, 10: 0, 31: 66053021, 35: 499656, 40: 268435456},
    "used": {1: 546728, 3: 546728, 6: 3208, 10: 0, 31: 6360915, 35: 91235, 40: 134217729},
}

# The UCD-SNMP-MIB scalars net-snmp 5.9 answers (laLoad as DisplayString, memory in kB).
UCD = {
    "1.3.6.1.4.1.2021.10.1.3.1": b"0.61",
    "1.3.6.1.4.1.2021.10.1.3.2": b"0.52",
    "1.3.6.1.4.1.2021.10.1.3.3": b"0.59",
    "1.3.6.1.4.1.2021.4.3.0": 2097148,  # memTotalSwap
    "1.3.6.1.4.1.2021.4.4.0": 2000000,  # memAvailSwap
    "1.3.6.1.4.1.2021.4.5.0": 24684092,  # memTotalReal
    "1.3.6.1.4.1.2021.4.6.0": 24137364,  # memAvailReal
    "1.3.6.1.4.1.2021.4.14.0": 3208,  # memBuffer
    "1.3.6.1.4.1.2021.4.15.0": 439812,  # memCached
}


def test_oid_maps_are_the_mib_columns() -> None:
    assert HR_PROCESSOR == {"load": "1.3.6.1.2.1.25.3.3.1.2"}
    assert HR_STORAGE == {
        "type": "1.3.6.1.2.1.25.2.3.1.2",
        "descr": "1.3.6.1.2.1.25.2.3.1.3",
        "units": "1.3.6.1.2.1.25.2.3.1.4",
        "size": "1.3.6.1.2.1.25.2.3.1.5",
        "used": "1.3.6.1.2.1.25.2.3.1.6",
    }
    assert HR_STORAGE == {**HR_STORAGE_STATIC, **HR_STORAGE_DYNAMIC}
    assert set(HR_STORAGE_DYNAMIC) == {"size", "used"}
    assert UCD_LOAD == {
        "load1": "1.3.6.1.4.1.2021.10.1.3.1",
        "load5": "1.3.6.1.4.1.2021.10.1.3.2",
        "load15": "1.3.6.1.4.1.2021.10.1.3.3",
    }
    assert UCD_MEMORY == {
        "total_swap": "1.3.6.1.4.1.2021.4.3.0",
        "avail_swap": "1.3.6.1.4.1.2021.4.4.0",
        "total_real": "1.3.6.1.4.1.2021.4.5.0",
        "avail_real": "1.3.6.1.4.1.2021.4.6.0",
        "buffer": "1.3.6.1.4.1.2021.4.14.0",
        "cached": "1.3.6.1.4.1.2021.4.15.0",
    }


def test_processor_load_gives_mean_and_per_core_ratios() -> None:
    assert processor_samples(PROCESSOR, T0) == [
        Sample("cpu_utilisation_ratio", NONE, 115 / 4 / 100, T0),
        Sample("cpu_core_utilisation_ratio", Labels(cpu="196608"), 0.12, T0),
        Sample("cpu_core_utilisation_ratio", Labels(cpu="196609"), 0.03, T0),
        Sample("cpu_core_utilisation_ratio", Labels(cpu="196610"), 1.0, T0),
        Sample("cpu_core_utilisation_ratio", Labels(cpu="196611"), 0.0, T0),
    ]


def test_storage_gives_memory_and_filesystems_in_exact_bytes() -> None:
    fs, boot, archive = Labels(mountpoint="/"), Labels(mountpoint="/boot"), Labels(mountpoint="/srv/archive")
    samples = storage_samples(STORAGE, T0)
    assert samples == [
        Sample("memory_total_bytes", NONE, 25_276_510_208, T0),
        Sample("memory_used_bytes", NONE, 559_849_472, T0),
        Sample("memory_utilisation_ratio", NONE, 546728 / 24684092, T0),
        Sample("filesystem_size_bytes", fs, 270_553_174_016, T0),
        Sample("filesystem_used_bytes", fs, 26_054_307_840, T0),
        Sample("filesystem_utilisation_ratio", fs, 6360915 / 66053021, T0),
        Sample("filesystem_size_bytes", boot, 511_647_744, T0),
        Sample("filesystem_used_bytes", boot, 93_424_640, T0),
        Sample("filesystem_utilisation_ratio", boot, 91235 / 499656, T0),
        Sample("filesystem_size_bytes", archive, 2**41, T0),  # 2 TiB: beyond 2**31 blocks of 1 kB
        Sample("filesystem_used_bytes", archive, 2**40 + 8192, T0),
        Sample("filesystem_utilisation_ratio", archive, 134217729 / 268435456, T0),
    ]
    bytes_values = [s.value for s in samples if s.name.endswith("_bytes")]
    assert all(type(v) is int for v in bytes_values)  # units * blocks, never rounded through a float


def test_host_resources_module_is_processor_then_storage() -> None:
    assert host_resources_samples(PROCESSOR, STORAGE, T0) == processor_samples(PROCESSOR, T0) + storage_samples(
        STORAGE, T0
    )
    assert host_resources_samples({}, {}, T0) == []


def test_processor_garbage_rows_are_skipped() -> None:
    load = {1: 40, 2: b"n/a", 3: None, 4: 101, 5: -1, 6: True, 7: "1.3.6.1", 8: 60}
    assert processor_samples({"load": load}, T0) == [
        Sample("cpu_utilisation_ratio", NONE, 0.5, T0),
        Sample("cpu_core_utilisation_ratio", Labels(cpu="1"), 0.4, T0),
        Sample("cpu_core_utilisation_ratio", Labels(cpu="8"), 0.6, T0),
    ]
    assert processor_samples({"load": {1: b"busy"}}, T0) == []
    assert processor_samples({}, T0) == []


def test_storage_garbage_rows_are_skipped_and_negative_blocks_read_as_unsigned() -> None:
    columns: dict[str, dict[int, object]] = {
        "type": {1: RAM, 2: FIXED, 3: FIXED, 4: FIXED, 5: FIXED, 6: b"junk", 7: "." + FIXED, 8: FIXED, 9: FIXED},
        "descr": {2: b"/empty", 3: b"/bad-units", 4: b"/bad-size", 5: b"/no-used", 6: b"/junk", 7: b"/big", 8: b"/"},
        "units": {1: b"1024", 2: 4096, 3: b"x", 4: 4096, 5: 4096, 6: 4096, 7: 4096, 8: 0, 9: 512},
        "size": {1: 100, 2: 0, 3: 10, 4: b"", 5: 10, 6: 10, 7: -2, 8: 10, 9: 4},
        "used": {1: 50, 2: 0, 3: 5, 4: 5, 6: 5, 7: -4, 8: 5, 9: 1},
    }
    big = Labels(mountpoint="/big")  # an agent that overflowed Integer32 blocks: 2**32 - 2 blocks
    untitled = Labels(mountpoint="storage9")  # no hrStorageDescr
    assert storage_samples(columns, T0) == [
        Sample("filesystem_size_bytes", big, 4096 * (2**32 - 2), T0),
        Sample("filesystem_used_bytes", big, 4096 * (2**32 - 4), T0),
        Sample("filesystem_utilisation_ratio", big, (2**32 - 4) / (2**32 - 2), T0),
        Sample("filesystem_size_bytes", untitled, 2048, T0),
        Sample("filesystem_used_bytes", untitled, 512, T0),
        Sample("filesystem_utilisation_ratio", untitled, 0.25, T0),
    ]
    assert storage_samples({}, T0) == []


def test_storage_sums_several_ram_rows_and_keeps_the_first_of_a_repeated_mountpoint() -> None:
    columns: dict[str, dict[int, object]] = {
        "type": {1: RAM, 2: RAM, 3: FIXED, 4: FIXED},
        "descr": {1: b"Physical memory", 2: b"Physical memory", 3: b"/data", 4: b"/data"},
        "units": {1: 1024, 2: 1024, 3: 4096, 4: 4096},
        "size": {1: 1000, 2: 3000, 3: 100, 4: 999},
        "used": {1: 500, 2: 500, 3: 25, 4: 1},
    }
    data = Labels(mountpoint="/data")
    assert storage_samples(columns, T0) == [
        Sample("memory_total_bytes", NONE, 4_096_000, T0),
        Sample("memory_used_bytes", NONE, 1_024_000, T0),
        Sample("memory_utilisation_ratio", NONE, 0.25, T0),
        Sample("filesystem_size_bytes", data, 409_600, T0),
        Sample("filesystem_used_bytes", data, 102_400, T0),
        Sample("filesystem_utilisation_ratio", data, 0.25, T0),
    ]


def test_ucd_gives_load_memory_and_swap() -> None:
    available_kib = 24137364 + 3208 + 439812
    assert ucd_samples(UCD, T0) == [
        Sample("system_load1", NONE, 0.61, T0),
        Sample("system_load5", NONE, 0.52, T0),
        Sample("system_load15", NONE, 0.59, T0),
        Sample("memory_total_bytes", NONE, 25_276_510_208, T0),
        Sample("memory_available_bytes", NONE, 25_170_313_216, T0),
        Sample("memory_utilisation_ratio", NONE, 1 - available_kib / 24684092, T0),
        Sample("swap_total_bytes", NONE, 2_147_479_552, T0),
        Sample("swap_used_bytes", NONE, 99_479_552, T0),
    ]
    assert available_kib * 1024 == 25_170_313_216


def test_ucd_server_without_swap() -> None:
    values = {**UCD, "1.3.6.1.4.1.2021.4.3.0": 0, "1.3.6.1.4.1.2021.4.4.0": 0}
    assert ucd_samples(values, T0)[-2:] == [
        Sample("swap_total_bytes", NONE, 0, T0),
        Sample("swap_used_bytes", NONE, 0, T0),
    ]


def test_ucd_garbage_drops_only_what_depends_on_it() -> None:
    values: dict[str, object] = {
        "1.3.6.1.4.1.2021.10.1.3.1": b"n/a",
        "1.3.6.1.4.1.2021.10.1.3.2": b"nan",
        "1.3.6.1.4.1.2021.10.1.3.3": b" 1.50\x00",
        "1.3.6.1.4.1.2021.4.3.0": b"lots",  # memTotalSwap garbage: no swap samples
        "1.3.6.1.4.1.2021.4.4.0": 10,
        "1.3.6.1.4.1.2021.4.5.0": b"24684092",  # memTotalReal as text: not an integer
        "1.3.6.1.4.1.2021.4.6.0": 1000,
        "1.3.6.1.4.1.2021.4.15.0": b"?",  # memCached garbage counts as 0, like a missing memBuffer
    }
    assert ucd_samples(values, T0) == [
        Sample("system_load15", NONE, 1.5, T0),
        Sample("memory_available_bytes", NONE, 1_024_000, T0),
    ]
    assert ucd_samples({}, T0) == []


def test_ucd_ratio_stays_within_0_and_1() -> None:
    values = {UCD_MEMORY["total_real"]: 1000, UCD_MEMORY["avail_real"]: 900, UCD_MEMORY["cached"]: 300}
    assert ucd_samples(values, T0)[-1] == Sample("memory_utilisation_ratio", NONE, 0.0, T0)


SNMPD_CONF = """\
agentaddress udp:127.0.0.1:{port}
rocommunity ops-public 127.0.0.1
"""


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    with running_snmpd(tmp_path_factory.mktemp("snmpd-host"), SNMPD_CONF) as started:
        yield started


def _walk_columns(agent: Agent, columns: Mapping[str, str]) -> dict[str, dict[int, object]]:
    auth = Community("2c", "ops-public")

    async def main() -> dict[str, dict[int, object]]:
        client = SnmpClient(max_concurrency=4)
        try:
            out: dict[str, dict[int, object]] = {}
            for name, oid in columns.items():
                rows = await client.walk("127.0.0.1", agent.port, auth, oid, timeout=2.0)
                out[name] = {int(row_oid.removeprefix(oid + ".")): value for row_oid, value in rows}
            return out
        finally:
            client.close()

    return asyncio.run(main())


def _get(agent: Agent, oids: list[str]) -> dict[str, object]:
    async def main() -> dict[str, object]:
        client = SnmpClient(max_concurrency=4)
        try:
            got = await client.get("127.0.0.1", agent.port, Community("2c", "ops-public"), oids, allow_missing=True)
            return dict(got)
        finally:
            client.close()

    return asyncio.run(main())


@pytest.mark.slow
def test_real_net_snmp_agent_answers_the_oids(agent: Agent) -> None:
    processor = _walk_columns(agent, HR_PROCESSOR)  # empty in containers without hrDeviceTable CPUs
    storage = _walk_columns(agent, HR_STORAGE)
    hr = host_resources_samples(processor, storage, T0)
    ucd = ucd_samples(_get(agent, [*UCD_LOAD.values(), *UCD_MEMORY.values()]), T0)

    hr_values = {(s.name, s.labels.get("mountpoint", "")): s.value for s in hr}
    ucd_values = {s.name: s.value for s in ucd}
    assert ("filesystem_size_bytes", "/") in hr_values
    assert hr_values["memory_total_bytes", ""] == ucd_values["memory_total_bytes"]
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total_kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        assert ucd_values["memory_total_bytes"] == total_kib * 1024
    assert {"system_load1", "system_load5", "system_load15", "swap_total_bytes", "swap_used_bytes"} <= set(ucd_values)
    assert len(processor["load"]) == len([s for s in hr if s.name == "cpu_core_utilisation_ratio"])
    for sample in hr + ucd:
        assert math.isfinite(sample.value)
        if sample.name.endswith("_ratio"):
            assert 0.0 <= sample.value <= 1.0, sample
