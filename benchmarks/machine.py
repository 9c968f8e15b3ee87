"""What every benchmark report states: the machine's CPU model and when it ran."""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from pathlib import Path


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo, or the machine architecture where it is not there."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), platform.machine())


BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def append_report(text: str) -> None:
    """Append a report to docs/benchmarks.md (the record of every run worth keeping)."""
    with BENCHMARKS_MD.open("a", encoding="utf-8") as f:
        f.write(text)


def utc_stamp() -> str:
    """Now, as the report headings write it: `2026-11-27 06:48 UTC`."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def log(message: str) -> None:
    """Progress on stderr (stdout is the report)."""
    print(message, file=sys.stderr, flush=True)
