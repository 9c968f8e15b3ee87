"""Template functions against the outputs of Prometheus' Go implementation (template/template_test.go)."""

from __future__ import annotations

import math

import pytest

from alerts.templates import (
    TemplateData,
    TemplateError,
    check,
    expand,
    go_value,
    humanize,
    humanize1024,
    humanize_duration,
    humanize_percentage,
)

INF, NAN = math.inf, math.nan


def joined(function: object, values: list[float]) -> str:
    assert callable(function)
    return "".join(f"{function(v)}:" for v in values)


def test_humanize_uses_si_prefixes_with_four_significant_digits() -> None:
    assert joined(humanize, [0.0, 1.0, 1234567.0, 0.12]) == "0:1:1.235M:120m:"
    assert joined(humanize, [INF, -INF, NAN]) == "+Inf:-Inf:NaN:"
    # 999.95 rounds up to "1000" without a prefix, as in Go: the prefix is chosen before rounding.
    assert joined(humanize, [999.95, 1000.0, 1e-3, 1.5e-9, -1500.0, 1e27]) == "1000:1k:1m:1.5n:-1.5k:1000Y:"


def test_humanize1024_uses_binary_prefixes_above_one() -> None:
    assert joined(humanize1024, [0.0, 1.0, 1048576.0, 0.12]) == "0:1:1Mi:0.12:"
    assert joined(humanize1024, [1024.0, 1536.0, INF, NAN]) == "1ki:1.5ki:+Inf:NaN:"


def test_humanize_duration_writes_days_hours_minutes_and_seconds() -> None:
    values = [0.0, 1.0, 60.0, 3600.0, 86400.0, 86400.0 + 3600.0, -(86400 * 2 + 3600 * 3 + 60 * 4 + 5), 899.99]
    assert joined(humanize_duration, values) == "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s:"


def test_humanize_duration_around_zero_and_one() -> None:
    values = [-3600, -3599.99, -60.5, -60, -59.99, -1, -0.5, -0.001, 0, 0.001, 0.5, 1, 59.99, 60, 60.5, 3599.99, 3600]
    assert joined(humanize_duration, [float(v) for v in values]) == (
        "-1h 0m 0s:-59m 59s:-1m 0s:-1m 0s:-59.99s:-1s:-500ms:-1ms:0s:1ms:500ms:1s:59.99s:1m 0s:1m 0s:59m 59s:1h 0m 0s:"
    )


def test_humanize_duration_of_fractions() -> None:
    values = [0.1, 0.0001, 0.12345, 60.1, 60.5, 1.2345, 12.345]
    assert joined(humanize_duration, values) == "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s:"
    assert joined(humanize_duration, [INF, NAN]) == "+Inf:NaN:"


def test_humanize_percentage() -> None:
    assert joined(humanize_percentage, [-0.22222, 0.0, 0.1234567, 1.23456]) == "-22.22%:0%:12.35%:123.5%:"


def test_a_bare_value_prints_as_go_prints_a_float() -> None:
    values = [0.0, 1.0, 0.5, 123456.0, 1e6, 1234567.0, 1e-4, 1.5e-5, -2.25, INF, NAN]
    assert [go_value(v) for v in values] == [
        "0",
        "1",
        "0.5",
        "123456",
        "1e+06",
        "1.234567e+06",
        "0.0001",
        "1.5e-05",
        "-2.25",
        "+Inf",
        "NaN",
    ]


DATA = TemplateData({"__name__": "cpu", "target": "db-01", "ratio": "0.25"}, 0.934, {"dc": "east"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ $labels.target }} is {{ $value | humanizePercentage }}", "db-01 is 93.4%"),
        ("{{ .Labels.target }}={{ .Value }}", "db-01=0.934"),
        ('{{ printf "%.2f" $value }}', "0.93"),
        ('{{ $value | printf "%.1f" }}', "0.9"),
        ("{{ $labels.ratio | humanizePercentage }}", "25%"),
        ("{{ humanize 1234 }} {{ 90061 | humanizeDuration }}", "1.234k 1d 1h 1m 1s"),
        ("[{{ $labels.missing }}]", "[]"),
        ("{{ $externalLabels.dc }} {{ $externalURL }}.", "east ."),
        ("a {{- $labels.target -}} b{{/* a comment */}}", "adb-01b"),
        ("{{ $labels.target | toUpper }}", "DB-01"),
        ("no actions", "no actions"),
        ('{{ printf "%s が停止\\t" $labels.target }}', "db-01 が停止\t"),
    ],
)
def test_expand(text: str, expected: str) -> None:
    assert expand(text, DATA, "__alert_X") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "{{ $labels.target | humanize }}",
            '<error expanding template: strconv.ParseFloat: parsing "db-01": invalid syntax>',
        ),
        ("{{ $nope }}", '<error expanding template: template: __alert_X:1: unsupported "$nope">'),
        ("x\n{{ nope 1 }}", '<error expanding template: template: __alert_X:2: function "nope" not defined>'),
        ("{{ $value", "<error expanding template: template: __alert_X:1: unclosed action>"),
    ],
)
def test_an_error_becomes_the_text_as_prometheus_writes_it(text: str, expected: str) -> None:
    assert expand(text, DATA, "__alert_X") == expected


def test_check_refuses_what_is_not_supported() -> None:
    check("{{ $labels.a }} {{ $value | humanize }}")
    with pytest.raises(TemplateError, match=r'^template: t:1: unsupported action "range"$'):
        check("{{ range $labels }}x{{ end }}", "t")
