"""Collectors: the scheduler that runs them and owns target health, and one module per kind.

`COLLECTOR_KINDS` is the one explicit map from a config collector key to its factory.
"""

from collectors.base import (
    CollectError,
    Collector,
    CollectorDeps,
    CollectorFactory,
    CollectorRegistry,
    SnmpClientProvider,
)
from collectors.exporter import create_exporter_collector
from collectors.host import create_host_collector
from collectors.probes import create_http_collector, create_ping_collector, create_tcp_collector
from collectors.scheduler import SampleSink, Scheduler
from collectors.snmp import create_snmp_collector

COLLECTOR_KINDS: CollectorRegistry = {
    "host": create_host_collector,
    "snmp": create_snmp_collector,
    "exporter": create_exporter_collector,
    "ping": create_ping_collector,
    "tcp": create_tcp_collector,
    "http": create_http_collector,
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
    "SnmpClientProvider",
]
