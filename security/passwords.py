"""Password hashes: argon2id through argon2-cffi's `PasswordHasher` with its defaults (RFC 9106's
low-memory profile), stored as the PHC string it returns (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`).

The parameters live in the stored string, so `needs_rehash` says when a hash was made with older
parameters than the current defaults and should be replaced at the next successful login.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

__all__ = ["MIN_PASSWORD_LENGTH", "check_policy", "hash_password", "needs_rehash", "verify_password"]

MIN_PASSWORD_LENGTH = 12
"""Characters; a password shorter than this is refused (`check_policy`)."""

_HASHER = PasswordHasher()  # holds only parameters: no I/O, no hashing at import


def check_policy(password: str) -> None:
    """Raises ValueError (never naming the password) when `password` may not be used."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    """The argon2id PHC string of `password`, with a fresh random salt (about 140 ms on the 2-core
    test machine, 64 MiB; benchmarks/auth.py)."""
    return _HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Whether `password` matches the PHC string `stored`; raises argon2's InvalidHashError (a
    ValueError) when `stored` is not such a string, since that is damage, not a wrong password."""
    try:
        return _HASHER.verify(stored, password)
    except VerificationError:
        return False


def needs_rehash(stored: str) -> bool:
    """Whether `stored` was made with parameters other than the current defaults."""
    return _HASHER.check_needs_rehash(stored)
