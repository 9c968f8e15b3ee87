"""The TCP probe: connect to the device's address on a port; optionally TLS, send, expect.

| metric | labels | unit / meaning |
|---|---|---|
| `probe_tls_cert_expiry_seconds` | - | with `tls`: the peer certificate's notAfter, Unix seconds |

Failure reasons: `dns` (the address does not resolve), `refused` (RST: nothing listens), `connect`
(any other socket error: unreachable, reset), `tls` (handshake or verification failed), `expect`
(the answer ended, or reached 64 KiB, without matching `expect`), `timeout` (from the caller).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl

from collectors.base import CollectorDeps
from collectors.probes.base import Detail, ProbeFailed, ProbeResult, detail, narrow, resolve
from collectors.probes.tls import client_context, peer_cert_expiry
from model import ProbeSpec, TcpProbeSpec

__all__ = ["EXPECT_READ_LIMIT", "tcp_probe"]

EXPECT_READ_LIMIT = 65_536
"""Bytes of the peer's answer searched for `expect` at most (memory per probe stays bounded)."""


async def tcp_probe(spec: ProbeSpec, address: str, deps: CollectorDeps) -> ProbeResult:
    """Connect, then TLS / send / expect as configured. Raises ProbeFailed (reasons above)."""
    tcp = narrow(spec, TcpProbeSpec)
    ip = await resolve(address)
    where = f"{ip}:{tcp.port}"
    context = client_context() if tcp.tls else None
    try:
        reader, writer = await asyncio.open_connection(
            ip, tcp.port, ssl=context, server_hostname=address if context else None
        )
    except ConnectionRefusedError as error:
        raise ProbeFailed("refused", f"connection refused by {where}") from error
    except ssl.SSLError as error:
        raise ProbeFailed("tls", f"TLS handshake with {where} failed: {error}") from error
    except OSError as error:
        raise ProbeFailed("connect", f"cannot connect to {where}: {error.strerror or error}") from error
    details: list[Detail] = []
    try:
        expiry = peer_cert_expiry(writer.get_extra_info("ssl_object")) if context else None
        if expiry is not None:
            details.append(detail("probe_tls_cert_expiry_seconds", expiry))
        if tcp.send is not None:
            writer.write(tcp.send.encode())
            await writer.drain()
        if tcp.expect is not None:
            await _expect(reader, re.compile(tcp.expect), where, tuple(details))
    except OSError as error:
        raise ProbeFailed("connect", f"connection to {where} failed: {error}", tuple(details)) from error
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    return ProbeResult(tuple(details))


async def _expect(
    reader: asyncio.StreamReader, pattern: re.Pattern[str], where: str, details: tuple[Detail, ...]
) -> None:
    received = b""
    while len(received) < EXPECT_READ_LIMIT:
        chunk = await reader.read(EXPECT_READ_LIMIT - len(received))
        if not chunk:
            break
        received += chunk
        if pattern.search(received.decode(errors="replace")):
            return
    shown = received[:80].decode(errors="replace")
    raise ProbeFailed("expect", f"the answer of {where} does not match {pattern.pattern!r} (got {shown!r})", details)
