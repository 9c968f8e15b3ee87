"""Every kind of mistake, one fixture each, with the exact lines `check-config` prints for it.

The fixtures are in tests/fixtures/config/; each is loaded by its bare file name (the source shown in
the messages) from that directory, with an empty environment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, load_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config"

CASES: dict[str, list[str]] = {
    "snmp_credentials.yaml": [
        "snmp_credentials.yaml:10: devices[0].collectors.snmp.community: is required for SNMP version 2c",
        "snmp_credentials.yaml:10: devices[0].collectors.snmp.user: is for SNMP version 3 (this device uses 2c)",
        "snmp_credentials.yaml:18: devices[1].collectors.snmp.user: is required for SNMP version 3",
        "snmp_credentials.yaml:19: devices[1].collectors.snmp.community: is for SNMP versions 1 and 2c"
        " (this device uses 3)",
        "snmp_credentials.yaml:20: devices[1].collectors.snmp.priv: needs auth: SNMPv3 has no privacy"
        " without authentication",
    ],
    "snmp_bad_protocol.yaml": [
        'snmp_bad_protocol.yaml:13: devices[0].collectors.snmp.auth.protocol: "sha1" is not one of md5, sha,'
        " sha224, sha256, sha384, sha512",
        "snmp_bad_protocol.yaml:13: devices[0].collectors.snmp.auth.key: environment variable SNMP_AUTH is not set",
        "snmp_bad_protocol.yaml:14: devices[0].collectors.snmp.port: 70000 must be at most 65535",
    ],
    "exporter_invalid.yaml": [
        'exporter_invalid.yaml:11: devices[0].collectors.exporter.url: "ftp://127.0.0.1:9100/metrics" is not an'
        " http:// or https:// URL with a host",
        'exporter_invalid.yaml:12: devices[0].collectors.exporter.body_size_limit: "10MB" is not a size'
        " (e.g. 10MiB, 512KiB, or a number of bytes)",
        "exporter_invalid.yaml:13: devices[0].collectors.exporter.honor_labels: expected a boolean, got a string",
        'exporter_invalid.yaml:14: devices[0].collectors.exporter.tls.ca_file: "missing-ca.pem" is not a file',
        "exporter_invalid.yaml:16: devices[0].collectors.exporter.metric_relabel_configs[0].regex:"
        ' "node_(cpu" is not a valid regular expression: missing ), unterminated subpattern at position 5',
        "exporter_invalid.yaml:17: devices[0].collectors.exporter.metric_relabel_configs[1].action:"
        ' "hashmod" is not one of replace, keep, drop, labeldrop',
        "exporter_invalid.yaml:18: devices[0].collectors.exporter.metric_relabel_configs[2].source_labels[0]:"
        ' "instance-name" is not a valid label name (must match [a-zA-Z_][a-zA-Z0-9_]*)',
        "exporter_invalid.yaml:18: devices[0].collectors.exporter.metric_relabel_configs[2].target_label:"
        ' "bad-name" is not a valid label name (must match [a-zA-Z_][a-zA-Z0-9_]*, or use $1)',
    ],
    "exporter_conflicts.yaml": [
        "exporter_conflicts.yaml:13: devices[0].collectors.exporter.timeout: 10s must be less than the interval 10s",
        "exporter_conflicts.yaml:15: devices[0].collectors.exporter.basic_auth: cannot be used together with"
        " bearer_token",
        "exporter_conflicts.yaml:16: devices[0].collectors.exporter.tls.cert_file: needs key_file as well",
        "exporter_conflicts.yaml:18: devices[0].collectors.exporter.metric_relabel_configs[0].target_label:"
        " is required for action replace",
        "exporter_conflicts.yaml:19: devices[0].collectors.exporter.metric_relabel_configs[1].source_labels:"
        " is not used by action labeldrop (only regex is)",
    ],
    "bad_duration.yaml": [
        'bad_duration.yaml:11: devices[0].collectors.host.interval: "5x" is not a duration',
        'bad_duration.yaml:11: devices[0].collectors.host.timeout: "1.5h" is not a duration',
    ],
    "unknown_key_top.yaml": [
        "unknown_key_top.yaml:3: sytems: unknown key",
    ],
    "unknown_key_nested.yaml": [
        "unknown_key_nested.yaml:5: console.retention.rollup_1d: unknown key",
        "unknown_key_nested.yaml:17: devices[0].collectors.host.retries: unknown key",
        "unknown_key_nested.yaml:18: devices[0].collectors.telnet: unknown key",
    ],
    "missing_field.yaml": [
        "missing_field.yaml:5: devices[0].site: is required",
        "missing_field.yaml:5: devices[0].address: is required",
    ],
    "missing_devices.yaml": [
        "missing_devices.yaml:2: devices: is required",
    ],
    "wrong_type.yaml": [
        "wrong_type.yaml:2: sites: expected a list, got a mapping",
        "wrong_type.yaml:9: devices[0].system: expected a string, got a list",
        "wrong_type.yaml:12: devices[0].parents: expected a list, got a string",
        "wrong_type.yaml:13: devices[0].labels: expected a mapping, got a list",
        "wrong_type.yaml:15: devices[0].collectors.host: expected a mapping, got a string",
        "wrong_type.yaml:16: devices[1]: expected a mapping, got a string",
    ],
    "not_a_mapping.yaml": [
        "not_a_mapping.yaml:2: <root>: expected a mapping, got a list",
    ],
    "bad_language.yaml": [
        'bad_language.yaml:3: console.language: "fr" is not one of ja, en',
    ],
    "bad_yaml.yaml": [
        "bad_yaml.yaml:5: <yaml>: expected <block end>, but found '<block mapping start>'",
    ],
    "duplicate_key.yaml": [
        "duplicate_key.yaml:10: devices[0].role: duplicate key (first defined on line 8)",
    ],
    "duplicate_device.yaml": [
        'duplicate_device.yaml:8: devices[3].name: "web-01" is already used by devices[1]',
    ],
    "duplicate_site.yaml": [
        'duplicate_site.yaml:5: sites[2].id: "dc-east" is already used by sites[0]',
        'duplicate_site.yaml:8: systems[1].id: "records" is already used by systems[0]',
    ],
    "unknown_site.yaml": [
        'unknown_site.yaml:8: devices[0].site: "dc-north" is not a defined site (known: dc-east, dc-west)',
        'unknown_site.yaml:9: devices[0].system: "pension" is not a defined system (known: records)',
    ],
    "unknown_parent.yaml": [
        'unknown_parent.yaml:15: devices[1].parents[1]: "sw-02" is not a defined device or link',
    ],
    "parent_cycle.yaml": [
        "parent_cycle.yaml:12: devices[2].parents: cycle web-01 -> sw-01 -> web-01",
        "parent_cycle.yaml:19: devices[4].parents: cycle lonely -> lonely",
    ],
    "probes_invalid.yaml": [
        "probes_invalid.yaml:11: devices[0].collectors.ping.packets: 0 must be at least 1",
        "probes_invalid.yaml:12: devices[0].collectors.tcp.port: is required",
        'probes_invalid.yaml:12: devices[0].collectors.tcp.expect: "220 (" is not a valid regular expression:'
        " missing ), unterminated subpattern at position 4",
        "probes_invalid.yaml:12: devices[0].collectors.tcp.tls: expected a boolean, got a string",
        'probes_invalid.yaml:14: devices[0].collectors.http.url: "ftp://127.0.0.1/" is not an http:// or https://'
        " URL with a host",
        "probes_invalid.yaml:15: devices[0].collectors.http.valid_status_codes[1]: 700 must be at most 599",
        'probes_invalid.yaml:16: devices[0].collectors.http.body_regex: "[unclosed" is not a valid regular'
        " expression: unterminated character set at position 0",
        'probes_invalid.yaml:17: devices[0].collectors.http.tls.ca_file: "missing-ca.pem" is not a file',
        "probes_invalid.yaml:24: devices[1].collectors.ping.timeout: 9600ms must be less than the interval 10s"
        " by at least 500ms",
        "probes_invalid.yaml:25: devices[1].collectors.tcp.timeout: 10s must be less than the interval 2s"
        " by at least 500ms",
        'probes_invalid.yaml:31: devices[2].collectors.http.url: "http://127.0.0.3:80x/" is not an http:// or'
        " https:// URL with a host",
    ],
    "timeout_not_less.yaml": [
        "timeout_not_less.yaml:11: devices[0].collectors.host.timeout: 20s must be less than the interval 15s",
        "timeout_not_less.yaml:19: devices[1].collectors.host.timeout: 10s must be less than the interval 5s",
    ],
    "unset_env_secret.yaml": [
        "unset_env_secret.yaml:3: console.metrics_token: environment variable OPS_METRICS_TOKEN is not set",
    ],
    "bad_secret_reference.yaml": [
        "bad_secret_reference.yaml:3: console.metrics_token: is not a secret reference"
        " (use env:NAME or file:PATH); the value is not shown",
    ],
    "bad_listen.yaml": [
        'bad_listen.yaml:3: console.listen: "127.0.0.1:80500" is not host:port (port must be 1..65535)',
    ],
    "bad_listen_form.yaml": [
        'bad_listen_form.yaml:2: console.listen: "8050" is not host:port',
    ],
    "bad_timezone.yaml": [
        'bad_timezone.yaml:3: console.timezone: "Asia/Tokio" is not a known time zone',
    ],
    "bad_label_name.yaml": [
        'bad_label_name.yaml:12: devices[0].labels.rack-row: "rack-row" is not a valid label name'
        " (must match [a-zA-Z_][a-zA-Z0-9_]*)",
        'bad_label_name.yaml:13: devices[0].labels.site: "site" is reserved'
        " (target, site, system, role and collector are set by the console)",
        'bad_label_name.yaml:14: devices[0].labels.__meta: "__meta" is reserved'
        " (names starting with __ are for internal use)",
    ],
    "bad_identifiers.yaml": [
        'bad_identifiers.yaml:2: sites[0].id: "DC_East" is not a valid id (must match [a-z][a-z0-9-]*)',
        "bad_identifiers.yaml:3: systems[0].name: must not be empty",
        'bad_identifiers.yaml:5: devices[0].name: "web 01" is not a valid device name'
        " (must match [A-Za-z0-9][A-Za-z0-9._-]*)",
        'bad_identifiers.yaml:8: devices[0].role: "Server" is not a valid role (must match [a-z][a-z0-9_-]*)',
        'bad_identifiers.yaml:9: devices[0].address: "127.0.0.1 " is not an IP address or host name',
    ],
    "bad_numbers.yaml": [
        'bad_numbers.yaml:3: console.head: "0s" must be greater than 0',
        "bad_numbers.yaml:4: console.store.queue_batches: 0 must be greater than 0",
        "bad_numbers.yaml:4: console.store.stall_timeout: -1 must be greater than 0",
        'bad_numbers.yaml:5: console.retention.raw: "256" is not a duration',
        "bad_numbers.yaml:5: console.retention.rollup_5m: expected a duration, got a boolean",
    ],
    "empty.yaml": [
        "empty.yaml: <root>: is empty",
    ],
    "many_problems.yaml": [
        'many_problems.yaml:4: console.timezone: "Europe/Atlantis" is not a known time zone',
        'many_problems.yaml:13: devices[0].parents[1]: "ghost" is not a defined device or link',
        'many_problems.yaml:15: devices[1].site: "dc-west" is not a defined site (known: dc-east)',
        "many_problems.yaml:20: devices[1].collectors.host.timeout: 30s must be less than the interval 15s",
        "many_problems.yaml:26: devices[2].colectors: unknown key",
    ],
}


@pytest.mark.parametrize(("name", "expected"), CASES.items(), ids=list(CASES))
def test_invalid_config_reports_every_problem_with_file_line_field_and_reason(
    name: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)

    with pytest.raises(ConfigError) as caught:
        load_file(name, environ={})

    assert [str(problem) for problem in caught.value.problems] == expected
    assert str(caught.value) == "\n".join(expected)


def test_every_invalid_fixture_has_a_case() -> None:
    assert sorted(path.name for path in FIXTURES.glob("*.yaml") if path.name != "good.yaml") == sorted(CASES)
