"""A real store and query engine in tmp_path, a fake clock, and an evaluator over them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from alerts.evaluation import RuleEvaluator
from alerts.mutedb import MuteDB
from alerts.rules import RuleGroup, load_rules
from alerts.statedb import AlertStateDB
from model import FakeClock, Labels, Sample
from store.query.engine import QueryEngine
from store.query.values import STALE_NAN
from store.tsdb import Store

T0 = 1_800_000_000.0


@dataclass
class World:
    """The store, engine and clock of one test, and a way to (re)start the evaluator."""

    store: Store
    engine: QueryEngine
    clock: FakeClock
    state_path: Path
    registry: CollectorRegistry
    evaluator: RuleEvaluator
    statedb: AlertStateDB

    def put(self, name: str, labels: dict[str, str], value: float, t: float) -> None:
        self.store.append([Sample(name, Labels(labels), value, t)])
        assert self.store.flush()

    def gone(self, name: str, labels: dict[str, str], t: float) -> None:
        """The series ends at `t` (a stale marker), so it is absent from `t` on."""
        self.put(name, labels, STALE_NAN, t)

    def restart(self) -> None:
        """A new evaluator over the same SQLite state file (what a console restart does)."""
        self.statedb.close()
        self.statedb = AlertStateDB(self.state_path)
        self.registry = CollectorRegistry()
        self.evaluator = _evaluator(self.engine, self.store, self.clock, self.registry, self.statedb)


def _evaluator(
    engine: QueryEngine, store: Store, clock: FakeClock, registry: CollectorRegistry, statedb: AlertStateDB
) -> RuleEvaluator:
    return RuleEvaluator(engine=engine, store=store, clock=clock, registry=registry, state_store=statedb)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    clock = FakeClock(T0)
    store = Store.open(tmp_path / "data", clock=clock, metrics=CollectorRegistry())
    engine = QueryEngine(store)
    registry = CollectorRegistry()
    statedb = AlertStateDB(tmp_path / "data" / "alerts.sqlite3")
    evaluator = _evaluator(engine, store, clock, registry, statedb)
    w = World(store, engine, clock, tmp_path / "data" / "alerts.sqlite3", registry, evaluator, statedb)
    yield w
    w.statedb.close()
    store.close()


def group(text: str) -> RuleGroup:
    """The one group of a rule file's text."""
    [only] = load_rules(text, source="test.yaml")
    return only


@pytest.fixture
def db(tmp_path: Path) -> Iterator[MuteDB]:
    """A MuteDB (silences, acknowledgements, maintenance, flapping) in tmp_path."""
    mutedb = MuteDB(tmp_path / "mute.sqlite3")
    yield mutedb
    mutedb.close()
