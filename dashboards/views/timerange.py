"""The time range picker of the device, link and explore pages: 1 h, 6 h, 24 h, 7 d, 30 d.

`time_range(key, now)` gives the range's start, end and step (seconds) so that a range query
never asks more than `MAX_POINTS` points per series; the end is `now` rounded down to the step, so
the grid of a range is the same for every request within one step. `over(tr, func, selector)`
writes a selector so that long ranges are answered from the store's 5-minute rollups: from a step
of 5 minutes up (steps are then whole multiples of 5 minutes), the selector is averaged (or
min/max'ed) over each step with `<func>_over_time`, which the engine answers from rollups where raw
samples have aged out; shorter steps read the raw samples.
"""

from __future__ import annotations

from dataclasses import dataclass

from dashboards.i18n import t

__all__ = [
    "DEFAULT_RANGE",
    "MAX_POINTS",
    "RANGES",
    "ROLLUP_STEP",
    "TimeRange",
    "over",
    "range_key",
    "range_options",
    "time_range",
]

RANGES: dict[str, float] = {"1h": 3600.0, "6h": 6 * 3600.0, "24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0}
"""Picker key -> span in seconds, in the picker's order."""
DEFAULT_RANGE = "1h"
MAX_POINTS = 300
ROLLUP_STEP = 300.0
"""The store's rollup bucket (5 minutes): steps from this up read `<func>_over_time` windows."""
_STEPS = (15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0, 43200.0, 86400.0)
"""Steps a range may use: the smallest that keeps a span within MAX_POINTS is taken."""


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A picked range: `key` ("6h"), Unix seconds `start` and `end`, `step` seconds."""

    key: str
    start: float
    end: float
    step: float

    @property
    def points(self) -> int:
        """Points per series of a range query over this range."""
        return int((self.end - self.start) // self.step) + 1

    def grid(self) -> tuple[float, ...]:
        """The evaluation times of a range query: start, start + step, ... end."""
        return tuple(self.start + i * self.step for i in range(self.points))


def range_key(choice: object) -> str:
    """The picker key `choice` if it is one, else the default (a URL may say anything)."""
    return choice if isinstance(choice, str) and choice in RANGES else DEFAULT_RANGE


def time_range(key: object, now: float) -> TimeRange:
    """The range `key` (an unknown key: the default) ending at `now`, rounded down to its step."""
    picked = range_key(key)
    span = RANGES[picked]
    step = next(s for s in _STEPS if span / s <= MAX_POINTS)
    end = now // step * step
    return TimeRange(picked, end - span, end, step)


def over(tr: TimeRange, func: str, selector: str) -> str:
    """`selector` as a range query over `tr` reads it: raw for short steps, else
    `<func>_over_time(selector[<step>s])` (func: avg, min, max, last) so rollups answer old data."""
    if tr.step < ROLLUP_STEP:
        return selector
    return f"{func}_over_time({selector}[{int(tr.step)}s])"


def range_options(lang: str) -> list[dict[str, str]]:
    """The picker's options in `lang` (labels from the device catalog, `device.range.<key>`)."""
    return [{"label": t(f"device.range.{key}", lang), "value": key} for key in RANGES]
