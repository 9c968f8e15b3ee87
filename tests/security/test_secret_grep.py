"""A console run (`run_console.py run`, a real process) configured with a canary in every place a secret
can be configured, whose collectors and notifiers all fail (so that every error path runs): its log,
`/metrics`, its API answers, its pages and its exported configuration hold none of the canaries."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import api_token, free_port
from tests.security import canaries

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RULES = """\
groups:
  - name: down
    interval: 1s
    rules:
      - alert: TargetDown
        expr: up == 0
        labels: {severity: critical}
"""


def _config(directory: Path, port: int) -> Path:
    path = canaries.write_config(directory)
    text = path.read_text(encoding="utf-8").replace(
        "console:\n",
        f"console:\n  listen: 127.0.0.1:{port}\n  data_dir: {directory / 'data'}\n",
        1,
    )
    text = text.replace("route: {receiver: oncall}", "route: {receiver: oncall, group_wait: 1s, group_interval: 2s}")
    (directory / "rules.yaml").write_text(RULES, encoding="utf-8")
    path.write_text(text + "rule_files: [rules.yaml]\nsecurity: {totp_roles: []}\n", encoding="utf-8")
    return path


def test_no_canary_shows_in_logs_metrics_api_pages_or_exported_config(tmp_path: Path) -> None:
    port = free_port()
    path = _config(tmp_path, port)
    env = {**os.environ, **canaries.ENVIRON, "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "console.log"
    base = f"http://127.0.0.1:{port}"
    seen: dict[str, str] = {}
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [sys.executable, "run_console.py", "run", "--config", str(path)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        token = api_token(tmp_path / "data", role="admin")
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        deadline = time.monotonic() + 90
        attempted = False
        while time.monotonic() < deadline and not attempted:  # every receiver tried and failed at least once
            time.sleep(1)
            try:
                queued = api.get("/api/v1/notifications").json()["data"]
            except httpx.HTTPError:
                continue
            attempted = bool(queued) and all(row["attempts"] >= 1 for row in queued)
        assert attempted, log.read_text(encoding="utf-8")[-3000:]
        for path_ in (
            "/api/v1/alerts",
            "/api/v1/notifications",
            "/api/v1/silences",
            "/api/v1/maintenance",
            "/api/v1/status/config",
            "/api/v1/query?query=up",
            "/api/v1/query?query=scrape_error",
            "/api/v1/series?match[]=up",
            "/api/v1/audit",
            "/_dash-layout",
            "/wall",
            "/alerts",
        ):
            seen[path_] = api.get(path_).text
        seen["/metrics"] = httpx.get(
            f"{base}/metrics", headers={"Authorization": f"Bearer {canaries.METRICS_TOKEN}"}, timeout=30
        ).text
        assert "up{" in seen["/metrics"]
        assert json.loads(seen["/api/v1/status/config"])["data"]["yaml"].count("<secret>") >= len(canaries.RESOLVED)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
    exported = subprocess.run(
        [sys.executable, "run_console.py", "export-config", "--config", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert exported.returncode == 0, exported.stderr
    seen["export-config"] = exported.stdout + exported.stderr
    seen["log"] = log.read_text(encoding="utf-8")
    assert "TargetDown" in seen["/api/v1/alerts"]
    assert {where: canaries.leaked(text) for where, text in seen.items()} == {where: [] for where in seen}
