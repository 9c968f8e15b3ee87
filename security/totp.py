"""The second factor: time-based one-time passwords (TOTP, RFC 6238) through pyotp.

The parameters are the ones authenticator apps assume when a provisioning URI names none: 30 s
steps, 6 digits, HMAC-SHA-1, a 160-bit secret in base32. A code is accepted for the step of `at`
and one step either side (clocks drift, people type slowly), and only for a step after the last one
used (`last_step`), so a code seen over a shoulder or in a log cannot be used again. Nothing here
reads the clock: `at` (Unix seconds) is passed in.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import pyotp

__all__ = ["DIGITS", "ISSUER", "STEP", "WINDOW", "new_secret", "provisioning_uri", "verify"]

STEP = 30
"""Seconds per time step."""
DIGITS = 6
WINDOW = 1
"""Steps either side of the current one whose codes are accepted."""
ISSUER = "Ops Console"
"""The name an authenticator app shows above the account."""

_CODE = re.compile(r"[0-9]{6}")


def _totp(secret: str) -> pyotp.TOTP:
    """ValueError when `secret` is not base32 of at least 112 bits (damage, not a wrong code)."""
    return pyotp.TOTP(secret, digits=DIGITS, digest=hashlib.sha1, interval=STEP)


def new_secret() -> str:
    """A new random secret: 32 base32 characters (160 bits) from the system's CSPRNG."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, name: str, issuer: str = ISSUER) -> str:
    """The `otpauth://totp/...` URI an authenticator app reads (as a QR code) to add `name`'s account."""
    return _totp(secret).provisioning_uri(name=name, issuer_name=issuer)


def verify(secret: str, code: str, at: float, last_step: int | None) -> int | None:
    """The time step `code` belongs to when it is right at `at` (within `WINDOW` steps) and that
    step is after `last_step` (None: no code used yet); None otherwise. Spaces in `code` are
    ignored ("123 456"); anything else than 6 ASCII digits is refused."""
    digits = code.replace(" ", "")
    if not _CODE.fullmatch(digits):
        return None
    totp = _totp(secret)
    now = totp.timecode(at)
    for step in range(max(now - WINDOW, 0), now + WINDOW + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None
