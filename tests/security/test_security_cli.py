"""`run_console.py users ...`, `kiosk ...` and `audit verify`: as real subprocesses on the shipped config,
and in process through security/cli.py (a fixed time) and run_console.main."""

from __future__ import annotations

import getpass
import io
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from security.audit import AuditLog
from security.cli import kiosk, read_password, shell_actor, users
from security.sessions import SessionDB
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


# -- in process: security/cli.py's functions with a fixed time, and run_console.main's wiring ------------
T0 = 1_780_000_000.0
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _users(data_dir: Path, action: str, name: str | None = None, **options: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = users(
        action,
        name,
        data_dir,
        role=options.pop("role", None),
        actor="shell:ops",
        now=options.pop("now", T0 + 100),
        password=lambda _: PASSWORD,
        out=out,
        err=err,
        **options,
    )
    return code, out.getvalue(), err.getvalue()


def _kiosk(data_dir: Path, action: str, name: str | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = kiosk(action, name, data_dir, actor="shell:ops", now=T0 + 100, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _sessions(data_dir: Path, name: str, kind: str, count: int, idle: float | None = 3600) -> list[str]:
    sessions = SessionDB(data_dir / "sessions.sqlite3")
    try:
        return [sessions.create(name, kind, T0, ip="192.0.2.7", idle=idle, absolute=None)[0] for _ in range(count)]
    finally:
        sessions.close()


def _live(data_dir: Path, session_ids: list[str]) -> list[bool]:
    sessions = SessionDB(data_dir / "sessions.sqlite3")
    try:
        return [sessions.get(i, T0 + 200) is not None for i in session_ids]
    finally:
        sessions.close()


def _entries(data_dir: Path) -> list[tuple[float, str, str, str, dict[str, Any]]]:
    audit = AuditLog(data_dir / "audit.sqlite3")
    try:
        return [(e.at, e.actor, e.action, e.subject, dict(e.detail)) for e in audit.entries()]
    finally:
        audit.close()


@pytest.fixture
def alice(tmp_path: Path) -> Path:
    """A data dir holding alice (viewer) and bob (viewer), added at T0."""
    assert _users(tmp_path, "add", "alice", role="viewer", now=T0) == (0, "added alice (viewer)\n", "")
    assert _users(tmp_path, "add", "bob", role="viewer", now=T0) == (0, "added bob (viewer)\n", "")
    return tmp_path


@pytest.mark.parametrize(
    ("action", "options", "said"),
    [
        ("passwd", {}, "changed the password of alice\n"),
        ("disable", {}, "alice disabled\n"),
        ("role", {"role": "oncall"}, "alice is oncall\n"),
    ],
)
def test_passwd_disable_and_role_end_the_users_web_sessions(
    alice: Path, action: str, options: dict[str, Any], said: str
) -> None:
    ended = _sessions(alice, "alice", "session", 2)
    kept = _sessions(alice, "bob", "session", 1) + _sessions(alice, "alice", "kiosk", 1)

    assert _users(alice, action, "alice", **options) == (0, said + "ended 2 web sessions of alice\n", "")

    assert _live(alice, ended + kept) == [False, False, True, True]
    assert _users(alice, action, "alice", **options) == (0, said, "")  # none left to end


def test_role_changes_the_role_and_is_audited(alice: Path) -> None:
    assert _users(alice, "role", "alice", role="manager") == (0, "alice is manager\n", "")
    assert _users(alice, "role", "alice", role="root") == (
        2,
        "",
        'unknown role "root" (roles: viewer, operator, oncall, manager, admin)\n',
    )
    assert _users(alice, "role", "carol", role="admin") == (2, "", 'unknown user "carol"\n')

    assert _entries(alice)[2:] == [(T0 + 100, "shell:ops", "user.role", "alice", {"from": "viewer", "to": "manager"})]


def test_totp_prints_the_secret_and_its_uri_once_and_remove_takes_it_away(
    alice: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import security.totp

    monkeypatch.setattr(security.totp, "new_secret", lambda: SECRET)

    assert _users(alice, "totp", "alice") == (
        0,
        f"secret: {SECRET}\nuri: otpauth://totp/Ops%20Console:alice?secret={SECRET}&issuer=Ops%20Console\n",
        "",
    )
    code, listing, _ = _users(alice, "list")
    assert (code, [line.split()[:4] for line in listing.splitlines()]) == (
        0,
        [["name", "role", "disabled", "totp"], ["alice", "viewer", "no", "yes"], ["bob", "viewer", "no", "no"]],
    )
    assert SECRET not in listing
    assert _users(alice, "totp", "alice", remove=True) == (0, "removed the TOTP of alice\n", "")
    assert _users(alice, "totp", "alice", remove=True) == (0, "alice had no TOTP\n", "")
    assert _users(alice, "totp", "carol") == (2, "", 'unknown user "carol"\n')
    assert [entry[2:4] for entry in _entries(alice)[2:]] == [
        ("user.totp.enroll", "alice"),
        ("user.totp.remove", "alice"),
    ]


def test_unlock_lifts_the_login_lock_and_is_audited(alice: Path) -> None:
    sessions = SessionDB(alice / "sessions.sqlite3")
    try:
        for _ in range(3):
            sessions.failed("alice", T0 + 50, attempts=3, lock_for=600)
        assert sessions.locked_until("alice", T0 + 100) == T0 + 650

        assert _users(alice, "unlock", "alice") == (0, "alice unlocked\n", "")

        assert sessions.locked_until("alice", T0 + 100) is None
    finally:
        sessions.close()
    assert _users(alice, "unlock", "carol") == (2, "", 'unknown user "carol"\n')
    assert _entries(alice)[2:] == [(T0 + 100, "shell:ops", "user.unlock", "alice", {})]


def test_token_revoke_revokes_every_api_token_of_the_user(alice: Path) -> None:
    tokens = [_users(alice, "token", "alice")[1].strip() for _ in range(2)]
    bobs = _users(alice, "token", "bob")[1].strip()

    assert _users(alice, "token", "alice", revoke=True) == (0, "revoked 2 API tokens of alice\n", "")
    assert _users(alice, "token", "alice", revoke=True) == (0, "revoked 0 API tokens of alice\n", "")
    assert _users(alice, "token", "carol", revoke=True) == (2, "", 'unknown user "carol"\n')

    audit = AuditLog(alice / "audit.sqlite3")
    db = UserDB(alice / "users.sqlite3", audit)
    try:
        assert [db.user_for_token(t) for t in tokens] == [None, None]
        assert db.user_for_token(bobs) is not None
    finally:
        db.close()
        audit.close()


def test_kiosk_add_prints_the_token_and_path_and_revoke_ends_its_sessions(tmp_path: Path) -> None:
    code, said, err = _kiosk(tmp_path, "add", "lobby")
    token = said.split("\n")[0].removeprefix("token: ")
    assert (code, said, err) == (0, f"token: {token}\npath: /kiosk/{token}\n", "")
    assert len(token) == 43
    screens = _sessions(tmp_path, "lobby", "kiosk", 1)
    other = _sessions(tmp_path, "lobby", "session", 1)  # a user who happens to be called lobby

    assert _kiosk(tmp_path, "add", "lobby") == (
        2,
        "",
        'kiosk "lobby" already has a token in force (revoke it first)\n',
    )
    assert _kiosk(tmp_path, "revoke", "lobby") == (0, "kiosk lobby revoked\nended 1 web session of lobby\n", "")
    assert _live(tmp_path, screens + other) == [False, True]
    assert _kiosk(tmp_path, "revoke", "hall") == (2, "", 'unknown kiosk "hall"\n')
    assert _kiosk(tmp_path, "add", "a b") == (2, "", 'bad kiosk name "a b": use 1-64 characters of A-Z a-z 0-9 . _ -\n')
    assert _kiosk(tmp_path, "list") == (
        0,
        "name   issued                revoked\nlobby  2026-05-28T20:28:20Z  2026-05-28T20:28:20Z\n",
        "",
    )
    assert _entries(tmp_path) == [
        (T0 + 100, "shell:ops", "kiosk.add", "lobby", {}),
        (T0 + 100, "shell:ops", "kiosk.revoke", "lobby", {}),
    ]


@pytest.fixture
def root_logging() -> Iterator[None]:
    """run_console.main sets the root logger's level; put it back for the tests after."""
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


@pytest.mark.usefixtures("root_logging")
def test_run_console_wires_the_new_users_and_kiosk_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import run_console

    monkeypatch.setenv("OPS_CONSOLE_PASSWORD", PASSWORD)
    where = ["--config", str(SHIPPED), "--data-dir", str(tmp_path)]

    def run(*args: str) -> tuple[int, str, str]:
        code = run_console.main([*args, *where])
        said = capsys.readouterr()
        return code, said.out, said.err

    assert run("users", "add", "alice", "--role", "viewer") == (0, "added alice (viewer)\n", "")
    web = _sessions(tmp_path, "alice", "session", 1, idle=None)  # main acts at the time of the test run
    screen = _sessions(tmp_path, "lobby", "kiosk", 1, idle=None)
    assert run("users", "role", "alice", "admin") == (0, "alice is admin\nended 1 web session of alice\n", "")
    assert run("users", "totp", "alice")[1].startswith("secret: ")
    assert run("users", "totp", "alice", "--remove") == (0, "removed the TOTP of alice\n", "")
    assert run("users", "unlock", "alice") == (0, "alice unlocked\n", "")
    run("users", "token", "alice")
    assert run("users", "token", "alice", "--revoke") == (0, "revoked 1 API token of alice\n", "")
    assert run("kiosk", "add", "lobby")[1].startswith("token: ")
    assert run("kiosk", "list")[1].splitlines()[1].split()[::2] == ["lobby", "-"]
    assert run("kiosk", "revoke", "lobby") == (0, "kiosk lobby revoked\nended 1 web session of lobby\n", "")
    assert run("kiosk", "revoke", "hall") == (2, "", 'unknown kiosk "hall"\n')
    assert run("users", "role", "carol", "viewer") == (2, "", 'unknown user "carol"\n')
    assert _live(tmp_path, web + screen) == [False, False]

    actor = shell_actor()
    assert [(e[1], e[2], e[3]) for e in _entries(tmp_path)] == [
        (actor, "user.add", "alice"),
        (actor, "user.role", "alice"),
        (actor, "user.totp.enroll", "alice"),
        (actor, "user.totp.remove", "alice"),
        (actor, "user.unlock", "alice"),
        (actor, "user.token.issue", "alice"),
        (actor, "user.token.revoke", "alice"),
        (actor, "kiosk.add", "lobby"),
        (actor, "kiosk.revoke", "lobby"),
    ]
    assert run("audit", "verify") == (0, "audit log: 9 entries, chain intact\n", "")
