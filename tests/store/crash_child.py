"""Child process for the kill -9 test: ingests batches as fast as it can and prints the number of
each batch once the store has committed it. Usage: python -m tests.store.crash_child DATA_DIR"""

from __future__ import annotations

import sys
from pathlib import Path

from prometheus_client import CollectorRegistry

from model import FakeClock, Labels, Sample
from store import Store

SERIES = 200
STEP = 60.0  # one minute of simulated time per batch, so hourly blocks are written during the run
T0 = 1_800_000_000.0
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
        store.flush()
        print(k, flush=True)
        k += 1


if __name__ == "__main__":
    main()
