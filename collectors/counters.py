"""Counter readings to per-second rates, with counter resets and wraps.

Collectors read monotonically increasing counters (octets, errors, packets) and publish rates.
`CounterRates` keeps the last reading per key and turns each new reading into a rate, as
Prometheus' `rate()` would between two adjacent samples:

- the first reading of a key gives no rate (`None`);
- a value lower than the last one is a counter reset (device reboot, driver reload): no rate,
  the state restarts from the new reading and `resets` goes up by one;
- unless the caller says the counter wraps (`wrap=2**32` for SNMP Counter32, `2**64` for
  Counter64) and the wrapped delta is plausible (less than half the counter range): then the
  wrapped delta gives the rate and `wraps` goes up by one;
- zero or negative elapsed time gives no rate, and the state restarts from the new reading
  (a duplicate reading or a clock that stepped back must not stall the key forever).

Times are seconds; pass a monotonic clock reading where there is one, so wall-clock steps do not
distort rates.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

__all__ = ["CounterRates"]

K = TypeVar("K", bound=Hashable)


class CounterRates(Generic[K]):
    """Per-key counter state. Keys are any hashable, e.g. `("eth0", "in_octets")`.

    Not thread-safe: one instance belongs to one collector (or one target of it).
    """

    __slots__ = ("_last", "resets", "wraps")

    def __init__(self) -> None:
        self._last: dict[K, tuple[float, float]] = {}
        self.resets = 0
        """How many readings were taken as counter resets (no rate given)."""
        self.wraps = 0
        """How many readings were taken as counter wraps (rate from the wrapped delta)."""

    def rate(self, key: K, value: float, ts: float, *, wrap: int | None = None) -> float | None:
        """The per-second rate from the last reading of `key` to this one, or None (see module doc).

        `value` is the counter reading, `ts` its time in seconds, `wrap` the counter's modulus
        (2**32 or 2**64) for counters that wrap, None for counters that only reset.
        """
        last = self._last.get(key)
        self._last[key] = (value, ts)
        if last is None:
            return None
        last_value, last_ts = last
        elapsed = ts - last_ts
        if elapsed <= 0:
            return None
        delta = value - last_value
        if delta < 0:
            if wrap is not None and delta + wrap < wrap / 2:
                self.wraps += 1
                delta += wrap
            else:
                self.resets += 1
                return None
        return delta / elapsed

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
