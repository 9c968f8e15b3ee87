"""The one way the web console's pages read the console: a read-only facade.

Pages and their callbacks call `current()` to get the `ConsoleData` of the console serving the
request (set on the Flask app by `dashboards.app.create_dash`), and read through it only:
the inventory, the alerts with why each was or was not notified (or in brief, for aggregates),
PromQL queries through the console's engine, the console's own health, the availability reports
(reports/), the audit log (security/audit.py) and the settings a page shows (time zone, default
language). Tests give pages a fake that implements the same protocol.

Actions (acknowledge, silence) are not here: they go through `dashboards/actions.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import flask

from alerts.explain import AlertBrief, AlertView
from alerts.pipeline import Pipeline
from dashboards.http import HealthReport
from model import Clock, Inventory
from reports.report import AvailabilityReport
from reports.reporting import Reporting
from security.audit import AuditLog, AuditPage, AuditQuery, ChainBreak
from store.query.result import QueryResult

__all__ = ["DATA_KEY", "ConsoleData", "LiveData", "QueryEngineLike", "availability_systems", "current"]

DATA_KEY = "ops_console.data"
"""Where `create_dash` keeps the provider of `ConsoleData` in `flask.Flask.extensions`."""


class QueryEngineLike(Protocol):
    def instant(self, expr: str, at: float) -> QueryResult: ...

    def range(self, expr: str, start: float, end: float, step: float) -> QueryResult: ...


class ConsoleData(Protocol):
    """What a page may read. Times are Unix seconds."""

    @property
    def timezone(self) -> str:
        """The console's time zone (IANA), for times shown."""
        ...

    @property
    def language(self) -> str:
        """The console's default language ("ja" or "en")."""
        ...

    def now(self) -> float: ...

    def inventory(self) -> Inventory: ...

    def alerts(self) -> list[AlertView]: ...

    def alert_briefs(self) -> list[AlertBrief]:
        """The same alerts in brief, unsorted: for views that only count and colour them."""
        ...

    def instant(self, expr: str, at: float | None = None) -> QueryResult:
        """Raises store.query.result.QueryError for a bad or refused expression."""
        ...

    def range(self, expr: str, start: float, end: float, step: float) -> QueryResult: ...

    def health(self) -> HealthReport: ...

    def availability_systems(self) -> list[tuple[str, str]]:
        """(id, name) of every business system with an SLA, in the config's order."""
        ...

    def availability(self, period: str, systems: Sequence[str] | None = None) -> AvailabilityReport:
        """The availability report of `period` (2026-11, 2026-Q3, FY2026, 2026-04..2027-03) as of
        now. Raises ValueError for a bad period, KeyError for a system with no SLA, LookupError
        when the console keeps no reports."""
        ...

    def audit_entries(self, query: AuditQuery) -> AuditPage:
        """The audit log's entries `query` finds, newest first, and how many match in all. Raises
        LookupError when the console keeps no audit log."""
        ...

    def audit_check(self) -> ChainBreak | None:
        """The first entry that breaks the audit log's hash chain (None: intact). Reads and hashes
        every entry. Raises LookupError when the console keeps no audit log."""
        ...


@dataclass(frozen=True)
class LiveData:
    """`ConsoleData` over the running console's parts."""

    inventory_: Inventory
    engine: QueryEngineLike
    pipeline: Pipeline | None
    health_: Callable[[], HealthReport]
    clock: Clock
    timezone: str = "Asia/Tokyo"
    language: str = "ja"
    reporting: Reporting | None = None
    audit: AuditLog | None = None

    def now(self) -> float:
        return self.clock.now()

    def inventory(self) -> Inventory:
        return self.inventory_

    def alerts(self) -> list[AlertView]:
        return self.pipeline.views() if self.pipeline is not None else []

    def alert_briefs(self) -> list[AlertBrief]:
        return self.pipeline.briefs() if self.pipeline is not None else []

    def instant(self, expr: str, at: float | None = None) -> QueryResult:
        return self.engine.instant(expr, self.now() if at is None else at)

    def range(self, expr: str, start: float, end: float, step: float) -> QueryResult:
        return self.engine.range(expr, start, end, step)

    def health(self) -> HealthReport:
        return self.health_()

    def availability_systems(self) -> list[tuple[str, str]]:
        return availability_systems(self.reporting, self.inventory_)

    def availability(self, period: str, systems: Sequence[str] | None = None) -> AvailabilityReport:
        if self.reporting is None:
            raise LookupError("the console keeps no availability reports")
        return self.reporting.report(self.reporting.period(period), self.now(), systems)

    def audit_entries(self, query: AuditQuery) -> AuditPage:
        return self._audit().page(query)

    def audit_check(self) -> ChainBreak | None:
        return self._audit().check()

    def _audit(self) -> AuditLog:
        if self.audit is None:
            raise LookupError("the console keeps no audit log")
        return self.audit


def availability_systems(reporting: Reporting | None, inventory: Inventory) -> list[tuple[str, str]]:
    names = {s.id: s.name for s in inventory.systems}
    return [(sla.system, names.get(sla.system, sla.system)) for sla in reporting.config.systems] if reporting else []


def current() -> ConsoleData:
    """The facade of the console serving this request. Raises LookupError outside a request of a
    console app, or while the console is still starting."""
    provider: Callable[[], ConsoleData | None] | None = flask.current_app.extensions.get(DATA_KEY)
    data = provider() if provider is not None else None
    if data is None:
        raise LookupError("the console is not serving data (yet)")
    return data
