"""Alertmanager matchers: parsing (every op, quoting, escapes, braces), exact error messages,
anchored regexes, missing labels as empty values, rendering that round-trips, ordering."""

from __future__ import annotations

import pytest

from alerts.matchers import (
    Matcher,
    format_matchers,
    matchers_from_maps,
    matches_all,
    parse_matcher,
    parse_matchers,
    sorted_matchers,
)
from model import Labels


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('severity="page"', Matcher("severity", "=", "page")),
        ("severity=page", Matcher("severity", "=", "page")),
        ('  site =~ "dc-.*"  ', Matcher("site", "=~", "dc-.*")),
        ('team!="db"', Matcher("team", "!=", "db")),
        ("instance!~host-[0-9]+", Matcher("instance", "!~", "host-[0-9]+")),
        ('summary="say \\"hi\\"\\nbye \\\\ \\x"', Matcher("summary", "=", 'say "hi"\nbye \\ \\x')),
        ('team=""', Matcher("team", "=", "")),
        ("team=", Matcher("team", "=", "")),
        ('job:rate="1"', Matcher("job:rate", "=", "1")),
        ('link="東西回線1"', Matcher("link", "=", "東西回線1")),
        ('msg="a, b"', Matcher("msg", "=", "a, b")),
    ],
)
def test_parse_matcher_reads_alertmanager_syntax(text: str, expected: Matcher) -> None:
    assert parse_matcher(text) == expected


def test_str_renders_alertmanager_syntax_that_parses_back_to_the_same_matcher() -> None:
    matchers = [
        Matcher("severity", "=", "page"),
        Matcher("site", "=~", "dc-.*"),
        Matcher("team", "!=", ""),
        Matcher("summary", "!~", 'say "hi"\nbye \\ end'),
        Matcher("link", "=", "東西回線1"),
    ]
    assert [str(m) for m in matchers] == [
        'severity="page"',
        'site=~"dc-.*"',
        'team!=""',
        'summary!~"say \\"hi\\"\\nbye \\\\ end"',
        'link="東西回線1"',
    ]
    assert [parse_matcher(str(m)) for m in matchers] == matchers
    assert parse_matchers(format_matchers(matchers)) == tuple(matchers)


def test_parse_matchers_reads_braces_commas_inside_quotes_and_a_trailing_comma() -> None:
    expected = (Matcher("a", "=", "b"), Matcher("c", "!=", "d,e"), Matcher("f", "=~", "x|y"))
    assert parse_matchers('{a="b",c!="d,e",f=~"x|y"}') == expected
    assert parse_matchers(' a=b, c!="d,e" , f=~"x|y",') == expected
    assert parse_matchers(["a=b", 'c!="d,e",f=~"x|y"']) == expected
    assert parse_matchers("{}") == ()
    assert parse_matchers("") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('="page"', "bad matcher '=\"page\"': expected a label name at position 0"),
        ("1a=b", "bad matcher '1a=b': expected a label name at position 0"),
        ("sev page", "bad matcher 'sev page': expected one of =, !=, =~, !~ at position 4"),
        ("sev==page", None),  # the value is "=page", as in Alertmanager
        ('sev="page', "bad matcher 'sev=\"page': unterminated quoted value starting at position 4"),
        ('sev=pa"ge', "bad matcher 'sev=pa\"ge': unescaped double quote in the value at position 6"),
        ('sev="a" b', "bad matcher 'sev=\"a\" b': unescaped double quote in the value at position 6"),
        (
            'site=~"dc-("',
            "bad matcher 'site=~\"dc-(\"': invalid regex 'dc-(' for label site: "
            "missing ), unterminated subpattern at position 6",
        ),
        ("{a=b", "bad matchers '{a=b': '{' at position 0 is never closed"),
        ("a=b}", "bad matchers 'a=b}': '}' at position 3 without an opening '{'"),
        ("a=b,,c=d", "bad matchers 'a=b,,c=d': empty matcher at position 4"),
        ("a=b, c", "bad matcher 'a=b, c': expected one of =, !=, =~, !~ at position 6"),
    ],
)
def test_parse_errors_name_the_problem_and_its_position(text: str, message: str | None) -> None:
    if message is None:
        assert parse_matchers(text) == (Matcher("sev", "=", "=page"),)
        return
    with pytest.raises(ValueError) as caught:
        parse_matchers(text)
    assert str(caught.value) == message


def test_matcher_construction_rejects_bad_ops_names_and_regexes() -> None:
    with pytest.raises(ValueError, match=r"^unknown match operator '==' \(one of =, !=, =~, !~\)$"):
        Matcher("a", "==", "b")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^invalid label name 'a-b' in matcher$"):
        Matcher("a-b", "=", "b")
    with pytest.raises(ValueError, match=r"^invalid regex '\[' for label a: unterminated character set$"):
        Matcher("a", "=~", "[")


def test_a_missing_label_matches_as_the_empty_value() -> None:
    labels = Labels({"alertname": "DiskFull"})
    assert Matcher("team", "=", "").matches(labels) is True
    assert Matcher("team", "!=", "").matches(labels) is False
    assert Matcher("team", "!=", "db").matches(labels) is True
    assert Matcher("team", "=~", ".*").matches(labels) is True
    assert Matcher("team", "!~", ".+").matches(labels) is True
    assert Matcher("team", "=~", ".+").matches(labels) is False


def test_regex_matchers_are_fully_anchored() -> None:
    matcher = Matcher("site", "=~", "dc-east|dc-west")
    assert [matcher.matches(Labels(site=s)) for s in ("dc-east", "dc-west", "dc-east-2", "xdc-west", "dc")] == [
        True,
        True,
        False,
        False,
        False,
    ]
    negated = Matcher("site", "!~", "dc-.*")
    assert [negated.matches(Labels(site=s)) for s in ("dc-east", "lab-dc-east", "")] == [False, True, True]


def test_matches_all_needs_every_matcher_and_is_true_for_none() -> None:
    labels = Labels({"severity": "page", "site": "dc-east", "team": "db"})
    assert matches_all(parse_matchers('severity="page",site=~"dc-.*",team!="net"'), labels) is True
    assert matches_all(parse_matchers('severity="page",site=~"dc-west"'), labels) is False
    assert matches_all((), labels) is True


def test_deprecated_match_maps_become_equality_and_regex_matchers() -> None:
    converted = matchers_from_maps({"severity": "page"}, {"site": "dc-.*"})
    assert converted == (Matcher("severity", "=", "page"), Matcher("site", "=~", "dc-.*"))
    assert converted[1].matches(Labels(site="dc-east")) is True
    assert converted[1].matches(Labels(site="x-dc-east")) is False


def test_sorted_matchers_orders_by_name_value_then_op_like_alertmanager() -> None:
    matchers = parse_matchers('b="1", a=~"x", a!="x", a="y", a="x"')
    assert format_matchers(sorted_matchers(matchers)) == '{a="x",a!="x",a=~"x",a="y",b="1"}'
