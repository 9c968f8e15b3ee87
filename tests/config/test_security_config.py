"""The `security:` section and `console.tls`: defaults, every field's bad values with the exact line
`check-config` prints, and the TLS files resolved against the config file's directory."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Literal

import pytest

from config import ConfigError, SecuritySettings, TlsSettings, load, load_file
from config.schema import UserRole
from security.users import Role


def _problems(text: str, base_dir: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text, source="c.yaml", base_dir=base_dir, environ={})
    return str(caught.value).splitlines()


def _security(body: str) -> SecuritySettings:
    return load(f"security:\n{body}devices: []\n", environ={}).security


def test_absent_security_section_means_its_defaults() -> None:
    config = load("devices: []\n", environ={})

    assert config.security == SecuritySettings(
        session_idle=900.0,
        session_max=43200.0,
        lockout_attempts=10,
        lockout_for=900.0,
        totp_roles=("admin",),
        secure_cookies="auto",
    )
    assert config.console.tls is None


def test_empty_security_section_means_its_defaults() -> None:
    assert load("security:\ndevices: []\n", environ={}).security == SecuritySettings()


def test_given_security_values_are_read() -> None:
    security = _security(
        "  session_idle: 30m\n  session_max: 1d\n  lockout_attempts: 5\n  lockout_for: 1h\n"
        "  totp_roles: [manager, admin]\n  secure_cookies: true\n"
    )

    assert security == SecuritySettings(
        session_idle=1800.0,
        session_max=86400.0,
        lockout_attempts=5,
        lockout_for=3600.0,
        totp_roles=("manager", "admin"),
        secure_cookies=True,
    )


def test_session_max_may_equal_session_idle_and_totp_roles_may_be_empty() -> None:
    security = _security("  session_idle: 1h\n  session_max: 1h\n  totp_roles: []\n")

    assert (security.session_idle, security.session_max, security.totp_roles) == (3600.0, 3600.0, ())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("session_idle", "0", "0 must be greater than 0"),
        ("session_idle", '"0s"', '"0s" must be greater than 0'),
        ("session_idle", "15x", '"15x" is not a duration'),
        ("session_max", "10m", "10m must be at least session_idle 15m"),
        ("session_max", "-1", "-1 must be greater than 0"),
        ("lockout_attempts", "0", "0 must be at least 1"),
        ("lockout_attempts", "1001", "1001 must be at most 1000"),
        ("lockout_attempts", '"10"', "expected an integer, got a string"),
        ("lockout_attempts", "2.5", "expected an integer, got a number"),
        ("lockout_for", "0", "0 must be greater than 0"),
        ("lockout_for", "[15m]", "expected a duration, got a list"),
        ("totp_roles", "admin", "expected a list, got a string"),
        ("secure_cookies", "always", '"always" is not one of auto, true, false'),
        ("secure_cookies", "1", "1 is not one of auto, true, false"),
        ("secure_cookies", "null", "null is not one of auto, true, false"),
    ],
)
def test_bad_security_value_is_reported_with_its_field_and_line(field: str, value: str, message: str) -> None:
    text = f"devices: []\nsecurity:\n  {field}: {value}\n"

    assert _problems(text) == [f"c.yaml:3: security.{field}: {message}"]


def test_unknown_totp_role_is_reported_naming_the_roles() -> None:
    text = "devices: []\nsecurity:\n  totp_roles: [admin, root]\n"

    assert _problems(text) == [
        'c.yaml:3: security.totp_roles[1]: "root" is not one of viewer, operator, oncall, manager, admin'
    ]


def test_session_max_is_compared_with_the_session_idle_given() -> None:
    text = "devices: []\nsecurity:\n  session_idle: 2h\n  session_max: 90m\n"

    assert _problems(text) == ["c.yaml:4: security.session_max: 90m must be at least session_idle 2h"]


def test_unknown_security_key_is_reported() -> None:
    text = "devices: []\nsecurity:\n  session_timeout: 1h\n"

    assert _problems(text) == ["c.yaml:3: security.session_timeout: unknown key"]


def test_role_names_are_the_roles_of_the_console_users() -> None:
    assert typing.get_args(UserRole) == tuple(role.value for role in Role)


@pytest.mark.parametrize(
    ("secure_cookies", "tls", "expected"),
    [("auto", False, False), ("auto", True, True), (True, False, True), (False, True, False)],
)
def test_cookies_are_secure_when_asked_or_with_auto_exactly_when_tls_is_set(
    tmp_path: Path, secure_cookies: Literal["auto"] | bool, tls: bool, expected: bool
) -> None:
    (tmp_path / "cert.pem").write_text("certificate\n")
    (tmp_path / "key.pem").write_text("key\n")
    tls_line = "  tls: {cert_file: cert.pem, key_file: key.pem}\n" if tls else ""
    config = load(f"console:\n{tls_line}devices: []\n", base_dir=tmp_path, environ={})
    security = SecuritySettings(secure_cookies=secure_cookies)

    assert security.cookies_secure(config.console) is expected


def test_tls_files_are_relative_to_the_config_files_directory(tmp_path: Path) -> None:
    (tmp_path / "etc" / "certs").mkdir(parents=True)
    (tmp_path / "keys").mkdir()
    (tmp_path / "etc" / "certs" / "console.pem").write_text("certificate\n")
    (tmp_path / "keys" / "console.key").write_text("key\n")
    path = tmp_path / "etc" / "console.yaml"
    path.write_text("console:\n  tls: {cert_file: certs/console.pem, key_file: ../keys/console.key}\ndevices: []\n")

    config = load_file(path, environ={})

    assert config.console.tls == TlsSettings(
        cert_file=tmp_path / "etc" / "certs" / "console.pem", key_file=tmp_path / "keys" / "console.key"
    )


def test_absolute_tls_files_are_kept(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("certificate\n")
    (tmp_path / "key.pem").write_text("key\n")
    text = f"console:\n  tls:\n    cert_file: {tmp_path}/cert.pem\n    key_file: {tmp_path}/key.pem\ndevices: []\n"

    config = load(text, base_dir=Path("/nowhere"), environ={})

    assert config.console.tls == TlsSettings(cert_file=tmp_path / "cert.pem", key_file=tmp_path / "key.pem")


def test_missing_tls_files_are_reported_with_their_absolute_paths(tmp_path: Path) -> None:
    text = "console:\n  tls:\n    cert_file: certs/cert.pem\n    key_file: /no/such/key.pem\ndevices: []\n"

    assert _problems(text, base_dir=tmp_path) == [
        f"c.yaml:3: console.tls.cert_file: no such file: {tmp_path}/certs/cert.pem",
        "c.yaml:4: console.tls.key_file: no such file: /no/such/key.pem",
    ]


def test_tls_file_that_cannot_be_read_is_reported_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("certificate\n")
    (tmp_path / "certs").mkdir()
    text = "console:\n  tls:\n    cert_file: certs\n    key_file: cert.pem/key.pem\ndevices: []\n"

    assert _problems(text, base_dir=tmp_path) == [
        f"c.yaml:3: console.tls.cert_file: {tmp_path}/certs is not a file",
        f"c.yaml:4: console.tls.key_file: cannot read {tmp_path}/cert.pem/key.pem: Not a directory",
    ]


def test_tls_needs_both_files_and_no_other_key(tmp_path: Path) -> None:
    text = 'console:\n  tls:\n    cert_file: ""\n    extra: 1\ndevices: []\n'

    assert _problems(text, base_dir=tmp_path) == [
        "c.yaml:2: console.tls.key_file: is required",
        "c.yaml:3: console.tls.cert_file: must not be empty",
        "c.yaml:4: console.tls.extra: unknown key",
    ]


def test_tls_file_must_be_a_string() -> None:
    text = "console:\n  tls: {cert_file: [a.pem], key_file: 12}\ndevices: []\n"

    assert _problems(text) == [
        "c.yaml:2: console.tls.cert_file: expected a file path, got a list",
        "c.yaml:2: console.tls.key_file: expected a file path, got an integer",
    ]
