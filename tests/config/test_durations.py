"""Prometheus durations: parsing, writing back, and the shortest spelling."""

from __future__ import annotations

import functools

import pytest

from config import format_duration, parse_duration
from config.durations import _UNITS


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15s", 15.0),
        ("1h30m", 5400.0),
        ("500ms", 0.5),
        ("2y", 2 * 365 * 86400.0),
        ("1w", 7 * 86400.0),
        ("15d", 15 * 86400.0),
        ("1y2w3d4h5m6s7ms", 365 * 86400 + 14 * 86400 + 3 * 86400 + 4 * 3600 + 5 * 60 + 6 + 0.007),
        ("90m", 5400.0),
        ("1m500ms", 60.5),
        ("0s", 0.0),
        ("0", 0.0),
        ("007s", 7.0),
    ],
)
def test_duration_text_is_read_as_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "",
        "5x",
        "15",
        "1.5h",
        "-5s",
        "15 s",
        " 15s",
        "15S",
        "30m1h",
        "1h1h",
        "1s1m",
        "ms",
        "h",
        "1d 2h",
        "1e3s",
    ],
)
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="^" + f'"{text}" is not a duration' + "$"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (15, "15s"),
        (60, "1m"),
        (5400, "90m"),
        (3660, "61m"),
        (3600 + 1, "1h1s"),
        (0.5, "500ms"),
        (1.5, "1500ms"),
        (0.0004, "0s"),
        (86400, "1d"),
        (7 * 86400, "1w"),
        (14 * 86400, "2w"),
        (15 * 86400, "15d"),
        (90 * 86400, "90d"),
        (365 * 86400, "1y"),
        (2 * 365 * 86400, "2y"),
        (371 * 86400, "53w"),
    ],
)
def test_seconds_are_written_in_the_shortest_form(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [-1, float("inf"), float("nan")])
def test_negative_or_infinite_seconds_cannot_be_written(seconds: float) -> None:
    with pytest.raises(ValueError, match="cannot be written as a duration"):
        format_duration(seconds)


@pytest.mark.parametrize("seconds", [0.001, 1, 59.999, 61, 3599, 86399.5, 10**6, 123456.789, 3 * 365 * 86400 + 1])
def test_formatting_then_parsing_gives_the_same_seconds(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def test_shortest_form_matches_an_exhaustive_search() -> None:
    units = [(name, size // 1000) for name, size in _UNITS if name != "ms"]

    @functools.cache
    def shortest(rest: int, unit: int) -> int:
        if rest == 0:
            return 0
        if unit == len(units):
            return 10**9
        name, size = units[unit]
        return min(
            (len(str(count)) + len(name) if count else 0) + shortest(rest - count * size, unit + 1)
            for count in range(rest // size + 1)
        )

    for seconds in range(1, 1500):
        assert len(format_duration(seconds)) == shortest(seconds, 0), seconds
