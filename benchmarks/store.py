"""Store benchmark: ingest, bytes per sample, head memory, and two queries, beside two references.

Run: `./scripts/setup.sh --bench && .venv/bin/python benchmarks/store.py` (about 3 minutes).
Prints the figures and appends them to docs/benchmarks.md. Every figure is measured in the same run
on the same data as the references: plain sqlite3 `executemany` into a `(series_id, ts, value)`
WITHOUT ROWID table, and DuckDB's Arrow insert into the same columns.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prometheus_client import CollectorRegistry

from benchmarks.machine import append_report, cpu_model, utc_stamp
from model import FakeClock, Labels, Sample
from store import Matcher, MatchOp, Store

STEP = 15.0
DAY = 86_400.0
START = 1_799_971_200.0  # 2027-01-15T00:00:00Z


# -- data -------------------------------------------------------------------------------------
def series_labels(n: int) -> list[tuple[str, Labels]]:
    """Realistic series: interface counters and host gauges of n/10 devices."""
    out: list[tuple[str, Labels]] = []
    kinds = [
        "interface_in_octets_total",
        "interface_out_octets_total",
        "interface_in_errors_total",
        "interface_in_packets_total",
        "cpu_utilisation_ratio",
        "memory_utilisation_ratio",
        "filesystem_utilisation_ratio",
        "memory_available_bytes",
        "probe_rtt_seconds",
        "temperature_celsius",
    ]
    for i in range(n):
        dev = i // len(kinds)
        name = kinds[i % len(kinds)]
        out.append(
            (
                name,
                Labels(
                    target=f"dev-{dev:05d}",
                    site=("dc-east", "dc-west")[dev % 2],
                    system="records",
                    role="server",
                    ifname=f"ge-0/0/{dev % 48}",
                ),
            )
        )
    return out


def value_matrix(n: int, steps: int, seed: int = 1) -> np.ndarray:
    """(steps, n) values: octet and packet counters, sparse error counters, 3-decimal ratios,
    integer byte gauges, 4-decimal round-trip times, 1-decimal temperatures."""
    rng = np.random.default_rng(seed)
    out = np.empty((steps, n))
    for j in range(n):
        k = j % 10
        if k in (0, 1):
            rate = rng.uniform(1e5, 5e7)
            out[:, j] = np.cumsum(np.maximum(0, rng.normal(rate, rate / 5, steps)).round())
        elif k == 2:
            out[:, j] = np.cumsum(rng.random(steps) < 0.02)
        elif k == 3:
            rate = rng.uniform(100, 40_000)
            out[:, j] = np.cumsum(np.maximum(0, rng.normal(rate, rate / 5, steps)).round())
        elif k in (4, 5, 6):
            walk = np.clip(rng.uniform(0.1, 0.8) + np.cumsum(rng.normal(0, 0.004, steps)), 0, 1)
            out[:, j] = walk.round(3)
        elif k == 7:
            out[:, j] = (8e9 + np.cumsum(rng.normal(0, 2e6, steps))).round(-3)
        elif k == 8:
            out[:, j] = rng.gamma(4, 0.0005, steps).round(4)
        else:
            out[:, j] = (40 + np.cumsum(rng.normal(0, 0.05, steps))).round(1)
    return out


# -- measuring helpers ------------------------------------------------------------------------
def best_of(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def last_day(steps: int) -> tuple[int, int]:
    """The queries' window: the 24 h (ms, both ends included) ending at the newest sample."""
    end_ms = int((START + (steps - 1) * STEP) * 1000)
    return end_ms - int(DAY * 1000) + 1, end_ms


def table_bytes(path: Path, prefixes: tuple[str, ...]) -> int:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    finally:
        conn.close()
    return sum(size for name, size in rows if name.startswith(prefixes))


# -- our store ---------------------------------------------------------------------------------
def run_ours(tmp: Path, names: list[tuple[str, Labels]], values: np.ndarray) -> dict[str, float]:
    steps, n = values.shape
    clock = FakeClock(start=START)
    store = Store.open(tmp / "ours", clock=clock, metrics=CollectorRegistry())
    rows = values.tolist()
    # Collectors build samples; the store's path starts at append(). Build them first, then time
    # append() through to the last commit (including block writes and rollups).
    built = [
        [Sample(name, labels, rows[k][j], START + k * STEP) for j, (name, labels) in enumerate(names)]
        for k in range(steps)
    ]
    started = time.perf_counter()
    for k, batch in enumerate(built):
        clock.set(START + k * STEP)
        store.append(batch)
    store.flush(600)
    elapsed = time.perf_counter() - started
    del built
    lat = sorted(t for t, _ in store.recent_writes)
    ids = [r.id for r in store.select([Matcher("__name__", MatchOp.RE, ".+")])]
    day_start, end_ms = last_day(steps)
    one = ids[0]
    store.read_range([one], day_start, end_ms)
    t_one = best_of(lambda: store.read_range([one], day_start, end_ms), 50)
    got = store.read_range([one], day_start, end_ms)[one]

    def avg5m() -> dict[int, np.ndarray]:
        return {sid: r.avg for sid, r in store.read_rollup(ids[:1000], "5m", day_start, end_ms).items()}

    t_avg = best_of(avg5m, 5)
    check = avg5m()
    flushed = store._head.flushed_until or 0
    store.close()
    path = tmp / "ours" / "store.sqlite3"
    block_bytes = table_bytes(path, ("raw_", "r5m_", "r1h_", "series", "sqlite_autoindex_series"))
    flushed_samples = n * int((flushed / 1000 - START) / STEP)
    return {
        "ingest": steps * n / elapsed,
        "p99_write": lat[int(len(lat) * 0.99)] if lat else 0.0,
        "writes": len(lat),
        "bytes_per_sample": block_bytes / flushed_samples,
        "file_bytes_per_sample": path.stat().st_size / (steps * n),
        "one_series_24h": t_one,
        "one_series_points": float(got.ts.size),
        "avg5m_1000x24h": t_avg,
        "avg5m_buckets": float(sum(v.size for v in check.values())),
    }


# -- references --------------------------------------------------------------------------------
def batches(values: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    steps, n = values.shape
    sids = np.arange(1, n + 1, dtype=np.int64)
    for k in range(steps):
        yield sids, np.full(n, int((START + k * STEP) * 1000), dtype=np.int64), values[k]


def run_sqlite(tmp: Path, values: np.ndarray) -> dict[str, float]:
    path = tmp / "plain.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE s (series_id INTEGER, ts INTEGER, value REAL, PRIMARY KEY (series_id, ts)) WITHOUT ROWID"
    )
    started = time.perf_counter()
    pending: list[tuple[int, int, float]] = []
    for k, (sids, ts, vals) in enumerate(batches(values)):
        pending.extend(zip(sids.tolist(), ts.tolist(), vals.tolist(), strict=True))
        if k % 10 == 9:  # one transaction per 10 scrapes, as our writer groups queued batches
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO s VALUES (?, ?, ?)", pending)
            conn.execute("COMMIT")
            pending.clear()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO s VALUES (?, ?, ?)", pending)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    steps, n = values.shape
    day_start, end_ms = last_day(steps)

    def one() -> object:
        rows = conn.execute(
            "SELECT ts, value FROM s WHERE series_id=1 AND ts BETWEEN ? AND ?", (day_start, end_ms)
        ).fetchall()
        return np.array(rows)

    def avg() -> object:
        return conn.execute(
            "SELECT series_id, ts / 300000, avg(value) FROM s WHERE series_id <= 1000 AND ts BETWEEN ? AND ?"
            " GROUP BY 1, 2",
            (day_start, end_ms),
        ).fetchall()

    t_one = best_of(one, 20)
    t_avg = best_of(avg, 2)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {
        "ingest": steps * n / elapsed,
        "bytes_per_sample": path.stat().st_size / (steps * n),
        "one_series_24h": t_one,
        "avg5m_1000x24h": t_avg,
    }


def run_duckdb(tmp: Path, values: np.ndarray) -> dict[str, float]:
    import duckdb
    import pyarrow as pa

    path = tmp / "plain.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE s (series_id BIGINT, ts BIGINT, value DOUBLE)")
    started = time.perf_counter()
    for sids, ts, vals in batches(values):
        batch = pa.table({"series_id": sids, "ts": ts, "value": vals})  # noqa: F841 (read by name)
        conn.execute("INSERT INTO s SELECT * FROM batch")
    conn.execute("CHECKPOINT")
    elapsed = time.perf_counter() - started
    steps, n = values.shape
    day_start, end_ms = last_day(steps)

    def one() -> object:
        return conn.execute(
            "SELECT ts, value FROM s WHERE series_id=1 AND ts BETWEEN ? AND ?", [day_start, end_ms]
        ).fetchnumpy()

    def avg() -> object:
        return conn.execute(
            "SELECT series_id, ts // 300000 AS b, avg(value) FROM s WHERE series_id <= 1000"
            " AND ts BETWEEN ? AND ? GROUP BY 1, 2",
            [day_start, end_ms],
        ).fetchnumpy()

    t_one = best_of(one, 20)
    t_avg = best_of(avg, 3)
    conn.close()
    size = path.stat().st_size + sum(p.stat().st_size for p in tmp.glob("plain.duckdb.wal"))
    return {
        "ingest": steps * n / elapsed,
        "bytes_per_sample": size / (steps * n),
        "one_series_24h": t_one,
        "avg5m_1000x24h": t_avg,
    }


# -- head memory (in a fresh process, so nothing else is resident) -------------------------------
def head_memory(series: int, hours: float) -> float:
    """Resident bytes per 1,000 series after `hours` of 15 s samples (the head's window is 2 h)."""
    code = f"""
import gc, sys
sys.path.insert(0, {str(ROOT)!r})
from benchmarks.store import measure_head_memory
print(measure_head_memory({series}, {hours}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure_head_memory(series: int, hours: float) -> float:
    names = series_labels(series)
    steps = int(hours * 3600 / STEP)
    rng = np.random.default_rng(3)
    with tempfile.TemporaryDirectory() as tmp:
        clock = FakeClock(start=START)
        store = Store.open(Path(tmp), clock=clock, metrics=CollectorRegistry())
        gc.collect()
        before = _rss()
        level = rng.uniform(0, 1, series).round(3)
        for k in range(steps):
            ts = START + k * STEP
            clock.set(ts)
            level = (level + rng.normal(0, 0.002, series)).round(3)
            row = level.tolist()
            store.append([Sample(name, labels, row[j], ts) for j, (name, labels) in enumerate(names)])
            store.flush(600)  # keep no batches queued: measure the head, not the queue
        store.flush(600)
        del row, level
        gc.collect()
        after = _rss()
        store.close()
    return (after - before) / series * 1000


# -- report ------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=25.0)
    parser.add_argument("--memory-series", type=int, default=10_000)
    parser.add_argument("--no-write", action="store_true", help="do not append to docs/benchmarks.md")
    args = parser.parse_args()
    steps = int(args.hours * 3600 / STEP)
    print(f"data: {args.series} series x {steps} steps of 15 s = {args.series * steps:,} samples", flush=True)
    names = series_labels(args.series)
    values = value_matrix(args.series, steps)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ours = run_ours(tmp, names, values)
        print("ours", ours, flush=True)
        plain = run_sqlite(tmp, values)
        print("sqlite", plain, flush=True)
        duck = run_duckdb(tmp, values)
        print("duckdb", duck, flush=True)
    memory = head_memory(args.memory_series, 2.5)
    print(f"head memory: {memory / 1e6:.2f} MB per 1,000 series", flush=True)
    report = render(args, ours, plain, duck, memory)
    print(report)
    if not args.no_write:
        append_report(report)


def render(
    args: argparse.Namespace,
    ours: dict[str, float],
    plain: dict[str, float],
    duck: dict[str, float],
    memory: float,
) -> str:
    import duckdb

    cpu = cpu_model()
    when = utc_stamp()

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}x" if b else "-"

    lines = [
        f"\n## Store benchmark, {when}\n",
        f"Machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, DuckDB {duckdb.__version__}, NumPy {np.__version__}.  ",
        f"Data: {args.series} series x {args.hours:g} h at 15 s (counters, sparse counters, 3-decimal ratios, "
        f"byte gauges, 4-decimal RTTs, 1-decimal temperatures). Command: `.venv/bin/python benchmarks/store.py`.\n",
        "| figure | ours | plain sqlite3 | DuckDB Arrow | ours vs sqlite | target |",
        "|---|---|---|---|---|---|",
        f"| ingest, samples/s | {ours['ingest']:,.0f} | {plain['ingest']:,.0f} | {duck['ingest']:,.0f} | "
        f"{ratio(ours['ingest'], plain['ingest'])} | >= 300,000 |",
        f"| p99 write transaction, ms | {ours['p99_write'] * 1000:.1f} | - | - | - | - |",
        f"| bytes per sample on disk (flushed blocks + rollups + index) | {ours['bytes_per_sample']:.2f} | "
        f"{plain['bytes_per_sample']:.2f} | {duck['bytes_per_sample']:.2f} | "
        f"{ratio(plain['bytes_per_sample'], ours['bytes_per_sample'])} smaller | <= 4 |",
        f"| whole file incl. unflushed head WAL, bytes per sample | {ours['file_bytes_per_sample']:.2f} | - | - | "
        "- | - |",
        f"| one series over 24 h, ms | {ours['one_series_24h'] * 1000:.2f} | {plain['one_series_24h'] * 1000:.2f} |"
        f" {duck['one_series_24h'] * 1000:.2f} | {ratio(plain['one_series_24h'], ours['one_series_24h'])} faster"
        " | <= 10 |",
        f"| 5-min average, 1,000 series x 24 h, s | {ours['avg5m_1000x24h']:.3f} | {plain['avg5m_1000x24h']:.3f} | "
        f"{duck['avg5m_1000x24h']:.3f} | {ratio(plain['avg5m_1000x24h'], ours['avg5m_1000x24h'])} faster"
        " | <= 0.5 |",
        f"| head resident memory per 1,000 active series (2.5 h at 15 s: the 2 h window of closed chunks, the open chunk half full), MB | {memory / 1e6:.2f} | - | - | - |"
        " <= 3 |",
        "",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
