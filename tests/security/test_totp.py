"""security/totp.py: RFC 6238's SHA-1 vectors, the one-step window to the millisecond, no replay,
and the codes that are refused."""

from __future__ import annotations

import base64
import re

import pyotp
import pytest

from security.totp import new_secret, provisioning_uri, verify

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
"""RFC 6238 appendix B's SHA-1 key."""
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
T0 = 1_780_000_000.0
STEP = 59_333_333
"""The time step of T0 (T0 is 10 s into it)."""


def _code(step: int) -> str:
    return pyotp.TOTP(SECRET).at(step * 30)


@pytest.mark.parametrize(
    ("at", "code", "step"),
    [(59, "287082", 1), (1_111_111_109, "081804", 37_037_036), (1_234_567_890, "005924", 41_152_263)],
)
def test_rfc_6238_sha1_vectors_are_accepted_with_their_step(at: float, code: str, step: int) -> None:
    assert verify(RFC_SECRET, code, at, None) == step


def test_codes_of_the_step_and_one_either_side_are_accepted() -> None:
    assert [_code(STEP + offset) for offset in range(-2, 3)] == ["946162", "382707", "046969", "010619", "783115"]

    assert verify(SECRET, "046969", T0, None) == STEP
    assert verify(SECRET, "382707", T0, None) == STEP - 1
    assert verify(SECRET, "010619", T0, None) == STEP + 1
    assert verify(SECRET, "946162", T0, None) is None
    assert verify(SECRET, "783115", T0, None) is None


def test_a_code_holds_from_one_step_before_its_own_to_one_step_after() -> None:
    code = _code(STEP)

    assert verify(SECRET, code, (STEP - 1) * 30 - 0.001, None) is None
    assert verify(SECRET, code, (STEP - 1) * 30, None) == STEP
    assert verify(SECRET, code, (STEP + 2) * 30 - 0.001, None) == STEP
    assert verify(SECRET, code, (STEP + 2) * 30, None) is None


def test_a_code_of_the_last_step_used_or_before_is_refused() -> None:
    assert verify(SECRET, _code(STEP), T0, STEP) is None
    assert verify(SECRET, _code(STEP - 1), T0, STEP - 1) is None
    assert verify(SECRET, _code(STEP - 1), T0, STEP) is None
    assert verify(SECRET, _code(STEP + 1), T0, STEP + 1) is None

    assert verify(SECRET, _code(STEP), T0, STEP - 1) == STEP
    assert verify(SECRET, _code(STEP + 1), T0, STEP) == STEP + 1


def test_spaces_in_a_code_are_ignored() -> None:
    assert verify(SECRET, "046 969", T0, None) == STEP
    assert verify(SECRET, " 04 69 69 ", T0, None) == STEP


@pytest.mark.parametrize(
    "code",
    [
        "",
        "      ",
        "04696",
        "0469690",
        "04696a",
        "abcdef",
        "046969\n",
        "\t046969",
        "+46969",
        "-46969",
        "٠٤٦٩٦٩",
        "４６９６９",
    ],
)
def test_anything_but_six_digits_is_refused(code: str) -> None:
    assert verify(SECRET, code, T0, None) is None


def test_a_code_of_another_secret_is_refused() -> None:
    assert verify(RFC_SECRET, "046969", T0, None) is None


def test_new_secrets_are_160_bits_of_base32_and_differ() -> None:
    secrets = {new_secret() for _ in range(20)}

    assert len(secrets) == 20
    for secret in secrets:
        assert re.fullmatch(r"[A-Z2-7]{32}", secret)
        assert len(base64.b32decode(secret)) == 20


def test_provisioning_uri_names_the_account_and_issuer() -> None:
    assert provisioning_uri(SECRET, "alice") == (
        f"otpauth://totp/Ops%20Console:alice?secret={SECRET}&issuer=Ops%20Console"
    )
    assert provisioning_uri(SECRET, "bob", issuer="NOC") == f"otpauth://totp/NOC:bob?secret={SECRET}&issuer=NOC"


def test_a_provisioned_secret_verifies_the_codes_an_app_makes() -> None:
    secret = new_secret()
    app = pyotp.parse_uri(provisioning_uri(secret, "alice"))

    assert verify(secret, app.at(T0), T0, None) == STEP
