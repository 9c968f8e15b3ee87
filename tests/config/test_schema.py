"""The schema: defaults in one place, strict frozen models, the forms each value may take."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from config import ConfigError, load
from config import schema as s
from model import HostCollectorSpec


def _all_models() -> list[type[pydantic.BaseModel]]:
    return [
        value
        for value in vars(s).values()
        if isinstance(value, type) and issubclass(value, pydantic.BaseModel) and value.__module__ == s.__name__
    ]


@pytest.mark.parametrize("model", _all_models(), ids=lambda m: m.__name__)
def test_every_model_forbids_unknown_keys_and_is_frozen(model: type[pydantic.BaseModel]) -> None:
    assert (model.model_config.get("extra"), model.model_config.get("frozen")) == ("forbid", True)


def test_console_defaults() -> None:
    console = s.ConsoleSettings()

    assert console.model_dump() == {
        "listen": "127.0.0.1:8050",
        "data_dir": Path("data"),
        "timezone": "Asia/Tokyo",
        "language": "ja",
        "metrics_token": None,
        "head": 7200.0,
        "retention": {"raw": 15 * 86400.0, "rollup_5m": 90 * 86400.0, "rollup_1h": 2 * 365 * 86400.0},
        "store": {"queue_batches": 256, "stall_timeout": 10.0},
        "tls": None,
    }


def test_collector_defaults_are_15s_interval_and_10s_timeout() -> None:
    assert s.HostCollectorSettings().spec() == HostCollectorSpec(kind="host", interval=15.0, timeout=10.0)


def test_an_empty_collector_entry_enables_it_with_defaults() -> None:
    collectors = s.CollectorsSettings.model_validate({"host": None})

    assert collectors.entries() == (("host", s.HostCollectorSettings()),)


def test_no_collector_entry_means_no_collector() -> None:
    assert s.CollectorsSettings().entries() == ()


@pytest.mark.parametrize(("value", "seconds"), [("15s", 15.0), (15, 15.0), (0.25, 0.25), ("1h30m", 5400.0)])
def test_durations_are_strings_or_plain_seconds(value: object, seconds: float) -> None:
    assert s.StoreSettings.model_validate({"stall_timeout": value}).stall_timeout == seconds


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [
        ("127.0.0.1:8050", "127.0.0.1", 8050),
        ("0.0.0.0:1", "0.0.0.0", 1),
        ("localhost:65535", "localhost", 65535),
        ("[::]:8050", "::", 8050),
    ],
)
def test_listen_is_host_and_port(listen: str, host: str, port: int) -> None:
    console = s.ConsoleSettings(listen=listen)

    assert (console.listen_host, console.listen_port) == (host, port)


@pytest.mark.parametrize(
    ("listen", "message"),
    [
        (":8050", '":8050" is not host:port'),
        ("::1:8050", '"::1:8050" is not host:port'),
        ("host:http", '"host:http" is not host:port'),
        ("host:0", '"host:0" is not host:port (port must be 1..65535)'),
        ("bad host:80", '"bad host:80" is not host:port'),
    ],
)
def test_listen_without_a_host_or_a_valid_port_is_refused(listen: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(f'console: {{listen: "{listen}"}}\ndevices: []\n', environ={})

    assert str(caught.value) == f"<string>:1: console.listen: {message}"


@pytest.mark.parametrize("address", ["10.0.0.1", "::1", "fe80::1", "web-01", "web-01.example.org", "host."])
def test_device_address_is_an_ip_address_or_host_name(address: str) -> None:
    device = {"name": "d", "site": "s", "system": "y", "role": "server", "address": address}

    assert s.DeviceSettings.model_validate(device).address == address


def test_label_values_must_be_strings() -> None:
    text = (
        "sites: [{id: s, name: S}]\nsystems: [{id: y, name: Y}]\n"
        "devices:\n  - {name: d, site: s, system: y, role: r, address: 127.0.0.1, labels: {floor: 3}}\n"
    )

    with pytest.raises(ConfigError) as caught:
        load(text, environ={})

    assert str(caught.value) == "<string>:4: devices[0].labels.floor: expected a string, got an integer"
