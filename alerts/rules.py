"""Rule files in Prometheus' format, loaded strictly into frozen rule groups.

```yaml
groups:
  - name: devices              # unique within the file
    interval: 1m               # optional; the caller's default otherwise
    limit: 0                   # optional; more alerts than this fail the rule (0: no limit)
    rules:
      - alert: DeviceDown      # or `record: job:up:avg` (a metric name) for a recording rule
        expr: up == 0          # our PromQL subset (store/query/parse.py)
        for: 5m                # alerting only
        keep_firing_for: 0s    # alerting only
        labels: {severity: critical}          # values are templates
        annotations: {summary: "{{ $labels.target }} is down"}   # alerting only
```

Every problem in every file is reported at once, as config/ does: `ConfigError` whose problems read
`file:line: groups[0].rules[2].expr: <problem>`. Unknown keys are errors.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from alerts import templates
from config.durations import parse_duration
from config.lines import LineMap, duplicate_keys
from config.problems import ROOT_PATH, ConfigError, Finding, Loc, Problem, format_path, kind_of
from model import Labels
from store.query.parse import check
from store.query.result import QueryError

__all__ = [
    "DEFAULT_INTERVAL",
    "AlertingRule",
    "RecordingRule",
    "Rule",
    "RuleGroup",
    "expand_rule_globs",
    "load_rule_files",
    "load_rules",
]

DEFAULT_INTERVAL = 60.0
"""Seconds between evaluations of a group without `interval` (Prometheus' evaluation_interval)."""

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_GROUP_KEYS = ("name", "interval", "limit", "rules")
_ALERT_KEYS = ("alert", "expr", "for", "keep_firing_for", "labels", "annotations")
_RECORD_KEYS = ("record", "expr", "labels")


@dataclass(frozen=True, slots=True)
class AlertingRule:
    """`name` is the alert name (the `alertname` label). `for_` and `keep_firing_for` are seconds.
    `labels` and `annotations` hold templates, expanded per alert."""

    name: str
    expr: str
    for_: float = 0.0
    keep_firing_for: float = 0.0
    labels: Labels = field(default_factory=Labels)
    annotations: Labels = field(default_factory=Labels)


@dataclass(frozen=True, slots=True)
class RecordingRule:
    """`name` is the recorded metric name; `labels` are added to (and override) the result's."""

    name: str
    expr: str
    labels: Labels = field(default_factory=Labels)


Rule = AlertingRule | RecordingRule


@dataclass(frozen=True, slots=True)
class RuleGroup:
    """Rules evaluated together, in order, every `interval` seconds. `file` is the path as given to
    the loader; `limit` (0: none) caps the alerts (or series) one rule may produce."""

    name: str
    interval: float
    rules: tuple[Rule, ...]
    file: str
    limit: int = 0

    @property
    def key(self) -> str:
        """Unique among all loaded groups (Prometheus' `file;name`)."""
        return f"{self.file};{self.name}"


def expand_rule_globs(config_dir: Path, patterns: Sequence[str]) -> list[Path]:
    """The files `patterns` (shell globs, relative to `config_dir` unless absolute) match, each once,
    sorted within each pattern; a pattern that matches nothing adds nothing (as Prometheus)."""
    found: dict[Path, None] = {}
    for pattern in patterns:
        full = pattern if os.path.isabs(pattern) else os.fspath(config_dir / pattern)
        for name in sorted(glob.glob(full)):
            if os.path.isfile(name):
                found.setdefault(Path(name), None)
    return list(found)


def load_rule_files(
    paths: Iterable[str | os.PathLike[str]], *, default_interval: float = DEFAULT_INTERVAL
) -> list[RuleGroup]:
    """Every group of every file, in order. Raises ConfigError listing every problem of every file."""
    groups: list[RuleGroup] = []
    problems: list[Problem] = []
    for path in paths:
        source = os.fspath(path)
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            reason = "not valid UTF-8" if isinstance(exc, UnicodeDecodeError) else exc.strerror or type(exc).__name__
            problems.append(Problem(source, None, "<file>", f"cannot read: {reason}"))
            continue
        try:
            groups.extend(load_rules(text, source=source, default_interval=default_interval))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return groups


def load_rules(text: str, *, source: str = "<string>", default_interval: float = DEFAULT_INTERVAL) -> list[RuleGroup]:
    """The groups of one rule file's text. Raises ConfigError (every problem, in line order)."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            findings = [] if root is None else duplicate_keys(root)
            data = None if root is None else loader.construct_document(root)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = None if mark is None else mark.line + 1
        message = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(source, line, "<yaml>", message)]) from exc
    if root is None or data is None:
        raise ConfigError([Problem(source, None, ROOT_PATH, "is empty")])
    reader = _Reader(source, default_interval, findings)
    groups = reader.document(data)
    if reader.findings:
        lines = LineMap(root)
        problems = [Problem(source, lines.line(f), format_path(f.loc), f.message) for f in reader.findings]
        raise ConfigError(sorted(problems, key=lambda p: p.line or 0))
    return groups


class _Reader:
    """Reads the loaded data into rule groups, collecting findings instead of stopping at the first."""

    def __init__(self, source: str, default_interval: float, findings: list[Finding]) -> None:
        self.source = source
        self.default_interval = default_interval
        self.findings = findings

    def problem(self, loc: Loc, message: str, *, missing: bool = False) -> None:
        self.findings.append(Finding(loc, message, missing=missing))

    def mapping(self, value: object, loc: Loc, allowed: Sequence[str]) -> dict[str, object] | None:
        if not isinstance(value, dict):
            self.problem(loc, f"expected a mapping, got {kind_of(value)}")
            return None
        for key in value:
            if key not in allowed:
                self.problem((*loc, str(key)), "unknown key")
        return value

    def string(self, data: dict[str, object], loc: Loc, key: str, *, required: bool = False) -> str | None:
        if key not in data:
            if required:
                self.problem((*loc, key), "is required", missing=True)
            return None
        value = data[key]
        if not isinstance(value, str):
            self.problem((*loc, key), f"expected a string, got {kind_of(value)}")
            return None
        if required and not value.strip():
            self.problem((*loc, key), "must not be empty")
            return None
        return value

    def duration(self, data: dict[str, object], loc: Loc, key: str, default: float) -> float:
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            self.problem((*loc, key), f"{value} is not a duration (it needs a unit: {value}s)")
            return default
        text = self.string(data, loc, key)
        if text is None:
            return default
        try:
            return parse_duration(text)
        except ValueError as exc:
            self.problem((*loc, key), str(exc))
            return default

    def document(self, data: object) -> list[RuleGroup]:
        top = self.mapping(data, (), ("groups",))
        if top is None:
            return []
        items = top.get("groups")
        if not isinstance(items, list):
            self.problem(
                ("groups",),
                "is required" if items is None else f"expected a list, got {kind_of(items)}",
                missing=items is None and "groups" not in top,
            )
            return []
        groups: list[RuleGroup] = []
        first: dict[str, int] = {}
        for index, item in enumerate(items):
            group = self.group(item, ("groups", index))
            name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(name, str):
                continue
            if name in first:
                message = f'group name "{name}" is repeated in the file (first at groups[{first[name]}])'
                self.problem(("groups", index, "name"), message)
                continue
            first[name] = index
            if group is not None:
                groups.append(group)
        return groups

    def group(self, item: object, loc: Loc) -> RuleGroup | None:
        data = self.mapping(item, loc, _GROUP_KEYS)
        if data is None:
            return None
        before = len(self.findings)
        name = self.string(data, loc, "name", required=True)
        interval = self.duration(data, loc, "interval", self.default_interval)
        if "interval" in data and interval <= 0:
            self.problem((*loc, "interval"), "must be greater than 0s")
        limit = data.get("limit", 0)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            self.problem((*loc, "limit"), f"expected an integer of at least 0, got {kind_of(limit)}")
            limit = 0
        rules_data = data.get("rules")
        rules: list[Rule] = []
        if rules_data is None and "rules" not in data:
            self.problem((*loc, "rules"), "is required", missing=True)
        elif not isinstance(rules_data, list):
            self.problem((*loc, "rules"), f"expected a list, got {kind_of(rules_data)}")
        else:
            for index, rule_item in enumerate(rules_data):
                rule = self.rule(rule_item, (*loc, "rules", index))
                if rule is not None:
                    rules.append(rule)
        if len(self.findings) > before or name is None:
            return None
        return RuleGroup(name=name, interval=interval, rules=tuple(rules), file=self.source, limit=limit)

    def rule(self, item: object, loc: Loc) -> Rule | None:  # noqa: PLR0911
        if not isinstance(item, dict):
            self.problem(loc, f"expected a mapping, got {kind_of(item)}")
            return None
        if "alert" in item and "record" in item:
            self.problem(loc, 'only one of "alert" and "record" may be set')
            return None
        if "alert" not in item and "record" not in item:
            self.problem(loc, 'one of "alert" or "record" must be set')
            return None
        recording = "record" in item
        data = self.mapping(item, loc, (*_ALERT_KEYS, "record") if recording else _ALERT_KEYS)
        assert data is not None
        if recording:
            for key in sorted((set(_ALERT_KEYS) - set(_RECORD_KEYS)) & set(data)):
                # clearer than "unknown key" for a key that alerting rules have
                self.problem((*loc, key), "not allowed in a recording rule")
        before = len(self.findings)
        name = self.string(data, loc, "record" if recording else "alert", required=True)
        expr = self.string(data, loc, "expr", required=True)
        if expr is not None:
            try:
                check(expr)
            except QueryError as exc:
                self.problem((*loc, "expr"), str(exc))
        labels = self.labels(data, loc, "labels", None if recording else f"__alert_{name}")
        if recording:
            if name is not None and not _METRIC_NAME.fullmatch(name):
                self.problem((*loc, "record"), f'"{name}" is not a valid metric name')
            if len(self.findings) > before or name is None or expr is None:
                return None
            return RecordingRule(name=name, expr=expr, labels=labels)
        for_ = self.duration(data, loc, "for", 0.0)
        keep = self.duration(data, loc, "keep_firing_for", 0.0)
        annotations = self.labels(data, loc, "annotations", f"__alert_{name}", annotations=True)
        if len(self.findings) > before or name is None or expr is None:
            return None
        return AlertingRule(name, expr, for_, keep, labels, annotations)

    def labels(
        self, data: dict[str, object], loc: Loc, key: str, template: str | None, *, annotations: bool = False
    ) -> Labels:
        value = data.get(key)
        if value is None:
            return Labels()
        if not isinstance(value, dict):
            self.problem((*loc, key), f"expected a mapping, got {kind_of(value)}")
            return Labels()
        pairs: dict[str, str] = {}
        for name, text in value.items():
            where = (*loc, key, str(name))
            if not isinstance(name, str) or not _LABEL_NAME.fullmatch(name):
                self.problem(where, f'"{name}" is not a valid {"annotation" if annotations else "label"} name')
                continue
            if not annotations and name == "__name__":
                self.problem(where, '"__name__" cannot be set by a rule')
                continue
            if not isinstance(text, str | int | float) or isinstance(text, bool):
                self.problem(where, f"expected a string, got {kind_of(text)}")
                continue
            if template is not None:  # recording rules' labels are not templates
                try:
                    templates.check(str(text), template)
                except templates.TemplateError as exc:
                    self.problem(where, str(exc))
                    continue
            pairs[name] = str(text)
        return Labels(pairs)
