"""Time as a parameter: a `Clock` protocol, the system clock and a fake clock for tests."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "FakeClock", "SystemClock"]


class Clock(Protocol):
    """Wall time (Unix seconds, UTC) and a monotonic time for measuring durations."""

    def now(self) -> float: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that moves only when told to; both readings advance together."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._mono = 0.0

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def set(self, now: float) -> None:
        """Move the clock to `now` (never backwards: a test that needs that is testing something else)."""
        self.advance(now - self._now)

    def advance(self, seconds: float) -> None:
        """Step the clock forward by `seconds` (must not be negative)."""
        if seconds < 0:
            raise ValueError("a clock never goes back")
        self._now += seconds
        self._mono += seconds
