"""`run_console.py users ...` and `run_console.py audit verify`: the users and the audit log from a shell.

    python run_console.py users add NAME --role viewer|operator|oncall|manager|admin
    python run_console.py users passwd NAME
    python run_console.py users disable NAME | enable NAME
    python run_console.py users list
    python run_console.py users token NAME          # prints a new API token, once
    python run_console.py audit verify

(each with [--config FILE] [--data-dir DIR]). They open `DATA_DIR/users.sqlite3` and
`DATA_DIR/audit.sqlite3` (the console may be running). A password comes from the environment
variable OPS_CONSOLE_PASSWORD when it is set, else it is asked for twice. Exit status 0; 2 with the
problem on standard error for a refusal (a bad name, an unknown user or role, a short password);
`audit verify` 1 when the chain is broken, naming the first entry that does not match.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from security.audit import AUDIT_FILE, AuditLog
from security.users import USERS_FILE, Role, UserDB, check_name

__all__ = ["PASSWORD_ENV", "USER_ACTIONS", "audit_verify", "read_password", "shell_actor", "users"]

PASSWORD_ENV = "OPS_CONSOLE_PASSWORD"
USER_ACTIONS = ("add", "passwd", "disable", "enable", "list", "token")


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
) -> int:
    """Run `users ACTION [NAME]` on the users of `data_dir`; `password(name)` reads a password
    (`read_password`) and is called only by add and passwd."""
    try:
        if action == "add":  # refuse a bad name or role before asking for a password
            check_name(name or "")
            Role.parse(role or "")
        secret = password(name or "") if action in ("add", "passwd") else ""
        audit = AuditLog(data_dir / AUDIT_FILE)
        db = UserDB(data_dir / USERS_FILE, audit)
        try:
            _run(db, action, name or "", role or "", secret, actor, now, out)
        finally:
            db.close()
            audit.close()
    except ValueError as exc:
        err.write(f"{exc}\n")
        return 2
    return 0


def _run(db: UserDB, action: str, name: str, role: str, password: str, actor: str, now: float, out: TextIO) -> None:
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
    elif action == "token":
        out.write(db.issue_token(name, now, actor=actor) + "\n")
    elif action == "list":
        rows = [(u.name, u.role.value, "yes" if u.disabled else "no", _utc(u.created_at)) for u in db.list()]
        widths = [max(len(r[i]) for r in [("name", "role", "disabled", "created"), *rows]) for i in range(4)]
        for row in [("name", "role", "disabled", "created"), *rows]:
            out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() + "\n")
    else:
        raise ValueError(f"unknown users action {action!r} (actions: {', '.join(USER_ACTIONS)})")


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
