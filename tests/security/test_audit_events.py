"""Every action of issue 9's list leaves exactly its audit entry, with who, from where (address and
session key) and the outcome; and the chain over all of them verifies, while one changed or deleted
entry is named by `run_console.py audit verify`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from security.audit import AUDIT_FILE, AuditEntry
from tests.security.console import ROLES, UP_RULE, Running, csrf_of, running

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXTRA = """\
rule_files: [rules.yaml]
availability:
  systems:
    - {system: records, target: 99.9, tree: {device: console-host}}
"""


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    directory = tmp_path_factory.mktemp("audit")
    (directory / "rules.yaml").write_text(UP_RULE, encoding="utf-8")
    with running(directory, extra=EXTRA) as found:
        yield found


@pytest.fixture(scope="module")
def firing(console: Running) -> str:
    """The fingerprint of ConsoleHostUp once it fires."""
    client = _token_client(console, "viewer")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        alerts = client.get("/api/v1/alerts").json()["data"]["alerts"]
        fired = [a["fingerprint"] for a in alerts if a["state"] == "firing"]
        if fired:
            return str(fired[0])
        time.sleep(0.3)
    pytest.fail("ConsoleHostUp did not fire within 60 s")


def _token_client(console: Running, role: str) -> httpx.Client:
    return httpx.Client(base_url=console.url, headers={"Authorization": f"Bearer {console.tokens[role]}"}, timeout=30)


def _new_entries(console: Running, before: int) -> list[AuditEntry]:
    return console.access.audit.entries()[before:]


def _count(console: Running) -> int:
    return len(console.access.audit.entries())


def _brief(entries: list[AuditEntry]) -> list[tuple[str, str, str, str]]:
    return [(e.actor, e.action, e.subject, str(e.detail.get("outcome"))) for e in entries]


def test_a_login_and_a_logout_are_recorded_with_address_and_session(console: Running) -> None:
    before = _count(console)
    client = console.login("operator")
    key = console.access.sessions.active("operator", at=time.time())[-1].key
    client.post("/logout", content="{}", headers={"Content-Type": "application/json", "X-CSRFToken": csrf_of(client)})
    entries = _new_entries(console, before)
    assert _brief(entries) == [("operator", "login", "operator", "ok"), ("operator", "logout", "operator", "ok")]
    assert [(e.detail["ip"], e.detail["session"]) for e in entries] == [("127.0.0.1", key)] * 2


def test_a_failed_login_is_recorded_with_the_name_typed(console: Running) -> None:
    before = _count(console)
    console.login_answer(console.client(), "manager", "wrong-password")
    console.login_answer(console.client(), "intruder\r\n\x1b[31m", "x")
    entries = _new_entries(console, before)
    assert _brief(entries) == [
        ("manager", "login.failed", "manager", "failed"),
        ("intruder\r\n\x1b[31m", "login.failed", "intruder\r\n\x1b[31m", "failed"),  # kept as data, never a line
    ]


def test_a_user_and_role_change_is_recorded(console: Running) -> None:
    before = _count(console)
    now = time.time()
    console.access.users.add("newcomer", "viewer", "newcomer-password-2026", now, actor="admin")
    console.access.users.set_role("newcomer", "oncall", now, actor="admin")
    assert [(e.actor, e.action, e.subject, dict(e.detail)) for e in _new_entries(console, before)] == [
        ("admin", "user.add", "newcomer", {"role": "viewer"}),
        ("admin", "user.role", "newcomer", {"from": "viewer", "to": "oncall"}),
    ]


def test_an_acknowledgement_and_its_withdrawal_are_recorded(console: Running, firing: str) -> None:
    client = _token_client(console, "operator")
    before = _count(console)
    assert client.post(f"/api/v1/alerts/{firing}/ack", json={"comment": "looking", "by": "forged"}).status_code == 200
    assert client.delete(f"/api/v1/alerts/{firing}/ack").status_code == 200
    entries = _new_entries(console, before)
    assert _brief(entries) == [
        ("operator", "alert.ack", firing, "ok"),
        ("operator", "alert.unack", firing, "ok"),
    ]
    assert entries[0].detail["comment"] == "looking"


def test_a_silence_created_and_expired_is_recorded(console: Running) -> None:
    client = _token_client(console, "oncall")
    before = _count(console)
    body = {"matchers": ['alertname="ConsoleHostUp"'], "endsAt": time.time() + 3600, "comment": "disk swap"}
    made = client.post("/api/v1/silences", json=body).json()["data"]["silenceID"]
    assert client.delete(f"/api/v1/silence/{made}").status_code == 200
    entries = _new_entries(console, before)
    assert _brief(entries) == [("oncall", "silence.create", made, "ok"), ("oncall", "silence.expire", made, "ok")]
    assert (entries[0].detail["matchers"], entries[0].detail["comment"]) == (['alertname="ConsoleHostUp"'], "disk swap")


def test_a_maintenance_window_created_and_deleted_is_recorded(console: Running) -> None:
    client = _token_client(console, "oncall")
    before = _count(console)
    window = {
        "name": "patching",
        "matchers": ['target="console-host"'],
        "owner": "oncall",
        "reason": "kernel",
        "schedule": {"once": {"start": "2030-01-01 02:00", "end": "2030-01-01 04:00"}},
    }
    assert client.post("/api/v1/maintenance", json={"window": window}).status_code == 200
    assert client.delete("/api/v1/maintenance/patching").status_code == 200
    entries = _new_entries(console, before)
    assert _brief(entries) == [
        ("oncall", "maintenance.create", "patching", "ok"),
        ("oncall", "maintenance.delete", "patching", "ok"),
    ]
    assert entries[0].detail["window"]["matchers"] == ['target="console-host"']


def test_a_reclassification_is_recorded_as_done_by_the_token_holder(console: Running) -> None:
    client = _token_client(console, "admin")
    before = _count(console)
    at = time.time() - 60
    body = {"system": "records", "at": at, "category": "planned", "reason": "vendor work", "by": "forged"}
    answer = client.post("/api/v1/availability/reclassify", json=body)
    assert (answer.status_code, answer.json()["data"]["by"]) == (200, "admin")
    entries = _new_entries(console, before)
    assert _brief(entries) == [("admin", "availability.reclassify", f"records@{at}", "ok")]
    assert entries[0].detail["ip"] == "127.0.0.1"


def test_a_report_export_and_a_report_view_are_recorded(console: Running) -> None:
    client = _token_client(console, "manager")
    before = _count(console)
    assert client.get("/api/v1/availability", params={"period": "2026-11"}).status_code == 200
    exported = client.get("/api/v1/availability/export", params={"period": "2026-11", "format": "csv"})
    assert exported.status_code == 200
    entries = _new_entries(console, before)
    assert [(e.actor, e.action) for e in entries] == [("manager", "view.availability"), ("manager", "report.export")]
    assert (entries[0].subject, entries[1].detail["format"]) == ("2026-11", "csv")


def _render(client: httpx.Client, pathname: str) -> httpx.Response:
    dep = next(d for d in client.get("/_dash-dependencies").json() if "_pages_content" in d["output"])
    body: dict[str, Any] = {
        "output": dep["output"],
        "outputs": [{"id": "_pages_content", "property": "children"}, {"id": "_pages_store", "property": "data"}],
        "inputs": [
            {"id": "_pages_location", "property": "pathname", "value": pathname},
            {"id": "_pages_location", "property": "search", "value": ""},
        ],
        "changedPropIds": ["_pages_location.pathname"],
    }
    return client.post(
        "/_dash-update-component",
        content=json.dumps(body),
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf_of(client)},
    )


@pytest.mark.parametrize(
    ("path", "action", "subject"),
    [
        ("/device/console-host", "view.device", "console-host"),
        ("/link/core-1", "view.link", "core-1"),
        ("/alerts", "view.alerts", "/alerts"),
        ("/availability", "view.availability", "/availability"),
    ],
)
def test_opening_a_page_is_recorded(console: Running, path: str, action: str, subject: str) -> None:
    client = console.login("manager")
    before = _count(console)
    assert _render(client, path).status_code == 200
    assert _brief(_new_entries(console, before)) == [("manager", action, subject, "ok")]


def test_opening_an_alerts_history_is_recorded(console: Running, firing: str) -> None:
    client = console.login("viewer")
    deps = client.get("/_dash-dependencies").json()
    dep = next(d for d in deps if d["output"].startswith("..alerts-history.className"))
    body = {
        "output": dep["output"],
        "outputs": [
            {"id": "alerts-history", "property": "className"},
            {"id": "alerts-history-body", "property": "children"},
        ],
        "inputs": [
            {"id": "alerts-history-for", "property": "data", "value": firing},
            {"id": "alerts-done", "property": "data", "value": None},
        ],
        "changedPropIds": ["alerts-history-for.data"],
    }
    before = _count(console)
    answer = client.post(
        "/_dash-update-component",
        content=json.dumps(body),
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf_of(client)},
    )
    assert answer.status_code == 200
    assert _brief(_new_entries(console, before)) == [("viewer", "view.alert", firing, "ok")]


def test_an_audit_export_is_recorded(console: Running) -> None:
    client = _token_client(console, "admin")
    before = _count(console)
    assert client.get("/api/v1/audit/export", params={"format": "json"}).status_code == 200
    entries = _new_entries(console, before)
    assert _brief(entries) == [("admin", "audit.export", "audit", "ok")]
    assert entries[0].detail["format"] == "json"


def test_a_kiosk_login_is_recorded(console: Running) -> None:
    before = _count(console)
    console.kiosk()
    assert _brief(_new_entries(console, before)) == [("kiosk:lobby", "kiosk.login", "lobby", "ok")]


def test_every_role_has_a_user(console: Running) -> None:
    assert {u.name: u.role.value for u in console.access.users.list() if u.name in ROLES} == {r: r for r in ROLES}


def _verify(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run_console.py", "audit", "verify", "--data-dir", str(data_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_audit_verify_passes_then_names_a_changed_and_a_deleted_entry(tmp_path: Path) -> None:
    with running(tmp_path) as console:
        console.login("admin")
        console.login_answer(console.client(), "viewer", "wrong-password")
        total = len(console.access.audit.entries())
    whole = _verify(tmp_path / "data")
    assert (whole.returncode, whole.stdout) == (0, f"audit log: {total} entries, chain intact\n")
    db = sqlite3.connect(tmp_path / "data" / AUDIT_FILE)
    changed = db.execute("SELECT id FROM audit WHERE action = 'login.failed'").fetchone()[0]
    db.execute("UPDATE audit SET actor = 'someone-else' WHERE id = ?", (changed,))
    db.commit()
    edited = _verify(tmp_path / "data")
    assert (edited.returncode, edited.stderr) == (1, f"audit log: entry {changed} was changed\n")
    db.execute("UPDATE audit SET actor = 'viewer' WHERE id = ?", (changed,))
    db.execute("DELETE FROM audit WHERE id = 3")
    db.commit()
    db.close()
    deleted = _verify(tmp_path / "data")
    assert (deleted.returncode, deleted.stderr) == (1, "audit log: entry 3 is missing (the next is 4)\n")


def _submit_form(client: httpx.Client, pending: dict[str, str], fields: dict[str, object]) -> httpx.Response:
    """The alerts page's form submitted as the browser sends it: every form field's value as a state."""
    dep = next(d for d in client.get("/_dash-dependencies").json() if d["output"].startswith("..alerts-message"))
    outputs = [{"id": p.split(".")[0], "property": p.split(".", 1)[1]} for p in dep["output"].strip(".").split("...")]
    values = {"alerts-pending": pending, **fields}
    state = [{"id": s["id"], "property": s["property"], "value": values.get(s["id"])} for s in dep["state"]]
    body = {
        "output": dep["output"],
        "outputs": outputs,
        "inputs": [{"id": "alerts-submit", "property": "n_clicks", "value": 1}],
        "state": state,
        "changedPropIds": ["alerts-submit.n_clicks"],
    }
    return client.post(
        "/_dash-update-component",
        content=json.dumps(body),
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf_of(client)},
    )


def test_an_acknowledgement_on_the_page_is_by_the_logged_in_user_not_the_typed_name(
    console: Running, firing: str
) -> None:
    operator = console.login("operator")
    before = _count(console)
    answer = _submit_form(
        operator, {"action": "ack", "ref": firing}, {"alerts-actor": "mallory", "alerts-comment": "on it"}
    )
    assert answer.status_code == 200, answer.text
    entries = _new_entries(console, before)
    assert _brief(entries) == [("operator", "alert.ack", firing, "ok")]
    alerts = _token_client(console, "viewer").get("/api/v1/alerts").json()["data"]["alerts"]
    assert next(a for a in alerts if a["fingerprint"] == firing)["acknowledgement"]["by"] == "operator"
    _token_client(console, "operator").delete(f"/api/v1/alerts/{firing}/ack")


def test_a_silence_on_the_page_by_an_operator_is_refused_and_recorded(console: Running, firing: str) -> None:
    operator = console.login("operator")
    silences = _token_client(console, "viewer").get("/api/v1/silences").json()["data"]
    before = _count(console)
    fields = {"alerts-matchers": 'alertname="ConsoleHostUp"', "alerts-duration": "1h", "alerts-comment": "x"}
    answer = _submit_form(operator, {"action": "silence", "ref": firing}, fields)
    assert answer.status_code == 200
    message = answer.json()["response"]["alerts-message"]["children"]
    assert message == "このロールでは実行できません（silence 権限が必要です）"
    assert _brief(_new_entries(console, before)) == [("operator", "authz.denied", "alerts.silence", "denied")]
    assert _token_client(console, "viewer").get("/api/v1/silences").json()["data"] == silences
