"""Server modules for SNMP: HOST-RESOURCES-MIB (CPU load, memory, filesystems) and UCD-SNMP-MIB
(load averages, memory) as numeric OID maps of our own, and pure functions from walked values to
canonical samples (DESIGN.md). Nothing here touches the network.

HOST-RESOURCES-MIB (RFC 2790), `host_resources_samples(processor_cols, storage_cols, ts)`:
  walk `HR_PROCESSOR` (hrProcessorTable) and `HR_STORAGE` (hrStorageTable) column by column.
  `HR_STORAGE_STATIC` (type, descr, allocation units) rarely changes and may be cached by the
  collector; `HR_STORAGE_DYNAMIC` (size, used) changes every cycle.

UCD-SNMP-MIB (net-snmp agents), `ucd_samples(values, ts)`: get the scalars of `UCD_LOAD` and
  `UCD_MEMORY` (full instance OIDs, `.0` included for the memory scalars).

Values are as the SNMP client returns them: Python ints for integers, bytes for strings, str for
OIDs. A value that is missing or not a number where a number is expected drops that row (or that
metric), never the whole answer.
"""

from __future__ import annotations

from collections.abc import Mapping

from model import Labels, Sample

__all__ = [
    "HR_PROCESSOR",
    "HR_STORAGE",
    "HR_STORAGE_DYNAMIC",
    "HR_STORAGE_FIXED_DISK",
    "HR_STORAGE_NETWORK_DISK",
    "HR_STORAGE_RAM",
    "HR_STORAGE_STATIC",
    "HR_STORAGE_VIRTUAL_MEMORY",
    "UCD_LOAD",
    "UCD_MEMORY",
    "Columns",
    "host_resources_samples",
    "processor_samples",
    "storage_samples",
    "ucd_samples",
]

Columns = Mapping[str, Mapping[int, object]]
"""Column name -> {row index: value}, as the collector builds them from walks."""

# --- HOST-RESOURCES-MIB ---------------------------------------------------------------------------

HR_PROCESSOR = {"load": "1.3.6.1.2.1.25.3.3.1.2"}
"""hrProcessorLoad (Integer32 0..100: percent busy over the last minute), indexed by hrDeviceIndex."""

_HR_STORAGE_ENTRY = "1.3.6.1.2.1.25.2.3.1."  # hrStorageEntry

HR_STORAGE_STATIC = {
    "type": _HR_STORAGE_ENTRY + "2",  # hrStorageType (OID, one of the HR_STORAGE_* types)
    "descr": _HR_STORAGE_ENTRY + "3",  # hrStorageDescr (text; the mount point for file systems)
    "units": _HR_STORAGE_ENTRY + "4",  # hrStorageAllocationUnits (bytes per block)
}
"""hrStorage columns that rarely change: may be cached and refreshed every N cycles / after a reboot."""

HR_STORAGE_DYNAMIC = {
    "size": _HR_STORAGE_ENTRY + "5",  # hrStorageSize (blocks)
    "used": _HR_STORAGE_ENTRY + "6",  # hrStorageUsed (blocks)
}
"""hrStorage columns read every cycle."""

HR_STORAGE = {**HR_STORAGE_STATIC, **HR_STORAGE_DYNAMIC}
"""Every hrStorage column `storage_samples` reads."""

_HR_STORAGE_TYPES = "1.3.6.1.2.1.25.2.1."  # hrStorageTypes
HR_STORAGE_RAM = _HR_STORAGE_TYPES + "2"
HR_STORAGE_VIRTUAL_MEMORY = _HR_STORAGE_TYPES + "3"
HR_STORAGE_FIXED_DISK = _HR_STORAGE_TYPES + "4"
HR_STORAGE_NETWORK_DISK = _HR_STORAGE_TYPES + "10"
_FILESYSTEM_TYPES = frozenset({HR_STORAGE_FIXED_DISK, HR_STORAGE_NETWORK_DISK})

# --- UCD-SNMP-MIB ---------------------------------------------------------------------------------

_LA_LOAD = "1.3.6.1.4.1.2021.10.1.3."  # laLoad (DisplayString such as "0.52"), rows 1, 5, 15 minutes
UCD_LOAD = {
    "load1": _LA_LOAD + "1",
    "load5": _LA_LOAD + "2",
    "load15": _LA_LOAD + "3",
}
"""laLoad.1/.2/.3: the 1-, 5- and 15-minute load averages, as text."""

_MEMORY = "1.3.6.1.4.1.2021.4."  # memory group; every value in kB
UCD_MEMORY = {
    "total_swap": _MEMORY + "3.0",  # memTotalSwap
    "avail_swap": _MEMORY + "4.0",  # memAvailSwap
    "total_real": _MEMORY + "5.0",  # memTotalReal
    "avail_real": _MEMORY + "6.0",  # memAvailReal (free)
    "buffer": _MEMORY + "14.0",  # memBuffer
    "cached": _MEMORY + "15.0",  # memCached
}
"""UCD-SNMP-MIB memory scalars (instance OIDs), all in kB (1024 bytes)."""

_KIB = 1024
_INT32 = 2**32


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").strip("\x00").strip()
    return "" if value is None else str(value)


def _oid(value: object) -> str:
    return _text(value).lstrip(".")


def _decimal(value: object) -> float | None:
    """A number sent as text (laLoad: b"0.52"); None for anything else or a non-finite number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value)
    text = _text(value)
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number - number == 0 else None  # rejects inf and nan


def _blocks(value: object) -> int | None:
    """hrStorageSize/Used are Integer32: some agents send counts above 2**31 as negative numbers."""
    blocks = _int(value)
    if blocks is None:
        return None
    return blocks + _INT32 if blocks < 0 else blocks


def processor_samples(processor_cols: Columns, ts: float) -> list[Sample]:
    """hrProcessorLoad -> `cpu_core_utilisation_ratio{cpu="<hrDeviceIndex>"}` (load / 100, one per
    processor, by index) and `cpu_utilisation_ratio` (no labels: mean of those, 0..1). Rows whose
    load is not an integer in 0..100 are skipped; no valid row, no sample."""
    out: list[Sample] = []
    loads: list[int] = []
    for index, value in sorted(processor_cols.get("load", {}).items()):
        load = _int(value)
        if load is None or not 0 <= load <= 100:
            continue
        loads.append(load)
        out.append(Sample("cpu_core_utilisation_ratio", Labels(cpu=str(index)), load / 100, ts))
    if loads:
        out.insert(0, Sample("cpu_utilisation_ratio", Labels(), sum(loads) / len(loads) / 100, ts))
    return out


def storage_samples(storage_cols: Columns, ts: float) -> list[Sample]:
    """hrStorageTable -> memory and file-system samples; bytes = allocation units * blocks (ints).

    - hrStorageRam rows (summed when an agent lists several): `memory_total_bytes`,
      `memory_used_bytes`, `memory_utilisation_ratio` (used / total), no labels.
    - hrStorageFixedDisk and hrStorageNetworkDisk rows, by index: `filesystem_size_bytes`,
      `filesystem_used_bytes`, `filesystem_utilisation_ratio` (used / size), label `mountpoint` =
      hrStorageDescr (the first row wins when two share a description).

    Virtual memory, swap, buffers and other types are not reported. Rows with size 0, or with a
    missing or non-integer units/size/used, are skipped; negative Integer32 blocks are read as
    unsigned (agents that overflow them).
    """
    types = storage_cols.get("type", {})
    descrs = storage_cols.get("descr", {})
    units_col = storage_cols.get("units", {})
    sizes = storage_cols.get("size", {})
    useds = storage_cols.get("used", {})
    mem_total = mem_used = 0
    mem_rows = 0
    filesystems: list[Sample] = []
    seen: set[str] = set()
    for index in sorted(types):
        kind = _oid(types[index])
        if kind != HR_STORAGE_RAM and kind not in _FILESYSTEM_TYPES:
            continue
        units, size, used = _int(units_col.get(index)), _blocks(sizes.get(index)), _blocks(useds.get(index))
        if units is None or units <= 0 or size is None or size == 0 or used is None:
            continue
        size_bytes, used_bytes = units * size, units * used
        if kind == HR_STORAGE_RAM:
            mem_total += size_bytes
            mem_used += used_bytes
            mem_rows += 1
            continue
        mountpoint = _text(descrs.get(index)) or f"storage{index}"
        if mountpoint in seen:
            continue
        seen.add(mountpoint)
        labels = Labels(mountpoint=mountpoint)
        filesystems += [
            Sample("filesystem_size_bytes", labels, size_bytes, ts),
            Sample("filesystem_used_bytes", labels, used_bytes, ts),
            Sample("filesystem_utilisation_ratio", labels, used / size, ts),
        ]
    memory: list[Sample] = []
    if mem_rows:
        memory = [
            Sample("memory_total_bytes", Labels(), mem_total, ts),
            Sample("memory_used_bytes", Labels(), mem_used, ts),
            Sample("memory_utilisation_ratio", Labels(), mem_used / mem_total, ts),
        ]
    return memory + filesystems


def host_resources_samples(processor_cols: Columns, storage_cols: Columns, ts: float) -> list[Sample]:
    """The HOST-RESOURCES module: `processor_samples` then `storage_samples` (see both for the
    metrics, units and labels). `processor_cols` holds the `HR_PROCESSOR` columns by name,
    `storage_cols` the `HR_STORAGE` columns by name."""
    return processor_samples(processor_cols, ts) + storage_samples(storage_cols, ts)


def ucd_samples(values: Mapping[str, object], ts: float) -> list[Sample]:
    """The UCD-SNMP module from values by instance OID (`UCD_LOAD` and `UCD_MEMORY`), no labels:

    - `system_load1`, `system_load5`, `system_load15`: laLoad parsed from its text;
    - `memory_total_bytes` = memTotalReal * 1024;
    - `memory_available_bytes` = (memAvailReal + memBuffer + memCached) * 1024 (buffer and cached
      count as 0 when the agent omits them);
    - `memory_utilisation_ratio` = 1 - available / total, kept within 0..1;
    - `swap_total_bytes` = memTotalSwap * 1024; `swap_used_bytes` = (memTotalSwap - memAvailSwap) * 1024.

    A missing or non-numeric value drops only the metrics computed from it.
    """
    out: list[Sample] = []
    for name, oid in UCD_LOAD.items():
        load = _decimal(values.get(oid))
        if load is not None and load >= 0:
            out.append(Sample(f"system_{name}", Labels(), load, ts))

    def kib(name: str) -> int | None:
        value = _int(values.get(UCD_MEMORY[name]))
        return None if value is None or value < 0 else value

    total, avail = kib("total_real"), kib("avail_real")
    if total is not None:
        out.append(Sample("memory_total_bytes", Labels(), total * _KIB, ts))
    if avail is not None:
        available = avail + (kib("buffer") or 0) + (kib("cached") or 0)
        out.append(Sample("memory_available_bytes", Labels(), available * _KIB, ts))
        if total:
            ratio = min(1.0, max(0.0, 1 - available / total))
            out.append(Sample("memory_utilisation_ratio", Labels(), ratio, ts))
    swap_total, swap_avail = kib("total_swap"), kib("avail_swap")
    if swap_total is not None:
        out.append(Sample("swap_total_bytes", Labels(), swap_total * _KIB, ts))
        if swap_avail is not None:
            out.append(Sample("swap_used_bytes", Labels(), max(0, swap_total - swap_avail) * _KIB, ts))
    return out
