"""Issue 6 end to end: the whole console (rules, pipeline, outbox) killed with SIGKILL right after a
send, or stopped with SIGTERM, then restarted on the same data directory, against a real webhook
receiver. Rules fire from `vector(1)` (no collected data needed), 1 s rule intervals, group_wait 1s,
group_interval 2s, grouped by alertname.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from config import load_file
from tests.alerts.hooks import Hook, serve_hook
from tests.helpers import api_token, free_port

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "alerting"
FIRING_RULES = FIXTURES / "restart_firing.yaml"
PENDING_RULES = FIXTURES / "restart_pending.yaml"
GROUP_INTERVAL = 2.0

DISK_FULL = '{}:{alertname="DiskFull"}'
LINK_DOWN = '{}:{alertname="LinkDown"}'
POWER_LOST = '{}:{alertname="PowerLost"}'
DISK_SLOW = '{}:{alertname="DiskSlow"}'
FIRING_GROUPS = {DISK_FULL, LINK_DOWN, POWER_LOST}
FIRING_ALERTS = 4
"""DiskFull{target="db-1"}, DiskFull{target="db-2"}, LinkDown, PowerLost."""

T = TypeVar("T")

pytestmark = pytest.mark.slow


def _config(tmp_path: Path, port: int, hook_url: str, rule_files: list[Path]) -> Path:
    """A console without devices listening on `port`, data in tmp_path/data, the rule files, and one
    receiver `oncall` with a webhook to `hook_url`; `check-config` accepts it."""
    path = tmp_path / "console.yaml"
    path.write_text(
        f"""console:
  listen: 127.0.0.1:{port}
  data_dir: {tmp_path / "data"}
devices: []
rule_files: {json.dumps([str(f) for f in rule_files])}
alerting:
  route:
    receiver: oncall
    group_by: [alertname]
    group_wait: 1s
    group_interval: {GROUP_INTERVAL:g}s
    repeat_interval: 1h
  receivers:
    - name: oncall
      webhook_configs: [{{url: "{hook_url}"}}]
""",
        encoding="utf-8",
    )
    check = subprocess.run(
        [sys.executable, "run_console.py", "check-config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (check.returncode, check.stderr) == (0, ""), check.stderr
    return path


class _Console:
    """One `run_console.py run` process of `config` listening on `port`; its log (stderr) in `log`."""

    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log = log
        self.token = api_token(load_file(config).console.data_dir, role="viewer")
        with log.open("w", encoding="utf-8") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "run_console.py", "run", "--config", str(config)],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    def get(self, path: str) -> Any:
        """The `data` of a successful API answer. Raises OSError while nothing answers."""
        asked = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(asked, timeout=5) as response:
            answer = json.loads(response.read())
        assert answer["status"] == "success", answer
        return answer["data"]

    def alerts(self) -> list[dict[str, Any]]:
        alerts: list[dict[str, Any]] = self.get("/api/v1/alerts")["alerts"]
        return alerts

    def queued(self) -> list[str]:
        """Group keys of the outbox's pending rows, in queue order."""
        return [row["groupKey"] for row in self.get("/api/v1/notifications")]

    def pending_since(self, alertname: str) -> float | None:
        """ALERTS_FOR_STATE of a pending or firing alert: its active_at (Unix seconds)."""
        query = urllib.parse.urlencode({"query": f'ALERTS_FOR_STATE{{alertname="{alertname}"}}'})
        result = self.get(f"/api/v1/query?{query}")["result"]
        return float(result[0]["value"][1]) if result else None

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(10) == -signal.SIGKILL

    def stop(self) -> None:
        """SIGTERM; the console must exit 0 within 10 s without a traceback."""
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(10) == 0
        assert "Traceback" not in self.log.read_text(encoding="utf-8")

    def ensure_ended(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _until(probe: Callable[[], T | None], what: str, console: _Console, timeout: float = 30.0) -> T:
    """Poll `probe` until it returns a value that is not None (an OSError: the console does not
    answer yet). Fails naming `what` and showing the console's log when it does not in time, or
    when the console exits while it is expected to run (it was not killed)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = probe()
        except OSError:
            value = None
        if value is not None:
            return value
        if (console.proc.poll() not in (None, -signal.SIGKILL)) or time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g}s\n{console.log.read_text(encoding='utf-8')}", pytrace=False)
        time.sleep(0.1)


def _firing(alerts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["fingerprint"]: a for a in alerts if a["state"] == "firing"}


def _clocks(alerts: dict[str, dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """(activeAt, firedAt) of each alert by `alertname/target-or-other-label`."""
    return {_name(a): (a["activeAt"], a["firedAt"]) for a in alerts.values()}


def _name(alert: dict[str, Any]) -> str:
    labels = alert["labels"]
    return "/".join(v for k, v in sorted(labels.items()) if k in ("alertname", "target", "link", "site"))


def _rfc3339(t: float) -> str:
    return datetime.datetime.fromtimestamp(t, tz=datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def hook() -> Iterator[Hook]:
    with serve_hook() as receiver:
        yield receiver


def test_kill_9_right_after_a_send_loses_nothing_duplicates_only_the_send_in_flight_and_keeps_alert_clocks(
    tmp_path: Path, hook: Hook
) -> None:
    port = free_port()
    config = _config(tmp_path, port, hook.url, [FIRING_RULES, PENDING_RULES])
    first_send, killed = threading.Event(), threading.Event()

    def answer(payload: dict[str, Any]) -> int:
        if not first_send.is_set():  # the first send stays in flight until the console is dead
            first_send.set()
            killed.wait(30)
        return 200

    hook.answer = answer
    console = _Console(config, port, tmp_path / "first.log")
    try:
        _until(lambda: True if first_send.wait(0.1) else None, "the first notification", console)
        before = _until(
            lambda: fired if len(fired := _firing(console.alerts())) == FIRING_ALERTS else None,
            "every for: 0s alert firing",
            console,
        )
        disk_slow_since = _until(lambda: console.pending_since("DiskSlow"), "DiskSlow pending", console)
        queued = console.queued()
        console.kill()
    finally:
        killed.set()
        console.ensure_ended()
    in_flight = _until(lambda: hook.received[0][0] if hook.received else None, "the in-flight send's record", console)
    assert hook.received == [(in_flight, 200)]
    assert in_flight in FIRING_GROUPS
    assert queued[0] == in_flight  # sent, but the console died before recording it: still pending
    assert [a["activeAt"] == a["firedAt"] for a in before.values()] == [True] * FIRING_ALERTS  # `for: 0s`

    restarted = _Console(config, port, tmp_path / "restarted.log")
    try:
        _until(  # DiskSlow's notification is queued last: the rows before it have gone out
            lambda: True if DISK_SLOW in hook.delivered() and not restarted.queued() else None,
            "DiskSlow delivered and the outbox empty after the restart",
            restarted,
            timeout=40,
        )
        time.sleep(2 * GROUP_INTERVAL)  # two more flushes of every group: nothing more goes out
        assert restarted.queued() == []
        alerts = restarted.alerts()
        restarted.stop()
    finally:
        restarted.ensure_ended()

    once = (FIRING_GROUPS | {DISK_SLOW}) - {in_flight}
    assert Counter(hook.delivered()) == {in_flight: 2} | dict.fromkeys(once, 1)
    assert len(hook.received) == 5
    after = _firing(alerts)
    assert len(after) == FIRING_ALERTS + 1
    notified = {g["groupKey"]: g["lastNotified"] is not None for a in after.values() for g in a["groups"]}
    assert notified == dict.fromkeys(FIRING_GROUPS | {DISK_SLOW}, True)
    assert _clocks({fp: after[fp] for fp in before}) == _clocks(before)
    disk_slow = next(a for a in after.values() if a["labels"]["alertname"] == "DiskSlow")
    assert disk_slow["activeAt"] == _rfc3339(disk_slow_since)  # the pending clock survived the kill
    pending_for = _time(disk_slow["firedAt"]) - _time(disk_slow["activeAt"])
    assert pending_for == datetime.timedelta(seconds=20)  # from when it became pending, not from the restart
    payload_keys = [p["groupKey"] for p in hook.payloads]
    assert payload_keys[0] == payload_keys[1] == in_flight  # the re-send of the in-flight row comes first
    assert hook.payloads[0] == hook.payloads[1]
    disk_full = next(p for p in hook.payloads if p["groupKey"] == DISK_FULL)
    assert [(a["status"], a["labels"]["target"]) for a in disk_full["alerts"]] == [
        ("firing", "db-1"),
        ("firing", "db-2"),
    ]


def test_sigterm_and_restart_sends_nothing_again_and_keeps_when_each_group_was_notified(
    tmp_path: Path, hook: Hook
) -> None:
    port = free_port()
    config = _config(tmp_path, port, hook.url, [FIRING_RULES])
    console = _Console(config, port, tmp_path / "first.log")
    try:
        _until(
            lambda: True if set(hook.delivered()) == FIRING_GROUPS and not console.queued() else None,
            "every group delivered and the outbox empty",
            console,
        )
        notified = _until(lambda: _last_notified(console.alerts()), "every group's lastNotified", console)
        before = _clocks(_firing(console.alerts()))
        console.stop()
    finally:
        console.ensure_ended()
    assert sorted(hook.delivered()) == sorted(FIRING_GROUPS)
    assert set(notified) == FIRING_GROUPS

    restarted = _Console(config, port, tmp_path / "restarted.log")
    try:
        _until(
            lambda: True if _flushed_since_restart(restarted.alerts()) else None,
            "every group flushed after the restart",
            restarted,
        )
        time.sleep(3 * GROUP_INTERVAL)  # three more flushes of every group
        alerts = restarted.alerts()
        assert restarted.queued() == []
        restarted.stop()
    finally:
        restarted.ensure_ended()

    assert sorted(hook.delivered()) == sorted(FIRING_GROUPS)  # nothing sent a second time
    assert len(hook.received) == 3
    assert _last_notified(alerts) == notified
    assert _clocks(_firing(alerts)) == before


def _last_notified(alerts: list[dict[str, Any]]) -> dict[str, str] | None:
    """lastNotified by group key once every alert fires and each of their groups has one, else None."""
    groups = {g["groupKey"]: g["lastNotified"] for a in alerts if a["state"] == "firing" for g in a["groups"]}
    if len(alerts) != FIRING_ALERTS or None in groups.values():
        return None
    return groups


def _flushed_since_restart(alerts: list[dict[str, Any]]) -> bool:
    """Every firing alert is back in its group and the group was flushed (it went through the
    notification log's decision), not waiting for group_wait."""
    groups = [g for a in alerts for g in a["groups"]]
    return (
        len(alerts) == FIRING_ALERTS
        and len(groups) == FIRING_ALERTS
        and all(g["status"].startswith("notified at ") for g in groups)
    )
