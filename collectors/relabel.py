"""Applying `metric_relabel_configs` rules to one sample's name and labels, as Prometheus does.

Semantics follow Prometheus' `model/relabel/relabel.go` for the actions the console supports:

- the values of `source_labels` are joined with `separator` (`__name__` is the metric name, a
  missing label is the empty string) and `regex` must match the whole joined value;
- `keep` drops the sample unless the regex matches, `drop` drops it when it does;
- `replace`: if the regex does not match, nothing changes; otherwise `target_label` and
  `replacement` are expanded (`$1`, `${1}`, `$name`, `${name}`, `$$` for a dollar, as Go's
  `Regexp.Expand`); an expanded target that is not a valid label name changes nothing; an empty
  expanded value removes the target label, any other value sets it;
- `labeldrop` removes every label whose *name* matches the regex (never `__name__`).

A sample whose `__name__` ends up empty or not a valid metric name is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from model import Labels, RelabelAction, RelabelRule
from model.samples import LABEL_NAME_RE, METRIC_NAME_RE

__all__ = ["expand", "relabel"]

NAME_LABEL = "__name__"

_REFERENCE_RE = re.compile(r"\$(?:(\$)|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))")


def expand(template: str, match: re.Match[str]) -> str:
    """`template` with group references replaced as Go's `Regexp.Expand` does: `$1`/`${1}` by
    number, `$name`/`${name}` by group name, the longest run of letters, digits and `_` after `$`
    being the name (`$1x` is group `1x`). Unknown groups and groups that did not take part expand
    to ""; `$$` is a dollar; a `$` not followed by a reference stays as it is."""

    def group(reference: re.Match[str]) -> str:
        if reference[1] is not None:
            return "$"
        name = reference[2] if reference[2] is not None else reference[3]
        if name.isdigit():
            index = int(name)
            return (match.group(index) or "") if index <= (match.re.groups) else ""
        if name in match.re.groupindex:
            return match.group(name) or ""
        return ""

    return _REFERENCE_RE.sub(group, template)


def relabel(name: str, labels: Labels, rules: Sequence[RelabelRule]) -> tuple[str, Labels] | None:
    """The sample's (name, labels) after `rules`, in order; None when a rule drops the sample."""
    if not rules:
        return name, labels
    current = dict(labels.pairs)
    current[NAME_LABEL] = name
    for rule in rules:
        if not _apply(rule, current):
            return None
    new_name = current.pop(NAME_LABEL, "")
    if not METRIC_NAME_RE.fullmatch(new_name):
        return None
    return new_name, Labels(current)


def _apply(rule: RelabelRule, labels: dict[str, str]) -> bool:
    """Apply one rule to `labels` in place; False when the sample is dropped."""
    if rule.action is RelabelAction.LABELDROP:
        for label in [label for label in labels if label != NAME_LABEL and rule.regex.fullmatch(label)]:
            del labels[label]
        return True
    value = rule.separator.join(labels.get(label, "") for label in rule.source_labels)
    match = rule.regex.fullmatch(value)
    if rule.action is RelabelAction.KEEP:
        return match is not None
    if rule.action is RelabelAction.DROP:
        return match is None
    if match is not None:  # replace
        target = expand(rule.target_label, match)
        if LABEL_NAME_RE.fullmatch(target):
            replaced = expand(rule.replacement, match)
            if replaced:
                labels[target] = replaced
            else:
                labels.pop(target, None)
    return True
