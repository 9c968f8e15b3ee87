"""What is wrong with a config file, said the way a user reads it.

A `Finding` is a problem located by its field path (a pydantic-style `loc`); the loader gives it the
file and line and turns it into a `Problem`, printed as `{source}:{line}: {path}: {message}`.
This module also turns pydantic's validation errors into findings with our own wording: no
"Value error," prefixes, no URLs, no Python type names.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

__all__ = [
    "ROOT_PATH",
    "ConfigError",
    "Finding",
    "Loc",
    "Problem",
    "findings_from",
    "format_path",
    "kind_of",
    "show",
]

Loc = tuple[str | int, ...]
"""A field path as pydantic writes it: `("devices", 2, "collectors", "host", "interval")`."""

ROOT_PATH = "<root>"
"""The path shown for problems with the document as a whole."""


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem at a field path. `missing` means the field is absent, so it is located at its
    parent; `line` (1-based) overrides the line found from the path."""

    loc: Loc
    message: str
    missing: bool = False
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in one config source. `line` is 1-based, or None when no line applies."""

    source: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.source}: {self.path}: {self.message}"
        return f"{self.source}:{self.line}: {self.path}: {self.message}"


class ConfigError(Exception):
    """The config is invalid. `problems` holds every problem found, in line order; str() is one per line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def format_path(loc: Loc) -> str:
    """`("devices", 2, "collectors", "host")` -> `devices[2].collectors.host`; `()` -> `<root>`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or ROOT_PATH


def show(value: object) -> str:
    """A scalar as the user wrote it in YAML: strings in double quotes, `true`, `null`, numbers."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value)
    return kind_of(value)


_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "a boolean"),
    (str, "a string"),
    (int, "an integer"),
    (float, "a number"),
    (dict, "a mapping"),
    ((list, tuple), "a list"),
    ((dt.date, dt.datetime), "a date"),
    (bytes, "binary data"),
    ((set, frozenset), "a set"),
)


def kind_of(value: object) -> str:
    """The YAML kind of a value, with its article: `a string`, `a list`, `a mapping`, `null` ..."""
    if value is None:
        return "null"
    for types, name in _KINDS:
        if isinstance(value, types):
            return name
    return f"a {type(value).__name__}"


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
"""pydantic error types that mean "wrong kind of value", and the kind that was expected."""


def findings_from(error: ValidationError) -> list[Finding]:
    """One finding per pydantic error, located and worded for the user."""
    return [_finding(details) for details in error.errors()]


def _finding(details: ErrorDetails) -> Finding:
    # A tagged union (the availability section's tree nodes) puts its tag in the path before the
    # field of the same name: `all.all[2]` is `all[2]` as written.
    raw = details["loc"]
    loc: Loc = tuple(part for i, part in enumerate(raw) if not (i and isinstance(part, str) and part == raw[i - 1]))
    kind = details["type"]
    if kind in ("extra_forbidden", "invalid_key"):  # invalid_key: a key that is not even a string
        return Finding(loc, "unknown key")
    if kind == "missing":
        return Finding(loc, "is required", missing=True)
    if loc and loc[-1] == "[key]":  # the error is about a mapping's key, not its value
        loc = loc[:-1]
    return Finding(loc, _message(details))


def _message(details: ErrorDetails) -> str:
    kind = details["type"]
    ctx = details.get("ctx") or {}
    value = details["input"]
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])  # our validators' own message, without pydantic's prefix
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {kind_of(value)}"
    wording = _WORDING.get(kind)
    return details["msg"] if wording is None else wording(value, ctx)


def _one_of(value: object, ctx: dict[str, Any]) -> str:
    # pydantic writes the options as "'ja' or 'en'"; say them our way.
    options = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
    return f"{show(value)} is not one of {', '.join(options)}"


_WORDING: dict[str, Callable[[object, dict[str, Any]], str]] = {
    "literal_error": _one_of,
    "string_too_short": lambda value, ctx: "must not be empty",
    "greater_than": lambda value, ctx: f"{show(value)} must be greater than {ctx['gt']}",
    "greater_than_equal": lambda value, ctx: f"{show(value)} must be at least {ctx['ge']}",
    "less_than_equal": lambda value, ctx: f"{show(value)} must be at most {ctx['le']}",
    "string_pattern_mismatch": lambda value, ctx: f"{show(value)} does not match {ctx['pattern']}",
}
"""Wording for the other pydantic error types our schema can produce (from the input and `ctx`)."""
