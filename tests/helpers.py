"""Helpers for tests: external prerequisites, free loopback ports, a real WSGI server in a thread."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from dashboards.serve import HttpServer

__all__ = ["TESTER_PASSWORD", "api_token", "free_port", "in_ci", "require", "serve_wsgi"]


def in_ci() -> bool:
    """Whether the tests run under CI (`CI=true`, as CI services set it; `1` and `yes` count too)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require(name: str, *, install: str = "") -> str:
    """Make sure an external program or Python module the test needs is here.

    `name` is looked up as a program (on PATH, or an absolute path) and then as an importable module.
    Returns the program's absolute path, or `name` for a module. When it is missing the test FAILS
    under CI (`in_ci()`) and is skipped otherwise, with the same message: what is missing and what to
    run to get it (`install`, e.g. `apt-get install -y snmpd snmp`).
    """
    path = shutil.which(name)
    if path is not None:
        return path
    if "/" not in name and _importable(name):
        return name
    message = f"{name} is missing (no such program on PATH, no such Python module)"
    if install:
        message += f"; install it: {install}"
    _missing(message)


def require_root(why: str) -> None:
    """The test needs root (raw sockets, network namespaces): FAILS under CI when not root (CI runs
    the test command as root), is skipped otherwise, saying `why`."""
    if os.geteuid() == 0:
        return
    _missing(f"not root: {why}")


def _missing(message: str) -> NoReturn:
    """What a test needs is not here: under CI that FAILS the test; elsewhere the test is skipped."""
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package of a dotted name is missing
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on `host` a moment ago (bind to port 0, read it, close).

    Prefer letting the server bind port 0 itself and asking it; use this only for servers that
    need a port number up front.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve_wsgi(app: Callable[..., Any]) -> Iterator[str]:
    """Serve a WSGI app with a real waitress server on 127.0.0.1 (a port the OS picks) in a thread.

    Yields the base URL (`http://127.0.0.1:PORT`). On exit the server is closed and its threads end.
    """
    server = HttpServer(app, host="127.0.0.1", port=0, threads=2).start()
    try:
        yield server.url
    finally:
        assert server.stop(timeout=10), "the waitress loop did not stop"


TESTER_PASSWORD = "tester-password-2026"
"""The password `api_token` gives the users it adds."""


def api_token(data_dir: Path, role: str = "admin", name: str = "tester") -> str:
    """A new API token of user `name` (added with `role` when missing) in the console data dir
    `data_dir`, written straight to its users.sqlite3 (a running console reads it per request)."""
    from security.audit import AUDIT_FILE, AuditLog
    from security.users import USERS_FILE, UserDB

    audit = AuditLog(data_dir / AUDIT_FILE)
    users = UserDB(data_dir / USERS_FILE, audit)
    try:
        if users.get(name) is None:
            users.add(name, role, TESTER_PASSWORD, time.time(), actor="test")
        return users.issue_token(name, time.time(), actor="test")
    finally:
        users.close()
        audit.close()
