"""Rule files: valid ones load to exact dataclasses; invalid ones give every problem, located."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.rules import AlertingRule, RecordingRule, RuleGroup, expand_rule_globs, load_rule_files, load_rules
from config.problems import ConfigError
from model import Labels

FIXTURES = Path(__file__).parent.parent / "fixtures" / "rules"


def problems(name: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_rule_files([FIXTURES / name])
    prefix = f"{FIXTURES / name}:"
    return [str(p).removeprefix(prefix) for p in caught.value.problems]


def test_a_valid_file_loads_to_exact_groups() -> None:
    path = FIXTURES / "valid.yaml"
    assert load_rule_files([path]) == [
        RuleGroup(
            name="hosts",
            interval=30.0,
            rules=(
                RecordingRule("target:up:max", "max by (target) (up)", Labels(source="rules")),
                AlertingRule(
                    name="HostDown",
                    expr="target:up:max == 0",
                    for_=300.0,
                    keep_firing_for=90.0,
                    labels=Labels(severity="critical"),
                    annotations=Labels(summary="{{ $labels.target }} is down"),
                ),
            ),
            file=str(path),
            limit=10,
        ),
        RuleGroup(
            name="probes",
            interval=60.0,
            rules=(AlertingRule("ProbeFailing", "probe_success == 0"),),
            file=str(path),
        ),
    ]


def test_the_default_interval_applies_to_groups_without_one() -> None:
    [_, probes] = load_rule_files([FIXTURES / "valid.yaml"], default_interval=15.0)
    assert probes.interval == 15.0


def test_unknown_keys_are_errors_and_alerting_keys_are_refused_in_recording_rules() -> None:
    assert problems("unknown_keys.yaml") == [
        "4: groups[0].evaluation_interval: unknown key",
        "8: groups[0].rules[0].severity: unknown key",
        "11: groups[0].rules[1].for: not allowed in a recording rule",
        "12: groups[0].rules[1].annotations: not allowed in a recording rule",
        "13: extra: unknown key",
    ]


def test_every_bad_value_is_reported_at_once_with_its_line_and_path() -> None:
    found = problems("bad_values.yaml")
    assert found[1].startswith(
        '6: groups[0].rules[0].expr: unsupported function "holt_winters" at position 0 (supported: abs, absent,'
    )
    assert found[:1] + found[2:] == [
        "3: groups[0].interval: 30 is not a duration (it needs a unit: 30s)",
        '7: groups[0].rules[0].for: "five minutes" is not a duration',
        '10: groups[0].rules[0].labels.bad-name: "bad-name" is not a valid label name',
        '11: groups[0].rules[0].labels.__name__: "__name__" cannot be set by a rule',
        '12: groups[0].rules[1].record: "not a metric" is not a valid metric name',
        "14: groups[0].rules[2].alert: must not be empty",
        "15: groups[0].rules[2].expr: parse error: invalid promql query",
        '16: groups[0].rules[3]: only one of "alert" and "record" may be set',
        '19: groups[0].rules[4]: one of "alert" or "record" must be set',
        '23: groups[0].rules[5].annotations.summary: template: __alert_Templated:1: function "humanise" not defined',
        '24: groups[0].rules[5].annotations.description: template: __alert_Templated:1: unsupported action "if"',
        '25: groups[1].name: group name "hosts" is repeated in the file (first at groups[0])',
        "27: groups[2].name: is required",
        "27: groups[2].rules: is required",
    ]


def test_groups_must_be_a_list() -> None:
    assert problems("not_a_list.yaml") == ["1: groups: expected a list, got a mapping"]


def test_a_yaml_syntax_error_is_located() -> None:
    assert problems("broken_yaml.yaml") == ["6: <yaml>: expected <block end>, but found '?'"]


def test_problems_of_several_files_are_reported_together(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError) as caught:
        load_rule_files([FIXTURES / "not_a_list.yaml", missing])
    assert [str(p) for p in caught.value.problems] == [
        f"{FIXTURES / 'not_a_list.yaml'}:1: groups: expected a list, got a mapping",
        f"{missing}: <file>: cannot read: No such file or directory",
    ]


def test_an_empty_file_and_a_duplicate_key_are_problems() -> None:
    with pytest.raises(ConfigError) as caught:
        load_rules("", source="empty.yaml")
    assert str(caught.value) == "empty.yaml: <root>: is empty"
    text = "groups:\n  - name: a\n    name: b\n    rules: []\n"
    with pytest.raises(ConfigError) as caught:
        load_rules(text, source="dup.yaml")
    assert str(caught.value) == "dup.yaml:3: groups[0].name: duplicate key (first defined on line 2)"


def test_globs_expand_relative_to_the_config_directory_each_file_once(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    for name in ("b.yaml", "a.yaml", "c.txt"):
        (tmp_path / "rules" / name).write_text("groups: []\n")
    found = expand_rule_globs(tmp_path, ["rules/*.yaml", str(tmp_path / "rules" / "a.yaml"), "none/*.yaml"])
    assert found == [tmp_path / "rules" / "a.yaml", tmp_path / "rules" / "b.yaml"]


def test_a_group_key_is_file_and_name() -> None:
    [group] = load_rules("groups: [{name: g, rules: []}]", source="x.yaml")
    assert (group.key, group.rules) == ("x.yaml;g", ())
