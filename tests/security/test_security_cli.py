"""`run_console.py users ...` and `audit verify` as real subprocesses on the shipped config."""

from __future__ import annotations

import getpass
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from security.audit import AuditLog
from security.cli import read_password
from security.users import Role, UserDB

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "config" / "console.yaml"
PASSWORD = "correct horse battery"


def _cli(data_dir: Path, *args: str, password: str | None = PASSWORD) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OPS_CONSOLE_PASSWORD"}
    if password is not None:
        env["OPS_CONSOLE_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "run_console.py", *args, "--config", str(SHIPPED), "--data-dir", str(data_dir)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def _ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert (proc.returncode, proc.stderr) == (0, "")
    return proc.stdout


@pytest.mark.slow
def test_users_commands_manage_users_and_record_them_in_the_audit_log(tmp_path: Path) -> None:
    assert _ok(_cli(tmp_path, "users", "add", "alice", "--role", "oncall")) == "added alice (oncall)\n"
    assert _ok(_cli(tmp_path, "users", "add", "bob", "--role", "viewer")) == "added bob (viewer)\n"
    assert _ok(_cli(tmp_path, "users", "passwd", "alice", password="a new password")) == (
        "changed the password of alice\n"
    )
    assert _ok(_cli(tmp_path, "users", "disable", "bob")) == "bob disabled\n"
    token = _ok(_cli(tmp_path, "users", "token", "alice")).strip()
    listing = _ok(_cli(tmp_path, "users", "list")).splitlines()
    assert [line.split()[:3] for line in listing] == [
        ["name", "role", "disabled"],
        ["alice", "oncall", "no"],
        ["bob", "viewer", "yes"],
    ]
    assert token not in "\n".join(listing)
    assert _ok(_cli(tmp_path, "users", "enable", "bob")) == "bob enabled\n"

    audit = AuditLog(tmp_path / "audit.sqlite3")
    users = UserDB(tmp_path / "users.sqlite3", audit)
    try:
        alice = users.check_password("alice", "a new password")
        assert alice is not None
        assert alice.role is Role.ONCALL
        assert users.user_for_token(token) == alice
        assert users.check_password("bob", PASSWORD) is not None
        actor = "shell:" + getpass.getuser()
        assert [(e.actor, e.action, e.subject) for e in audit.entries()] == [
            (actor, "user.add", "alice"),
            (actor, "user.add", "bob"),
            (actor, "user.passwd", "alice"),
            (actor, "user.disable", "bob"),
            (actor, "user.token.issue", "alice"),
            (actor, "user.enable", "bob"),
        ]
    finally:
        users.close()
        audit.close()
    assert _ok(_cli(tmp_path, "audit", "verify")) == "audit log: 6 entries, chain intact\n"


REFUSALS = [
    (
        ("users", "add", "a b", "--role", "viewer"),
        PASSWORD,
        'bad user name "a b": use 1-64 characters of A-Z a-z 0-9 . _ -',
    ),
    (
        ("users", "add", "carol", "--role", "root"),
        PASSWORD,
        'unknown role "root" (roles: viewer, operator, oncall, manager, admin)',
    ),
    (("users", "add", "carol", "--role", "viewer"), "short", "password too short: at least 12 characters"),
    (("users", "add", "alice", "--role", "viewer"), PASSWORD, 'user "alice" already exists'),
    (("users", "passwd", "bob"), PASSWORD, 'unknown user "bob"'),
    (("users", "disable", "bob"), None, 'unknown user "bob"'),
    (("users", "token", "bob"), None, 'unknown user "bob"'),
]


@pytest.mark.slow
def test_refusals_exit_2_with_the_reason_and_change_nothing(tmp_path: Path) -> None:
    _ok(_cli(tmp_path, "users", "add", "alice", "--role", "viewer"))

    for args, password, message in REFUSALS:
        proc = _cli(tmp_path, *args, password=password)
        assert (args, proc.returncode, proc.stdout, proc.stderr) == (args, 2, "", message + "\n")

    assert _ok(_cli(tmp_path, "audit", "verify")) == "audit log: 1 entries, chain intact\n"


@pytest.mark.slow
def test_audit_verify_names_the_first_changed_entry(tmp_path: Path) -> None:
    _ok(_cli(tmp_path, "users", "add", "alice", "--role", "viewer"))
    _ok(_cli(tmp_path, "users", "add", "bob", "--role", "admin"))
    _ok(_cli(tmp_path, "users", "disable", "alice"))
    db = sqlite3.connect(tmp_path / "audit.sqlite3")
    db.execute("""UPDATE audit SET detail = '{"role": "viewer"}' WHERE id = 2""")
    db.commit()
    db.close()

    proc = _cli(tmp_path, "audit", "verify")

    assert (proc.returncode, proc.stdout, proc.stderr) == (1, "", "audit log: entry 2 was changed\n")


@pytest.mark.slow
def test_audit_verify_without_an_audit_log_exits_2(tmp_path: Path) -> None:
    proc = _cli(tmp_path, "audit", "verify")

    assert (proc.returncode, proc.stderr) == (2, f"{tmp_path} holds no audit log (audit.sqlite3)\n")
    assert not (tmp_path / "audit.sqlite3").exists()


def test_password_comes_from_the_environment_when_set() -> None:
    def no_prompt(text: str) -> str:
        raise AssertionError(text)

    assert read_password("alice", {"OPS_CONSOLE_PASSWORD": PASSWORD}, no_prompt) == PASSWORD


def test_password_is_asked_twice_and_must_match() -> None:
    answers = iter([PASSWORD, PASSWORD, PASSWORD, PASSWORD + "!"])
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return next(answers)

    assert read_password("alice", {}, prompt) == PASSWORD
    with pytest.raises(ValueError, match=r"^the two passwords differ$"):
        read_password("alice", {}, prompt)
    assert asked == ["Password for alice: ", "Again: "] * 2
