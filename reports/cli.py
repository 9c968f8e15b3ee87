"""`run_console.py report availability`: a report of the recorded history, written to a file.

    python run_console.py report availability --period FY2026 [--system records ...]
        [--format pdf|csv|outages-csv|json] [--lang ja|en] [--out FILE] [--config FILE] [--data-dir DIR]

It reads `DATA_DIR/history.sqlite3` (the console may be running and recording meanwhile) and the
maintenance windows of the config and of `DATA_DIR/mutes.sqlite3` (those created through the API).
`--out -` (the default for csv and json) writes to standard output. Exit status 0, or 2 with the
problem on standard error (an unknown system, a bad period, no history).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

from alerts.maintenance import Maintenances, MaintenanceWindow
from alerts.mutedb import MuteDB
from model import Inventory
from reports.calendars import Language
from reports.config import AvailabilityConfig
from reports.report import export_file
from reports.reporting import HISTORY_FILE, Reporting

__all__ = ["report_availability"]


def report_availability(
    availability: AvailabilityConfig | None,
    inventory: Inventory,
    config_windows: Sequence[MaintenanceWindow],
    data_dir: Path,
    *,
    period: str,
    systems: Sequence[str],
    fmt: str,
    lang: Language,
    out: str | None,
    now: float,
    stdout: BinaryIO,
    err: TextIO,
) -> int:
    if availability is None or not availability.systems:
        err.write("the config has no availability: section (SLA targets and service trees per system)\n")
        return 2
    if not (data_dir / HISTORY_FILE).exists():
        err.write(f"{data_dir} holds no state history ({HISTORY_FILE}): has the console run with this data dir?\n")
        return 2
    windows = {w.name: w for w in config_windows}
    mutes = data_dir / "mutes.sqlite3"
    if mutes.exists():
        db = MuteDB(mutes)
        try:
            windows |= {r.window.name: r.window for r in Maintenances(db).list()}
        finally:
            db.close()
    reporting = Reporting.read(data_dir, availability, inventory, lambda: list(windows.values()))
    try:
        try:
            chosen = reporting.period(period)
        except ValueError as e:
            err.write(f"--period: {e}\n")
            return 2
        unknown = [s for s in systems if all(sla.system != s for sla in availability.systems)]
        if unknown:
            known = ", ".join(sla.system for sla in availability.systems)
            err.write(f"--system: no SLA for {', '.join(unknown)} (the availability: section has {known})\n")
            return 2
        report = reporting.report(chosen, now, systems or None)
        body, _, name = export_file(report, fmt, lang, availability.timezone)
    finally:
        reporting.close()
    if out in (None, "-") and fmt != "pdf":
        stdout.write(body)
        stdout.flush()
        return 0
    target = Path(out) if out not in (None, "-") else Path(name)
    target.write_bytes(body)
    err.write(f"wrote {target} ({len(body):,} bytes)\n")
    return 0
