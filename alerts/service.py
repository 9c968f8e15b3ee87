"""Alerting as the running console has it: rules evaluated on their intervals, the notification
pipeline, the outbox, and their SQLite files in the data directory, started on one event loop.

    alerting = Alerting.open(groups, config.alerting, inventory, engine=..., store=..., clock=...,
                             registry=..., data_dir=...)
    alerting.start(loop)                 # from any thread
    ...                                  # alerting.pipeline answers the API
    change = await alerting.replace_rules(groups)    # on the loop: a config reload (alerts/reload.py)
    replaced = alerting.replace_windows(config.alerting.maintenance_windows)
    alerting.stop(loop, timeout=1.0)     # from another thread than the loop's
    alerting.close()

Files: `alerts.sqlite3` (alert state, alerts/statedb.py), `mutes.sqlite3` (silences,
acknowledgements, maintenance windows, flapping: alerts/mutedb.py) and `notifications.sqlite3`
(notification log and outbox: alerts/delivery.py). Without an `alerting:` section alerts are
evaluated, grouped and explained all the same, for the built-in receiver `console` that has no
integrations: nothing is sent.

A reload replaces the rule groups (a console started without rules gets its evaluator and rule
manager then, once) and the config's maintenance windows; routes, receivers and the rest of
`alerting:` take a restart (alerts/reload.py says which sections changed).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry

from alerts.acks import Acks
from alerts.alertconfig import AlertingConfig
from alerts.delivery import Delivery, build_integrations
from alerts.evaluation import QueryEngineLike, RuleEvaluator, SampleSink
from alerts.flapping import FlapDetector
from alerts.handoff import AlertmanagerHandoff
from alerts.maintenance import Maintenances, MaintenanceWindow
from alerts.manager import RuleManager
from alerts.model import Alert
from alerts.mutedb import MuteDB
from alerts.notifiers import NotifierDeps
from alerts.pipeline import Pipeline
from alerts.routing import Route
from alerts.rules import RuleGroup
from alerts.silences import Silences
from alerts.statedb import AlertStateDB
from alerts.suppression import Topology
from model import Clock, Inventory

__all__ = ["DEFAULT_RECEIVER", "Alerting", "RulesChange"]

log = logging.getLogger(__name__)

DEFAULT_RECEIVER = "console"
"""The receiver of a console without `alerting.route`: no integrations, alerts only on the API."""


@dataclass(frozen=True, slots=True)
class RulesChange:
    """What `Alerting.replace_rules` did: group and rule counts before and after, and the keys
    (`file;name`) of the groups that are gone, whose alerts left the pipeline."""

    groups_before: int
    groups_after: int
    rules_before: int
    rules_after: int
    gone: tuple[str, ...] = ()


@dataclass
class Alerting:
    """The alerting parts of one console and the tasks that run them."""

    manager: RuleManager | None
    pipeline: Pipeline
    delivery: Delivery
    state: AlertStateDB
    mutedb: MuteDB
    handoff: AlertmanagerHandoff | None = None
    """In Alertmanager mode (`alerting.alertmanager`): hands every alert to the Alertmanager peers,
    which route and notify; the pipeline then only explains (mutes for display), notifying nobody."""
    _stop: asyncio.Event | None = field(default=None, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)
    _new_manager: Callable[[Sequence[RuleGroup]], RuleManager] | None = field(default=None, init=False)
    """Builds the evaluator and the manager (set by `open`): used once, by the first reload that
    brings rules to a console opened without any (both register metrics: never built twice)."""
    _reloading: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)
    _shut: bool = field(default=False, init=False)

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
        suppression = config.topology_suppression
        topology = None
        if suppression.enabled:
            parents = {d.name: d.parents for d in inventory.devices} | {k.name: k.parents for k in inventory.links}
            topology = Topology(parents, suppression.down_alerts, devices=[d.name for d in inventory.devices])
        handoff = None
        if config.alertmanager is not None:
            handoff = AlertmanagerHandoff(config.alertmanager, clock=clock, registry=registry)
        pipeline = Pipeline(
            root=root,
            delivery=delivery,
            clock=clock,
            registry=registry,
            inhibit_rules=config.inhibition_rules(),
            time_intervals=config.intervals(),
            silences=Silences(mutedb) if handoff is None else None,  # the Alertmanager's silences rule then
            acks=Acks(mutedb),
            maintenances=maintenances,
            flaps=FlapDetector(mutedb, config.flapping),
            topology=topology,
            external_url=config.external_url,
        )

        def on_alerts(source: str, alerts: Sequence[Alert]) -> None:
            pipeline.receive(source, alerts)
            if handoff is not None:
                handoff.receive(source, alerts)

        def new_manager(first: Sequence[RuleGroup]) -> RuleManager:
            evaluator = RuleEvaluator(engine=engine, store=store, clock=clock, registry=registry, state_store=state)
            return RuleManager(evaluator=evaluator, groups=first, on_alerts=on_alerts, registry=registry)

        alerting = cls(new_manager(groups) if groups else None, pipeline, delivery, state, mutedb, handoff)
        alerting._new_manager = new_manager
        alerting.replace_windows(config.maintenance_windows)
        return alerting

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
        if self.handoff is not None:
            self._tasks.append(asyncio.create_task(self.handoff.run(self._stop), name="alerts:handoff"))

    async def replace_rules(self, groups: Sequence[RuleGroup]) -> RulesChange:
        """On the loop, after `start`: run `groups` instead of the current rule groups (see
        `RuleManager.replace`: a group whose key stays keeps its alerts and their clocks). The
        alerts of the groups that are gone leave the pipeline (no resolution is sent for them).
        Raises ValueError if two groups share a key (nothing changes then), RuntimeError after
        `shutdown` or when the manager cannot be built (an `Alerting` not made by `open`)."""
        async with self._reloading:
            if self._shut:
                raise RuntimeError("alerting is shut down: rules cannot be replaced")
            before = self.manager.groups if self.manager is not None else ()
            if self.manager is None and groups:
                if self._new_manager is None:
                    raise RuntimeError("no rule manager and nothing to build one with (use Alerting.open)")
                self.manager = self._new_manager(())
            gone = await self.manager.replace(groups) if self.manager is not None else ()
            for key in gone:
                self.pipeline.receive(key, [])
                if self.handoff is not None:
                    self.handoff.receive(key, [])
        change = RulesChange(
            groups_before=len(before),
            groups_after=len(groups),
            rules_before=sum(len(g.rules) for g in before),
            rules_after=sum(len(g.rules) for g in groups),
            gone=gone,
        )
        log.info(
            "rules replaced: %d rules in %d groups (were %d in %d); gone: %s",
            change.rules_after,
            change.groups_after,
            change.rules_before,
            change.groups_before,
            ", ".join(gone) or "none",
        )
        return change

    def replace_windows(self, windows: Sequence[MaintenanceWindow]) -> list[str]:
        """Make the config's maintenance windows exactly `windows` (API-created ones stay unless a
        config window takes their name). Returns the names of the API windows replaced, sorted.
        Raises ValueError if two of `windows` share a name, RuntimeError if the pipeline has no
        maintenance windows (an `Alerting` not made by `open`)."""
        maintenances = self.pipeline.maintenances
        if maintenances is None:
            raise RuntimeError("the pipeline has no maintenance windows")
        replaced = maintenances.sync_from_config(windows)
        for name in replaced:
            log.warning("maintenance window %s from the config replaces the one created through the API", name)
        return replaced

    async def shutdown(self) -> None:
        """On the loop: no evaluation, tick or send in progress after it returns (a send in
        flight is cut; its row stays pending and goes again after a restart)."""
        async with self._reloading:  # a reload in progress finishes first; none starts after
            self._shut = True
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
