"""Collectors: the scheduler that runs them and owns target health, and one module per kind.

`COLLECTOR_KINDS` is the one explicit map from a config collector key to its factory.
"""

from collectors.base import CollectError, Collector, CollectorDeps, CollectorFactory, CollectorRegistry
from collectors.host import create_host_collector
from collectors.scheduler import SampleSink, Scheduler

COLLECTOR_KINDS: CollectorRegistry = {
    "host": create_host_collector,
}

__all__ = [
    "COLLECTOR_KINDS",
    "CollectError",
    "Collector",
    "CollectorDeps",
    "CollectorFactory",
    "CollectorRegistry",
    "SampleSink",
    "Scheduler",
]
