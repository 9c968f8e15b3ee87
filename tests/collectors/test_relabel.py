"""metric_relabel_configs semantics, rule by rule, against what Prometheus' relabel.go does."""

from __future__ import annotations

import re

from collectors.relabel import expand, relabel
from model import Labels, RelabelAction, RelabelRule

CPU = Labels({"cpu": "0", "mode": "idle"})


def rule(action: str = "replace", regex: str = "(.*)", **fields: object) -> RelabelRule:
    return RelabelRule(action=RelabelAction(action), regex=re.compile(regex, re.DOTALL), **fields)  # type: ignore[arg-type]


def test_no_rules_keep_the_sample_as_it_is() -> None:
    assert relabel("node_load1", Labels(), ()) == ("node_load1", Labels())


def test_keep_matches_the_whole_joined_value_of_the_source_labels() -> None:
    keep = rule("keep", "node_cpu_seconds_total;idle", source_labels=("__name__", "mode"))

    assert relabel("node_cpu_seconds_total", CPU, [keep]) == ("node_cpu_seconds_total", CPU)
    assert relabel("node_cpu_seconds_total", CPU.merge({"mode": "idle2"}), [keep]) is None
    assert relabel("node_cpu_seconds", CPU, [rule("keep", "node_cpu", source_labels=("__name__",))]) is None


def test_drop_drops_what_matches_and_a_missing_label_is_the_empty_string() -> None:
    drop = rule("drop", "", source_labels=("device",))

    assert relabel("node_load1", Labels(), [drop]) is None
    assert relabel("node_load1", Labels(device="sda"), [drop]) == ("node_load1", Labels(device="sda"))


def test_replace_expands_numbered_and_named_groups_into_label_and_value() -> None:
    move = rule(
        regex=r"(?P<kind>[a-z]+)-(\d+)", source_labels=("dev",), target_label="${kind}_id", replacement="n$2/$kind"
    )

    assert relabel("m", Labels(dev="disk-7"), [move]) == ("m", Labels(dev="disk-7", disk_id="n7/disk"))


def test_replace_does_nothing_when_the_regex_does_not_match() -> None:
    replace = rule(regex="(x+)", source_labels=("mode",), target_label="mode", replacement="y")

    assert relabel("m", CPU, [replace]) == ("m", CPU)


def test_replace_with_an_empty_result_removes_the_target_label() -> None:
    clear = rule(source_labels=("absent",), target_label="mode")

    assert relabel("m", CPU, [clear]) == ("m", Labels(cpu="0"))


def test_replace_into_an_invalid_label_name_changes_nothing() -> None:
    invalid = rule(regex="(.*)", source_labels=("cpu",), target_label="$1bad", replacement="x")

    assert relabel("m", CPU, [invalid]) == ("m", CPU)


def test_replace_can_rename_the_metric_and_an_invalid_name_drops_the_sample() -> None:
    rename = rule(regex="node_(.*)", source_labels=("__name__",), target_label="__name__", replacement="host_$1")
    broken = rule(target_label="__name__", replacement="1-not-a-name")

    assert relabel("node_load1", Labels(), [rename]) == ("host_load1", Labels())
    assert relabel("node_load1", Labels(), [broken]) is None


def test_labeldrop_removes_labels_by_name_but_never_the_metric_name() -> None:
    assert relabel("m", CPU.merge({"core": "1"}), [rule("labeldrop", "c.*|__name__")]) == ("m", Labels(mode="idle"))


def test_rules_apply_in_order() -> None:
    rules = [
        rule(source_labels=("mode",), target_label="state"),
        rule("labeldrop", "mode"),
        rule("keep", "idle", source_labels=("state",)),
    ]

    assert relabel("m", CPU, rules) == ("m", Labels(cpu="0", state="idle"))


def test_expand_follows_go_regexp_expand() -> None:
    match = re.fullmatch(r"(a)(b)?(?P<c>c)", "ac")
    assert match is not None

    assert expand("$1-${1}-$2-$c-${c}-$$-$1x-$9-$-${", match) == "a-a--c-c-$---$-${"
