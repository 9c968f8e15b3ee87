"""Real Alertmanagers for tests (Debian's prometheus-alertmanager 0.25) on 127.0.0.1, one process
each, without gossip: `with alertmanager(tmp_path, "am", hook_url) as url: ...`."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import free_port, require

__all__ = ["INSTALL", "alertmanager", "am_config", "wait_ready"]

INSTALL = "apt-get install -y --no-install-recommends prometheus-alertmanager"


def am_config(hook_url: str) -> str:
    return f"""\
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs: [{{url: "{hook_url}"}}]
"""


@contextlib.contextmanager
def alertmanager(
    tmp_path: Path, name: str, hook_url: str = "", port: int | None = None, *, config: str | None = None
) -> Iterator[str]:
    """A private Alertmanager in `tmp_path/name` on `port` (default: a free one), without gossip,
    notifying `hook_url` (or with the configuration text `config`); its base URL."""
    binary = require("prometheus-alertmanager", install=INSTALL)
    home = tmp_path / name
    home.mkdir()
    (home / "alertmanager.yml").write_text(config if config is not None else am_config(hook_url), encoding="utf-8")
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    with (home / "alertmanager.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={home / 'alertmanager.yml'}",
                f"--storage.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(url, proc, home / "alertmanager.log")
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 15
    with httpx.Client(trust_env=False, timeout=1) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"alertmanager exited with {proc.returncode}: {log.read_text(errors='replace')}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{url}/-/ready").status_code == 200:
                    return
            time.sleep(0.05)
    pytest.fail(f"alertmanager not ready within 15s: {log.read_text(errors='replace')}")
