"""The collector contract: one protocol, one error type, one explicit registry of kinds.

A collector turns one target into samples. It never writes health metrics: the scheduler does
(`up`, `collect_duration_seconds`, `collect_samples`, the error text and its cause).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from model import Clock, Sample, Target

__all__ = ["CollectError", "Collector", "CollectorDeps", "CollectorFactory", "CollectorRegistry"]


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


@dataclass(frozen=True, slots=True)
class CollectorDeps:
    """What the composition root hands every collector factory."""

    clock: Clock


CollectorFactory = Callable[[CollectorDeps], Collector]
CollectorRegistry = Mapping[str, CollectorFactory]
"""Collector kind name (as in the config, e.g. `host`) -> factory. Built in one explicit map."""
