"""The demo estate's simulated agents: one `snmpsim-command-responder` process per responder port.

`running_agents(estate, run_dir)` writes each responder's data files under `run_dir`, starts the
responders on 127.0.0.1, waits until each answers an SNMP GET, and stops them all on exit (also when
starting one of them fails). The processes run in their own session, so a Ctrl-C in the terminal
reaches the console, which then stops them; on Linux they are also told to terminate should the
process that started them die without stopping them.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from demo.estate import ADDRESS, Estate, data_files

__all__ = ["PROGRAM", "AgentError", "Responder", "find_program", "running_agents", "stop_process"]

PROGRAM = "snmpsim-command-responder"
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0
_SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)


class AgentError(Exception):
    """A simulated agent could not be started (the program is missing, a port is busy, ...)."""


@dataclass(frozen=True, slots=True)
class Responder:
    port: int
    devices: int
    """How many data files (simulated devices) it serves."""
    process: subprocess.Popen[bytes]
    log: Path


def find_program() -> str | None:
    """The responder program: next to this interpreter (a venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / PROGRAM
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(PROGRAM)


@contextlib.contextmanager
def running_agents(estate: Estate, run_dir: Path, *, ready_timeout: float = READY_TIMEOUT) -> Iterator[list[Responder]]:
    """Start one responder per port of `estate` (data and logs under `run_dir/agent-PORT/`), yield
    them once every one answers, and stop them all on exit. Raises AgentError when one cannot start;
    nothing is left running then."""
    program = find_program()
    if program is None:
        raise AgentError(f"{PROGRAM} not found (it comes with the snmpsim package: pip install snmpsim pysmi)")
    files_by_port = data_files(estate)
    for port in files_by_port:
        _check_free(port)
    responders: list[Responder] = []
    try:
        for port, files in files_by_port.items():
            if files:
                responders.append(_start(program, port, files, run_dir / f"agent-{port}"))
        deadline = time.monotonic() + ready_timeout
        for responder, community in zip(responders, _a_community_per_port(estate), strict=True):
            _wait_ready(responder, community, deadline)
        yield responders
    finally:
        for responder in responders:
            stop_process(responder.process)


def _check_free(port: int) -> None:
    """snmpsim reports "listening" even when another socket holds the port (and then never gets a
    request): refuse a port that is in use before starting anything."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((ADDRESS, port))
        except OSError as exc:
            raise AgentError(
                f"UDP port {ADDRESS}:{port} for the simulated agents is in use: {exc.strerror or exc}"
            ) from None


def _a_community_per_port(estate: Estate) -> list[str]:
    first: dict[int, str] = {}
    for device in estate.devices:
        if device.served:
            first.setdefault(device.port, device.community)
    return [first[port] for port in estate.ports if port in first]


def _start(program: str, port: int, files: dict[str, str], directory: Path) -> Responder:
    data, cache = directory / "data", directory / "cache"
    shutil.rmtree(data, ignore_errors=True)  # a data file left from another estate must not answer
    data.mkdir(parents=True)
    cache.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (data / name).write_text(text, encoding="utf-8")
    log = directory / "responder.log"
    env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}  # as root it refuses to start without it
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                program,
                f"--data-dir={data}",
                f"--cache-dir={cache}",
                "--force-index-rebuild",
                f"--agent-udpv4-endpoint={ADDRESS}:{port}",
                "--log-level=error",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent(),  # noqa: PLW1509 (only async-signal-safe work: one prctl call)
        )
    return Responder(port=port, devices=len(files), process=process, log=log)


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux: a child-side hook asking the kernel to SIGTERM the child when its parent dies."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def hook() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return hook


def _wait_ready(responder: Responder, community: str, deadline: float) -> None:
    request = _get_request(community, _SYS_UPTIME)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while True:
            if responder.process.poll() is not None:
                raise AgentError(
                    f"{PROGRAM} on {ADDRESS}:{responder.port} exited with {responder.process.returncode}: "
                    f"{_tail(responder.log)}"
                )
            sock.sendto(request, (ADDRESS, responder.port))
            try:
                sock.recvfrom(65535)
            except (TimeoutError, ConnectionRefusedError):
                pass
            else:
                return
            if time.monotonic() > deadline:
                raise AgentError(f"{PROGRAM} on {ADDRESS}:{responder.port} did not answer: {_tail(responder.log)}")


def stop_process(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """Terminate a child process, and kill it if it has not ended within `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return "(no log)"
    return " | ".join(text.splitlines()[-lines:]) or "(empty log)"


# -- a minimal SNMPv2c GET, BER-encoded by hand (readiness only; the collectors use snmp_client) --
def _tlv(tag: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + payload


def _oid(parts: tuple[int, ...]) -> bytes:
    body = bytearray([parts[0] * 40 + parts[1]])
    for part in parts[2:]:
        chunk, rest = [part & 0x7F], part >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _get_request(community: str, oid: tuple[int, ...], request_id: int = 1) -> bytes:
    varbind = _tlv(0x30, _oid(oid) + b"\x05\x00")
    pdu = _tlv(
        0xA0,
        _tlv(0x02, request_id.to_bytes(4, "big")) + b"\x02\x01\x00\x02\x01\x00" + _tlv(0x30, varbind),
    )
    return _tlv(0x30, b"\x02\x01\x01" + _tlv(0x04, community.encode()) + pdu)
