"""A private snmpsim command responder on 127.0.0.1 for tests: simulated devices from `.snmprec` text.

`SnmpSim(tmp, {"community": snmprec_text}).start()` writes each record set to
`tmp/data/<community>.snmprec` (answered for v2c community `<community>`), starts
`snmpsim-command-responder` on a free UDP port (or the `port` given) and returns once the agent
answers a GET of sysUpTime. `stop()` terminates it; `start()` again on the same object is a device
reboot on the same port (snmpsim's `numeric` variation counts from process start, so uptime and
counters restart). `running_snmpsim(...)` does start/stop as a context manager.

Tests that use it call `require()` (through `start()`), so a machine without snmpsim skips (and CI
fails) with the install command.

.snmprec lines are `OID|TAG|VALUE` in OID order (tags: 2 Integer, 4 OctetString, 65 Counter32,
66 Gauge32, 67 TimeTicks, 70 Counter64). With `TAG:numeric` the value is the variation's settings,
e.g. `65:numeric|initial=100,rate=125000,wrap=1`: the agent answers
`initial + rate * (seconds since the responder process started)`, truncated to an integer; with
`wrap` present (any value) it wraps modulo `max` (default 2**32 - 1, 2**64 - 1 for tag 70), without
it the value sticks at `max`. `67:numeric|rate=100` is a sysUpTime that grows like a real one.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from demo.agents import stop_process
from tests.collectors.snmpd_agent import free_udp_port
from tests.helpers import require

__all__ = ["SNMPSIM_INSTALL", "SnmpSim", "running_snmpsim"]

SNMPSIM_INSTALL = ".venv/bin/pip install snmpsim pysmi"
RESPONDER = "snmpsim-command-responder"
READY_SECONDS = 10.0


class SnmpSim:
    """One snmpsim responder process serving `records` (community -> .snmprec text) on 127.0.0.1."""

    def __init__(self, tmp: Path, records: Mapping[str, str], *, port: int | None = None) -> None:
        if not records:
            raise ValueError("snmpsim needs at least one .snmprec data file")
        self.tmp = tmp
        self.records = dict(records)
        self.port = free_udp_port() if port is None else port
        self._proc: subprocess.Popen[bytes] | None = None
        self._starts = 0

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> SnmpSim:
        """Start the responder (again, after `stop()`: a reboot) and wait until it answers."""
        if self._proc is not None:
            raise RuntimeError("snmpsim is already running; stop() it first")
        responder = require(_responder(), install=SNMPSIM_INSTALL)
        data, cache = self.tmp / "data", self.tmp / "cache"
        data.mkdir(parents=True, exist_ok=True)
        cache.mkdir(parents=True, exist_ok=True)
        for community, text in self.records.items():
            (data / f"{community}.snmprec").write_text(text)
        self._starts += 1
        log = self.tmp / f"snmpsim-{self._starts}.log"
        env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}  # as root it refuses to start otherwise
        with log.open("wb") as out:
            self._proc = subprocess.Popen(
                [
                    responder,
                    f"--data-dir={data}",
                    f"--cache-dir={cache}",
                    f"--agent-udpv4-endpoint=127.0.0.1:{self.port}",
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            _wait_ready(self._proc, self.port, next(iter(self.records)), log)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Terminate the responder (the device stops answering). Does nothing if not running."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        stop_process(proc, timeout=5)


@contextlib.contextmanager
def running_snmpsim(tmp: Path, records: Mapping[str, str], *, port: int | None = None) -> Iterator[SnmpSim]:
    """A started `SnmpSim`, stopped on exit."""
    sim = SnmpSim(tmp, records, port=port)
    try:
        yield sim.start()
    finally:
        sim.stop()


def _responder() -> str:
    """The responder next to this interpreter (a venv not on PATH), else the name to look up."""
    beside = Path(sys.executable).parent / RESPONDER
    return str(beside) if beside.is_file() else RESPONDER


def _get_sysuptime(community: str, request_id: int) -> bytes:
    """A BER-encoded SNMPv2c GET of sysUpTime.0 (community shorter than 100 bytes)."""

    def tlv(tag: int, body: bytes) -> bytes:
        assert len(body) < 128
        return bytes([tag, len(body)]) + body

    varbind = tlv(0x30, tlv(0x06, bytes([0x2B, 6, 1, 2, 1, 1, 3, 0])) + tlv(0x05, b""))
    pdu = tlv(0xA0, tlv(0x02, bytes([request_id])) + tlv(0x02, b"\x00") + tlv(0x02, b"\x00") + tlv(0x30, varbind))
    return tlv(0x30, tlv(0x02, b"\x01") + tlv(0x04, community.encode()) + pdu)


def _wait_ready(proc: subprocess.Popen[bytes], port: int, community: str, log: Path) -> None:
    deadline = time.monotonic() + READY_SECONDS
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.1)
        request_id = 0
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"snmpsim exited with {proc.returncode}: {log.read_text()[-3000:]}")
            request_id = request_id % 100 + 1
            try:
                sock.sendto(_get_sysuptime(community, request_id), ("127.0.0.1", port))
                sock.recv(4096)
            except (TimeoutError, ConnectionRefusedError):  # not listening yet
                time.sleep(0.05)
                continue
            return
    pytest.fail(f"snmpsim not ready within {READY_SECONDS:g} s: {log.read_text()[-3000:]}")
