"""Config reload (an admin's action, audited): `POST /api/v1/admin/reload` and SIGHUP read the config
file and its rule files again, apply the rules and the config's maintenance windows live, name what
needs a restart, and change nothing when the file has a problem."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import api_token, free_port
from tests.security.console import UP_RULE, running, write_config

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ONE_RULE = UP_RULE
TWO_RULES = (
    ONE_RULE
    + """\
      - alert: ConsoleHostSeen
        expr: up{target="console-host"} >= 0
        labels: {severity: info}
"""
)


def _firing(client: httpx.Client, name: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            alerts = client.get("/api/v1/alerts").json()["data"]["alerts"]
        except httpx.HTTPError:
            alerts = []
        if any(a["labels"]["alertname"] == name and a["state"] == "firing" for a in alerts):
            return True
        time.sleep(0.3)
    return False


def test_an_admin_reloads_new_rules_and_a_broken_file_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(ONE_RULE, encoding="utf-8")
    with running(tmp_path, extra="rule_files: [rules.yaml]\n") as console:
        admin = httpx.Client(base_url=console.url, headers={"Authorization": f"Bearer {console.tokens['admin']}"})
        assert _firing(admin, "ConsoleHostUp")
        (tmp_path / "rules.yaml").write_text(TWO_RULES, encoding="utf-8")
        answer = admin.post("/api/v1/admin/reload")
        assert answer.status_code == 200
        assert answer.json()["data"] == {
            "changed": [],
            "restartNeeded": [],
            "groups": 1,
            "rules": 2,
            "groupsGone": [],
            "windowsReplaced": [],
        }
        assert _firing(admin, "ConsoleHostSeen")

        (tmp_path / "rules.yaml").write_text(ONE_RULE.replace("== 1", "== 1 and holt_winters(up[5m], 0.5, 0.5) > 0"))
        refused = admin.post("/api/v1/admin/reload")
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"].startswith(f"{tmp_path / 'rules.yaml'}:6: groups[0].rules[0].expr: ")
        assert _firing(admin, "ConsoleHostSeen", timeout=3)  # the running rules went on

        config = tmp_path / "console.yaml"
        config.write_text(config.read_text(encoding="utf-8").replace("interval: 5s", "interval: 10s"))
        (tmp_path / "rules.yaml").write_text(TWO_RULES, encoding="utf-8")
        later = admin.post("/api/v1/admin/reload").json()["data"]
        assert (later["changed"], later["restartNeeded"]) == (["devices"], ["devices"])

        operator = httpx.Client(base_url=console.url, headers={"Authorization": f"Bearer {console.tokens['oncall']}"})
        assert operator.post("/api/v1/admin/reload").status_code == 403
        reloads = console.access.audit.entries("config.reload")
    assert [(e.actor, e.detail["outcome"]) for e in reloads] == [("admin", "ok"), ("admin", "failed"), ("admin", "ok")]
    assert reloads[0].subject == str(tmp_path / "console.yaml")
    assert reloads[1].detail["problems"][0].startswith(f"{tmp_path / 'rules.yaml'}:6: groups[0].rules[0].expr: ")


def test_sighup_reloads_the_rules_of_a_running_console(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "rules.yaml").write_text(ONE_RULE, encoding="utf-8")
    config = write_config(tmp_path, port, extra="rule_files: [rules.yaml]\n")
    log = tmp_path / "console.log"
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [sys.executable, "run_console.py", "run", "--config", str(config)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        token = api_token(tmp_path / "data", role="viewer")
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"})
        assert _firing(client, "ConsoleHostUp", timeout=60), log.read_text(encoding="utf-8")[-2000:]
        (tmp_path / "rules.yaml").write_text(TWO_RULES, encoding="utf-8")
        proc.send_signal(signal.SIGHUP)
        assert _firing(client, "ConsoleHostSeen"), log.read_text(encoding="utf-8")[-2000:]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    text = log.read_text(encoding="utf-8")
    assert "config reloaded: 2 rules in 1 groups; changed: nothing; needs a restart: nothing" in text
    assert "Traceback" not in text
