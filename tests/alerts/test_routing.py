"""The route tree (Alertmanager's matching: depth-first, first match unless `continue`, the parent
when no child matches), inheritance, route keys, group keys, escalation steps and inhibition."""

from __future__ import annotations

from typing import Any

import yaml

from alerts.alertconfig import AlertingConfig
from alerts.matchers import parse_matchers
from alerts.routing import Inhibitions, InhibitRule, Route, group_key, inhibitor, match_routes, walk
from model import Labels

# The tree of Alertmanager's dispatch/route_test.go (TestRouteMatch), with receivers declared.
TREE = """
route:
  receiver: notify-def
  routes:
    - matchers: ['owner="team-A"']
      receiver: notify-A
      routes:
        - matchers: ['env="testing"']
          receiver: notify-testing
          group_by: ['...']
        - matchers: ['env="production"']
          receiver: notify-productionA
          group_wait: 1m
          continue: true
        - matchers: ['env=~"produ.*"', 'job=~".*"']
          receiver: notify-productionB
          group_wait: 30s
          group_interval: 5m
          repeat_interval: 1h
          group_by: [job]
    - matchers: ['owner=~"team-(B|C)"']
      group_by: [foo, bar]
      group_wait: 2m
      receiver: notify-BC
    - match: {group_by: role}
      group_by: [role]
      routes:
        - matchers: ['env="testing"']
          receiver: notify-testing
          routes:
            - matchers: [wait="long"]
              group_wait: 2m
receivers:
  - {name: notify-def}
  - {name: notify-A}
  - {name: notify-testing}
  - {name: notify-productionA}
  - {name: notify-productionB}
  - {name: notify-BC}
"""


def tree(text: str = TREE) -> Route:
    return AlertingConfig.model_validate(yaml.safe_load(text)).root_route()


def matched(root: Route, **labels: str) -> list[tuple[str, str, tuple[str, ...], float, float, float]]:
    return [
        (r.receiver, r.key, r.group_by, r.group_wait, r.group_interval, r.repeat_interval)
        for r in match_routes(root, Labels(labels))
    ]


def test_alertmanagers_route_tree_sends_each_label_set_to_the_expected_receivers() -> None:
    root = tree()
    h4 = 4 * 3600.0
    assert matched(root, owner="team-A") == [("notify-A", '{}/{owner="team-A"}/0', (), 30.0, 300.0, h4)]
    assert matched(root, owner="team-A", env="unset") == [("notify-A", '{}/{owner="team-A"}/0', (), 30.0, 300.0, h4)]
    assert matched(root, owner="team-C") == [
        ("notify-BC", '{}/{owner=~"team-(B|C)"}/1', ("foo", "bar"), 120.0, 300.0, h4)
    ]
    assert matched(root, owner="team-A", env="testing") == [
        ("notify-testing", '{}/{owner="team-A"}/0/{env="testing"}/0', ("...",), 30.0, 300.0, h4)
    ]
    assert matched(root, owner="team-A", env="production") == [
        ("notify-productionA", '{}/{owner="team-A"}/0/{env="production"}/1', (), 60.0, 300.0, h4),
        ("notify-productionB", '{}/{owner="team-A"}/0/{env=~"produ.*",job=~".*"}/2', ("job",), 30.0, 300.0, 3600.0),
    ]
    assert matched(root, group_by="role") == [("notify-def", '{}/{group_by="role"}/2', ("role",), 30.0, 300.0, h4)]
    assert matched(root, env="testing", group_by="role") == [
        ("notify-testing", '{}/{group_by="role"}/2/{env="testing"}/0', ("role",), 30.0, 300.0, h4)
    ]
    assert matched(root, env="testing", group_by="role", wait="long") == [
        ("notify-testing", '{}/{group_by="role"}/2/{env="testing"}/0/{wait="long"}/0', ("role",), 120.0, 300.0, h4)
    ]
    assert matched(root, owner="nobody") == [("notify-def", "{}", (), 30.0, 300.0, h4)]


def test_continue_on_a_matching_child_goes_on_to_later_siblings_and_without_it_stops() -> None:
    root = tree(
        """
route:
  receiver: default
  routes:
    - {matchers: [severity=page], receiver: pager, continue: true}
    - {matchers: [team=db], receiver: db}
    - {matchers: [severity=page], receiver: never-reached-after-db}
    - {matchers: [site=~"dc-.*"], receiver: site}
receivers: [{name: default}, {name: pager}, {name: db}, {name: never-reached-after-db}, {name: site}]
"""
    )
    receivers = lambda **labels: [r.receiver for r in match_routes(root, Labels(labels))]  # noqa: E731
    assert receivers(severity="page", team="db", site="dc-1") == ["pager", "db"]
    assert receivers(severity="page", site="dc-1") == ["pager", "never-reached-after-db"]
    assert receivers(site="dc-1") == ["site"]
    assert receivers(team="web") == ["default"]


def test_children_inherit_unset_settings_including_escalation_but_not_time_intervals() -> None:
    root = tree(
        """
route:
  receiver: default
  group_by: [alertname, site]
  group_wait: 10s
  group_interval: 1m
  repeat_interval: 2h
  escalate_after: 15m
  escalation: [duty-manager, director]
  routes:
    - matchers: [severity=page]
      receiver: pager
      mute_time_intervals: [nights]
      active_time_intervals: [weekdays]
      routes:
        - matchers: [team=db]
          group_by: [alertname]
          escalate_after: 5m
        - matchers: [team=web]
          escalation: []
receivers: [{name: default}, {name: pager}, {name: duty-manager}, {name: director}]
time_intervals:
  - {name: nights, time_intervals: [{times: [{start_time: "00:00", end_time: "06:00"}]}]}
  - {name: weekdays, time_intervals: [{weekdays: ["monday:friday"]}]}
"""
    )
    page = root.routes[0]
    db, web = page.routes
    assert (page.receiver, page.group_by, page.group_wait, page.group_interval, page.repeat_interval) == (
        "pager",
        ("alertname", "site"),
        10.0,
        60.0,
        7200.0,
    )
    assert (page.escalate_after, page.escalation) == (900.0, ("duty-manager", "director"))
    assert (page.mute_time_intervals, page.active_time_intervals) == (("nights",), ("weekdays",))
    assert (db.receiver, db.group_by, db.escalate_after, db.escalation) == (
        "pager",
        ("alertname",),
        300.0,
        ("duty-manager", "director"),
    )
    assert (db.mute_time_intervals, db.active_time_intervals) == ((), ())
    assert (web.escalate_after, web.escalation) == (900.0, ())
    assert [r.key for r in walk(root)] == [
        "{}",
        '{}/{severity="page"}/0',
        '{}/{severity="page"}/0/{team="db"}/0',
        '{}/{severity="page"}/0/{team="web"}/1',
    ]


def test_route_key_sorts_matchers_from_matchers_match_and_match_re_like_alertmanager() -> None:
    root = tree(
        """
route:
  receiver: default
  routes:
    - matchers: ['team="db"', 'env!="test"']
      match: {severity: page}
      match_re: {site: "dc-.*"}
receivers: [{name: default}]
"""
    )
    assert root.routes[0].key == '{}/{env!="test",severity="page",site=~"dc-.*",team="db"}/0'


def test_escalation_receiver_steps_through_the_list_every_escalate_after() -> None:
    route = Route(receiver="oncall", escalate_after=600.0, escalation=("duty-manager", "director"))
    assert [route.escalation_receiver(t) for t in (0.0, 599.0, 600.0, 1199.0, 1200.0, 99999.0)] == [
        None,
        None,
        "duty-manager",
        "duty-manager",
        "director",
        "director",
    ]
    assert Route(receiver="oncall", escalation=("boss",)).escalation_receiver(10**6) is None


def test_group_key_is_the_route_key_and_the_group_labels_values() -> None:
    alert = Labels({"alertname": "DiskFull", "site": "dc-east", "instance": "db-1", "team": "db"})
    root = Route(receiver="default", group_by=("alertname", "site", "cluster"))
    assert group_key(root, alert) == (
        '{}:{alertname="DiskFull", site="dc-east"}',
        Labels({"alertname": "DiskFull", "site": "dc-east"}),
    )
    child = Route(receiver="db", key='{}/{team="db"}/0', group_by=("...",))
    assert group_key(child, alert) == (
        '{}/{team="db"}/0:{alertname="DiskFull", instance="db-1", site="dc-east", team="db"}',
        alert,
    )
    assert group_key(Route(receiver="default"), alert) == ("{}:{}", Labels())
    quoted = Labels({"alertname": 'say "hi"\\'})
    assert group_key(Route(receiver="x", group_by=("alertname",)), quoted)[0] == '{}:{alertname="say \\"hi\\"\\\\"}'


CRITICAL_INHIBITS_WARNING = InhibitRule(
    source_matchers=parse_matchers("severity=critical"),
    target_matchers=parse_matchers("severity=warning"),
    equal=("cluster",),
)


def test_inhibition_needs_equal_labels_with_missing_equal_to_missing() -> None:
    rule = CRITICAL_INHIBITS_WARNING
    source = Labels(alertname="NodeDown", severity="critical", cluster="c1")
    assert rule.inhibits(source, Labels(alertname="HighLoad", severity="warning", cluster="c1")) is True
    assert rule.inhibits(source, Labels(alertname="HighLoad", severity="warning", cluster="c2")) is False
    assert rule.inhibits(source, Labels(alertname="HighLoad", severity="warning")) is False
    assert rule.inhibits(source, Labels(alertname="HighLoad", severity="critical", cluster="c1")) is False
    no_cluster = Labels(alertname="NodeDown", severity="critical")
    assert rule.inhibits(no_cluster, Labels(alertname="HighLoad", severity="warning")) is True
    assert rule.inhibits(no_cluster, Labels(alertname="HighLoad", severity="warning", cluster="c1")) is False


def test_an_alert_matching_both_sides_is_not_inhibited_by_itself_or_alike_but_by_a_pure_source() -> None:
    rule = InhibitRule(parse_matchers("alertname=Down"), parse_matchers("alertname=Down"), equal=("site",))
    both = Labels(alertname="Down", site="a", instance="1")
    other_both = Labels(alertname="Down", site="a", instance="2")
    assert rule.inhibits(both, both) is False
    assert rule.inhibits(other_both, both) is False
    mixed = InhibitRule(parse_matchers("s=1"), parse_matchers("t=1"))
    target = Labels(s="1", t="1")
    assert mixed.inhibits(Labels(s="1", t="1", n="2"), target) is False
    assert mixed.inhibits(Labels(s="1"), target) is True


FIRING = [
    Labels(alertname="SiteDown", severity="critical", site="dc-east"),
    Labels(alertname="NodeDown", severity="critical", cluster="c1"),
    Labels(alertname="NodeDown", severity="critical", cluster="c2"),
]
RULES = [
    InhibitRule(parse_matchers("alertname=SiteDown"), parse_matchers("alertname!=SiteDown"), equal=("site",)),
    CRITICAL_INHIBITS_WARNING,
]
TARGETS: list[tuple[dict[str, Any], Labels | None]] = [
    ({"alertname": "HighLoad", "severity": "warning", "site": "dc-east", "cluster": "c2"}, FIRING[0]),
    ({"alertname": "HighLoad", "severity": "warning", "site": "dc-west", "cluster": "c2"}, FIRING[2]),
    ({"alertname": "HighLoad", "severity": "warning", "cluster": "c1"}, FIRING[1]),
    ({"alertname": "HighLoad", "severity": "warning", "cluster": "c3"}, None),
    ({"alertname": "SiteDown", "severity": "critical", "site": "dc-east"}, None),
    ({"alertname": "NodeDown", "severity": "critical", "site": "dc-east", "cluster": "c2"}, FIRING[0]),
]


def test_inhibitor_returns_the_first_inhibiting_firing_alert_by_rule_then_firing_order() -> None:
    assert [inhibitor(RULES, Labels(target), FIRING) for target, _ in TARGETS] == [want for _, want in TARGETS]
    assert inhibitor([], Labels(TARGETS[0][0]), FIRING) is None
    assert inhibitor(RULES, Labels(TARGETS[0][0]), []) is None


def test_inhibitions_index_gives_the_same_answers_as_inhibitor() -> None:
    index = Inhibitions(RULES, FIRING)
    assert [index.inhibitor(Labels(target)) for target, _ in TARGETS] == [want for _, want in TARGETS]


def test_inhibitions_over_thousands_of_alerts_find_each_targets_source() -> None:
    firing = [Labels(alertname="NodeDown", severity="critical", cluster=f"c{i}") for i in range(3000)]
    targets = [Labels(alertname="HighLoad", severity="warning", cluster=f"c{i}") for i in range(0, 6000, 2)]
    index = Inhibitions([CRITICAL_INHIBITS_WARNING], firing)
    found = [index.inhibitor(t) for t in targets]
    assert found[:2] == [firing[0], firing[2]]
    assert sum(f is not None for f in found) == 1500
