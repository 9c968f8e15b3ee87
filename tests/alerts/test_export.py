"""Export to Alertmanager 0.25: the exact document and warnings for a config using every feature,
`amtool check-config` accepting it, and `promtool check rules` accepting the copied rule files."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.alertconfig import AlertingConfig
from alerts.export import alertmanager_config, write_export
from tests.helpers import require

RULES_DIR = Path(__file__).resolve().parents[2] / "config" / "rules"

SECTION = """
route:
  receiver: oncall
  group_by: [alertname, site]
  group_wait: 45s
  routes:
    - matchers: ['severity="page"', 'team!="test"', 'site=~"dc-.*"', 'instance!~"lab-.*"']
      receiver: pager
      continue: true
      escalate_after: 15m
      escalation: [oncall]
      routes:
        - match: {team: db}
          match_re: {instance: "db-[0-9]+"}
          group_by: ['...']
          repeat_interval: 1h
          active_time_intervals: [business-hours]
    - matchers: [team=network]
      receiver: network
      mute_time_intervals: [change-window]
receivers:
  - name: oncall
    email_configs:
      - to: [oncall@example.org, boss@example.org]
        from: console@example.org
        smarthost: mail.example.org:587
        auth_username: console
        auth_password: file:smtp.pass
        tls_config: {ca_file: ca.pem}
        headers: {Subject: "$subject", X-Team: ops}
  - name: pager
    webhook_configs:
      - url: https://pager.example.org/hook
        max_alerts: 5
        http_config: {bearer_token: file:hook.token}
  - name: network
    webhook_configs:
      - url: http://127.0.0.1:9000/net
        send_resolved: false
        http_config: {basic_auth: {username: net, password: env:NET_PASSWORD}}
    alertmanager_configs:
      - urls: [http://am-east:9093]
inhibit_rules:
  - source_matchers: [severity=critical]
    target_matchers: ['severity=~"warning|info"']
    equal: [site, cluster]
  - source_match: {alertname: SiteDown}
    target_match_re: {alertname: ".+"}
    equal: [site]
time_intervals:
  - name: business-hours
    time_intervals:
      - times: [{start_time: "09:00", end_time: "17:30"}, {start_time: "22:00", end_time: "24:00"}]
        weekdays: ["monday:friday", saturday]
        days_of_month: ["1:15", "-3:-1"]
        months: ["january:march", 12]
        years: ["2026:2028"]
        location: Asia/Tokyo
mute_time_intervals:
  - name: change-window
    time_intervals: [{weekdays: [sunday], times: [{start_time: "02:00", end_time: "04:00"}]}]
external_url: http://console.example
"""


@pytest.fixture
def config(tmp_path: Path) -> AlertingConfig:
    (tmp_path / "smtp.pass").write_text("s3cret\n", encoding="utf-8")
    (tmp_path / "hook.token").write_text("t0ken\n", encoding="utf-8")
    (tmp_path / "ca.pem").write_text("not checked here\n", encoding="utf-8")
    context: dict[str, Any] = {"base_dir": tmp_path, "environ": {"NET_PASSWORD": "n3t"}}
    return AlertingConfig.model_validate(yaml.safe_load(SECTION), context=context)


def test_export_writes_alertmanagers_names_with_file_secrets_and_warns_about_the_rest(
    config: AlertingConfig, tmp_path: Path
) -> None:
    document, warnings = alertmanager_config(config, base_dir=tmp_path)
    assert document["route"] == {
        "receiver": "oncall",
        "group_by": ["alertname", "site"],
        "group_wait": "45s",
        "routes": [
            {
                "receiver": "pager",
                "matchers": ['instance!~"lab-.*"', 'severity="page"', 'site=~"dc-.*"', 'team!="test"'],
                "continue": True,
                "routes": [
                    {
                        "group_by": ["..."],
                        "repeat_interval": "1h",
                        "matchers": ['instance=~"db-[0-9]+"', 'team="db"'],
                        "active_time_intervals": ["business-hours"],
                    }
                ],
            },
            {"receiver": "network", "matchers": ['team="network"'], "mute_time_intervals": ["change-window"]},
        ],
    }
    assert document["receivers"] == [
        {
            "name": "oncall",
            "email_configs": [
                {
                    "send_resolved": False,
                    "to": "oncall@example.org, boss@example.org",
                    "from": "console@example.org",
                    "smarthost": "mail.example.org:587",
                    "hello": "localhost",
                    "require_tls": True,
                    "auth_username": "console",
                    "auth_password_file": str(tmp_path / "smtp.pass"),
                    "tls_config": {"ca_file": str(tmp_path / "ca.pem")},
                    "headers": {"X-Team": "ops"},
                }
            ],
        },
        {
            "name": "pager",
            "webhook_configs": [
                {
                    "send_resolved": True,
                    "url": "https://pager.example.org/hook",
                    "max_alerts": 5,
                    "http_config": {"authorization": {"credentials_file": str(tmp_path / "hook.token")}},
                }
            ],
        },
        {
            "name": "network",
            "webhook_configs": [
                {
                    "send_resolved": False,
                    "url": "http://127.0.0.1:9000/net",
                    "http_config": {"basic_auth": {"username": "net", "password": "<set me: env NET_PASSWORD>"}},
                }
            ],
        },
    ]
    assert document["inhibit_rules"] == [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity=~"warning|info"'],
            "equal": ["site", "cluster"],
        },
        {"source_matchers": ['alertname="SiteDown"'], "target_matchers": ['alertname=~".+"'], "equal": ["site"]},
    ]
    assert document["time_intervals"] == [
        {
            "name": "business-hours",
            "time_intervals": [
                {
                    "times": [
                        {"start_time": "09:00", "end_time": "17:30"},
                        {"start_time": "22:00", "end_time": "24:00"},
                    ],
                    "weekdays": ["monday:friday", "saturday"],
                    "days_of_month": ["1:15", "-3:-1"],
                    "months": ["january:march", "december"],
                    "years": ["2026:2028"],
                    "location": "Asia/Tokyo",
                }
            ],
        },
        {
            "name": "change-window",
            "time_intervals": [{"times": [{"start_time": "02:00", "end_time": "04:00"}], "weekdays": ["sunday"]}],
        },
    ]
    assert warnings == [
        "route.routes[0]: escalate_after/escalation (console extension) dropped: Alertmanager cannot escalate",
        "receivers[0].email_configs[0]: Subject dropped: they use the console's $variables"
        " (Alertmanager uses Go templates; its defaults apply)",
        "receivers[2].webhook_configs[0].http_config.basic_auth.password: env:NET_PASSWORD cannot be exported"
        " (Alertmanager does not read environment variables): replace '<set me: env NET_PASSWORD>' or put the"
        " secret in a file and use password_file",
        "receivers[2].alertmanager_configs[0]: dropped: Alertmanager has no integration forwarding alerts",
        "external_url: pass --web.external-url=http://console.example to Alertmanager",
        "topology_suppression has no Alertmanager equivalent: alerts behind a down parent will page unless"
        " inhibit_rules are written for them",
        "flapping detection and acknowledgements have no Alertmanager equivalent",
    ]
    assert "n3t" not in repr(document) and "s3cret" not in repr(document) and "t0ken" not in repr(document)


def test_export_refuses_a_section_alertmanager_would_reject() -> None:
    with pytest.raises(ValueError, match=r"^alerting has no route: Alertmanager needs one$"):
        alertmanager_config(AlertingConfig.model_validate({}))
    broken = AlertingConfig.model_validate({"route": {"receiver": "nobody"}})
    with pytest.raises(ValueError, match=r'^the alerting section has problems: route.receiver: "nobody" is not a'):
        alertmanager_config(broken)


@pytest.mark.slow
def test_amtool_accepts_the_exported_config_and_promtool_the_copied_rules(
    config: AlertingConfig, tmp_path: Path
) -> None:
    amtool = require("amtool", install="apt-get install prometheus-alertmanager")
    promtool = require("promtool", install="apt-get install prometheus")
    out = tmp_path / "export"
    rule_files = sorted(RULES_DIR.glob("*.yaml"))
    warnings = write_export(config, rule_files, out, base_dir=tmp_path)
    assert len(warnings) == 7
    assert sorted(p.name for p in (out / "rules").iterdir()) == [p.name for p in rule_files]
    assert (out / "alertmanager.yml").read_text(encoding="utf-8").startswith("# Generated by Ops Console")
    checked = subprocess.run(
        [amtool, "check-config", str(out / "alertmanager.yml")], capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert " - 2 inhibit rules\n - 3 receivers\n" in checked.stdout
    rules = subprocess.run(
        [promtool, "check", "rules", *(str(p) for p in sorted((out / "rules").iterdir()))],
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert rules.returncode == 0, rules.stdout + rules.stderr


def test_write_export_refuses_rule_files_with_the_same_name(config: AlertingConfig, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder / "rules.yaml").write_text("groups: []\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"^rule files with the same name would overwrite each other in rules/: rules"):
        write_export(config, [tmp_path / "a" / "rules.yaml", tmp_path / "b" / "rules.yaml"], tmp_path / "out")
