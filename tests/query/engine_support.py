"""What the engine's unit tests share: their times, a store on a fake clock, and samples in, engine out."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from model import FakeClock, Labels, Sample
from store import Store
from store.query import QueryEngine

T0 = 1_800_000_000.0  # an hour boundary; the store accepts samples from here on
T = T0 + 600  # the tests' time zero


def open_store(tmp_path: Path) -> Store:
    """A store whose clock stands an hour after T0, so samples from T0 on are accepted."""
    return Store.open(tmp_path / "data", clock=FakeClock(T0 + 3600), metrics=CollectorRegistry())


def put(store: Store, *samples: tuple[str, dict[str, str], float, float]) -> QueryEngine:
    """Append (name, labels, value, seconds after T) samples, wait for them, and query them."""
    store.append([Sample(name, Labels(labels), value, T + t) for name, labels, value, t in samples])
    assert store.flush()
    return QueryEngine(store)
