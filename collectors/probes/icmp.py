"""The ICMP probe (`ping:`): echo requests to the device's address, loss and round-trip times.

| metric | labels | unit / meaning |
|---|---|---|
| `probe_loss_ratio` | - | lost / sent echo requests, 0..1 |
| `probe_rtt_seconds` | stat=min\\|avg\\|max | round-trip time of the answered requests (none when all are lost) |

Ways to send ICMP, chosen once per process by `IcmpProvider`: as root, `RawSocketPinger`, ONE raw
socket shared by every probe of the loop, replies matched by (address, identifier, sequence);
otherwise Debian's `fping` (it carries `cap_net_raw`), one process per probe. `IcmplibPinger`
(icmplib, `privileged=True`) can be chosen by name: it opens a raw socket per probe, and every raw
socket receives every ICMP packet of the host, so its cost grows with the square of the probes in
flight (benchmarks/probes.py: about 10 CPU-s and 10 % failed probes for 1,000 pings with 256 in
flight). Unprivileged ICMP ("ping") sockets are not used: most hosts disable them (`ping_group_range`).
When neither works the console must not start: the composition root calls `check_icmp_available()`
when any `ping:` collector is configured; a probe that still finds no way fails with reason
`icmp_unavailable`, never `loss`.

The probe succeeds when at least one request is answered. Each request waits for its answer
`packet_timeout(spec)` seconds: what the probe's timeout leaves after the gaps between requests,
shared by the requests, at most 2 s. Failure reasons: `dns`, `loss` (no answer at all),
`icmp_unavailable`, `timeout` (from the caller).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol

from collectors.base import CollectorDeps
from collectors.probes.base import Detail, ProbeFailed, ProbeResult, detail, narrow, resolve
from model import PingProbeSpec, ProbeSpec

__all__ = [
    "EchoResult",
    "FpingPinger",
    "IcmpProvider",
    "IcmplibPinger",
    "Pinger",
    "RawSocketPinger",
    "check_icmp_available",
    "packet_timeout",
    "ping_probe",
]

MAX_PACKET_TIMEOUT = 2.0
MIN_PACKET_TIMEOUT = 0.05
FPING_MIN_INTERVAL = 0.01  # fping refuses a period under 10 ms for users without root
_UNAVAILABLE = (
    "ICMP probes (ping:) need raw sockets: run the console as root, or install fping "
    "(apt-get install -y fping), which carries cap_net_raw"
)


@dataclass(frozen=True, slots=True)
class EchoResult:
    """`sent` echo requests; `rtts` (seconds) of those answered, in order."""

    sent: int
    rtts: tuple[float, ...]


class Pinger(Protocol):
    """Sends `count` echo requests to `ip`, `interval` seconds apart, each waiting `timeout` seconds."""

    name: str

    async def ping(self, ip: str, *, count: int, interval: float, timeout: float) -> EchoResult: ...


class IcmplibPinger:
    """icmplib with raw sockets (root). One socket per probe, closed at its end."""

    name = "icmplib"

    async def ping(self, ip: str, *, count: int, interval: float, timeout: float) -> EchoResult:
        import icmplib

        try:
            host = await icmplib.async_ping(ip, count=count, interval=interval, timeout=timeout, privileged=True)
        except icmplib.SocketPermissionError as error:
            raise ProbeFailed("icmp_unavailable", f"{_UNAVAILABLE} ({error})") from error
        except icmplib.ICMPLibError as error:
            raise ProbeFailed("icmp_unavailable", f"ICMP to {ip} failed: {error}") from error
        return EchoResult(host.packets_sent, tuple(rtt / 1000 for rtt in host.rtts))


_ECHO_REQUEST, _ECHO_REPLY = 8, 0
_PAYLOAD = bytes(range(56))


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _echo_request(identifier: int, sequence: int) -> bytes:
    header = struct.pack("!BBHHH", _ECHO_REQUEST, 0, 0, identifier, sequence)
    checksum = _checksum(header + _PAYLOAD)
    return struct.pack("!BBHHH", _ECHO_REQUEST, 0, checksum, identifier, sequence) + _PAYLOAD


class RawSocketPinger:
    """Echo over one raw ICMP socket (root) shared by every probe on the loop that first used it.

    Requests of one probe are sent `interval` apart without waiting for answers; each counts as
    answered when its reply arrives within `timeout` of sending it. The socket is opened on first
    use (and again on another loop); `close()` releases it.
    """

    name = "raw"

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._identifier = os.getpid() & 0xFFFF
        self._sequence = 0
        self._waiting: dict[tuple[str, int], asyncio.Future[float]] = {}

    def _socket(self) -> socket.socket:
        loop = asyncio.get_running_loop()
        if self._sock is None or self._loop is not loop:
            self.close()
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            except OSError as error:
                raise ProbeFailed("icmp_unavailable", f"{_UNAVAILABLE} (raw socket: {error.strerror})") from error
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            loop.add_reader(sock.fileno(), self._on_readable, sock)
            self._sock, self._loop = sock, loop
        return self._sock

    def close(self) -> None:
        sock, loop, self._sock, self._loop = self._sock, self._loop, None, None
        if sock is not None:
            if loop is not None and not loop.is_closed():
                loop.remove_reader(sock.fileno())
            sock.close()
        for future in self._waiting.values():
            future.cancel()
        self._waiting.clear()

    def _on_readable(self, sock: socket.socket) -> None:
        now = time.monotonic()
        while True:
            try:
                data, (source, _) = sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            header = (data[0] & 0x0F) * 4
            if len(data) < header + 8 or data[header] != _ECHO_REPLY:
                continue  # our own requests (on loopback) and other ICMP traffic
            identifier, sequence = struct.unpack_from("!HH", data, header + 4)
            future = self._waiting.pop((source, sequence), None) if identifier == self._identifier else None
            if future is not None and not future.done():
                future.set_result(now)

    async def ping(self, ip: str, *, count: int, interval: float, timeout: float) -> EchoResult:
        loop = asyncio.get_running_loop()
        sock = self._socket()
        pending: list[tuple[float, asyncio.Future[float], tuple[str, int]]] = []
        try:
            for index in range(count):
                if index:
                    await asyncio.sleep(interval)
                self._sequence = (self._sequence + 1) & 0xFFFF
                key = (ip, self._sequence)
                future: asyncio.Future[float] = loop.create_future()
                self._waiting[key] = future
                sent = time.monotonic()
                await loop.sock_sendto(sock, _echo_request(self._identifier, self._sequence), (ip, 0))
                pending.append((sent, future, key))
            last_deadline = pending[-1][0] + timeout
            await asyncio.wait([f for _, f, _ in pending], timeout=max(0.0, last_deadline - time.monotonic()))
        finally:
            for *_, key in pending:
                self._waiting.pop(key, None)
        rtts = tuple(
            f.result() - sent
            for sent, f, _ in pending
            if f.done() and not f.cancelled() and f.result() - sent <= timeout
        )
        return EchoResult(count, rtts)


class FpingPinger:
    """`fping -C COUNT -q` in a subprocess; its per-request times (ms, `-` for lost) from stderr."""

    name = "fping"

    def __init__(self, binary: str = "fping") -> None:
        self.binary = binary

    async def ping(self, ip: str, *, count: int, interval: float, timeout: float) -> EchoResult:
        period_ms = max(FPING_MIN_INTERVAL, interval) * 1000
        args = ["-C", str(count), "-q", "-p", f"{period_ms:.0f}", "-t", f"{timeout * 1000:.0f}", "-B", "1", ip]
        try:
            process = await asyncio.create_subprocess_exec(
                self.binary, *args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        except OSError as error:
            raise ProbeFailed("icmp_unavailable", f"cannot run {self.binary}: {error}") from error
        try:
            _, stderr = await process.communicate()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        return _parse_fping(ip, count, stderr.decode(errors="replace"), process.returncode)


def _parse_fping(ip: str, count: int, text: str, returncode: int | None) -> EchoResult:
    """`127.0.0.1 : 0.05 - 0.04` -> sent 3, rtts (0.00005, 0.00004)."""
    for line in text.splitlines():
        name, sep, times = line.partition(" : ")
        if sep and name.strip() == ip:
            fields = times.split()
            return EchoResult(len(fields), tuple(float(f) / 1000 for f in fields if f != "-"))
    raise ProbeFailed("icmp_unavailable", f"fping exited with {returncode} without a result: {text.strip()[-200:]}")


def _raw_sockets_work() -> str | None:
    """None when a raw ICMP socket opens here, else why not."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
    except OSError as error:
        return f"raw socket: {error.strerror or error}"
    return None


def _fping_works(binary: str) -> str | None:
    """None when `fping` answers a ping to 127.0.0.1, else why not."""
    path = shutil.which(binary)
    if path is None:
        return "fping: not installed"
    try:
        result = subprocess.run(
            [path, "-c", "1", "-q", "-t", "500", "127.0.0.1"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"fping: {error}"
    return None if result.returncode == 0 else f"fping: {result.stderr.strip() or f'exit {result.returncode}'}"


def check_icmp_available(fping: str = "fping") -> str | None:
    """None when ICMP probes can run (raw sockets as root, or `fping`); otherwise the message to
    stop the console with. Takes at most about 5 s (one fping to 127.0.0.1 when not root)."""
    raw = _raw_sockets_work() if os.geteuid() == 0 else "raw socket: not root"
    if raw is None:
        return None
    fping_problem = _fping_works(fping)
    if fping_problem is None:
        return None
    return f"{_UNAVAILABLE} ({raw}; {fping_problem})"


class IcmpProvider:
    """The ICMP pinger every `ping:` target of a process shares, and the bound on probes in flight.

    `backend` "auto" picks the shared raw socket when raw sockets open (root), else fping when it
    works, on first use (creating a provider does no I/O). Tests and benchmarks name a backend
    ("raw", "icmplib", "fping") or pass a `Pinger`.
    """

    def __init__(
        self,
        *,
        backend: Literal["auto", "raw", "icmplib", "fping"] | Pinger = "auto",
        max_concurrency: int = 256,
        fping: str = "fping",
    ) -> None:
        self.max_concurrency = max_concurrency
        self._backend = backend
        self._fping = fping
        self._pinger: Pinger | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def pinger(self) -> Pinger:
        """The chosen pinger. Raises ProbeFailed("icmp_unavailable") when "auto" finds none."""
        if self._pinger is None:
            self._pinger = self._choose()
        return self._pinger

    def _choose(self) -> Pinger:
        backend = self._backend
        if backend == "raw":
            return RawSocketPinger()
        if backend == "icmplib":
            return IcmplibPinger()
        if backend == "fping":
            return FpingPinger(self._fping)
        if not isinstance(backend, str):
            return backend
        if os.geteuid() == 0 and _raw_sockets_work() is None:
            return RawSocketPinger()
        problem = _fping_works(self._fping)
        if problem is None:
            return FpingPinger(self._fping)
        raise ProbeFailed("icmp_unavailable", f"{_UNAVAILABLE} ({problem})")

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of `max_concurrency` places (per event loop) while pinging."""
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._semaphore, self._loop = asyncio.Semaphore(self.max_concurrency), loop
        async with self._semaphore:
            yield


def packet_timeout(spec: PingProbeSpec) -> float:
    """Seconds each request waits: 90 % of the probe timeout less the gaps, shared, within 0.05..2 s."""
    left = spec.probe_timeout * 0.9 - (spec.packets - 1) * spec.packet_interval
    return min(MAX_PACKET_TIMEOUT, max(MIN_PACKET_TIMEOUT, left / spec.packets))


async def ping_probe(spec: ProbeSpec, address: str, deps: CollectorDeps) -> ProbeResult:
    """Ping the device's address. Raises ProbeFailed (reasons in the module doc)."""
    ping = narrow(spec, PingProbeSpec)
    ip = await resolve(address)
    async with deps.icmp.slot():
        echo = await deps.icmp.pinger().ping(
            ip, count=ping.packets, interval=ping.packet_interval, timeout=packet_timeout(ping)
        )
    sent = max(echo.sent, 1)
    details: list[Detail] = [detail("probe_loss_ratio", 1 - len(echo.rtts) / sent)]
    if not echo.rtts:
        raise ProbeFailed("loss", f"no answer to {echo.sent} echo requests to {ip}", tuple(details))
    rtts = echo.rtts
    details += [
        detail("probe_rtt_seconds", min(rtts), stat="min"),
        detail("probe_rtt_seconds", sum(rtts) / len(rtts), stat="avg"),
        detail("probe_rtt_seconds", max(rtts), stat="max"),
    ]
    return ProbeResult(tuple(details))
