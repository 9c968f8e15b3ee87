"""Counter readings to per-second rates, with counter resets, wraps, reboots and discontinuities.

Collectors read monotonically increasing counters (octets, errors, packets) and publish rates.
`CounterRates` keeps the last reading per key and turns each new reading into a rate, as
Prometheus' `rate()` would between two adjacent samples. The rules, in the order applied:

1. the first reading of a key gives no rate (`None`);
2. a reboot gives no rate, the state restarts from the new reading and `resets` goes up by one.
   A reboot is a device uptime (SNMP sysUpTime, in seconds) lower than the one of the last
   reading of the key, unless it is the TimeTicks wrap (see `is_uptime_wrap`);
3. zero or negative elapsed time gives no rate, and the state restarts from the new reading
   (a duplicate reading or a clock that stepped back must not stall the key forever);
4. a value lower than the last one is a counter reset (device reboot, driver reload): no rate,
   the state restarts from the new reading and `resets` goes up by one;
   unless the caller says the counter wraps (`wrap=2**32` for SNMP Counter32, `2**64` for
   Counter64) and the wrapped delta is plausible (less than half the counter range): then the
   wrapped delta gives the rate and `wraps` goes up by one;
5. a rate above the caller's `max_rate` (e.g. the interface speed for octet counters) is a
   discontinuity (a reset that looked like a wrap, a counter that jumped): no rate, the state
   restarts from the new reading and `discontinuities` goes up by one; such a reading is not
   counted in `wraps`.

Each reading that gives no rate after the first counts in at most one of `resets` and
`discontinuities`; rule 3 counts in neither.

Counter values are subtracted as given: pass SNMP Counter32/Counter64 values as Python ints and
the delta is exact at any magnitude (a float holds only 53 bits, so near 2**64 it loses units in
the thousands); only the final division makes a float.

Times are seconds; pass a monotonic clock reading where there is one, so wall-clock steps do not
distort rates. Nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, NamedTuple, TypeVar

__all__ = ["TIMETICKS_WRAP_SECONDS", "UPTIME_WRAP_SLACK_SECONDS", "CounterRates", "is_uptime_wrap"]

K = TypeVar("K", bound=Hashable)

TIMETICKS_WRAP_SECONDS = 2**32 / 100
"""Where SNMP TimeTicks (unsigned 32-bit hundredths of a second) wrap to 0: about 497.1 days."""

UPTIME_WRAP_SLACK_SECONDS = 60.0
"""How much more than the poller's elapsed time the device's uptime may advance across a wrap.

Covers request latency and retries between the poller's timestamp and the agent's reading.
"""


def is_uptime_wrap(last_uptime: float, uptime: float, elapsed: float) -> bool:
    """Whether an uptime that went from `last_uptime` down to `uptime` is the TimeTicks wrap.

    All in seconds; `elapsed` is the poller's time between the two readings. It is a wrap when
    the uptime, taken as wrapped once at `TIMETICKS_WRAP_SECONDS`, advanced by no more than
    `elapsed + UPTIME_WRAP_SLACK_SECONDS`: that is, the last uptime was within one poll interval
    (plus slack) of the wrap point and the new one is within one poll interval (plus slack) of 0.
    Anything else that went backwards is a reboot. A device that rebooted just before its uptime
    would have wrapped is indistinguishable from a wrap, and is taken as one.
    """
    advance = uptime + TIMETICKS_WRAP_SECONDS - last_uptime
    return uptime < last_uptime and advance <= elapsed + UPTIME_WRAP_SLACK_SECONDS


class _Reading(NamedTuple):
    value: int | float
    ts: float
    uptime: float | None


class CounterRates(Generic[K]):
    """Per-key counter state. Keys are any hashable, e.g. `("eth0", "in_octets")`.

    Not thread-safe: one instance belongs to one collector (or one target of it).
    """

    __slots__ = ("_last", "discontinuities", "resets", "wraps")

    def __init__(self) -> None:
        self._last: dict[K, _Reading] = {}
        self.resets = 0
        """How many readings were taken as counter resets or device reboots (no rate given)."""
        self.wraps = 0
        """How many readings were taken as counter wraps (rate from the wrapped delta)."""
        self.discontinuities = 0
        """How many readings gave a rate above `max_rate` (no rate given)."""

    def rate(
        self,
        key: K,
        value: int | float,
        ts: float,
        *,
        wrap: int | None = None,
        uptime: float | None = None,
        max_rate: float | None = None,
    ) -> float | None:
        """The per-second rate from the last reading of `key` to this one, or None (see module doc).

        `value` is the counter reading (an int for SNMP counters, so the delta stays exact), `ts`
        its time in seconds, `wrap` the counter's modulus (2**32 or 2**64) for counters that wrap,
        None for counters that only reset. `uptime` is the device's uptime in seconds at this
        reading (sysUpTime / 100), None where there is none. `max_rate` is the highest plausible
        rate in counter units per second (octets/s for octet counters: the interface speed in
        bits/s divided by 8); None for no limit. A saturated link can read a little above its
        speed from poll timing jitter, so the caller may add a margin.

        Raises ValueError if `max_rate` is not positive (an unknown speed of 0 must be passed as
        None), before any state changes.
        """
        if max_rate is not None and not max_rate > 0:
            raise ValueError(f"max_rate must be positive or None, got {max_rate!r}")
        last = self._last.get(key)
        self._last[key] = _Reading(value, ts, uptime)
        if last is None:
            return None
        elapsed = ts - last.ts
        if self._rebooted(last, uptime, elapsed):
            self.resets += 1
            return None
        if elapsed <= 0:
            return None
        delta = value - last.value
        wrapped = delta < 0
        if wrapped:
            # Ints on both sides: `wrap // 2` keeps the comparison exact for 2**64.
            if wrap is None or delta + wrap >= wrap // 2:
                self.resets += 1
                return None
            delta += wrap
        per_second = delta / elapsed
        if max_rate is not None and per_second > max_rate:
            self.discontinuities += 1
            return None
        if wrapped:
            self.wraps += 1
        return per_second

    @staticmethod
    def _rebooted(last: _Reading, uptime: float | None, elapsed: float) -> bool:
        """Whether the device's uptime went backwards by more than the TimeTicks wrap."""
        if uptime is None or last.uptime is None or uptime >= last.uptime:
            return False
        return not is_uptime_wrap(last.uptime, uptime, elapsed)

    def forget(self, keys: Iterable[K]) -> None:
        """Drop the state of `keys` (vanished interfaces, disks); unknown keys are ignored."""
        for key in keys:
            self._last.pop(key, None)

    def retain(self, keys: Iterable[K]) -> None:
        """Keep the state of `keys` only; drop every other key."""
        keep = set(keys)
        for key in [k for k in self._last if k not in keep]:
            del self._last[key]

    def __contains__(self, key: object) -> bool:
        return key in self._last

    def __len__(self) -> int:
        return len(self._last)
