"""Loading: a valid file becomes the exact inventory and settings; problems are located and worded."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import Config, ConfigError, Problem, load, load_file
from model import Device, HostCollectorSpec, Inventory, Labels, Site, System

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "config"
SHIPPED = ROOT / "config" / "console.yaml"

GOOD_INVENTORY = Inventory(
    sites=(Site(id="dc-east", name="東日本センター"), Site(id="dc-west", name="西日本センター")),
    systems=(
        System(id="records", name="記録管理システム"),
        System(id="kiso", name="基礎年金番号管理システム"),
    ),
    devices=(
        Device(
            name="sw-east-core-01",
            site="dc-east",
            system="records",
            role="switch",
            address="sw-east-core-01.example.org",
        ),
        Device(
            name="db-01",
            site="dc-east",
            system="kiso",
            role="server",
            address="10.1.2.3",
            parents=("sw-east-core-01",),
            labels=Labels(rack="A3", tier="db"),
            collectors=(HostCollectorSpec(kind="host", interval=60.0, timeout=2.5),),
        ),
        Device(
            name="console-host",
            site="dc-west",
            system="records",
            role="server",
            address="127.0.0.1",
            parents=("sw-east-core-01", "db-01"),
            collectors=(HostCollectorSpec(kind="host", interval=15.0, timeout=10.0),),
        ),
        Device(
            name="batch-01",
            site="dc-west",
            system="kiso",
            role="batch_server",
            address="::1",
            collectors=(HostCollectorSpec(kind="host", interval=30.0, timeout=7.5),),
        ),
    ),
)


def _good() -> Config:
    return load_file(FIXTURES / "good.yaml", environ={"OPS_METRICS_TOKEN": "t"})


def test_good_config_loads_to_the_exact_inventory() -> None:
    assert _good().inventory == GOOD_INVENTORY


def test_good_config_console_settings_mix_given_values_and_defaults() -> None:
    console = _good().console

    assert (console.listen, console.listen_host, console.listen_port) == ("[::1]:9050", "::1", 9050)
    assert console.data_dir == FIXTURES / "state" / "console"
    assert (console.timezone, console.language, console.head) == ("UTC", "en", 5400.0)
    assert (console.retention.raw, console.retention.rollup_5m, console.retention.rollup_1h) == (
        7 * 86400.0,
        90 * 86400.0,
        2 * 365 * 86400.0,
    )
    assert (console.store.queue_batches, console.store.stall_timeout) == (64, 10.0)
    assert console.metrics_token is not None
    assert console.metrics_token.reference == "env:OPS_METRICS_TOKEN"


def test_source_is_the_path_as_given() -> None:
    assert _good().source == str(FIXTURES / "good.yaml")


def test_shipped_console_yaml_loads_and_monitors_this_host() -> None:
    config = load_file(SHIPPED, environ={})

    assert config.inventory == Inventory(
        sites=(Site(id="dc-east", name="東日本センター"), Site(id="dc-west", name="西日本センター")),
        systems=(
            System(id="records", name="記録管理システム"),
            System(id="kiso", name="基礎年金番号管理システム"),
        ),
        devices=(
            Device(
                name="console-host",
                site="dc-east",
                system="records",
                role="server",
                address="127.0.0.1",
                collectors=(HostCollectorSpec(kind="host", interval=15.0, timeout=10.0),),
            ),
        ),
    )
    assert config.console.data_dir == SHIPPED.parent.parent / "data"
    assert config.console.metrics_token is None


def test_shipped_console_yaml_spells_out_the_defaults_but_keeps_data_beside_the_config_dir() -> None:
    shipped = load_file(SHIPPED, environ={}).console
    defaults = load("devices: []\n", base_dir=SHIPPED.parent, environ={}).console

    assert shipped.model_copy(update={"data_dir": defaults.data_dir}) == defaults
    assert shipped.data_dir == SHIPPED.parent.parent / "data"


def test_text_without_a_base_dir_is_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    config = load("devices: []\n", environ={})

    assert config.source == "<string>"
    assert config.console.data_dir == tmp_path / "data"


def test_absolute_data_dir_is_kept_and_relative_one_is_normalised(tmp_path: Path) -> None:
    absolute = load("console: {data_dir: /var/lib/ops}\ndevices: []\n", base_dir=tmp_path, environ={})
    relative = load("console: {data_dir: ../x/./y}\ndevices: []\n", base_dir=tmp_path, environ={})

    assert absolute.console.data_dir == Path("/var/lib/ops")
    assert relative.console.data_dir == tmp_path.parent / "x" / "y"


def test_empty_sections_mean_their_defaults() -> None:
    config = load("console:\nsites:\nsystems:\ndevices: []\n", environ={})

    assert config.inventory == Inventory()
    assert config.console.listen == "127.0.0.1:8050"


def test_problem_prints_source_line_path_and_message() -> None:
    assert str(Problem("a.yaml", 3, "console.listen", "bad")) == "a.yaml:3: console.listen: bad"
    assert str(Problem("a.yaml", None, "<file>", "bad")) == "a.yaml: <file>: bad"


def test_config_error_prints_one_problem_per_line() -> None:
    error = ConfigError([Problem("a.yaml", 1, "x", "one"), Problem("a.yaml", 2, "y", "two")])

    assert str(error) == "a.yaml:1: x: one\na.yaml:2: y: two"


def test_missing_file_is_one_problem_without_a_line(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"

    with pytest.raises(ConfigError) as caught:
        load_file(path)

    assert caught.value.problems == [Problem(str(path), None, "<file>", "cannot read: No such file or directory")]


def test_directory_cannot_be_read_as_a_config(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_file(tmp_path)

    assert str(caught.value) == f"{tmp_path}: <file>: cannot read: Is a directory"


def test_file_that_is_not_utf8_is_reported_at_the_offending_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("devices: []\n# caf\u00e9\n".encode("latin-1"))

    with pytest.raises(ConfigError) as caught:
        load_file(path)

    assert str(caught.value) == f"{path}:2: <file>: cannot read: not valid UTF-8"


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffdevices: []\n".encode())

    assert load_file(path, environ={}).inventory == Inventory()


def test_several_yaml_documents_are_a_yaml_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        load("devices: []\n---\ndevices: []\n", environ={})

    assert str(caught.value) == "<string>:2: <yaml>: but found another document"


def test_unknown_key_is_reported_at_the_key_not_its_value() -> None:
    text = "devices: []\nconsole:\n  extra:\n    - 1\n"

    with pytest.raises(ConfigError) as caught:
        load(text, environ={})

    assert str(caught.value) == "<string>:3: console.extra: unknown key"


def test_missing_key_is_reported_at_its_parent_mapping() -> None:
    text = "sites: []\ndevices:\n  - name: a\n    site: s\n    system: y\n    role: server\n"

    with pytest.raises(ConfigError) as caught:
        load(text, environ={})

    assert str(caught.value) == "<string>:3: devices[0].address: is required"


def test_problems_are_sorted_by_line_across_schema_and_reference_checks() -> None:
    text = "devices:\n  - {name: a, site: s, system: y, role: server, address: 127.0.0.1}\nconsole: {language: de}\n"

    with pytest.raises(ConfigError) as caught:
        load(text, environ={})

    assert [problem.line for problem in caught.value.problems] == [2, 2, 3]
    assert [problem.path for problem in caught.value.problems] == [
        "devices[0].site",
        "devices[0].system",
        "console.language",
    ]


def test_parent_naming_an_invalid_device_is_not_reported_as_unknown() -> None:
    text = (
        "sites: [{id: s, name: S}]\n"
        "systems: [{id: y, name: Y}]\n"
        "devices:\n"
        "  - {name: a, site: s, system: y, role: server, address: 127.0.0.1, parents: [b]}\n"
        "  - {name: b, site: s, system: y, role: Bad, address: 127.0.0.1}\n"
    )

    with pytest.raises(ConfigError) as caught:
        load(text, environ={})

    assert str(caught.value) == ('<string>:5: devices[1].role: "Bad" is not a valid role (must match [a-z][a-z0-9_-]*)')


def test_config_is_frozen() -> None:
    config = _good()

    with pytest.raises(AttributeError):
        config.source = "x"  # type: ignore[misc]
    with pytest.raises(ValueError, match="frozen"):
        config.console.language = "ja"


def test_unprintable_character_is_a_yaml_problem_at_its_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load("devices: []\n\x07\n", environ={})

    assert str(caught.value) == (
        "<string>:2: <yaml>: unacceptable character #x0007: special characters are not allowed"
    )


def test_merge_keys_may_be_overridden_without_a_duplicate_key_problem() -> None:
    text = (
        "sites: [{id: s, name: S}]\n"
        "systems: [{id: y, name: Y}]\n"
        "devices:\n"
        "  - &web {name: web-01, site: s, system: y, role: server, address: 10.0.0.1}\n"
        "  - <<: *web\n"
        "    name: web-02\n"
        "    address: 10.0.0.2\n"
    )

    devices = load(text, environ={}).inventory.devices

    assert [(d.name, d.site, d.address) for d in devices] == [
        ("web-01", "s", "10.0.0.1"),
        ("web-02", "s", "10.0.0.2"),
    ]
