"""The probe contract and its one caller.

A probe is an async function `(spec, address, deps) -> ProbeResult` that checks one thing (an ICMP
echo, a TCP connect, an HTTP request) and returns its details, or raises `ProbeFailed(reason,
message, details)`. It never writes `probe_success` or `probe_duration_seconds`: `ProbeCollector`,
the one caller, measures the duration, writes both, and turns a failure into a `CollectError`
whose `cause` is the probe's reason and whose samples (success 0, duration, details) are still
stored while the target shows down.

| metric | labels | unit / meaning |
|---|---|---|
| `probe_success` | - | 1 the probe succeeded, 0 it failed (the target's `up` follows it) |
| `probe_duration_seconds` | - | wall time of the whole probe (monotonic clock) |
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from collectors.base import CollectError, CollectorDeps
from model import CollectorSpec, Labels, ProbeSpec, Sample, Target

__all__ = [
    "REASONS",
    "Detail",
    "Probe",
    "ProbeCollector",
    "ProbeFailed",
    "ProbeResult",
    "detail",
    "narrow",
    "resolve",
]

REASONS = (
    "dns",
    "connect",
    "refused",
    "tls",
    "http",
    "redirects",
    "http_status",
    "body_match",
    "expect",
    "loss",
    "icmp_unavailable",
    "timeout",
)
"""Every failure reason a probe reports (the target's `cause`), each for one kind of failure."""

S = TypeVar("S", bound=ProbeSpec)


class Detail(NamedTuple):
    """One detail sample of a probe, without its time: the caller stamps every sample of a run
    with the run's start time."""

    name: str
    labels: Labels
    value: float


def detail(name: str, value: float, **labels: str) -> Detail:
    return Detail(name, Labels(labels), value)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """A successful probe's details (`probe_loss_ratio`, `probe_http_status_code`, ...)."""

    details: tuple[Detail, ...] = ()


class ProbeFailed(Exception):
    """A probe failed. `reason` is one of `REASONS`; `message` is what the user sees; `details`
    are what was measured before the failure (`probe_loss_ratio 1`, a 503 status code ...)."""

    def __init__(self, reason: str, message: str, details: tuple[Detail, ...] = ()) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.details = details


Probe = Callable[[ProbeSpec, str, CollectorDeps], Awaitable[ProbeResult]]
"""(the target's probe spec, the device's address, the collector deps) -> details; raises ProbeFailed."""


def narrow(spec: CollectorSpec, kind: type[S]) -> S:
    """`spec` as the probe's own spec type; TypeError when a target was given the wrong probe."""
    if not isinstance(spec, kind):
        raise TypeError(f"expected a {kind.__name__}, got {type(spec).__name__}")
    return spec


async def resolve(host: str) -> str:
    """The first IPv4 (else IPv6) address of `host`; an IP address is returned as it is.
    Raises ProbeFailed("dns") when the name does not resolve."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return host
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as error:
        raise ProbeFailed("dns", f"cannot resolve {host}: {error}") from error
    addresses = sorted(infos, key=lambda info: info[0] != socket.AF_INET)
    if not addresses:
        raise ProbeFailed("dns", f"cannot resolve {host}: no addresses")
    return str(addresses[0][4][0])


class ProbeCollector:
    """Runs one probe for a target and writes `probe_success` and `probe_duration_seconds`.

    The probe gets `spec.probe_timeout` seconds (shorter than the scheduler's deadline, so a slow
    probe ends as a failure with reason `timeout` and its samples kept). All samples of one run
    share its start time. A failure raises `CollectError(message, cause=reason, samples=...)`.
    """

    def __init__(self, *, probe: Probe, deps: CollectorDeps) -> None:
        self._probe = probe
        self._deps = deps

    async def collect(self, target: Target) -> list[Sample]:
        spec = narrow(target.spec, ProbeSpec)
        clock = self._deps.clock
        ts = clock.now()
        started = clock.monotonic()
        failure: ProbeFailed | None = None
        details: tuple[Detail, ...] = ()
        deadline = asyncio.timeout(spec.probe_timeout)
        try:
            async with deadline:
                details = (await self._probe(spec, target.device.address, self._deps)).details
        except ProbeFailed as failed:
            failure, details = failed, failed.details
        except TimeoutError:
            if not deadline.expired():
                raise
            failure = ProbeFailed("timeout", f"no answer within {spec.probe_timeout:g}s")
        duration = clock.monotonic() - started
        samples = [
            Sample("probe_success", _NO_LABELS, 0.0 if failure else 1.0, ts),
            Sample("probe_duration_seconds", _NO_LABELS, duration, ts),
            *(Sample(d.name, d.labels, d.value, ts) for d in details),
        ]
        if failure is not None:
            raise CollectError(failure.message, cause=failure.reason, samples=tuple(samples)) from failure
        return samples


_NO_LABELS = Labels()
