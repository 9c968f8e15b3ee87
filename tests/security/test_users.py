"""security/users.py: roles, passwords, tokens, refusals and the audit trail of every change."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from security.audit import AuditLog
from security.users import Role, User, UserDB

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
