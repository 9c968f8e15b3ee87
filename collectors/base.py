"""The collector contract: one protocol, one error type, one explicit registry of kinds.

A collector turns one target into samples. It never writes health metrics: the scheduler does
(`up`, `collect_duration_seconds`, `collect_samples`, the error text and its cause).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from model import Clock, Sample, Target

if TYPE_CHECKING:  # collectors.snmp_client imports this module: import it lazily at run time
    from collectors.snmp_client import SnmpClient

__all__ = [
    "CollectError",
    "Collector",
    "CollectorDeps",
    "CollectorFactory",
    "CollectorRegistry",
    "SnmpClientProvider",
]

log = logging.getLogger(__name__)


class CollectError(Exception):
    """A collection failed. The message is what the user sees; raise it `from` the cause."""

    def __init__(self, message: str, *, cause: str = "error") -> None:
        super().__init__(message)
        self.cause = cause
        """A short machine-readable cause: timeout, refused, auth, malformed, error ..."""


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


@dataclass(frozen=True, slots=True)
class CollectorDeps:
    """What the composition root hands every collector factory."""

    clock: Clock
    snmp: SnmpClientProvider = field(default_factory=SnmpClientProvider)
    """The SNMP client shared by every SNMP target."""


CollectorFactory = Callable[[CollectorDeps], Collector]
CollectorRegistry = Mapping[str, CollectorFactory]
"""Collector kind name (as in the config, e.g. `host`) -> factory. Built in one explicit map."""
