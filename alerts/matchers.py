"""Label matchers in Alertmanager's syntax: the selectors of routes, inhibit rules and silences.

A `Matcher` is `name op value` with `op` one of `=`, `!=`, `=~`, `!~`. Semantics are Alertmanager
0.25's: a label the alert lacks has the empty value (so `team=""` and `team!~".+"` match alerts
without `team`); regexes are fully anchored (`=~"dc-.*"` is `^(?:dc-.*)$`) and compiled once.
Regexes use Python's `re` syntax, which accepts the RE2 syntax Alertmanager configs use in practice
(character classes, alternation, repetition, `(?i)`).

`parse_matcher` reads one matcher (`severity="page"`, `site=~"dc-.*"`, unquoted `severity=page`;
in values `\\"`, `\\\\` and `\\n` are escapes, a backslash before any other character is literal);
`parse_matchers` reads a comma-separated list, optionally in braces (`{a="b",c!="d"}`), or a list of
such strings (Alertmanager's `matchers:` config). Errors are `ValueError`s naming the text, the
problem and the position (0-based character offset). `str(matcher)` renders Alertmanager's syntax,
which parses back to an equal matcher.

`matchers_from_maps` converts the deprecated `match:` / `match_re:` maps of routes and inhibit rules.
`sorted_matchers` orders matchers as Alertmanager does (by name, value, then op), which makes route
keys independent of the order matchers are written in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias, get_args

__all__ = [
    "MatchOp",
    "Matcher",
    "Matchers",
    "format_matchers",
    "matchers_from_maps",
    "matches_all",
    "parse_matcher",
    "parse_matchers",
    "quote",
    "sorted_matchers",
]

MatchOp: TypeAlias = Literal["=", "!=", "=~", "!~"]
_OPS: tuple[MatchOp, ...] = get_args(MatchOp)
_OP_ORDER = {op: index for index, op in enumerate(_OPS)}  # Alertmanager's MatchType order
_OPS_LONGEST_FIRST: tuple[MatchOp, ...] = ("=~", "!=", "!~", "=")  # `=~` must not read as `=`
_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_ESCAPES = {"n": "\n", '"': '"', "\\": "\\"}


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher. Raises ValueError on an unknown op, a bad name or an invalid regex."""

    name: str
    op: MatchOp
    value: str
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"unknown match operator {self.op!r} (one of =, !=, =~, !~)")
        if not _NAME_RE.fullmatch(self.name):
            raise ValueError(f"invalid label name {self.name!r} in matcher")
        if self.op in ("=~", "!~"):
            try:
                regex = re.compile(f"(?:{self.value})")
            except re.error as exc:
                raise ValueError(f"invalid regex {self.value!r} for label {self.name}: {exc.msg}") from None
            object.__setattr__(self, "_regex", regex)

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether the label set matches (a missing label has the empty value)."""
        value = labels.get(self.name, "")
        op = self.op
        if op == "=":
            return value == self.value
        if op == "!=":
            return value != self.value
        assert self._regex is not None
        found = self._regex.fullmatch(value) is not None
        return found if op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{quote(self.value)}"


Matchers: TypeAlias = tuple[Matcher, ...]


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether every matcher matches (true for no matchers). Pass a dict for speed with many matchers."""
    return all(m.matches(labels) for m in matchers)


def quote(value: str) -> str:
    """`value` in double quotes with `\\`, `"` and newlines escaped (Alertmanager's rendering)."""
    escaped = value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return f'"{escaped}"'


def format_matchers(matchers: Iterable[Matcher]) -> str:
    """`{a="b",c=~"d"}`: Alertmanager's rendering of a matcher list (route keys use it)."""
    return "{" + ",".join(str(m) for m in matchers) + "}"


def sorted_matchers(matchers: Iterable[Matcher]) -> Matchers:
    """Matchers in Alertmanager's order: by name, then value, then op (=, !=, =~, !~)."""
    return tuple(sorted(matchers, key=lambda m: (m.name, m.value, _OP_ORDER[m.op])))


def matchers_from_maps(match: Mapping[str, str] | None = None, match_re: Mapping[str, str] | None = None) -> Matchers:
    """The deprecated `match:` (equality) and `match_re:` (regex) maps as matchers."""
    equal = [Matcher(name, "=", value) for name, value in (match or {}).items()]
    regex = [Matcher(name, "=~", value) for name, value in (match_re or {}).items()]
    return (*equal, *regex)


def parse_matcher(text: str) -> Matcher:
    """One matcher in Alertmanager's syntax. Raises ValueError naming the problem and its position."""
    return _parse_one(text, text, 0)


def parse_matchers(source: str | Iterable[str]) -> Matchers:
    """A comma-separated matcher list (`a="b", c!="d"` or `{a="b",c!="d"}`; a trailing comma is
    allowed), or a list of such strings (their matchers concatenated, in order). Raises ValueError."""
    if isinstance(source, str):
        return _parse_list(source)
    matchers: list[Matcher] = []
    for item in source:
        if not isinstance(item, str):
            raise ValueError(f"expected a matcher string, got {type(item).__name__}")
        matchers.extend(_parse_list(item))
    return tuple(matchers)


def _parse_list(text: str) -> Matchers:
    start, end = 0, len(text)
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end and text[start] == "{":
        if text[end - 1] != "}":
            raise ValueError(f"bad matchers {text!r}: '{{' at position {start} is never closed")
        start, end = start + 1, end - 1
    elif start < end and text[end - 1] == "}":
        raise ValueError(f"bad matchers {text!r}: '}}' at position {end - 1} without an opening '{{'")
    if not text[start:end].strip():
        return ()
    matchers: list[Matcher] = []
    for token_start, token_end in _split_commas(text, start, end):
        token = text[token_start:token_end]
        if not token.strip():
            if token_end == end and matchers:  # a trailing comma
                break
            raise ValueError(f"bad matchers {text!r}: empty matcher at position {token_start}")
        matchers.append(_parse_one(token, text, token_start))
    return tuple(matchers)


def _split_commas(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The [start, end) spans between commas outside double quotes."""
    spans: list[tuple[int, int]] = []
    in_quotes = escaped = False
    token_start = start
    for i in range(start, end):
        char = text[i]
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            in_quotes = not in_quotes
        elif char == "," and not in_quotes:
            spans.append((token_start, i))
            token_start = i + 1
    spans.append((token_start, end))
    return spans


def _parse_one(token: str, whole: str, offset: int) -> Matcher:
    """Parse `token`, which sits at `offset` in `whole` (positions in errors are in `whole`)."""

    def fail(problem: str, at: int) -> ValueError:
        return ValueError(f"bad matcher {whole!r}: {problem} at position {offset + at}")

    pos = _skip_space(token, 0)
    name_match = _NAME_RE.match(token, pos)
    if name_match is None:
        raise fail("expected a label name", pos)
    name = name_match.group()
    pos = _skip_space(token, name_match.end())
    op = next((op for op in _OPS_LONGEST_FIRST if token.startswith(op, pos)), None)
    if op is None:
        raise fail("expected one of =, !=, =~, !~", pos)
    pos = _skip_space(token, pos + len(op))
    value_end = len(token)
    while value_end > pos and token[value_end - 1].isspace():
        value_end -= 1
    quoted = pos < value_end and token[pos] == '"'
    chars: list[str] = []
    i = pos + 1 if quoted else pos
    closed = False
    while i < value_end:
        char = token[i]
        if char == "\\" and i + 1 < value_end:
            following = token[i + 1]
            chars.append(_ESCAPES.get(following, "\\" + following))
            i += 2
            continue
        if char == '"':
            if not quoted or i != value_end - 1:
                raise fail("unescaped double quote in the value", i)
            closed = True
        else:
            chars.append(char)
        i += 1
    if quoted and not closed:
        raise fail("unterminated quoted value starting", pos)
    try:
        return Matcher(name, op, "".join(chars))
    except ValueError as exc:
        raise fail(str(exc), pos) from None


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos
