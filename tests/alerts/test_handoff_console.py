"""A console run in Alertmanager mode (`alerting.alertmanager.peers`): its rule's alert reaches a
webhook through a real `prometheus-alertmanager`, which routes and notifies; the console sends nothing
itself, and a silence made through the console's API is made in the Alertmanager and read back."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.alerts.alertmanagers import alertmanager
from tests.alerts.hooks import serve_hook
from tests.security.console import UP_RULE, running

pytestmark = pytest.mark.slow


def test_a_console_in_alertmanager_mode_notifies_through_the_alertmanager(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(UP_RULE, encoding="utf-8")
    with serve_hook() as hook, alertmanager(tmp_path, "am", hook.url) as am_url:
        extra = (
            "rule_files: [rules.yaml]\n"
            f"alerting:\n  alertmanager:\n    peers: [{am_url}]\n    resend_delay: 2s\n    poll_interval: 1s\n"
        )
        with running(tmp_path, extra=extra) as console:
            client = httpx.Client(
                base_url=console.url, headers={"Authorization": f"Bearer {console.tokens['oncall']}"}, timeout=30
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not hook.payloads:
                time.sleep(0.3)
            assert hook.payloads, "nothing reached the webhook through the Alertmanager"
            alert = hook.payloads[0]["alerts"][0]
            assert (hook.payloads[0]["status"], alert["labels"]["alertname"]) == ("firing", "ConsoleHostUp")
            assert alert["labels"]["target"] == "console-host"
            held = httpx.get(f"{am_url}/api/v2/alerts", timeout=5).json()
            assert [a["labels"]["alertname"] for a in held] == ["ConsoleHostUp"]

            body = {"matchers": ['alertname="ConsoleHostUp"'], "endsAt": time.time() + 600, "comment": "patching"}
            made = client.post("/api/v1/silences", json=body)
            assert made.status_code == 200, made.text
            silence_id = made.json()["data"]["silenceID"]
            in_am = httpx.get(f"{am_url}/api/v2/silence/{silence_id}").json()
            assert (in_am["createdBy"], in_am["comment"], in_am["status"]["state"]) == ("oncall", "patching", "active")
            listed = client.get("/api/v1/silences").json()["data"]
            assert silence_id in {s["id"] for s in listed}
            assert console.console.alerting is not None
            assert console.console.alerting.delivery.pending() == []  # the console itself queued nothing
