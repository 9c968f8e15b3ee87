"""Child process for the kill -9 test: appends batches as fast as it can (several are queued and
committed together) and, every few batches, waits for the commit and prints the number of the last
batch committed. Usage: python -m tests.store.crash_child DATA_DIR"""

from __future__ import annotations

import sys
from pathlib import Path

from prometheus_client import CollectorRegistry

from model import FakeClock, Labels, Sample
from store import Store

SERIES = 200
STEP = 60.0  # one minute of simulated time per batch, so hourly blocks are written during the run
T0 = 1_800_000_000.0
REPORT_EVERY = 8
LABELS = [Labels(target=f"dev-{i:03d}", ifname="eth0") for i in range(SERIES)]


def batch(k: int) -> list[Sample]:
    ts = T0 + k * STEP
    return [Sample("m", labels, float(k * SERIES + i), ts) for i, labels in enumerate(LABELS)]


def main() -> None:
    clock = FakeClock(start=T0)
    store = Store.open(Path(sys.argv[1]), clock=clock, metrics=CollectorRegistry())
    k = 0
    while True:
        clock.advance(STEP)
        store.append(batch(k))
        if k % REPORT_EVERY == REPORT_EVERY - 1:
            assert store.flush()
            print(k, flush=True)
        k += 1


if __name__ == "__main__":
    main()
