"""security/users.py: roles, passwords, second factors, API and kiosk tokens, refusals, the audit trail of
every change, and files made by the first schema."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from security.audit import AuditLog
from security.passwords import hash_password
from security.users import Kiosk, Role, User, UserDB

T0 = 1_780_000_000.0
PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple-of-twelve+"


@pytest.fixture
def audit(tmp_path: Path) -> Iterator[AuditLog]:
    log = AuditLog(tmp_path / "audit.sqlite3")
    yield log
    log.close()


@pytest.fixture
def db(tmp_path: Path, audit: AuditLog) -> Iterator[UserDB]:
    users = UserDB(tmp_path / "users.sqlite3", audit)
    yield users
    users.close()


def test_roles_are_ordered_viewer_to_admin() -> None:
    assert [r.value for r in Role] == ["viewer", "operator", "oncall", "manager", "admin"]
    assert [r.rank for r in Role] == [0, 1, 2, 3, 4]


def test_each_role_allows_itself_and_every_lesser_role_only() -> None:
    for role in Role:
        assert [other for other in Role if role.allows(other)] == list(Role)[: role.rank + 1]
    assert Role.ONCALL.allows(Role.OPERATOR)
    assert not Role.OPERATOR.allows(Role.ONCALL)
    assert Role.ADMIN.allows(Role.MANAGER)
    assert not Role.VIEWER.allows(Role.OPERATOR)


def test_added_user_logs_in_with_their_password(db: UserDB) -> None:
    added = db.add("alice", "operator", PASSWORD, T0, actor="shell:root")

    assert added == User("alice", Role.OPERATOR, False, T0, T0)
    assert db.get("alice") == added
    assert db.list() == [added]
    assert db.check_password("alice", PASSWORD) == added


def test_wrong_password_and_unknown_user_give_none(db: UserDB) -> None:
    db.add("alice", Role.VIEWER, PASSWORD, T0, actor="shell:root")

    assert db.check_password("alice", PASSWORD + "x") is None
    assert db.check_password("mallory", PASSWORD) is None
    assert db.get("mallory") is None


def test_passwd_replaces_the_password(db: UserDB) -> None:
    db.add("alice", Role.VIEWER, PASSWORD, T0, actor="shell:root")

    changed = db.passwd("alice", NEW_PASSWORD, T0 + 60, actor="shell:root")

    assert changed == User("alice", Role.VIEWER, False, T0, T0 + 60)
    assert db.check_password("alice", PASSWORD) is None
    assert db.check_password("alice", NEW_PASSWORD) == changed


def test_disabled_user_cannot_log_in_until_enabled(db: UserDB) -> None:
    db.add("alice", Role.ONCALL, PASSWORD, T0, actor="shell:root")

    assert db.disable("alice", T0 + 1, actor="shell:root").disabled
    assert db.check_password("alice", PASSWORD) is None
    assert db.enable("alice", T0 + 2, actor="shell:root").disabled is False
    assert db.check_password("alice", PASSWORD) == User("alice", Role.ONCALL, False, T0, T0)


def test_users_are_listed_by_name(db: UserDB) -> None:
    db.add("zoe", Role.ADMIN, PASSWORD, T0, actor="shell:root")
    db.add("al.ice_2-b", Role.MANAGER, PASSWORD, T0 + 1, actor="shell:root")

    assert [u.name for u in db.list()] == ["al.ice_2-b", "zoe"]


def test_issued_token_identifies_its_user_until_revoked(db: UserDB) -> None:
    alice = db.add("alice", Role.OPERATOR, PASSWORD, T0, actor="shell:root")
    first = db.issue_token("alice", T0 + 1, actor="shell:root")
    second = db.issue_token("alice", T0 + 2, actor="shell:root")

    assert first != second
    assert db.user_for_token(first) == alice
    assert db.user_for_token(second) == alice
    assert db.user_for_token(first + "x") is None

    assert db.revoke_tokens("alice", T0 + 3, actor="shell:root") == 2
    assert db.user_for_token(first) is None
    assert db.user_for_token(second) is None


def test_token_of_disabled_user_fails_until_enabled(db: UserDB) -> None:
    alice = db.add("alice", Role.OPERATOR, PASSWORD, T0, actor="shell:root")
    token = db.issue_token("alice", T0 + 1, actor="shell:root")

    db.disable("alice", T0 + 2, actor="shell:root")
    assert db.user_for_token(token) is None
    db.enable("alice", T0 + 3, actor="shell:root")
    assert db.user_for_token(token) == alice


def test_neither_password_nor_token_is_stored_in_clear(db: UserDB, tmp_path: Path) -> None:
    db.add("alice", Role.OPERATOR, PASSWORD, T0, actor="shell:root")
    token = db.issue_token("alice", T0 + 1, actor="shell:root")
    db.close()

    stored = b"".join(p.read_bytes() for p in tmp_path.glob("users.sqlite3*"))
    assert token.encode() not in stored
    assert PASSWORD.encode() not in stored
    conn = sqlite3.connect(tmp_path / "users.sqlite3")
    try:
        ((hashed,),) = conn.execute("SELECT password_hash FROM users").fetchall()
        ((digest,),) = conn.execute("SELECT digest FROM tokens").fetchall()
    finally:
        conn.close()
    assert hashed.startswith("$argon2id$")
    assert len(digest) == 64


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("", "viewer", PASSWORD, 'bad user name "": use 1-64 characters of A-Z a-z 0-9 . _ -'),
        ("a b", "viewer", PASSWORD, 'bad user name "a b": use 1-64 characters of A-Z a-z 0-9 . _ -'),
        ("a" * 65, "viewer", PASSWORD, f'bad user name "{"a" * 65}": use 1-64 characters of A-Z a-z 0-9 . _ -'),
        ("ålice", "viewer", PASSWORD, 'bad user name "ålice": use 1-64 characters of A-Z a-z 0-9 . _ -'),
        ("alice", "root", PASSWORD, 'unknown role "root" (roles: viewer, operator, oncall, manager, admin)'),
        ("alice", "viewer", "elevenchars", "password too short: at least 12 characters"),
    ],
)
def test_add_refuses_with_the_reason(db: UserDB, name: str, role: str, password: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        db.add(name, role, password, T0, actor="shell:root")

    assert str(caught.value) == message
    assert db.list() == []


def test_longest_name_is_accepted(db: UserDB) -> None:
    assert db.add("a" * 64, Role.VIEWER, "twelve-chars", T0, actor="shell:root").name == "a" * 64


def test_duplicate_user_is_refused(db: UserDB) -> None:
    db.add("alice", Role.VIEWER, PASSWORD, T0, actor="shell:root")

    with pytest.raises(ValueError) as caught:
        db.add("alice", Role.ADMIN, NEW_PASSWORD, T0 + 1, actor="shell:root")

    assert str(caught.value) == 'user "alice" already exists'
    assert db.get("alice") == User("alice", Role.VIEWER, False, T0, T0)


def test_changes_to_an_unknown_user_are_refused(db: UserDB) -> None:
    changes = [
        lambda: db.passwd("bob", NEW_PASSWORD, T0, actor="shell:root"),
        lambda: db.disable("bob", T0, actor="shell:root"),
        lambda: db.enable("bob", T0, actor="shell:root"),
        lambda: db.issue_token("bob", T0, actor="shell:root"),
        lambda: db.revoke_tokens("bob", T0, actor="shell:root"),
    ]
    for change in changes:
        with pytest.raises(ValueError) as caught:
            change()
        assert str(caught.value) == 'unknown user "bob"'


def test_short_new_password_is_refused(db: UserDB) -> None:
    db.add("alice", Role.VIEWER, PASSWORD, T0, actor="shell:root")

    with pytest.raises(ValueError) as caught:
        db.passwd("alice", "short", T0 + 1, actor="shell:root")

    assert str(caught.value) == "password too short: at least 12 characters"
    assert db.check_password("alice", PASSWORD) is not None


def test_every_change_is_audited_without_secrets_and_the_chain_verifies(db: UserDB, audit: AuditLog) -> None:
    db.add("alice", Role.OPERATOR, PASSWORD, T0, actor="shell:root")
    db.passwd("alice", NEW_PASSWORD, T0 + 1, actor="shell:root")
    db.disable("alice", T0 + 2, actor="shell:ops")
    db.disable("alice", T0 + 3, actor="shell:ops")  # already disabled: no change, no entry
    db.enable("alice", T0 + 4, actor="shell:ops")
    token = db.issue_token("alice", T0 + 5, actor="shell:root")
    db.revoke_tokens("alice", T0 + 6, actor="shell:root")
    db.check_password("alice", NEW_PASSWORD)  # a login is not a change of the user

    entries = audit.entries()
    assert [(e.at, e.actor, e.action, e.subject, dict(e.detail)) for e in entries] == [
        (T0, "shell:root", "user.add", "alice", {"role": "operator"}),
        (T0 + 1, "shell:root", "user.passwd", "alice", {}),
        (T0 + 2, "shell:ops", "user.disable", "alice", {}),
        (T0 + 4, "shell:ops", "user.enable", "alice", {}),
        (T0 + 5, "shell:root", "user.token.issue", "alice", {}),
        (T0 + 6, "shell:root", "user.token.revoke", "alice", {"tokens": 1}),
    ]
    assert audit.verify() is None
    stored = b"".join(p.read_bytes() for p in audit.path.parent.glob("audit.sqlite3*"))
    for secret in (PASSWORD, NEW_PASSWORD, token):
        assert secret.encode() not in stored


def test_refusals_are_not_audited(db: UserDB, audit: AuditLog) -> None:
    with pytest.raises(ValueError):
        db.add("a b", Role.VIEWER, PASSWORD, T0, actor="shell:root")
    with pytest.raises(ValueError):
        db.passwd("bob", PASSWORD, T0, actor="shell:root")

    assert audit.entries() == []


def test_unknown_user_costs_a_hash_verification_like_a_known_one(db: UserDB, monkeypatch: pytest.MonkeyPatch) -> None:
    import security.users

    checked: list[str] = []
    real = security.users.verify_password

    def counting(stored: str, password: str) -> bool:
        checked.append(stored.split("$")[1])
        return real(stored, password)

    monkeypatch.setattr(security.users, "verify_password", counting)
    db.add("alice", Role.VIEWER, PASSWORD, T0, actor="shell:root")

    assert db.check_password("mallory", PASSWORD) is None
    assert db.check_password("alice", "wrong password!") is None
    assert checked == ["argon2id", "argon2id"]


def test_hash_with_old_parameters_is_replaced_at_login(db: UserDB, tmp_path: Path) -> None:
    from argon2 import PasswordHasher

    db.add("alice", Role.VIEWER, PASSWORD, T0, actor="shell:root")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    conn = sqlite3.connect(tmp_path / "users.sqlite3")
    conn.execute("UPDATE users SET password_hash = ?", (weak,))
    conn.commit()
    conn.close()

    assert db.check_password("alice", PASSWORD) == User("alice", Role.VIEWER, False, T0, T0)
    conn = sqlite3.connect(tmp_path / "users.sqlite3")
    ((rehashed,),) = conn.execute("SELECT password_hash FROM users").fetchall()
    conn.close()
    assert rehashed != weak
    assert rehashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert db.check_password("alice", PASSWORD) is not None


# -- roles ---------------------------------------------------------------------------------------
def test_set_role_changes_the_role_and_audits_from_and_to(db: UserDB, audit: AuditLog) -> None:
    db.add("alice", Role.VIEWER, PASSWORD, T0, actor="shell:root")

    assert db.set_role("alice", "oncall", T0 + 1, actor="shell:ops") == User("alice", Role.ONCALL, False, T0, T0)
    assert db.set_role("alice", Role.ONCALL, T0 + 2, actor="shell:ops").role is Role.ONCALL  # no change, no entry
    assert db.set_role("alice", Role.VIEWER, T0 + 3, actor="shell:ops").role is Role.VIEWER

    assert db.get("alice") == User("alice", Role.VIEWER, False, T0, T0)
    assert [(e.at, e.actor, e.action, e.subject, dict(e.detail)) for e in audit.entries("user.role")] == [
        (T0 + 1, "shell:ops", "user.role", "alice", {"from": "viewer", "to": "oncall"}),
        (T0 + 3, "shell:ops", "user.role", "alice", {"from": "oncall", "to": "viewer"}),
    ]


def test_set_role_refuses_an_unknown_role_and_changes_nothing(db: UserDB, audit: AuditLog) -> None:
    db.add("alice", Role.VIEWER, PASSWORD, T0, actor="shell:root")

    with pytest.raises(ValueError) as caught:
        db.set_role("alice", "root", T0 + 1, actor="shell:root")

    assert str(caught.value) == 'unknown role "root" (roles: viewer, operator, oncall, manager, admin)'
    assert db.get("alice") == User("alice", Role.VIEWER, False, T0, T0)
    assert [e.action for e in audit.entries()] == ["user.add"]


def test_new_changes_to_an_unknown_user_are_refused(db: UserDB, audit: AuditLog) -> None:
    changes = [
        lambda: db.set_role("bob", Role.ADMIN, T0, actor="shell:root"),
        lambda: db.enroll_totp("bob", T0, actor="shell:root"),
        lambda: db.remove_totp("bob", T0, actor="shell:root"),
    ]
    for change in changes:
        with pytest.raises(ValueError) as caught:
            change()
        assert str(caught.value) == 'unknown user "bob"'
    assert audit.entries() == []


# -- second factor (TOTP) ------------------------------------------------------------------------
SECRETS = ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")


@pytest.fixture
def fixed_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Enrolment hands out SECRETS in turn, so that every code below is known (no chance match)."""
    import security.totp

    handed = iter(SECRETS)
    monkeypatch.setattr(security.totp, "new_secret", lambda: next(handed))


def _code(secret: str, at: float) -> str:
    return pyotp.TOTP(secret).at(at)


def test_enrolment_hands_out_a_new_random_secret(db: UserDB) -> None:
    db.add("alice", Role.ONCALL, PASSWORD, T0, actor="shell:root")

    first = db.enroll_totp("alice", T0, actor="shell:root")
    second = db.enroll_totp("alice", T0, actor="shell:root")

    assert re.fullmatch(r"[A-Z2-7]{32}", first)
    assert re.fullmatch(r"[A-Z2-7]{32}", second)
    assert first != second


@pytest.mark.usefixtures("fixed_secrets")
def test_enrolled_user_has_totp_and_its_codes_check(db: UserDB) -> None:
    db.add("alice", Role.ONCALL, PASSWORD, T0, actor="shell:root")
    assert db.has_totp("alice") is False

    secret = db.enroll_totp("alice", T0, actor="shell:root")

    assert secret == SECRETS[0]
    assert db.has_totp("alice") is True
    assert db.get("alice") == User("alice", Role.ONCALL, False, T0, T0, totp=True)
    assert db.check_password("alice", PASSWORD) == User("alice", Role.ONCALL, False, T0, T0, totp=True)
    assert db.check_totp("alice", _code(secret, T0 + 60), T0 + 60) is True
    assert db.check_totp("alice", _code(secret, T0 + 90 + 60), T0 + 90) is False  # two steps ahead
    assert db.check_totp("alice", "not a code", T0 + 90) is False


@pytest.mark.usefixtures("fixed_secrets")
def test_a_totp_code_works_once(db: UserDB) -> None:
    db.add("alice", Role.ONCALL, PASSWORD, T0, actor="shell:root")
    secret = db.enroll_totp("alice", T0, actor="shell:root")
    code = _code(secret, T0 + 60)

    assert db.check_totp("alice", code, T0 + 60) is True
    assert db.check_totp("alice", code, T0 + 61) is False  # the same code, replayed within its step
    assert db.check_totp("alice", code, T0 + 89) is False  # and within the window after it
    assert db.check_totp("alice", _code(secret, T0 + 30), T0 + 61) is False  # an older step's code
    assert db.check_totp("alice", _code(secret, T0 + 90), T0 + 61) is True  # the next step's, early


@pytest.mark.usefixtures("fixed_secrets")
def test_totp_is_false_for_unknown_unenrolled_and_disabled_users(db: UserDB) -> None:
    db.add("alice", Role.ONCALL, PASSWORD, T0, actor="shell:root")
    db.add("bob", Role.ONCALL, PASSWORD, T0, actor="shell:root")
    secret = db.enroll_totp("alice", T0, actor="shell:root")
    db.disable("alice", T0, actor="shell:root")

    assert db.check_totp("alice", _code(secret, T0 + 60), T0 + 60) is False
    assert db.check_totp("bob", _code(secret, T0 + 60), T0 + 60) is False
    assert db.check_totp("mallory", _code(secret, T0 + 60), T0 + 60) is False
    assert db.has_totp("mallory") is False
    db.enable("alice", T0 + 60, actor="shell:root")
    assert db.check_totp("alice", _code(secret, T0 + 60), T0 + 60) is True


@pytest.mark.usefixtures("fixed_secrets")
def test_re_enrolling_replaces_the_secret_and_removing_ends_the_second_factor(db: UserDB) -> None:
    db.add("alice", Role.ONCALL, PASSWORD, T0, actor="shell:root")
    old = db.enroll_totp("alice", T0, actor="shell:root")
    assert db.check_totp("alice", _code(old, T0 + 60), T0 + 60) is True

    new = db.enroll_totp("alice", T0 + 70, actor="shell:root")

    assert (old, new) == SECRETS
    assert db.check_totp("alice", _code(old, T0 + 120), T0 + 120) is False
    assert db.check_totp("alice", _code(new, T0 + 60), T0 + 80) is True  # a step before: the new secret's first
    assert db.remove_totp("alice", T0 + 130, actor="shell:root") is True
    assert db.remove_totp("alice", T0 + 140, actor="shell:root") is False
    assert db.has_totp("alice") is False
    assert db.check_totp("alice", _code(new, T0 + 150), T0 + 150) is False


def test_totp_changes_are_audited_without_the_secret(db: UserDB, audit: AuditLog) -> None:
    db.add("alice", Role.ONCALL, PASSWORD, T0, actor="shell:root")
    secret = db.enroll_totp("alice", T0 + 1, actor="shell:ops")
    db.check_totp("alice", _code(secret, T0 + 2), T0 + 2)  # a login is not a change
    db.remove_totp("alice", T0 + 3, actor="shell:ops")
    db.remove_totp("alice", T0 + 4, actor="shell:ops")  # none left: no change, no entry

    assert [(e.at, e.actor, e.action, e.subject, dict(e.detail)) for e in audit.entries()[1:]] == [
        (T0 + 1, "shell:ops", "user.totp.enroll", "alice", {}),
        (T0 + 3, "shell:ops", "user.totp.remove", "alice", {}),
    ]
    stored = b"".join(p.read_bytes() for p in audit.path.parent.glob("audit.sqlite3*"))
    assert secret.encode() not in stored


# -- kiosks --------------------------------------------------------------------------------------
def test_kiosk_token_names_its_kiosk_until_revoked(db: UserDB) -> None:
    token = db.add_kiosk("lobby", T0, actor="shell:root")
    other = db.add_kiosk("noc-wall", T0 + 1, actor="shell:root")

    assert len(token) == 43
    assert db.kiosk_for_token(token) == "lobby"
    assert db.kiosk_for_token(other) == "noc-wall"
    assert db.kiosk_for_token(token + "x") is None
    assert db.user_for_token(token) is None  # a kiosk token is not an API token

    db.revoke_kiosk("lobby", T0 + 2, actor="shell:root")

    assert db.kiosk_for_token(token) is None
    assert db.kiosk_for_token(other) == "noc-wall"
    assert db.kiosks() == [Kiosk("lobby", T0, T0 + 2), Kiosk("noc-wall", T0 + 1, None)]


def test_a_revoked_kiosk_is_added_again_with_a_new_token(db: UserDB) -> None:
    first = db.add_kiosk("lobby", T0, actor="shell:root")
    db.revoke_kiosk("lobby", T0 + 1, actor="shell:root")

    second = db.add_kiosk("lobby", T0 + 2, actor="shell:root")

    assert second != first
    assert db.kiosk_for_token(first) is None
    assert db.kiosk_for_token(second) == "lobby"
    assert db.kiosks() == [Kiosk("lobby", T0 + 2, None)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda db: db.add_kiosk("lobby", T0 + 1, actor="a"),
            'kiosk "lobby" already has a token in force (revoke it first)',
        ),
        (
            lambda db: db.add_kiosk("a b", T0 + 1, actor="a"),
            'bad kiosk name "a b": use 1-64 characters of A-Z a-z 0-9 . _ -',
        ),
        (lambda db: db.revoke_kiosk("hall", T0 + 1, actor="a"), 'unknown kiosk "hall"'),
    ],
)
def test_kiosk_changes_refuse_with_the_reason(db: UserDB, audit: AuditLog, change: Any, message: str) -> None:
    token = db.add_kiosk("lobby", T0, actor="shell:root")

    with pytest.raises(ValueError) as caught:
        change(db)

    assert str(caught.value) == message
    assert db.kiosk_for_token(token) == "lobby"
    assert db.kiosks() == [Kiosk("lobby", T0, None)]
    assert [e.action for e in audit.entries()] == ["kiosk.add"]


def test_kiosk_changes_are_audited_without_the_token(db: UserDB, audit: AuditLog, tmp_path: Path) -> None:
    first = db.add_kiosk("lobby", T0, actor="shell:root")
    db.revoke_kiosk("lobby", T0 + 1, actor="shell:ops")
    db.revoke_kiosk("lobby", T0 + 2, actor="shell:ops")  # already revoked: no change, no entry
    second = db.add_kiosk("lobby", T0 + 3, actor="shell:root")
    db.close()

    assert [(e.at, e.actor, e.action, e.subject, dict(e.detail)) for e in audit.entries()] == [
        (T0, "shell:root", "kiosk.add", "lobby", {}),
        (T0 + 1, "shell:ops", "kiosk.revoke", "lobby", {}),
        (T0 + 3, "shell:root", "kiosk.add", "lobby", {}),
    ]
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("*.sqlite3*"))
    for token in (first, second):
        assert token.encode() not in stored
    conn = sqlite3.connect(tmp_path / "users.sqlite3")
    try:
        assert conn.execute("SELECT name, digest FROM kiosks").fetchall() == [
            ("lobby", hashlib.sha256(second.encode()).hexdigest())
        ]
    finally:
        conn.close()


# -- a file made before TOTP and kiosks ----------------------------------------------------------
OLD_SCHEMA = """
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    password_changed_at REAL NOT NULL
);
CREATE TABLE tokens (
    digest TEXT PRIMARY KEY,
    name TEXT NOT NULL REFERENCES users (name),
    issued_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX tokens_by_name ON tokens (name);
"""


@pytest.mark.usefixtures("fixed_secrets")
def test_a_file_of_the_first_schema_opens_and_gains_totp_and_kiosks(tmp_path: Path, audit: AuditLog) -> None:
    path = tmp_path / "old" / "users.sqlite3"
    path.parent.mkdir()
    token = "an-api-token-issued-before-the-upgrade"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.execute("INSERT INTO users VALUES ('alice', 'oncall', ?, 0, ?, ?)", (hash_password(PASSWORD), T0, T0))
    conn.execute("INSERT INTO tokens VALUES (?, 'alice', ?, NULL)", (hashlib.sha256(token.encode()).hexdigest(), T0))
    conn.commit()
    conn.close()

    for _ in range(2):  # the second opening finds the columns there
        db = UserDB(path, audit)
        try:
            alice = User("alice", Role.ONCALL, False, T0, T0)
            assert db.get("alice") == alice
            assert db.check_password("alice", PASSWORD) == alice
            assert db.user_for_token(token) == alice
        finally:
            db.close()

    db = UserDB(path, audit)
    try:
        secret = db.enroll_totp("alice", T0 + 1, actor="shell:root")
        assert db.check_totp("alice", _code(secret, T0 + 60), T0 + 60) is True
        assert db.kiosk_for_token(db.add_kiosk("lobby", T0 + 2, actor="shell:root")) == "lobby"
    finally:
        db.close()
    conn = sqlite3.connect(path)
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(users)")]
    finally:
        conn.close()
    assert columns == [
        "name",
        "role",
        "password_hash",
        "disabled",
        "created_at",
        "password_changed_at",
        "totp_secret",
        "totp_step",
    ]
