"""Prometheus durations: `15s`, `1h30m`, `500ms`, `2y`, read to seconds and written back.

A duration is one or more `<integer><unit>` parts with the units in descending order, each unit at
most once: `y` (365 days), `w`, `d`, `h`, `m`, `s`, `ms`. The bare string `0` means zero, as in
Prometheus.
"""

from __future__ import annotations

import math
import re

__all__ = ["format_duration", "parse_duration"]

_UNITS: tuple[tuple[str, int], ...] = (
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
)
"""Unit name and its length in milliseconds, largest first."""

_DURATION_RE = re.compile("".join(rf"(?:(?P<{name}>[0-9]+){name})?" for name, _ in _UNITS))


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration string. Raises ValueError(`"<text>" is not a duration`)."""
    if text == "0":
        return 0.0
    match = _DURATION_RE.fullmatch(text) if text else None
    if match is None or not any(match.groupdict().values()):
        raise ValueError(f'"{text}" is not a duration')
    millis = sum(int(match[name]) * size for name, size in _UNITS if match[name] is not None)
    return millis / 1000


def format_duration(seconds: float) -> str:
    """The shortest duration string for `seconds`, rounded to the millisecond.

    `parse_duration(format_duration(s)) == s` for every whole number of milliseconds. Among forms of
    equal length the one with larger units wins (`1w`, not `7d`); zero is `0s`. Raises ValueError
    for negative, infinite or NaN input.
    """
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{seconds} seconds cannot be written as a duration")
    millis = round(seconds * 1000)
    if millis == 0:
        return "0s"
    return _shortest(millis, 0)


def _shortest(millis: int, first_unit: int) -> str:
    """The shortest spelling of `millis` (> 0) using units from `_UNITS[first_unit:]`.

    At each unit it tries skipping the unit, taking as many as fit, and one fewer than that: a count
    between those only moves a remainder onto smaller units and never gives a shorter string (the
    tests compare this against an exhaustive search).
    """
    name, size = _UNITS[first_unit]
    if first_unit == len(_UNITS) - 1:
        return f"{millis}{name}"
    best = ""
    most = millis // size
    for count in dict.fromkeys((most, most - 1, 0)):
        if count < 0:
            continue
        rest = millis - count * size
        head = f"{count}{name}" if count else ""
        candidate = head + (_shortest(rest, first_unit + 1) if rest else "")
        if candidate and (not best or len(candidate) < len(best)):
            best = candidate
    return best
