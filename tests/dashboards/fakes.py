"""A fake `ConsoleData` for page, view and callback tests: a small inventory, alerts given by the
test, queries answered by a real query engine over a real store in tmp_path (or not at all)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from alerts.explain import AlertBrief, AlertView
from dashboards.http import ComponentHealth, HealthReport
from dashboards.queries import availability_systems
from model import Inventory
from reports.report import AvailabilityReport
from reports.reporting import Reporting
from security.audit import AuditEntry, AuditPage, AuditQuery, ChainBreak
from store.query.result import QueryError, QueryResult

T0 = 1_800_000_000.0


@dataclass
class FakeData:
    """`ConsoleData` with everything set by the test."""

    inventory_: Inventory = field(default_factory=Inventory)
    alerts_: list[AlertView] = field(default_factory=list)
    answers: dict[str, QueryResult] = field(default_factory=dict)
    """Instant and range queries by expression (a missing one raises QueryError)."""
    health_: HealthReport = field(
        default_factory=lambda: HealthReport(components={"store": ComponentHealth(ok=True, detail="")})
    )
    t: float = T0
    timezone: str = "Asia/Tokyo"
    language: str = "ja"
    calls: list[str] = field(default_factory=list)
    on_query: Callable[[str], None] | None = None
    reporting: Reporting | None = None
    """Availability reports over a real history (reports/reporting.py), when the test gives one."""
    audit_log: list[AuditEntry] = field(default_factory=list)
    """The audit log's entries (searched with `AuditQuery.matches`, as the log's SQL searches)."""
    audit_break: ChainBreak | None = None
    """What `audit_check` says (None: the chain is intact)."""

    def now(self) -> float:
        return self.t

    def inventory(self) -> Inventory:
        return self.inventory_

    def alerts(self) -> list[AlertView]:
        return list(self.alerts_)

    def alert_briefs(self) -> list[AlertBrief]:
        return [AlertBrief.of(v, self.t) for v in self.alerts_]

    def instant(self, expr: str, at: float | None = None) -> QueryResult:
        return self._answer(expr)

    def range(self, expr: str, start: float, end: float, step: float) -> QueryResult:
        return self._answer(expr)

    def health(self) -> HealthReport:
        return self.health_

    def availability_systems(self) -> list[tuple[str, str]]:
        return availability_systems(self.reporting, self.inventory_)

    def availability(self, period: str, systems: Sequence[str] | None = None) -> AvailabilityReport:
        if self.reporting is None:
            raise LookupError("no reports in this test")
        return self.reporting.report(self.reporting.period(period), self.t, systems)

    def audit_entries(self, query: AuditQuery) -> AuditPage:
        found = sorted((e for e in self.audit_log if query.matches(e)), key=lambda e: e.id, reverse=True)
        return AuditPage(tuple(found[: query.limit]), len(found))

    def audit_check(self) -> ChainBreak | None:
        return self.audit_break

    def _answer(self, expr: str) -> QueryResult:
        self.calls.append(expr)
        if expr not in self.answers:
            raise QueryError(f"no answer for {expr} in this test")
        return self.answers[expr]
