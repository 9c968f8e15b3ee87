"""The reports side of a console: its state history, the recorder that fills it, and the one way
reports are built and outages reclassified (every reclassification also goes to the audit log).

`Reporting.open(data_dir, ...)` opens `DATA_DIR/history.sqlite3` to record (the console);
`Reporting.read(data_dir, ...)` opens it to read while a console may be recording
(`run_console.py report`). Both open `DATA_DIR/audit.sqlite3`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from alerts.maintenance import MaintenanceWindow
from alerts.model import Alert
from model import Clock, Inventory
from reports.config import AvailabilityConfig
from reports.history import CATEGORIES, HistoryDB, Reclassification
from reports.periods import Period, parse_period
from reports.recorder import RECORD_INTERVAL, Query, StateRecorder
from reports.report import AvailabilityReport, build_report
from security.audit import AUDIT_FILE, AuditLog

__all__ = ["HISTORY_FILE", "Reporting", "keep_observing"]

log = logging.getLogger(__name__)

HISTORY_FILE = "history.sqlite3"


@dataclass
class Reporting:
    config: AvailabilityConfig
    inventory: Inventory
    history: HistoryDB
    audit: AuditLog
    windows: Callable[[], list[MaintenanceWindow]]
    """The maintenance windows known now (config and API)."""

    @classmethod
    def open(
        cls,
        data_dir: Path,
        config: AvailabilityConfig | None,
        inventory: Inventory,
        windows: Callable[[], list[MaintenanceWindow]],
    ) -> Reporting:
        """To record (the console): the history opened with `HistoryDB.open`."""
        return cls(
            config or AvailabilityConfig(),
            inventory,
            HistoryDB.open(data_dir / HISTORY_FILE),
            AuditLog(data_dir / AUDIT_FILE),
            windows,
        )

    @classmethod
    def read(
        cls,
        data_dir: Path,
        config: AvailabilityConfig | None,
        inventory: Inventory,
        windows: Callable[[], list[MaintenanceWindow]],
    ) -> Reporting:
        """To read while a console may be recording (`run_console.py report`)."""
        return cls(
            config or AvailabilityConfig(),
            inventory,
            HistoryDB(data_dir / HISTORY_FILE),
            AuditLog(data_dir / AUDIT_FILE),
            windows,
        )

    def period(self, text: str) -> Period:
        """`text` as a period in the reports' time zone; ValueError names the accepted forms."""
        return parse_period(text, self.config.timezone)

    def report(self, period: Period, now: float, systems: Sequence[str] | None = None) -> AvailabilityReport:
        """Raises KeyError for a system with no SLA."""
        return build_report(self.config, self.inventory, self.history, self.windows(), period, now, systems)

    def recorder(self, query: Query, firing: Callable[[], Iterable[Alert]]) -> StateRecorder:
        return StateRecorder(self.history, query=query, firing=firing)

    def reclassify(
        self,
        system: str,
        at_time: float,
        category: str,
        reason: str,
        by: str,
        now: float,
        record: Callable[[str, str, Mapping[str, object]], None] | None = None,
    ) -> Reclassification:
        """Reclassify the outage of `system` in progress at `at_time`; ValueError for an unknown system
        or category, an empty reason or actor. The audit entry goes through `record(action, subject,
        detail)` when given (the web side's, which adds the source address and session), else straight
        to the audit log as done by `by`."""
        if all(s.system != system for s in self.config.systems):
            raise ValueError(f"system {system!r} has no SLA in the availability: section")
        if category not in CATEGORIES:
            raise ValueError(f"category must be one of {', '.join(CATEGORIES)}, not {category!r}")
        if not reason.strip():
            raise ValueError("a reason is required")
        if not by.strip():
            raise ValueError("who reclassifies (by) is required")
        change = Reclassification(system, at_time, category, reason.strip(), by.strip(), now)
        self.history.reclassify(change)
        subject = f"{system}@{at_time}"
        detail = {"system": system, "at_time": at_time, "category": category, "reason": change.reason}
        if record is not None:
            record("availability.reclassify", subject, detail)
        else:
            self.audit.record(now, change.by, "availability.reclassify", subject, detail)
        return change

    def close(self) -> None:
        self.history.close()
        self.audit.close()


def keep_observing(loop: asyncio.AbstractEventLoop, recorder: StateRecorder, clock: Clock) -> None:
    """Observe now and every `RECORD_INTERVAL` seconds on `loop` (call it on the loop's thread). A
    failure is logged and the next round comes anyway."""
    try:
        recorder.observe(clock.now())
    except Exception:
        log.exception("recording the state history failed")
    loop.call_later(RECORD_INTERVAL, keep_observing, loop, recorder, clock)
