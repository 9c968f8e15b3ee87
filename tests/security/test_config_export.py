"""security/exports.py and `run_console.py export-config`: the effective configuration with every secret
as `<secret>` (canaries: tests/security/canaries.py), in the file's shape, as YAML and in Prometheus'
`/api/v1/status/config` shape."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

import config
import run_console
from security.exports import config_status, export_config, export_config_yaml
from tests.security import canaries
from tests.security.canaries import leaked


@pytest.fixture
def exported(tmp_path: Path) -> dict[str, Any]:
    return export_config(canaries.load(tmp_path))


def test_every_secret_is_the_marker_and_neither_its_value_nor_its_reference_shows(exported: dict[str, Any]) -> None:
    devices = {device["name"]: device["collectors"] for device in exported["devices"]}
    [receiver] = exported["alerting"]["receivers"]

    assert exported["console"]["metrics_token"] == "<secret>"
    assert devices["rtr-v2c"]["snmp"]["community"] == "<secret>"
    assert devices["rtr-v3"]["snmp"]["auth"] == {"protocol": "sha256", "key": "<secret>"}
    assert devices["rtr-v3"]["snmp"]["priv"] == {"protocol": "aes256", "key": "<secret>"}
    assert devices["rtr-v3"]["exporter"]["bearer_token"] == "<secret>"
    assert devices["srv-01"]["exporter"]["basic_auth"] == {"username": "scrape", "password": "<secret>"}
    assert receiver["email_configs"][0]["auth_password"] == "<secret>"
    assert [hook["http_config"]["bearer_token"] for hook in receiver["webhook_configs"]] == ["<secret>", None, None]
    assert receiver["webhook_configs"][2]["http_config"]["basic_auth"] == {"username": "hook", "password": "<secret>"}
    assert receiver["alertmanager_configs"][0]["http_config"]["bearer_token"] == "<secret>"
    text = yaml.safe_dump(exported, allow_unicode=True)
    assert leaked(text) == []
    references = [f"env:{name}" for name in canaries.ENVIRON] + ["file:secrets/exporter-token"]
    assert [reference for reference in references if reference in text] == []


def test_a_password_in_a_url_and_a_credential_header_are_hidden_as_well(exported: dict[str, Any]) -> None:
    probe = exported["devices"][0]["collectors"]["http"]
    webhooks = exported["alerting"]["receivers"][0]["webhook_configs"]

    assert probe["url"] == "http://probe:<secret>@127.0.0.1:8443/health"
    assert probe["headers"] == {"Authorization": "<secret>"}
    assert [hook["url"] for hook in webhooks] == [
        "http://127.0.0.1:9000/hook",
        "http://hook:<secret>@127.0.0.1:9000/hook",
        "http://127.0.0.1:9000/basic",
    ]


def test_the_export_is_the_effective_config_in_the_files_shape_with_its_defaults(
    tmp_path: Path, exported: dict[str, Any]
) -> None:
    snmp = exported["devices"][0]["collectors"]["snmp"]

    assert list(exported) == [
        "console",
        "sites",
        "systems",
        "devices",
        "links",
        "rule_files",
        "alerting",
        "availability",
        "security",
        "remote_write",
        "query",
        "nodes",
    ]
    assert exported["console"]["data_dir"] == str(tmp_path / "data")  # absolute, as the console uses it
    assert exported["console"]["listen"] == "127.0.0.1:8050"
    assert exported["sites"] == [{"id": "dc-east", "name": "東日本センター"}]
    assert (snmp["version"], snmp["port"], snmp["interval"], snmp["modules"]) == ("2c", 161, 60.0, ["system", "if_mib"])
    assert exported["alerting"]["receivers"][0]["email_configs"][0]["from"] == "console@example.org"  # the alias
    assert exported["alerting"]["route"]["matchers"] == []


def test_yaml_is_the_export_keys_in_order_and_japanese_as_written(tmp_path: Path) -> None:
    loaded = canaries.load(tmp_path)

    text = export_config_yaml(loaded)

    assert yaml.safe_load(text) == export_config(loaded)
    assert text.startswith("console:\n  listen: 127.0.0.1:8050\n")
    assert "name: 東日本センター\n" in text
    assert leaked(text) == []


def test_config_status_is_the_data_of_prometheus_status_config_answer(tmp_path: Path) -> None:
    loaded = canaries.load(tmp_path)

    assert config_status(loaded) == {"yaml": export_config_yaml(loaded)}


def test_a_config_built_without_its_document_exports_the_sections_it_holds(tmp_path: Path) -> None:
    loaded = dataclasses.replace(canaries.load(tmp_path), document=None)

    exported = export_config(loaded)

    assert list(exported) == [
        "console",
        "rule_files",
        "alerting",
        "availability",
        "security",
        "remote_write",
        "query",
        "nodes",
    ]
    assert exported["console"]["metrics_token"] == "<secret>"
    assert leaked(export_config_yaml(loaded)) == []


def test_export_config_command_prints_the_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = canaries.write_config(tmp_path)
    for name, value in canaries.ENVIRON.items():
        monkeypatch.setenv(name, value)

    code = run_console.main(["export-config", "--config", str(path)])

    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out == export_config_yaml(config.load_file(path, environ=canaries.ENVIRON))
    assert leaked(out) == []


def test_export_config_command_with_a_bad_config_exits_2_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = canaries.write_config(tmp_path)
    for name, value in canaries.ENVIRON.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SNMP_AUTH")

    code = run_console.main(["export-config", "--config", str(path)])

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == f"{path}:25: devices[1].collectors.snmp.auth.key: environment variable SNMP_AUTH is not set\n"
