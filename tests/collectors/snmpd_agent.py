"""A private net-snmp snmpd on 127.0.0.1 for tests: started in the foreground, stopped afterwards.

Use `running_snmpd(tmp, conf)` from a fixture; `conf` is snmpd.conf text with `{port}` where the
agent address goes. Tests that need snmpd call `require()` first, so a machine without it skips
(and CI fails) with the install command.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo.agents import stop_process
from tests.helpers import require

__all__ = ["SNMPD_INSTALL", "Agent", "free_udp_port", "running_snmpd"]

SNMPD_INSTALL = "apt-get install -y snmpd snmp"


@dataclass(frozen=True)
class Agent:
    port: int
    snmpwalk: str


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running_snmpd(tmp: Path, conf: str, *, port: int | None = None) -> Iterator[Agent]:
    """snmpd with `conf` (formatted with `port=`), ready to answer; terminated on exit.
    `port` None picks a free one (pass an old agent's port to restart it, as a reboot does)."""
    snmpd = require("snmpd", install=SNMPD_INSTALL)
    snmpwalk = require("snmpwalk", install=SNMPD_INSTALL)
    # snmpd rewrites $SNMP_PERSISTENT_DIR/snmpd.conf: the config must live elsewhere.
    (tmp / "conf").mkdir(parents=True)
    (tmp / "state").mkdir(parents=True)
    port = free_udp_port() if port is None else port
    conf_file = tmp / "conf" / "snmpd.conf"
    conf_file.write_text(conf.format(port=port))
    log = tmp / "snmpd.log"
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(tmp / "state"), "MIBS": ""}
    with log.open("wb") as out:
        # -I -smux: no SMUX listener on TCP 199 (a second agent could not bind it).
        proc = subprocess.Popen(
            [snmpd, "-f", "-C", "-I", "-smux", "-c", str(conf_file), "-Lo", "-p", str(tmp / "snmpd.pid")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_ready(proc, log)
        yield Agent(port=port, snmpwalk=snmpwalk)
    finally:
        stop_process(proc, timeout=5)


def _wait_ready(proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"snmpd exited with {proc.returncode}: {log.read_text()}")
        if b"NET-SNMP version" in log.read_bytes():  # logged once the agent listens
            return
        time.sleep(0.02)
    pytest.fail(f"snmpd not ready within 5 s: {log.read_text()}")
