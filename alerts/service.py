"""Alerting as the running console has it: rules evaluated on their intervals, the notification
pipeline, the outbox, and their SQLite files in the data directory, started on one event loop.

    alerting = Alerting.open(groups, config.alerting, inventory, engine=..., store=..., clock=...,
                             registry=..., data_dir=...)
    alerting.start(loop)                 # from any thread
    ...                                  # alerting.pipeline answers the API
    alerting.stop(loop, timeout=1.0)     # from another thread than the loop's
    alerting.close()

Files: `alerts.sqlite3` (alert state, alerts/statedb.py), `mutes.sqlite3` (silences,
acknowledgements, maintenance windows, flapping: alerts/mutedb.py) and `notifications.sqlite3`
(notification log and outbox: alerts/delivery.py). Without an `alerting:` section alerts are
evaluated, grouped and explained all the same, for the built-in receiver `console` that has no
integrations: nothing is sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry

from alerts.acks import Acks
from alerts.alertconfig import AlertingConfig
from alerts.delivery import Delivery, build_integrations
from alerts.evaluation import QueryEngineLike, RuleEvaluator, SampleSink
from alerts.flapping import FlapDetector
from alerts.maintenance import Maintenances
from alerts.manager import RuleManager
from alerts.mutedb import MuteDB
from alerts.notifiers import NotifierDeps
from alerts.pipeline import Pipeline
from alerts.routing import Route
from alerts.rules import RuleGroup
from alerts.silences import Silences
from alerts.statedb import AlertStateDB
from alerts.suppression import Topology
from model import Clock, Inventory

__all__ = ["DEFAULT_RECEIVER", "Alerting"]

log = logging.getLogger(__name__)

DEFAULT_RECEIVER = "console"
"""The receiver of a console without `alerting.route`: no integrations, alerts only on the API."""


@dataclass
class Alerting:
    """The alerting parts of one console and the tasks that run them."""

    manager: RuleManager | None
    pipeline: Pipeline
    delivery: Delivery
    state: AlertStateDB
    mutedb: MuteDB
    _stop: asyncio.Event | None = field(default=None, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)

    @classmethod
    def open(
        cls,
        groups: Sequence[RuleGroup],
        config: AlertingConfig | None,
        inventory: Inventory,
        *,
        engine: QueryEngineLike,
        store: SampleSink,
        clock: Clock,
        registry: CollectorRegistry,
        data_dir: Path,
    ) -> Alerting:
        """Open the files and build every part (nothing runs until `start`)."""
        config = config or AlertingConfig()
        state = AlertStateDB(data_dir / "alerts.sqlite3")
        mutedb = MuteDB(data_dir / "mutes.sqlite3")
        receivers = build_integrations(config.receivers, NotifierDeps(clock=clock))
        root = config.root_route() if config.route is not None else Route(receiver=DEFAULT_RECEIVER)
        receivers.setdefault(DEFAULT_RECEIVER, [])
        delivery = Delivery(data_dir / "notifications.sqlite3", receivers=receivers, clock=clock, registry=registry)
        maintenances = Maintenances(mutedb)
        replaced = maintenances.sync_from_config(config.maintenance_windows)
        for name in replaced:
            log.warning("maintenance window %s from the config replaces the one created through the API", name)
        suppression = config.topology_suppression
        topology = None
        if suppression.enabled:
            parents = {d.name: d.parents for d in inventory.devices} | {k.name: k.parents for k in inventory.links}
            topology = Topology(parents, suppression.down_alerts, devices=[d.name for d in inventory.devices])
        pipeline = Pipeline(
            root=root,
            delivery=delivery,
            clock=clock,
            registry=registry,
            inhibit_rules=config.inhibition_rules(),
            time_intervals=config.intervals(),
            silences=Silences(mutedb),
            acks=Acks(mutedb),
            maintenances=maintenances,
            flaps=FlapDetector(mutedb, config.flapping),
            topology=topology,
            external_url=config.external_url,
        )
        manager = None
        if groups:
            evaluator = RuleEvaluator(engine=engine, store=store, clock=clock, registry=registry, state_store=state)
            manager = RuleManager(evaluator=evaluator, groups=groups, on_alerts=pipeline.receive, registry=registry)
        return cls(manager, pipeline, delivery, state, mutedb)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the rule groups, the pipeline's ticks and the outbox's sender on `loop`."""
        asyncio.run_coroutine_threadsafe(self._spawn(), loop).result(5.0)
        if self.manager is not None:
            self.manager.start(loop)

    async def _spawn(self) -> None:
        self._stop = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self.pipeline.run(self._stop), name="alerts:pipeline"),
            asyncio.create_task(self.delivery.run(self._stop), name="alerts:delivery"),
        ]

    async def shutdown(self) -> None:
        """On the loop: no evaluation, tick or send in progress after it returns (a send in
        flight is cut; its row stays pending and goes again after a restart)."""
        if self.manager is not None:
            await self.manager.shutdown()
        if self._stop is not None:
            self._stop.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def stop(self, loop: asyncio.AbstractEventLoop, timeout: float = 1.0) -> None:
        """`shutdown` from another thread than the loop's."""
        asyncio.run_coroutine_threadsafe(self.shutdown(), loop).result(timeout)

    def close(self) -> None:
        self.delivery.close()
        self.mutedb.close()
        self.state.close()
