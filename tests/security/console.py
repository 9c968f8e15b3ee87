"""A real console for the access-control tests: `run_console.start_console` in this process on a
free port, one host device, a user, an API token and a login session per role, and a kiosk.

`start(tmp_path, security=...)` writes the config (its `security:` section as given), starts the
console and adds the users; `Running.login()` logs in through `POST /login` as the login page does
(JSON with the page's CSRF token) and returns an httpx client holding the session cookie.
"""

from __future__ import annotations

import json
import re
import ssl
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import config
import run_console
from dashboards.auth import Access
from tests.helpers import free_port

__all__ = ["PASSWORDS", "ROLES", "UP_RULE", "Running", "csrf_of", "running", "start", "write_config"]

ROLES = ("viewer", "operator", "oncall", "manager", "admin")
UP_RULE = """\
groups:
  - name: console
    interval: 1s
    rules:
      - alert: ConsoleHostUp
        expr: up{target="console-host"} == 1
        labels: {severity: info}
"""
"""A rule file whose alert fires as soon as the console has collected its host once."""
PASSWORDS = {role: f"{role}-password-2026" for role in ROLES}
"""Each role's user is named after the role (`viewer`, ..., `admin`) with this password."""


def csrf_of(client: httpx.Client) -> str:
    """The session's CSRF token, as Dash's renderer reads it from the cookie."""
    return client.cookies.get("_csrf_token") or ""


@dataclass
class Running:
    url: str
    console: run_console.Console
    data_dir: Path
    tokens: dict[str, str] = field(default_factory=dict)
    kiosk_token: str = ""
    verify: ssl.SSLContext | bool = True
    """How clients check the console's certificate (when it serves TLS)."""

    @property
    def access(self) -> Access:
        assert self.console.access is not None
        return self.console.access

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False, verify=self.verify)

    def login_answer(self, client: httpx.Client, name: str, password: str, code: str = "") -> httpx.Response:
        """`POST /login` as the login page sends it (after `GET /login` for its CSRF token)."""
        page = client.get("/login")
        found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert found is not None, page.text
        body = {"name": name, "password": password, "code": code}
        return client.post(
            "/login",
            content=json.dumps(body),
            headers={"Content-Type": "application/json", "X-CSRFToken": found.group(1)},
        )

    def login(self, name: str, password: str | None = None, code: str = "") -> httpx.Client:
        client = self.client()
        answer = self.login_answer(client, name, password if password is not None else PASSWORDS[name], code)
        assert answer.status_code == 200, answer.text
        return client

    def kiosk(self) -> httpx.Client:
        client = self.client()
        opened = client.get(f"/kiosk/{self.kiosk_token}")
        assert (opened.status_code, opened.headers.get("location")) == (302, "/wall?kiosk=1"), opened.text
        return client


def write_config(
    tmp_path: Path, port: int, security: str = "{totp_roles: []}", extra: str = "", tls: tuple[Path, Path] | None = None
) -> Path:
    """`tmp_path/console.yaml`: the console host on `port` (HTTPS with the certificate and key `tls`),
    data in `tmp_path/data`, then `extra`."""
    path = tmp_path / "console.yaml"
    path.write_text(
        f"""console:
  listen: 127.0.0.1:{port}
  data_dir: {tmp_path / "data"}
{f"  tls: {{cert_file: {tls[0]}, key_file: {tls[1]}}}" if tls else ""}
security: {security}
sites: [{{id: dc-east, name: East}}]
systems: [{{id: records, name: Records}}]
devices:
  - name: console-host
    site: dc-east
    system: records
    role: server
    address: 127.0.0.1
    collectors:
      host: {{interval: 5s, timeout: 2s}}
{extra}""",
        encoding="utf-8",
    )
    return path


def start(
    tmp_path: Path, *, security: str = "{totp_roles: []}", extra: str = "", tls: tuple[Path, Path] | None = None
) -> Running:
    """A running console (stop it: `running.console.stop()`) with one user and token per role and
    a kiosk named `lobby`; over HTTPS with the certificate and key `tls` (its clients trust that
    certificate only)."""
    port = free_port()
    loaded = config.load_file(write_config(tmp_path, port, security, extra, tls))
    groups = run_console.load_rules(loaded, sys.stderr)
    assert groups is not None
    console = run_console.start_console(loaded, f"127.0.0.1:{port}", tmp_path / "data", groups)
    scheme = "https" if tls else "http"
    verify = ssl.create_default_context(cafile=str(tls[0])) if tls else True
    found = Running(f"{scheme}://127.0.0.1:{port}", console, tmp_path / "data", verify=verify)
    now = time.time()
    for role in ROLES:
        found.access.users.add(role, role, PASSWORDS[role], now, actor="test")
        found.tokens[role] = found.access.users.issue_token(role, now, actor="test")
    found.kiosk_token = found.access.users.add_kiosk("lobby", now, actor="test")
    return found


@contextmanager
def running(tmp_path: Path, **kwargs: Any) -> Iterator[Running]:
    found = start(tmp_path, **kwargs)
    try:
        yield found
    finally:
        found.console.stop()
