"""The subset of Go's text/template that alert rule annotations and labels use, with Prometheus'
template functions.

Supported: literal text; actions `{{ PIPELINE }}` (with `{{-` / `-}}` trimming and `{{/* comments */}}`)
where a pipeline is commands joined by `|`, the previous result passed as the last argument. A
command is an operand (`$labels.name`, `.Labels.name`, `$value`, `.Value`, `$externalLabels.name`,
`.ExternalLabels.name`, `$externalURL`, a "string" or a number) or a function with arguments:
`humanize`, `humanize1024`, `humanizePercentage`, `humanizeDuration`, `printf`, `toUpper`,
`toLower`, `title`. `{{ if }}`, `{{ with }}`, `{{ range }}` and the other functions are not
supported: `check()` reports them when the rule file is loaded.

Outputs are Prometheus': the humanize functions format with Go's `%.4g`, a value printed bare uses
Go's `%v` (`1.234567e+06`), a missing label prints as the empty string (missingkey=zero), and an
error makes the whole text `<error expanding template: ...>`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "TemplateData",
    "TemplateError",
    "check",
    "expand",
    "go_value",
    "humanize",
    "humanize1024",
    "humanize_duration",
    "humanize_percentage",
]


class TemplateError(Exception):
    """A template that cannot be parsed or executed; the message says what and where."""


@dataclass(frozen=True, slots=True)
class TemplateData:
    """What a rule template sees: the series' labels (`__name__` included), its value, and the
    console's external labels and URL (empty unless configured)."""

    labels: Mapping[str, str]
    value: float
    external_labels: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""


Value = str | float


def _go_g4(v: float) -> str:
    """Go's fmt `%.4g` (NaN, +Inf and -Inf spelt as Go spells them)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return f"{v:.4g}"


def go_value(v: float) -> str:
    """A float as Go's `%v` prints it (what `{{ $value }}` shows): the shortest digits that read
    back, in exponent form when the decimal exponent is below -4 or at least 6 (`1e+06`)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    digits = Decimal(repr(v)).normalize().as_tuple()
    count = len(digits.digits)
    point = count + int(digits.exponent)  # position of the decimal point in the digit string
    exponent = point - 1
    if exponent < -4 or exponent >= 6:
        return f"{v:.{count - 1}e}"
    return f"{v:.{max(count - point, 0)}f}"


def _scaled(v: float, prefixes: tuple[str, ...], up: bool, base: float) -> tuple[float, str]:
    prefix = ""
    for p in prefixes:
        if (abs(v) < base) if up else (abs(v) >= 1):
            break
        prefix = p
        v = v / base if up else v * base
    return v, prefix


def humanize(v: float) -> str:
    """Prometheus' `humanize`: SI prefixes (k M G T P E Z Y, m u n p f a z y) with `%.4g`."""
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _go_g4(v)
    if abs(v) >= 1:
        scaled, prefix = _scaled(v, ("k", "M", "G", "T", "P", "E", "Z", "Y"), True, 1000.0)
    else:
        scaled, prefix = _scaled(v, ("m", "u", "n", "p", "f", "a", "z", "y"), False, 1000.0)
    return _go_g4(scaled) + prefix


def humanize1024(v: float) -> str:
    """Prometheus' `humanize1024`: binary prefixes (ki Mi Gi Ti Pi Ei Zi Yi) with `%.4g`."""
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _go_g4(v)
    scaled, prefix = _scaled(v, ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"), True, 1024.0)
    return _go_g4(scaled) + prefix


def humanize_duration(v: float) -> str:  # noqa: PLR0911
    """Prometheus' `humanizeDuration` of seconds: `1d 2h 3m 4s`, `2h 0m 0s`, `1.5s`, `10ms`."""
    if math.isnan(v) or math.isinf(v):
        return _go_g4(v)
    if v == 0:
        return _go_g4(v) + "s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        whole = int(v)
        seconds, minutes, hours, days = whole % 60, whole // 60 % 60, whole // 3600 % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_go_g4(v)}s"
    scaled, prefix = _scaled(v, ("m", "u", "n", "p", "f", "a", "z", "y"), False, 1000.0)
    return f"{_go_g4(scaled)}{prefix}s"


def humanize_percentage(v: float) -> str:
    """Prometheus' `humanizePercentage`: a ratio as `%.4g%%` of v*100 (0.1234 -> `12.34%`)."""
    return _go_g4(v * 100) + "%"


def _number(value: Value) -> float:
    """Prometheus' convertToFloat: numbers as they are, strings parsed (Go's ParseFloat wording)."""
    if isinstance(value, float):
        return value
    try:
        return float(value)
    except ValueError:
        raise TemplateError(f'strconv.ParseFloat: parsing "{value}": invalid syntax') from None


def _printf(*args: Value) -> str:
    if not args or not isinstance(args[0], str):
        raise TemplateError("printf: the first argument must be a format string")
    fmt = re.sub(r"%v", "%s", args[0])
    values = tuple(go_value(a) if isinstance(a, float) and "%s" in fmt else a for a in args[1:])
    try:
        return fmt % values
    except (TypeError, ValueError) as exc:
        raise TemplateError(f"printf: {exc}") from None


def _one_number(function: Callable[[float], str]) -> Callable[..., str]:
    def call(*args: Value) -> str:
        if len(args) != 1:
            raise TemplateError(f"wrong number of args: want 1 got {len(args)}")
        return function(_number(args[0]))

    return call


def _one_string(function: Callable[[str], str]) -> Callable[..., str]:
    def call(*args: Value) -> str:
        if len(args) != 1:
            raise TemplateError(f"wrong number of args: want 1 got {len(args)}")
        return function(args[0] if isinstance(args[0], str) else go_value(args[0]))

    return call


_FUNCTIONS: dict[str, Callable[..., str]] = {
    "humanize": _one_number(humanize),
    "humanize1024": _one_number(humanize1024),
    "humanizePercentage": _one_number(humanize_percentage),
    "humanizeDuration": _one_number(humanize_duration),
    "printf": _printf,
    "toUpper": _one_string(str.upper),
    "toLower": _one_string(str.lower),
    "title": _one_string(str.title),
}

_KEYWORDS = frozenset(("if", "else", "end", "with", "range", "define", "template", "block", "break", "continue"))
_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\||[^\s|"`]+)')
_OPERAND = re.compile(r"(\$labels|\.Labels|\$externalLabels|\.ExternalLabels)(?:\.([A-Za-z_][A-Za-z0-9_]*))?")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+)")


def _tokens(action: str, where: str) -> list[list[str]]:
    """An action's pipeline as commands (lists of words), checking quotes are closed."""
    commands: list[list[str]] = [[]]
    rest = action.strip()
    pos = 0
    while pos < len(rest):
        match = _TOKEN.match(rest, pos)
        if match is None or not match.group(1):
            raise TemplateError(f"{where}: unterminated quoted string")
        word = match.group(1)
        pos = match.end()
        if word == "|":
            commands.append([])
        else:
            commands[-1].append(word)
    if any(not command for command in commands):
        raise TemplateError(f"{where}: missing command")
    return commands


def _operand(word: str, data: TemplateData | None, where: str) -> Value:  # noqa: PLR0911
    if word.startswith(('"', "`")):
        if word[0] == "`":
            return word[1:-1]
        try:
            return str(json.loads(word))  # Go's escapes in "..." are JSON's, for what templates use
        except json.JSONDecodeError:
            raise TemplateError(f"{where}: invalid string {word}") from None
    if word in ("$value", ".Value"):
        return 0.0 if data is None else data.value
    if word in ("$externalURL", ".ExternalURL"):
        return "" if data is None else data.external_url
    if _NUMBER.fullmatch(word):
        return float(word)
    match = _OPERAND.fullmatch(word)
    if match is None:
        raise TemplateError(f'{where}: unsupported "{word}"')
    if data is None:
        return ""
    source = data.labels if match.group(1) in ("$labels", ".Labels") else data.external_labels
    if match.group(2) is None:
        return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(source.items())) + "]"
    return source.get(match.group(2), "")


def _run(commands: list[list[str]], data: TemplateData | None, where: str) -> str:
    result: Value | None = None
    for command in commands:
        head, args = command[0], command[1:]
        if head in _KEYWORDS:
            raise TemplateError(f'{where}: unsupported action "{head}"')
        if head in _FUNCTIONS:
            values = [_operand(a, data, where) for a in args] + ([] if result is None else [result])
            result = _FUNCTIONS[head](*values) if data is not None else ""
        elif head.isidentifier():
            raise TemplateError(f'{where}: function "{head}" not defined')
        elif args or result is not None:
            raise TemplateError(f'{where}: can\'t give argument to non-function "{head}"')
        else:
            result = _operand(head, data, where)
    assert result is not None
    return result if isinstance(result, str) else go_value(result)


def _render(text: str, data: TemplateData | None, name: str) -> str:
    out: list[str] = []
    pos = 0
    for match in _ACTION.finditer(text):
        literal = text[pos : match.start()]
        out.append(literal.rstrip() if match.group(1) else literal)
        line = text.count("\n", 0, match.start()) + 1
        where = f"template: {name}:{line}"
        action = match.group(2)
        if not action.strip().startswith("/*"):
            out.append(_run(_tokens(action, where), data, where))
        pos = match.end()
        if match.group(3):
            while pos < len(text) and text[pos].isspace():
                pos += 1
    tail = text[pos:]
    if "{{" in tail:
        raise TemplateError(f"template: {name}:{text.count(chr(10), 0, text.rindex('{{')) + 1}: unclosed action")
    out.append(tail)
    return "".join(out)


def check(text: str, name: str = "template") -> None:
    """Raise TemplateError when `text` uses anything outside the supported subset (rule loading)."""
    _render(text, None, name)


def expand(text: str, data: TemplateData, name: str = "template") -> str:
    """`text` with its actions executed against `data`; on any error the text is
    `<error expanding template: MESSAGE>`, as Prometheus writes it."""
    try:
        return _render(text, data, name)
    except TemplateError as exc:
        return f"<error expanding template: {exc}>"
