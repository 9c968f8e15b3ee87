"""`run_console.py users|kiosk ...` and `run_console.py audit verify`: users, wall screens and the audit
log from a shell.

    python run_console.py users add NAME --role viewer|operator|oncall|manager|admin
    python run_console.py users passwd NAME         # also ends NAME's web sessions
    python run_console.py users disable NAME | enable NAME
    python run_console.py users role NAME ROLE
    python run_console.py users totp NAME [--remove]    # enrol: prints the secret and its URI, once
    python run_console.py users unlock NAME         # lifts a lock after failed logins
    python run_console.py users list
    python run_console.py users token NAME [--revoke]   # prints a new API token, once; or revokes all
    python run_console.py kiosk add NAME            # prints the token and /kiosk/<token>, once
    python run_console.py kiosk revoke NAME | list
    python run_console.py users first-admin         # set-up: `admin` with a random password, once
    python run_console.py audit verify

(each with [--config FILE] [--data-dir DIR]). They open `DATA_DIR/users.sqlite3`,
`DATA_DIR/audit.sqlite3` and, to end web sessions or lift a login lock, `DATA_DIR/sessions.sqlite3`
(the console may be running: it sees the change at its next request). `users passwd`, `disable`
and `role` end the user's web sessions, `kiosk revoke` the kiosk's. A password comes from the
environment variable OPS_CONSOLE_PASSWORD when it is set, else it is asked for twice. Exit status
0; 2 with the problem on standard error for a refusal (a bad name, an unknown user, kiosk or role, a
short password, a kiosk token in force); `audit verify` 1 when the chain is broken, naming the first
entry that does not match.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from security import totp
from security.audit import AUDIT_FILE, AuditLog
from security.sessions import SESSIONS_FILE, SessionDB
from security.users import USERS_FILE, Role, UserDB, check_name

__all__ = [
    "KIOSK_ACTIONS",
    "PASSWORD_ENV",
    "USER_ACTIONS",
    "audit_verify",
    "first_admin",
    "kiosk",
    "read_password",
    "shell_actor",
    "users",
]

PASSWORD_ENV = "OPS_CONSOLE_PASSWORD"
USER_ACTIONS = ("add", "passwd", "disable", "enable", "role", "totp", "unlock", "list", "token")
KIOSK_ACTIONS = ("add", "revoke", "list")
_ENDS_SESSIONS = frozenset({"passwd", "disable", "role"})
"""Actions after which the user's web sessions must log in again."""


def shell_actor() -> str:
    """Who acts from this shell, for the audit log: "shell:" and the OS user (its uid when the
    system knows no name for it)."""
    try:
        return "shell:" + getpass.getuser()
    except OSError:  # no LOGNAME/USER and the uid is not in the password database (containers)
        return f"shell:uid={os.getuid()}"


def read_password(name: str, env: Mapping[str, str], prompt: Callable[[str], str]) -> str:
    """`env[PASSWORD_ENV]` when set, else asked for twice through `prompt` (getpass);
    ValueError when the two differ."""
    if PASSWORD_ENV in env:
        return env[PASSWORD_ENV]
    first = prompt(f"Password for {name}: ")
    if prompt("Again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def users(
    action: str,
    name: str | None,
    data_dir: Path,
    *,
    role: str | None,
    actor: str,
    now: float,
    password: Callable[[str], str],
    out: TextIO,
    err: TextIO,
    remove: bool = False,
    revoke: bool = False,
) -> int:
    """Run `users ACTION [NAME]` on the users of `data_dir`; `password(name)` reads a password
    (`read_password`) and is called only by add and passwd. `remove` (totp --remove) and `revoke`
    (token --revoke) undo instead of issuing."""
    try:
        if action == "add":  # refuse a bad name or role before asking for a password
            check_name(name or "")
            Role.parse(role or "")
        secret = password(name or "") if action in ("add", "passwd") else ""
        with _opened(data_dir) as (audit, db):
            if action == "unlock":
                _unlock(db, audit, data_dir, name or "", actor, now, out)
            else:
                _run(db, action, name or "", role or "", secret, actor, now, out, remove=remove, revoke=revoke)
            if action in _ENDS_SESSIONS:
                _end_sessions(data_dir, name or "", "session", now, out)
    except ValueError as exc:
        err.write(f"{exc}\n")
        return 2
    return 0


def kiosk(action: str, name: str | None, data_dir: Path, *, actor: str, now: float, out: TextIO, err: TextIO) -> int:
    """Run `kiosk ACTION [NAME]` on the kiosks (wall screens) of `data_dir`."""
    try:
        with _opened(data_dir) as (_, db):
            if action == "add":
                token = db.add_kiosk(name or "", now, actor=actor)
                out.write(f"token: {token}\npath: /kiosk/{token}\n")
            elif action == "revoke":
                db.revoke_kiosk(name or "", now, actor=actor)
                out.write(f"kiosk {name} revoked\n")
                _end_sessions(data_dir, name or "", "kiosk", now, out)
            elif action == "list":
                rows = [
                    (k.name, _utc(k.issued_at), "-" if k.revoked_at is None else _utc(k.revoked_at))
                    for k in db.kiosks()
                ]
                _table(("name", "issued", "revoked"), rows, out)
            else:
                raise ValueError(f"unknown kiosk action {action!r} (actions: {', '.join(KIOSK_ACTIONS)})")
    except ValueError as exc:
        err.write(f"{exc}\n")
        return 2
    return 0


@contextlib.contextmanager
def _opened(data_dir: Path) -> Iterator[tuple[AuditLog, UserDB]]:
    audit = AuditLog(data_dir / AUDIT_FILE)
    try:
        db = UserDB(data_dir / USERS_FILE, audit)
        try:
            yield audit, db
        finally:
            db.close()
    finally:
        audit.close()


def _run(
    db: UserDB,
    action: str,
    name: str,
    role: str,
    password: str,
    actor: str,
    now: float,
    out: TextIO,
    *,
    remove: bool,
    revoke: bool,
) -> None:
    if action == "add":
        user = db.add(name, role, password, now, actor=actor)
        out.write(f"added {user.name} ({user.role.value})\n")
    elif action == "passwd":
        db.passwd(name, password, now, actor=actor)
        out.write(f"changed the password of {name}\n")
    elif action == "disable":
        db.disable(name, now, actor=actor)
        out.write(f"{name} disabled\n")
    elif action == "enable":
        db.enable(name, now, actor=actor)
        out.write(f"{name} enabled\n")
    elif action == "role":
        out.write(f"{name} is {db.set_role(name, role, now, actor=actor).role.value}\n")
    elif action == "totp" and remove:
        out.write(
            f"removed the TOTP of {name}\n" if db.remove_totp(name, now, actor=actor) else f"{name} had no TOTP\n"
        )
    elif action == "totp":
        secret = db.enroll_totp(name, now, actor=actor)
        out.write(f"secret: {secret}\nuri: {totp.provisioning_uri(secret, name)}\n")
    elif action == "token" and revoke:
        out.write(f"revoked {_count(db.revoke_tokens(name, now, actor=actor), 'API token')} of {name}\n")
    elif action == "token":
        out.write(db.issue_token(name, now, actor=actor) + "\n")
    elif action == "list":
        rows = [(u.name, u.role.value, _yes(u.disabled), _yes(u.totp), _utc(u.created_at)) for u in db.list()]
        _table(("name", "role", "disabled", "totp", "created"), rows, out)
    else:
        raise ValueError(f"unknown users action {action!r} (actions: {', '.join(USER_ACTIONS)})")


def _end_sessions(data_dir: Path, name: str, kind: str, now: float, out: TextIO) -> None:
    """End the web sessions of the user or kiosk `name` (the console may be running)."""
    sessions = SessionDB(data_dir / SESSIONS_FILE)
    try:
        ended = sessions.end_for(name, kind, now)
    finally:
        sessions.close()
    if ended:
        out.write(f"ended {_count(ended, 'web session')} of {name}\n")


def _unlock(db: UserDB, audit: AuditLog, data_dir: Path, name: str, actor: str, now: float, out: TextIO) -> None:
    """Lift `name`'s login lock and forget its failed logins; ValueError for an unknown user."""
    if db.get(name) is None:
        raise ValueError(f'unknown user "{name}"')
    sessions = SessionDB(data_dir / SESSIONS_FILE)
    try:
        sessions.unlock(name)
    finally:
        sessions.close()
    audit.record(now, actor, "user.unlock", name, {})
    out.write(f"{name} unlocked\n")


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _utc(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def audit_verify(data_dir: Path, out: TextIO, err: TextIO) -> int:
    """0 and the number of entries when the chain is whole; 1 and the first broken entry; 2 when
    `data_dir` holds no audit log."""
    if not (data_dir / AUDIT_FILE).exists():
        err.write(f"{data_dir} holds no audit log ({AUDIT_FILE})\n")
        return 2
    audit = AuditLog(data_dir / AUDIT_FILE)
    try:
        problem = audit.verify()
        count = len(audit.entries())
    finally:
        audit.close()
    if problem is not None:
        err.write(f"audit log: {problem}\n")
        return 1
    out.write(f"audit log: {count} entries, chain intact\n")
    return 0


FIRST_ADMIN = "admin"


def first_admin(data_dir: Path, *, second_factor: bool, actor: str, now: float, out: TextIO) -> int:
    """`users first-admin` (run by scripts/setup.sh): when `data_dir` has no admin yet, add the user
    `admin` with a random password (and, when admins need a second factor, a TOTP secret) and print
    them, once; otherwise say that an admin exists and change nothing. 0 either way."""
    audit = AuditLog(data_dir / AUDIT_FILE)
    db = UserDB(data_dir / USERS_FILE, audit)
    try:
        admins = [u.name for u in db.list() if u.role is Role.ADMIN]
        if admins:
            out.write(f"an admin exists ({', '.join(admins)}): nothing to do\n")
            return 0
        password = secrets.token_urlsafe(12)
        db.add(FIRST_ADMIN, Role.ADMIN, password, now, actor=actor)
        out.write(f"first admin added in {data_dir}: user {FIRST_ADMIN}, password {password}\n")
        if second_factor:
            secret = db.enroll_totp(FIRST_ADMIN, now, actor=actor)
            out.write(f"second factor (TOTP) secret: {secret}\n  {totp.provisioning_uri(secret, FIRST_ADMIN)}\n")
        out.write("(shown once: change the password at /account after logging in)\n")
    finally:
        db.close()
        audit.close()
    return 0
