"""Reachability probes: one module per protocol, listed in the one explicit map `PROBES`.

Every probe has the same signature (`collectors.probes.base.Probe`); `ProbeCollector`, the one
caller, writes `probe_success` and `probe_duration_seconds`. The factories below are what
`collectors.COLLECTOR_KINDS` registers for the config keys `ping`, `tcp` and `http`.
"""

from __future__ import annotations

from collections.abc import Mapping

from collectors.base import CollectorDeps
from collectors.probes.base import REASONS, Probe, ProbeCollector, ProbeFailed, ProbeResult
from collectors.probes.http import http_probe
from collectors.probes.icmp import IcmpProvider, check_icmp_available, ping_probe
from collectors.probes.tcp import tcp_probe

__all__ = [
    "PROBES",
    "REASONS",
    "IcmpProvider",
    "Probe",
    "ProbeCollector",
    "ProbeFailed",
    "ProbeResult",
    "check_icmp_available",
    "create_http_collector",
    "create_ping_collector",
    "create_tcp_collector",
]

PROBES: Mapping[str, Probe] = {
    "ping": ping_probe,
    "tcp": tcp_probe,
    "http": http_probe,
}


def create_ping_collector(deps: CollectorDeps) -> ProbeCollector:
    return ProbeCollector(probe=PROBES["ping"], deps=deps)


def create_tcp_collector(deps: CollectorDeps) -> ProbeCollector:
    return ProbeCollector(probe=PROBES["tcp"], deps=deps)


def create_http_collector(deps: CollectorDeps) -> ProbeCollector:
    return ProbeCollector(probe=PROBES["http"], deps=deps)
