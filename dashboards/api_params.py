"""Parameters of the Prometheus-shaped HTTP API, parsed as Prometheus 2.42 parses them
(web/api/v1/api.go: `parseTime`, `parseDuration`, `parseTimeParam`), with its error messages.

Times are Unix seconds (a float, e.g. `1700000000.123`; the fraction is rounded to milliseconds)
or RFC 3339 with optional fractional seconds and `Z` or an offset (`2023-11-14T22:13:20.5+09:00`).
Durations are float seconds (`15`, `0.5`) or Prometheus durations (`30s`, `1m`, `1h30m`, `1d`, `1w`,
`1y`, `250ms`; units in that order, each at most once). Nothing here reads the clock.
"""

from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass

from store.query.result import ErrorType

__all__ = [
    "ApiError",
    "RangeParams",
    "go_quote",
    "invalid_param",
    "parse_duration",
    "parse_time",
    "parse_time_param",
    "range_params",
]

NS_PER_SECOND = 1_000_000_000

# Go's strconv.ParseFloat: no surrounding spaces, no underscores without a base prefix.
_FLOAT_RE = re.compile(r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|(?i:inf|infinity|nan))$")
_RFC3339_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$"
)
# prometheus/common model.ParseDuration: units from the largest down, each at most once.
_DURATION_RE = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_UNIT_NS = (
    365 * 86400 * NS_PER_SECOND,
    7 * 86400 * NS_PER_SECOND,
    86400 * NS_PER_SECOND,
    3600 * NS_PER_SECOND,
    60 * NS_PER_SECOND,
    NS_PER_SECOND,
    1_000_000,
)
_MAX_INT64 = 2**63 - 1
_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


class ApiError(Exception):
    """An answer of the API's error shape: Prometheus' `errorType` and `error` text."""

    def __init__(self, error_type: ErrorType, message: str) -> None:
        super().__init__(message)
        self.error_type: ErrorType = error_type
        self.message = message


def go_quote(value: str) -> str:
    """`value` quoted as Go's `%q` quotes it (Prometheus' messages do): printable characters as
    they are, quotes, backslashes and the rest escaped."""
    out = ['"']
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def invalid_param(parameter: str, message: str) -> ApiError:
    """Prometheus' `invalidParamError`: bad_data, `invalid parameter "NAME": MESSAGE`."""
    return ApiError("bad_data", f'invalid parameter "{parameter}": {message}')


def parse_time(text: str) -> float:
    """Unix seconds (millisecond resolution) of a Unix-float or RFC 3339 time.
    Raises ValueError(`cannot parse "TEXT" to a valid timestamp`)."""
    if _FLOAT_RE.match(text):
        value = float(text)
        if math.isfinite(value):
            whole = math.trunc(value)
            return whole + round((value - whole) * 1000) / 1000
    found = _RFC3339_RE.match(text)
    if found is not None:
        year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = found.groups()
        if _valid_clock(int(month), int(day), int(hour), int(minute), int(second), int(year)):
            base = calendar.timegm((int(year), int(month), int(day), int(hour), int(minute), int(second)))
            if zulu is None:
                offset = (int(off_h) * 3600 + int(off_m) * 60) * (1 if sign == "+" else -1)
                base -= offset
            millis = int((fraction or "").ljust(3, "0")[:3])  # Prometheus keeps milliseconds (truncated)
            return base + millis / 1000
    raise ValueError(f"cannot parse {go_quote(text)} to a valid timestamp")


def _valid_clock(month: int, day: int, hour: int, minute: int, second: int, year: int) -> bool:
    if not (1 <= month <= 12 and hour <= 23 and minute <= 59 and second <= 59):
        return False
    return 1 <= day <= calendar.monthrange(year, month)[1]


def parse_time_param(name: str, text: str | None, default: float) -> float:
    """Prometheus' `parseTimeParam`: `default` when absent or empty; raises ApiError
    `invalid parameter "NAME": Invalid time value for 'NAME': cannot parse ...`."""
    if not text:
        return default
    try:
        return parse_time(text)
    except ValueError as exc:
        raise invalid_param(name, f"Invalid time value for '{name}': {exc}") from None


def parse_duration(text: str) -> int:
    """Nanoseconds of a float-seconds or Prometheus duration (may be zero or negative for floats).
    Raises ValueError(`cannot parse "TEXT" to a valid duration`)."""
    if _FLOAT_RE.match(text):
        ns = float(text) * NS_PER_SECOND
        if math.isnan(ns):
            return 0  # Go's time.Duration(NaN): refused as "zero or negative" by the callers
        if abs(ns) > _MAX_INT64:
            raise ValueError(f"cannot parse {go_quote(text)} to a valid duration. It overflows int64")
        return int(ns)
    found = _DURATION_RE.match(text)
    if text and found is not None:
        total = sum(int(n) * unit for n, unit in zip(found.groups(), _UNIT_NS, strict=True) if n)
        if total <= _MAX_INT64:
            return total
    raise ValueError(f"cannot parse {go_quote(text)} to a valid duration")


@dataclass(frozen=True, slots=True)
class RangeParams:
    """A validated range query: times in seconds, `step` in seconds (> 0)."""

    start: float
    end: float
    step: float


def range_params(start: str | None, end: str | None, step: str | None, *, max_points: int) -> RangeParams:
    """Validate `start`, `end` and `step` as Prometheus' /api/v1/query_range does, in its order and
    with its messages; at most `max_points` points per series. Raises ApiError (bad_data)."""
    times: list[float] = []
    for name, text in (("start", start), ("end", end)):
        try:
            times.append(parse_time(text or ""))
        except ValueError as exc:
            raise invalid_param(name, str(exc)) from None
    first, last = times
    if last < first:
        raise invalid_param("end", "end timestamp must not be before start time")
    try:
        step_ns = parse_duration(step or "")
    except ValueError as exc:
        raise invalid_param("step", str(exc)) from None
    if step_ns <= 0:
        raise invalid_param(
            "step", "zero or negative query resolution step widths are not accepted. Try a positive integer"
        )
    span_ns = round(last * 1000 - first * 1000) * 1_000_000
    if span_ns // step_ns > max_points:
        raise ApiError(
            "bad_data",
            f"exceeded maximum resolution of {max_points:,} points per timeseries. "
            "Try decreasing the query resolution (?step=XX)",
        )
    return RangeParams(first, last, step_ns / NS_PER_SECOND)
