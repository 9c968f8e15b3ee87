"""The `alerting:` section: Alertmanager's names and defaults, exact validation errors with their
paths, the cross-field problems (`problems()` and `check-config`), and the loader exposing it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from alerts.alertconfig import AlertingConfig
from alerts.matchers import parse_matchers
from alerts.routing import InhibitRule
from config import ConfigError, load

FULL = """
route:
  receiver: oncall
  group_by: [alertname, site]
  routes:
    - matchers: ['severity="page"', 'site=~"dc-.*"']
      receiver: pager
      group_wait: 0s
      continue: true
      mute_time_intervals: [maintenance]
      escalate_after: 15m
      escalation: [duty-manager]
    - match: {team: db}
      match_re: {instance: "db-[0-9]+"}
      receiver: oncall
      group_by: ['...']
      active_time_intervals: [business-hours]
receivers:
  - name: oncall
  - name: pager
    webhook_configs: [{url: "http://127.0.0.1:9000/hook"}]
  - name: duty-manager
inhibit_rules:
  - source_matchers: [severity=critical]
    target_matchers: [severity=warning]
    equal: [site]
  - source_match: {alertname: SiteDown}
    target_match_re: {alertname: ".+"}
time_intervals:
  - name: business-hours
    time_intervals:
      - times: [{start_time: "09:00", end_time: "17:00"}]
        weekdays: ["monday:friday"]
        location: Asia/Tokyo
mute_time_intervals:
  - name: maintenance
    time_intervals: [{days_of_month: ["-1"], months: [december]}]
external_url: http://console.example
"""


def alerting(text: str) -> AlertingConfig:
    return AlertingConfig.model_validate(yaml.safe_load(text))


def errors(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        AlertingConfig.model_validate(data)
    return [".".join(str(part) for part in e["loc"]) + ": " + e["msg"] for e in caught.value.errors()]


def test_full_section_loads_with_alertmanagers_defaults_and_names() -> None:
    config = alerting(FULL)
    root = config.root_route()
    assert (root.receiver, root.group_by, root.group_wait, root.group_interval, root.repeat_interval) == (
        "oncall",
        ("alertname", "site"),
        30.0,
        300.0,
        14400.0,
    )
    page, db = root.routes
    assert (page.key, page.group_wait, page.continue_, page.escalate_after, page.escalation) == (
        '{}/{severity="page",site=~"dc-.*"}/0',
        0.0,
        True,
        900.0,
        ("duty-manager",),
    )
    assert (db.key, db.group_by, db.group_by_all, db.active_time_intervals) == (
        '{}/{instance=~"db-[0-9]+",team="db"}/1',
        ("...",),
        True,
        ("business-hours",),
    )
    assert config.inhibition_rules() == (
        InhibitRule(parse_matchers("severity=critical"), parse_matchers("severity=warning"), ("site",)),
        InhibitRule(parse_matchers("alertname=SiteDown"), parse_matchers('alertname=~".+"'), ()),
    )
    assert sorted(config.intervals()) == ["business-hours", "maintenance"]
    assert config.intervals()["business-hours"].periods[0].location.key == "Asia/Tokyo"
    assert config.external_url == "http://console.example"
    assert config.receiver("pager") is not None and config.receiver("nobody") is None
    assert config.problems() == []


def test_an_empty_section_is_valid_and_has_no_route() -> None:
    config = AlertingConfig.model_validate({})
    assert (config.route, config.receivers, config.problems()) == (None, (), [])
    with pytest.raises(ValueError, match=r"^alerting has no route$"):
        config.root_route()


def test_invalid_fields_are_reported_at_their_path_with_what_is_wrong() -> None:
    assert errors(
        {
            "route": {
                "receiver": "oncall",
                "group_wait": "soon",
                "repeat_interval": "0s",
                "routes": [
                    {"matchers": ["severity=page", 'site=~"dc-("'], "group_by": ["alertname", "alertname"]},
                    {"group_by": ["site", "..."], "match_re": {"site": "dc-("}, "escalate_after": 0},
                    {"match": {"bad-name": "x"}, "recieve": "typo"},
                ],
            },
            "receivers": [{"name": "oncall"}],
            "inhibit_rules": [{"equal": ["ok", "not ok"]}],
        }
    ) == [
        'route.group_wait: Value error, "soon" is not a duration',
        "route.repeat_interval: Value error, '0s' must be a duration greater than 0",
        'route.routes.0.group_by: Value error, "alertname" is listed twice',
        "route.routes.0.matchers.1: Value error, bad matcher 'site=~\"dc-(\"': invalid regex 'dc-(' for label site:"
        " missing ), unterminated subpattern at position 6",
        "route.routes.1.group_by: Value error, '...' (group by all labels) cannot be combined with label names",
        "route.routes.1.match_re.site: Value error, invalid regex 'dc-(': missing ), unterminated subpattern",
        "route.routes.1.escalate_after: Value error, 0 must be a duration greater than 0",
        'route.routes.2.match.bad-name.[key]: Value error, "bad-name" is not a valid label name'
        " (must match [a-zA-Z_][a-zA-Z0-9_]*)",
        "route.routes.2.recieve: Extra inputs are not permitted",
        'inhibit_rules.0.equal.1: Value error, "not ok" is not a valid label name (must match [a-zA-Z_][a-zA-Z0-9_]*)',
    ]


def test_the_root_route_needs_a_receiver_and_no_matchers_or_time_intervals() -> None:
    assert errors({"route": {"group_by": ["alertname"]}}) == [
        "route: Value error, the root route needs a receiver (the default receiver)"
    ]
    assert errors({"route": {"receiver": "a", "match": {"severity": "page"}}}) == [
        "route: Value error, the root route matches every alert: it cannot have matchers"
    ]
    assert errors({"route": {"receiver": "a", "mute_time_intervals": ["nights"]}}) == [
        "route: Value error, the root route cannot have mute_time_intervals or active_time_intervals"
    ]
    assert errors({"receivers": [{"name": "a"}]}) == [": Value error, route is required when there are receivers"]


def test_time_interval_fields_are_checked_at_their_path() -> None:
    period = {
        "times": [{"start_time": "17:00", "end_time": "09:00"}],
        "weekdays": ["monday:friday", "funday"],
        "days_of_month": ["-3:5"],
        "months": [],
        "location": "Mars/Olympus",
    }
    assert errors({"time_intervals": [{"name": "x", "time_intervals": [period]}]}) == [
        "time_intervals.0.time_intervals.0.times.0: Value error, start_time 17:00 must be before end_time 09:00",
        "time_intervals.0.time_intervals.0.weekdays.1: Value error, 'funday' is not a weekday (sunday, ..., saturday)",
        "time_intervals.0.time_intervals.0.days_of_month.0: Value error,"
        " '-3:5': the end day must be negative when the start day is",
        "time_intervals.0.time_intervals.0.months: Value error, an empty list never matches: leave the key out to"
        " allow any",
        "time_intervals.0.time_intervals.0.location: Value error,"
        " 'Mars/Olympus' is not a known time zone (an IANA name such as Asia/Tokyo or UTC)",
    ]


def test_problems_list_undefined_and_duplicate_names_and_escalation_without_escalate_after() -> None:
    config = alerting(
        """
route:
  receiver: oncall
  routes:
    - receiver: pager
      mute_time_intervals: [nights]
      escalation: [boss, oncall]
      routes:
        - {receiver: oncall, active_time_intervals: [weekends]}
    - escalate_after: 10m
      routes:
        - escalation: [oncall]
receivers: [{name: oncall}, {name: oncall}]
time_intervals: [{name: weekends}]
mute_time_intervals: [{name: weekends}]
"""
    )
    assert config.problems() == [
        (("receivers", 1, "name"), '"oncall" is already used by receivers[0]'),
        (("mute_time_intervals", 0, "name"), '"weekends" is already used by time_intervals[0]'),
        (("route", "routes", 0, "receiver"), '"pager" is not a defined receiver'),
        (("route", "routes", 0, "escalation", 0), '"boss" is not a defined receiver'),
        (("route", "routes", 0, "mute_time_intervals", 0), '"nights" is not a defined time interval'),
        (("route", "routes", 0, "escalation"), "needs escalate_after (on this route or a parent route)"),
    ]


CONSOLE = """
sites: [{id: dc-east, name: east}]
systems: [{id: records, name: records}]
devices:
  - {name: host-01, site: dc-east, system: records, role: server, address: 127.0.0.1, collectors: {host: {}}}
"""


def test_the_loader_exposes_the_section_with_file_secrets_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "hook.token").write_text("t0ken\n", encoding="utf-8")
    text = CONSOLE + (
        "alerting:\n"
        "  route: {receiver: hook}\n"
        "  receivers:\n"
        "    - name: hook\n"
        "      webhook_configs:\n"
        "        - {url: 'http://127.0.0.1:9/x', http_config: {bearer_token: 'file:hook.token'}}\n"
    )
    config = load(text, base_dir=tmp_path, environ={})
    assert config.alerting is not None
    token = config.alerting.receivers[0].webhook_configs[0].http_config.bearer_token
    assert token is not None and token.reveal() == "t0ken"
    assert config.alerting.root_route().receiver == "hook"
    assert load(CONSOLE, base_dir=tmp_path, environ={}).alerting is None


def test_check_config_reports_alerting_problems_with_line_and_path(tmp_path: Path) -> None:
    text = CONSOLE + (
        "alerting:\n"
        "  route:\n"
        "    receiver: oncall\n"
        "    routes:\n"
        "      - {matchers: [severity=page], receiver: pager}\n"
        "  receivers: [{name: oncall}]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load(text, source="console.yaml", base_dir=tmp_path, environ={})
    assert str(caught.value) == 'console.yaml:10: alerting.route.routes[0].receiver: "pager" is not a defined receiver'


def test_alerting_problems_are_reported_even_when_another_section_is_invalid(tmp_path: Path) -> None:
    text = "console: {listen: nowhere}\n" + CONSOLE + "alerting:\n  route: {receiver: nobody}\n"
    with pytest.raises(ConfigError) as caught:
        load(text, source="console.yaml", base_dir=tmp_path, environ={})
    assert [p.path for p in caught.value.problems] == ["console.listen", "alerting.route.receiver"]


@pytest.mark.parametrize("first", ["alerts.alertconfig", "alerts.notifiers", "alerts.routing", "config"])
def test_modules_import_in_any_order_without_a_cycle(first: str) -> None:
    code = f"import {first}, config.loader, alerts.alertconfig"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stderr) == (0, "")
