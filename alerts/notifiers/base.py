"""What every notifier factory is given, and the factory's type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from alerts.model import Notifier
from alerts.notifiers.config import IntegrationConfig
from model import Clock

__all__ = ["NotifierDeps", "NotifierFactory", "NotifierRegistry"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifierDeps:
    """The clock (Date headers, Alertmanager `endsAt`) and, for tests, an httpx transport
    (None: the network)."""

    clock: Clock
    transport: httpx.AsyncBaseTransport | None = None


NotifierFactory = Callable[[IntegrationConfig, NotifierDeps], Notifier]
"""Builds one notifier for one integration config; raises TypeError for a config of another kind."""

NotifierRegistry = Mapping[str, NotifierFactory]
