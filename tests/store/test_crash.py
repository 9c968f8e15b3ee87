"""After `kill -9` during heavy ingest the store reopens without repair (`integrity_check` ok) and has
lost at most what was in flight: every batch whose commit was reported is there, whole, and no
batch is there in part (each write transaction carries whole batches)."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from model import FakeClock
from store import Matcher, MatchOp, Store
from tests.store.crash_child import REPORT_EVERY, SERIES, STEP, T0

ROOT = Path(__file__).resolve().parents[2]
KILLS = 8


def _kill_during_ingest(data_dir: Path, after: float) -> int:
    """Run the child, SIGKILL it after `after` seconds of ingest; the last batch it reported."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.store.crash_child", str(data_dir)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    first = child.stdout.readline()  # ingest has started
    assert first.strip() == str(REPORT_EVERY - 1)
    time.sleep(after)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    reported = [first, *child.stdout.read().splitlines()]
    return int(reported[-1])


def test_kill_9_during_ingest_loses_at_most_the_batch_in_flight(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    for attempt in range(KILLS):
        data_dir = tmp_path / f"run{attempt}"
        last = _kill_during_ingest(data_dir, rng.uniform(0.2, 1.5))
        with sqlite3.connect(data_dir / "store.sqlite3") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        clock = FakeClock(start=T0 + (last + 2) * STEP)
        store = Store.open(data_dir, clock=clock, metrics=CollectorRegistry())
        try:
            refs = store.select([Matcher("__name__", MatchOp.EQ, "m")])
            data = store.read_range([r.id for r in refs], 0, 2**62)
            batches = {len(d.ts) for d in data.values()}
            assert len(refs) == SERIES
            assert len(batches) == 1, f"run {attempt}: series differ in length: a batch was kept in part"
            kept = batches.pop()
            assert kept >= last + 1, f"run {attempt}: {last + 1} batches were reported committed, found {kept}"
            first = data[refs[0].id]
            assert first.values.tolist() == [float(k * SERIES) for k in range(kept)]
            assert first.ts.tolist() == [int((T0 + k * STEP) * 1000) for k in range(kept)]
        finally:
            store.close()
