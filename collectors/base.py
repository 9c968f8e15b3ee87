"""The collector contract: one protocol, one error type, one explicit registry of kinds.

A collector turns one target into samples. It never writes health metrics: the scheduler does
(`up`, `collect_duration_seconds`, `collect_samples`, the error text and its cause).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from model import Clock, Sample, Target

if TYPE_CHECKING:  # collectors.snmp_client imports this module: import it lazily at run time
    from collectors.probes.icmp import IcmpProvider
    from collectors.snmp_client import SnmpClient

__all__ = [
    "CollectError",
    "Collector",
    "CollectorDeps",
    "CollectorFactory",
    "CollectorRegistry",
    "MetricMetadata",
    "SnmpClientProvider",
]

log = logging.getLogger(__name__)


class CollectError(Exception):
    """A collection failed. The message is what the user sees; raise it `from` the cause.

    `samples` (metric-specific labels only, as `collect()` returns them) are still stored with the
    target down: a failed probe's `probe_success 0` and its details."""

    def __init__(self, message: str, *, cause: str = "error", samples: tuple[Sample, ...] = ()) -> None:
        super().__init__(message)
        self.cause = cause
        """A short machine-readable cause: timeout, refused, auth, malformed, error ..."""
        self.samples = samples
        """What the failed collection still measured; the target's labels are added by the runner."""


class Collector(Protocol):
    """Collects one target. Returned samples carry only metric-specific labels; the scheduler adds
    the target's labels. Raises `CollectError` on failure."""

    async def collect(self, target: Target) -> list[Sample]: ...


class SnmpClientProvider:
    """The one `SnmpClient` every SNMP target of a process shares, created on first use.

    pysnmp's engine binds to the loop it was created in, so the client is made inside the running
    loop by `client()`, and made again (the old one closed) when called from another loop.
    Creating a provider costs nothing: no engine, no socket until the first `client()`.
    """

    def __init__(self, *, max_concurrency: int = 32) -> None:
        self.max_concurrency = max_concurrency
        """Requests in flight at once over all SNMP targets (more wait their turn)."""
        self._client: SnmpClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def client(self) -> SnmpClient:
        """The shared client of the running loop. Raises RuntimeError outside a running loop."""
        from collectors.snmp_client import SnmpClient

        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self.close()
            self._client = SnmpClient(max_concurrency=self.max_concurrency)
            self._loop = loop
        return self._client

    def close(self) -> None:
        """Close the client, if any; the next `client()` makes a new one. Call it on the client's
        loop (a client of a loop that is already closed is dropped: its sockets went with the loop)."""
        client, self._client, self._loop = self._client, None, None
        if client is None:
            return
        try:
            client.close()
        except RuntimeError as error:  # "Event loop is closed": nothing left to release
            log.debug("dropping the SNMP client of a closed loop: %s", error)


class MetricMetadata:
    """Type and help text of metric families as exporters declare them, shared by every collector
    that learns them (thread-safe). Keyed by family name as prometheus_client's parsers name
    families: a counter's family is its name without `_total`; histogram and summary families
    without `_bucket`, `_sum`, `_count`. Types are prometheus_client's (`counter`, `gauge`,
    `histogram`, `summary`, `info`, `stateset`, `gaugehistogram`, `unknown`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str, str]] = {}

    def update(self, entries: Mapping[str, tuple[str, str]]) -> None:
        """Add or replace `family name -> (type, help)` entries (the latest declaration wins)."""
        with self._lock:
            self._entries.update(entries)

    def get(self, name: str) -> tuple[str, str] | None:
        """(type, help) of family `name`, or None when no exporter declared it."""
        with self._lock:
            return self._entries.get(name)


def _icmp_provider() -> IcmpProvider:
    from collectors.probes.icmp import IcmpProvider  # the probes import this module: import it lazily

    return IcmpProvider()


@dataclass(frozen=True, slots=True)
class CollectorDeps:
    """What the composition root hands every collector factory."""

    clock: Clock
    snmp: SnmpClientProvider = field(default_factory=SnmpClientProvider)
    """The SNMP client shared by every SNMP target."""
    icmp: IcmpProvider = field(default_factory=_icmp_provider)
    """The ICMP pinger shared by every `ping:` target (chosen on first use)."""
    metadata: MetricMetadata = field(default_factory=MetricMetadata)
    """Metric types and help texts learnt from exporters (filled by the exporter collector)."""


CollectorFactory = Callable[[CollectorDeps], Collector]
CollectorRegistry = Mapping[str, CollectorFactory]
"""Collector kind name (as in the config, e.g. `host`) -> factory. Built in one explicit map."""
