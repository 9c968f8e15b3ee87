"""Secret references in the config: `env:NAME` and `file:PATH`, resolved to `model.Secret`.

The config never holds a secret itself, only where to find it. Error messages name the reference,
the variable or the file, never the value (not even a fragment of it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from model import Secret

__all__ = ["SecretError", "check_reference", "resolve_secret"]

_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class SecretError(ValueError):
    """A secret reference is malformed or cannot be resolved. The message holds no secret value."""


def check_reference(ref: str) -> tuple[str, str]:
    """Split a reference into (`env` | `file`, NAME | PATH). Raises SecretError if it is neither."""
    scheme, sep, rest = ref.partition(":")
    if sep and scheme == "env" and _ENV_NAME_RE.fullmatch(rest):
        return scheme, rest
    if sep and scheme == "file" and rest:
        return scheme, rest
    raise SecretError("is not a secret reference (use env:NAME or file:PATH); the value is not shown")


def resolve_secret(ref: str, *, base_dir: Path, environ: Mapping[str, str]) -> Secret:
    """Read the secret `ref` points at.

    `env:NAME` reads `environ[NAME]`; `file:PATH` reads the file (PATH relative to `base_dir` unless
    absolute) as UTF-8 with one trailing newline (LF or CRLF) removed. Raises SecretError when the
    reference is malformed, the variable is unset or empty, or the file cannot be read or is empty.
    """
    scheme, target = check_reference(ref)
    if scheme == "env":
        value = environ.get(target)
        if value is None:
            raise SecretError(f"environment variable {target} is not set")
        if value == "":
            raise SecretError(f"environment variable {target} is empty")
        return Secret(value, reference=ref)
    path = base_dir / target
    value = _read_secret_file(path)
    if value == "":
        raise SecretError(f"secret file {path} is empty")
    return Secret(value, reference=ref)


def _read_secret_file(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SecretError(f"cannot read secret file {path}: {exc.strerror or type(exc).__name__}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # The decoder's own message quotes a byte of the secret: say only what is wrong.
        raise SecretError(f"cannot read secret file {path}: not valid UTF-8") from None
    if text.endswith("\r\n"):
        return text[:-2]
    return text.removesuffix("\n")
