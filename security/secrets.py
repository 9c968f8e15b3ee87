"""Secrets stay secret: the values a loaded config holds, and a logging filter that cuts them out.

The code must not put a secret into a message in the first place: messages name the reference
(`env:SNMP_AUTH`), the user or the host, never the value. `RedactingFilter` is the backstop for
what slips through anyway (a library's message, an exception's text, a URL with a password in it):
every known secret value in a log record's final text becomes `SECRET_MARKER`.

What counts as a secret value (`secret_values`):
- every resolved `model.Secret` anywhere in the config (found by walking it, so a new secret
  setting is covered without a change here);
- the password of a URL written with user info (`https://user:password@host/`), as written and
  percent-decoded;
- the value of an HTTP header whose name says it carries credentials (`SENSITIVE_HEADERS`), and
  the credentials in it without their scheme (`Bearer TOKEN`: TOKEN).
Values shorter than `MIN_SECRET_LENGTH` characters are never redacted: cutting every "abc" out of
the logs would hide more than it protects.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel

from model import Secret

if TYPE_CHECKING:
    from config import Config

__all__ = [
    "MIN_SECRET_LENGTH",
    "SECRET_MARKER",
    "SENSITIVE_HEADERS",
    "RedactingFilter",
    "install_redaction",
    "redact",
    "secret_values",
    "url_password",
]

SECRET_MARKER = "<secret>"
"""What a secret is replaced with, in logs and in the exported config (as Prometheus writes it)."""
MIN_SECRET_LENGTH = 4
"""Characters; shorter values are not redacted (see the module doc)."""
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"})
"""HTTP header names (lower case) whose values are credentials."""

ValuesProvider = Callable[[], Iterable[str]]


def redact(text: str, values: Iterable[str]) -> str:
    """`text` with every occurrence of each value (of at least MIN_SECRET_LENGTH characters)
    replaced by SECRET_MARKER; where values overlap, the longest wins."""
    pattern = _pattern(frozenset(values))
    return text if pattern is None else pattern.sub(SECRET_MARKER, text)


def _pattern(values: frozenset[str]) -> re.Pattern[str] | None:
    kept = sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, kept))) if kept else None


class RedactingFilter(logging.Filter):
    """Replaces every known secret value in a record's final text with SECRET_MARKER; drops nothing.

    `values` is called for each record, so it must be cheap (compute `secret_values(config)` once
    and return that set; swap the set on reload). The record is rewritten in place: `msg` becomes
    the formatted message and `args` None; a logged exception is formatted into `exc_text` (and
    `exc_info` cleared, so no handler formats the raw exception again); `stack_info` likewise.
    """

    def __init__(self, values: ValuesProvider) -> None:
        super().__init__()
        self._values = values
        self._compiled: tuple[frozenset[str], re.Pattern[str] | None] = (frozenset(), None)

    def filter(self, record: logging.LogRecord) -> bool:
        pattern = self._current_pattern()
        if pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the message: logging would print them raw
            message = f"{record.msg} (its arguments are not shown: they do not fit the message)"
        record.msg, record.args = pattern.sub(SECRET_MARKER, message), None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = pattern.sub(SECRET_MARKER, record.exc_text)
        if record.stack_info:
            record.stack_info = pattern.sub(SECRET_MARKER, record.stack_info)
        return True

    def _current_pattern(self) -> re.Pattern[str] | None:
        values = frozenset(self._values())
        if values != self._compiled[0]:
            self._compiled = (values, _pattern(values))
        return self._compiled[1]


def install_redaction(values: ValuesProvider) -> RedactingFilter:
    """Attach one RedactingFilter over `values` to every handler of the root logger and return it.

    Call it after logging is configured (`logging.basicConfig`, `dictConfig`): only the handlers
    present then are covered, and loggers that do not propagate to the root are not. Idempotent:
    a RedactingFilter installed before is replaced, never stacked, so calling it again (after
    adding a handler, or with the values of a reloaded config) is safe.
    """
    redacting = RedactingFilter(values)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(redacting)
    return redacting


def secret_values(config: Config) -> set[str]:
    """Every secret value of a loaded config (see the module doc for what counts), however short."""
    return set(_secrets_in(config, set())) - {""}


def url_password(text: str) -> str | None:
    """The password of `text` if it is a URL with `user:password@` (as written), else None."""
    if "@" not in text or "://" not in text:
        return None
    return urllib.parse.urlsplit(text).password


def _secrets_in(value: object, seen: set[int]) -> Iterator[str]:
    """The secret values in `value`: a Secret, a str, or anything holding them (pydantic models,
    dataclasses, mappings, sequences and sets)."""
    if isinstance(value, Secret):
        yield value.reveal()
    elif isinstance(value, str):
        password = url_password(value)
        if password:
            yield from (password, urllib.parse.unquote(password))
    elif not (isinstance(value, bytes | int | float | bool) or value is None or id(value) in seen):
        seen.add(id(value))
        for item in _parts(value):
            yield from _secrets_in(item, seen)


def _parts(value: object) -> Iterator[object]:
    """What `value` holds: a model's or dataclass's field values, a mapping's values (and the value of
    a credential header in it), a collection's items (and the value of a (header, value) pair)."""
    if isinstance(value, BaseModel):
        yield from (getattr(value, name) for name in type(value).model_fields)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        yield from (getattr(value, field.name) for field in dataclasses.fields(value))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _header_value(key, item)
            yield item
    elif isinstance(value, tuple | list | set | frozenset):
        if len(value) == 2 and isinstance(value, tuple):
            yield from _header_value(*value)
        yield from value


def _header_value(name: object, value: object) -> Iterator[Secret]:
    """A credential header's value, and its credentials alone (`Bearer TOKEN` -> TOKEN too), as
    Secrets for `_secrets_in` to reveal."""
    if isinstance(name, str) and name.lower() in SENSITIVE_HEADERS and isinstance(value, str):
        for credential in {value, value.partition(" ")[2].strip()} - {""}:
            yield Secret(credential, reference=f"header {name}")
