"""`links:`: the schema, the bandwidth parser, the cross-field checks with their exact messages, and
the inventory a good config loads to (links, and each device's SNMP collector's link ends).

The fixtures are tests/fixtures/config/links/links_*.yaml (a directory of their own: every YAML file
directly in tests/fixtures/config/ is a case of test_invalid_configs.py), loaded by bare file name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import model
from config import Config, ConfigError, load, load_file
from config.schema import parse_bandwidth

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "config" / "links"
ENVIRON = {"SNMP_COMMUNITY": "public"}

EAST_WEST_1 = model.Link(
    name="east-west-1",
    a=model.LinkEnd(device="rtr-east-01", interface="Gi0/1"),
    b=model.LinkEnd(device="rtr-west-01", interface="Gi0/1"),
    bandwidth_bps=1_000_000_000,
    group="east-west",
)
EAST_WEST_2 = model.Link(
    name="east-west-2",
    a=model.LinkEnd(device="rtr-east-01", interface="3"),
    b=model.LinkEnd(device="rtr-west-01", interface="4"),
    bandwidth_bps=2_048_000,
    group="east-west",
)
OFFICE_01 = model.Link(
    name="office-01",
    a=model.LinkEnd(device="rtr-east-01", interface="Serial0/0"),
    b=model.LinkEnd(device="rtr-office-01", interface="Serial0/0"),
    bandwidth_bps=None,
    group=None,
)

CASES: dict[str, list[str]] = {
    "links_references.yaml": [
        'links_references.yaml:27: links[0].a.device: "rtr-x" is not a defined device',
        'links_references.yaml:31: links[1].b.device: "srv-01" has no snmp collector,'
        " so the link's interface cannot be read",
        'links_references.yaml:32: links[2].name: "east-west-1" is already used by links[0]',
        'links_references.yaml:33: links[2].a.interface: "Gi0/1" of rtr-01 is already used by links[0].b',
        'links_references.yaml:34: links[2].b.device: "sw-01" does not poll the if_mib snmp module,'
        " so the link's interface cannot be read",
        'links_references.yaml:37: links[3].b.interface: "7" of rtr-01 is already used by links[3].a',
    ],
    "links_bad_values.yaml": [
        'links_bad_values.yaml:12: links[0].name: "East_West" is not a valid id (must match [a-z][a-z0-9-]*)',
        "links_bad_values.yaml:14: links[0].b.interface: must not be empty",
        'links_bad_values.yaml:15: links[0].bandwidth: "1Gbs" is not a bandwidth (e.g. 100Mbps, 1Gbps)',
        'links_bad_values.yaml:16: links[0].group: "East" is not a valid id (must match [a-z][a-z0-9-]*)',
        "links_bad_values.yaml:17: links[1].b: is required",
        "links_bad_values.yaml:18: links[1].a.interface: is required",
        "links_bad_values.yaml:18: links[1].a.port: unknown key",
        "links_bad_values.yaml:19: links[1].bandwidth: 0 must be greater than 0",
        "links_bad_values.yaml:20: links[1].redundancy: unknown key",
        "links_bad_values.yaml:24: links[2].bandwidth: expected a bandwidth, got a boolean",
        'links_bad_values.yaml:28: links[3].bandwidth: "1.5bps" is not a whole number of bits per second',
    ],
    "links_parents.yaml": [
        "links_parents.yaml:9: devices[0].parents: cycle rtr-east -> rtr-west -> east-west -> rtr-east",
        'links_parents.yaml:17: devices[1].parents[1]: "nowhere" is not a defined device or link',
        'links_parents.yaml:25: links[1].name: "rtr-east" is also a device name (parents name either)',
    ],
}

DEVICES = """\
sites: [{id: dc-east, name: East}]
systems: [{id: wan, name: WAN}]
devices:
  - name: rtr-01
    site: dc-east
    system: wan
    role: router
    address: 127.0.0.1
    collectors:
      snmp: {community: env:SNMP_COMMUNITY}
"""


def _good() -> Config:
    return load_file(FIXTURES / "links_good.yaml", environ=ENVIRON)


def _snmp_spec(config: Config, device: str) -> model.SnmpCollectorSpec:
    (found,) = (d for d in config.inventory.devices if d.name == device)
    (spec,) = (s for s in found.collectors if isinstance(s, model.SnmpCollectorSpec))
    return spec


def test_good_links_load_to_the_exact_link_tuple() -> None:
    assert _good().inventory.links == (EAST_WEST_1, EAST_WEST_2, OFFICE_01)


def test_each_snmp_collector_gets_its_devices_link_ends_with_bandwidth() -> None:
    config = _good()
    assert _snmp_spec(config, "rtr-east-01").links == (
        ("Gi0/1", "east-west-1", 1_000_000_000),
        ("3", "east-west-2", 2_048_000),
        ("Serial0/0", "office-01", None),
    )
    assert _snmp_spec(config, "rtr-west-01").links == (
        ("Gi0/1", "east-west-1", 1_000_000_000),
        ("4", "east-west-2", 2_048_000),
    )
    assert _snmp_spec(config, "rtr-office-01").links == (("Serial0/0", "office-01", None),)


def test_link_ends_of_a_device_name_its_interfaces_and_links() -> None:
    inventory = _good().inventory
    assert inventory.link_ends("rtr-east-01") == (
        ("Gi0/1", EAST_WEST_1),
        ("3", EAST_WEST_2),
        ("Serial0/0", OFFICE_01),
    )
    assert inventory.link_ends("rtr-office-01") == (("Serial0/0", OFFICE_01),)
    assert inventory.link_ends("nobody") == ()


def test_link_with_both_ends_on_one_device_lists_both() -> None:
    link = model.Link("loop", model.LinkEnd("r", "1"), model.LinkEnd("r", "2"))
    assert model.Inventory(links=(link,)).link_ends("r") == (("1", link), ("2", link))


def test_links_have_parents_like_devices() -> None:
    config = load(
        DEVICES + "  - {name: rtr-02, site: dc-east, system: wan, role: router, address: 127.0.0.2, parents: [l1]}\n"
        "links:\n  - {name: l1, a: {device: rtr-01, interface: '1'}, b: {device: rtr-01, interface: '2'},"
        " parents: [rtr-01]}\n",
        environ=ENVIRON,
    )
    assert [link.parents for link in config.inventory.links] == [("rtr-01",)]
    assert [device.parents for device in config.inventory.devices] == [(), ("l1",)]


def test_links_are_optional_and_an_empty_section_means_none() -> None:
    assert load(DEVICES, environ=ENVIRON).inventory.links == ()
    config = load(DEVICES + "links:\n", environ=ENVIRON)
    assert config.inventory.links == ()
    assert _snmp_spec(config, "rtr-01").links == ()


@pytest.mark.parametrize(("name", "expected"), CASES.items(), ids=list(CASES))
def test_invalid_links_report_every_problem_with_file_line_field_and_reason(
    name: str, expected: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(FIXTURES)

    with pytest.raises(ConfigError) as caught:
        load_file(name, environ=ENVIRON)

    assert [str(problem) for problem in caught.value.problems] == expected


def test_every_links_fixture_has_a_case() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.yaml") if p.name != "links_good.yaml") == sorted(CASES)


def test_link_end_on_an_invalid_device_is_not_reported_as_unknown() -> None:
    text = DEVICES + (
        "  - {name: rtr-02, site: dc-east, system: wan, role: Router, address: 127.0.0.2}\n"
        "links:\n"
        "  - {name: l1, a: {device: rtr-01, interface: Gi0/1}, b: {device: rtr-02, interface: Gi0/1}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load(text, environ=ENVIRON)

    assert [str(problem) for problem in caught.value.problems] == [
        '<string>:11: devices[1].role: "Router" is not a valid role (must match [a-z][a-z0-9_-]*)',
    ]


def test_a_section_that_is_not_a_list_is_one_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        load(DEVICES + "links: {name: l1}\n", environ=ENVIRON)

    assert [str(problem) for problem in caught.value.problems] == [
        "<string>:11: links: expected a list, got a mapping",
    ]


@pytest.mark.parametrize(
    ("text", "bits"),
    [
        ("100Mbps", 100_000_000),
        ("1Gbps", 1_000_000_000),
        ("10Gbps", 10_000_000_000),
        ("2.048Mbps", 2_048_000),
        ("512kbps", 512_000),
        ("1Tbps", 10**12),
        ("64000bps", 64_000),
        ("1e9", 1_000_000_000),
        ("1.5e6", 1_500_000),
        ("1544000", 1_544_000),
        ("1 Gbps", 1_000_000_000),
    ],
)
def test_bandwidth_is_parsed_to_exact_bits_per_second(text: str, bits: int) -> None:
    assert parse_bandwidth(text) == bits


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1Gbs", '"1Gbs" is not a bandwidth (e.g. 100Mbps, 1Gbps)'),
        ("1gbps", '"1gbps" is not a bandwidth (e.g. 100Mbps, 1Gbps)'),
        ("1GBps", '"1GBps" is not a bandwidth (e.g. 100Mbps, 1Gbps)'),
        ("Gbps", '"Gbps" is not a bandwidth (e.g. 100Mbps, 1Gbps)'),
        ("-1Gbps", '"-1Gbps" is not a bandwidth (e.g. 100Mbps, 1Gbps)'),
        ("1e999", '"1e999" is not a bandwidth (e.g. 100Mbps, 1Gbps)'),
        ("", '"" is not a bandwidth (e.g. 100Mbps, 1Gbps)'),
        ("0Mbps", '"0Mbps" must be greater than 0'),
        ("0.5bps", '"0.5bps" is not a whole number of bits per second'),
    ],
)
def test_bad_bandwidth_has_its_exact_message(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_bandwidth(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("yaml_value", "bits"),
    [("1000000000", 1_000_000_000), ("1.0e9", 1_000_000_000), ("2.048Mbps", 2_048_000), ("1e9", 1_000_000_000)],
)
def test_bandwidth_may_be_a_yaml_number_or_string(yaml_value: str, bits: int) -> None:
    text = DEVICES + (
        "links:\n"
        "  - name: l1\n"
        "    a: {device: rtr-01, interface: Gi0/1}\n"
        "    b: {device: rtr-01, interface: Gi0/2}\n"
        f"    bandwidth: {yaml_value}\n"
    )
    (link,) = load(text, environ=ENVIRON).inventory.links
    assert link.bandwidth_bps == bits
