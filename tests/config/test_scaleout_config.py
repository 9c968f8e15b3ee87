"""`remote_write:`, `query:` and `nodes:` (a scaled-out deployment): a file with all three, their
defaults, secrets resolved, every bad value with the exact line `check-config` prints, and the
inventory narrowed to one node's sites."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from config import (
    Config,
    ConfigError,
    NodeSettings,
    QuerySettings,
    RemoteWriteQueueSettings,
    RemoteWriteSettings,
    load,
    load_file,
    node_inventory,
)
from config.schema import BasicAuthSettings, HttpTlsSettings
from model import Inventory, Secret, Site, System
from security.secrets import SENSITIVE_HEADERS

ROOT = Path(__file__).resolve().parents[2]

INVENTORY = """\
sites: [{id: dc-east, name: East}, {id: dc-west, name: West}, {id: office, name: Office}]
systems: [{id: records, name: Records}]
devices:
  - {name: rtr-east-01, site: dc-east, system: records, role: router, address: 10.1.0.1,
     collectors: {snmp: {community: env:C}}}
  - {name: srv-east-01, site: dc-east, system: records, role: server, address: 10.1.1.1, parents: [rtr-east-01]}
  - {name: rtr-west-01, site: dc-west, system: records, role: router, address: 10.2.0.1,
     collectors: {snmp: {community: env:C}}}
  - {name: srv-west-01, site: dc-west, system: records, role: server, address: 10.2.1.1, parents: [east-west-1]}
links:
  - {name: east-west-1, a: {device: rtr-east-01, interface: Gi0/1}, b: {device: rtr-west-01, interface: Gi0/1}}
  - {name: west-east-2, a: {device: rtr-west-01, interface: Gi0/2}, b: {device: rtr-east-01, interface: Gi0/2}}
"""
"""Two centres with two devices each and a link each way; the office site has no devices. 12 lines."""

ENVIRON = {"C": "community", "VM_TOKEN": "vm-token", "VM_PASSWORD": "vm-password"}


def _load(text: str, base_dir: Path | None = None) -> Config:
    return load(text, source="c.yaml", base_dir=base_dir, environ=ENVIRON)


def _problems(text: str, base_dir: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        _load(text, base_dir)
    return str(caught.value).splitlines()


# -- a file with all three sections ---------------------------------------------------------------


def test_file_with_all_three_sections_loads_them_with_secrets_resolved(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("ca\n")
    (tmp_path / "vm-password").write_text("from-file\n")
    text = (
        INVENTORY + "remote_write:\n"
        "  - url: https://vm.example.org:8428/api/v1/write\n"
        "    bearer_token: env:VM_TOKEN\n"
        "    tls: {ca_file: ca.pem}\n"
        "  - name: backup\n"
        "    url: http://10.2.0.9:8428/api/v1/write\n"
        "    headers: {X-Scope-OrgID: east}\n"
        "    basic_auth: {username: writer, password: file:vm-password}\n"
        "    timeout: 10s\n"
        "    queue: {shards: 8, max_samples_per_send: 5000, batch_send_deadline: 2s, min_backoff: 100ms,"
        " max_backoff: 10s}\n"
        "query:\n"
        "  backend: prometheus\n"
        "  url: https://vm.example.org:8428\n"
        "  basic_auth: {username: reader, password: env:VM_PASSWORD}\n"
        "  tls: {insecure_skip_verify: true}\n"
        "  timeout: 1m\n"
        "nodes:\n"
        "  - {name: collector-east, sites: [dc-east, office], listen: 10.1.0.10:8050}\n"
        "  - {name: collector-west, sites: [dc-west]}\n"
        "  - {name: web, listen: '[::1]:8443'}\n"
    )

    config = load_file(_write(tmp_path, text), environ=ENVIRON)

    assert config.remote_write == (
        RemoteWriteSettings(
            name="vm.example.org:8428",
            url="https://vm.example.org:8428/api/v1/write",
            bearer_token=Secret("vm-token", reference="env:VM_TOKEN"),
            tls=HttpTlsSettings.model_construct(ca_file=(tmp_path / "ca.pem").resolve()),
        ),
        RemoteWriteSettings(
            name="backup",
            url="http://10.2.0.9:8428/api/v1/write",
            headers={"X-Scope-OrgID": "east"},
            basic_auth=BasicAuthSettings(username="writer", password=Secret("from-file", reference="file:vm-password")),
            timeout=10.0,
            queue=RemoteWriteQueueSettings(
                shards=8, max_samples_per_send=5000, batch_send_deadline=2.0, min_backoff=0.1, max_backoff=10.0
            ),
        ),
    )
    assert config.query == QuerySettings(
        backend="prometheus",
        url="https://vm.example.org:8428",
        basic_auth=BasicAuthSettings(username="reader", password=Secret("vm-password", reference="env:VM_PASSWORD")),
        tls=HttpTlsSettings(insecure_skip_verify=True),
        timeout=60.0,
    )
    assert config.nodes == (
        NodeSettings(name="collector-east", sites=("dc-east", "office"), listen="10.1.0.10:8050"),
        NodeSettings(name="collector-west", sites=("dc-west",)),
        NodeSettings(name="web", listen="[::1]:8443"),
    )
    assert config.document is not None
    assert (config.document.remote_write, config.document.query, config.document.nodes) == (
        config.remote_write,
        config.query,
        config.nodes,
    )


def _write(directory: Path, text: str) -> Path:
    path = directory / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_secret_references_are_kept_for_messages_and_never_show_the_value() -> None:
    text = "devices: []\nremote_write:\n  - {url: 'http://vm:8428/api/v1/write', bearer_token: env:VM_TOKEN}\n"

    [entry] = _load(text).remote_write

    assert entry.bearer_token is not None
    assert (entry.bearer_token.reveal(), repr(entry.bearer_token)) == ("vm-token", "Secret('env:VM_TOKEN')")


# -- defaults -------------------------------------------------------------------------------------


def test_absent_sections_mean_one_node_with_its_embedded_store() -> None:
    config = _load("devices: []\n")

    assert config.remote_write == ()
    assert config.query == QuerySettings(
        backend="embedded", url=None, bearer_token=None, basic_auth=None, tls=HttpTlsSettings(), timeout=120.0
    )
    assert config.nodes == ()


def test_empty_sections_mean_their_defaults() -> None:
    config = _load("devices: []\nremote_write:\nquery:\nnodes:\n")

    assert (config.remote_write, config.query, config.nodes) == ((), QuerySettings(), ())


def test_remote_write_entry_defaults_are_prometheus_queue_config_defaults() -> None:
    [entry] = _load("devices: []\nremote_write:\n  - url: http://vm:8428/api/v1/write\n    queue:\n").remote_write

    assert entry == RemoteWriteSettings(
        name="vm:8428",
        url="http://vm:8428/api/v1/write",
        headers={},
        bearer_token=None,
        basic_auth=None,
        tls=HttpTlsSettings(ca_file=None, insecure_skip_verify=False),
        timeout=30.0,
        queue=RemoteWriteQueueSettings(
            shards=2, max_samples_per_send=2000, batch_send_deadline=5.0, min_backoff=0.03, max_backoff=5.0
        ),
    )


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://vm:8428/api/v1/write", "vm:8428"),
        ("https://vm.example.org/api/v1/write", "vm.example.org:443"),
        ("http://VM.Example.org/write", "vm.example.org:80"),
        ("http://[::1]:9090/api/v1/write", "[::1]:9090"),
        ("http://10.0.0.9:8480/insert/0/prometheus/api/v1/write?extra_label=dc=east", "10.0.0.9:8480"),
    ],
)
def test_remote_write_name_defaults_to_the_urls_host_and_port(url: str, name: str) -> None:
    [entry] = _load(f"devices: []\nremote_write: [{{url: '{url}'}}]\n").remote_write

    assert entry.name == name


def test_query_with_prometheus_backend_takes_the_default_timeout() -> None:
    query = _load("devices: []\nquery: {backend: prometheus, url: 'http://vm:8428'}\n").query

    assert (query.backend, query.url, query.timeout, query.bearer_token) == (
        "prometheus",
        "http://vm:8428",
        120.0,
        None,
    )


def test_query_may_say_embedded_alone() -> None:
    assert _load("devices: []\nquery: {backend: embedded}\n").query == QuerySettings()


# -- bad values -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("{name: vm}", "remote_write[0].url: is required"),
        (
            "{url: 'ftp://vm/write'}",
            'remote_write[0].url: "ftp://vm/write" is not an http:// or https:// URL with a host',
        ),
        (
            "{url: 'http:///write'}",
            'remote_write[0].url: "http:///write" is not an http:// or https:// URL with a host',
        ),
        ("{url: 8428}", "remote_write[0].url: expected a string, got an integer"),
        (
            "{url: 'http://writer:hunter22@vm:8428/write'}",
            "remote_write[0].url: must not hold credentials (user:password@): use basic_auth with a secret reference",
        ),
        ("{url: 'http://vm/w', name: ''}", "remote_write[0].name: must not be empty"),
        (
            "{url: 'http://vm/w', headers: {'X Org': a}}",
            'remote_write[0].headers.X Org: "X Org" is not a valid header name',
        ),
        (
            "{url: 'http://vm/w', headers: {Content-Type: text/plain}}",
            'remote_write[0].headers.Content-Type: "Content-Type" is set by the remote writer itself',
        ),
        (
            "{url: 'http://vm/w', headers: {X-Org: \"a\\r\\nInjected: 1\"}}",
            "remote_write[0].headers.X-Org: must not contain a line break",
        ),
        (
            "{url: 'http://vm/w', headers: {X-Org: 1}}",
            "remote_write[0].headers.X-Org: expected a string, got an integer",
        ),
        ("{url: 'http://vm/w', headers: [X-Org]}", "remote_write[0].headers: expected a mapping, got a list"),
        (
            "{url: 'http://vm/w', bearer_token: s3cr3t-token}",
            "remote_write[0].bearer_token: is not a secret reference (use env:NAME or file:PATH); "
            "the value is not shown",
        ),
        (
            "{url: 'http://vm/w', bearer_token: env:UNSET}",
            "remote_write[0].bearer_token: environment variable UNSET is not set",
        ),
        (
            "{url: 'http://vm/w', bearer_token: env:VM_TOKEN, basic_auth: {username: u, password: env:VM_PASSWORD}}",
            "remote_write[0].basic_auth: cannot be used together with bearer_token",
        ),
        (
            "{url: 'http://vm/w', basic_auth: {password: env:VM_PASSWORD}}",
            "remote_write[0].basic_auth.username: is required",
        ),
        ("{url: 'http://vm/w', tls: {ca_file: no-ca.pem}}", 'remote_write[0].tls.ca_file: "no-ca.pem" is not a file'),
        ("{url: 'http://vm/w', tls: {cert_file: c.pem}}", "remote_write[0].tls.cert_file: unknown key"),
        ("{url: 'http://vm/w', timeout: 0}", "remote_write[0].timeout: 0 must be greater than 0"),
        ("{url: 'http://vm/w', timeout: 30x}", 'remote_write[0].timeout: "30x" is not a duration'),
        ("{url: 'http://vm/w', queue: {shards: 0}}", "remote_write[0].queue.shards: 0 must be at least 1"),
        ("{url: 'http://vm/w', queue: {shards: 65}}", "remote_write[0].queue.shards: 65 must be at most 64"),
        (
            "{url: 'http://vm/w', queue: {shards: '2'}}",
            "remote_write[0].queue.shards: expected an integer, got a string",
        ),
        (
            "{url: 'http://vm/w', queue: {max_samples_per_send: 0}}",
            "remote_write[0].queue.max_samples_per_send: 0 must be at least 1",
        ),
        (
            "{url: 'http://vm/w', queue: {max_samples_per_send: 100001}}",
            "remote_write[0].queue.max_samples_per_send: 100001 must be at most 100000",
        ),
        (
            "{url: 'http://vm/w', queue: {batch_send_deadline: -5}}",
            "remote_write[0].queue.batch_send_deadline: -5 must be greater than 0",
        ),
        (
            "{url: 'http://vm/w', queue: {min_backoff: 0s}}",
            'remote_write[0].queue.min_backoff: "0s" must be greater than 0',
        ),
        (
            "{url: 'http://vm/w', queue: {max_backoff: 10ms}}",
            "remote_write[0].queue.max_backoff: 10ms must be at least min_backoff 30ms",
        ),
        (
            "{url: 'http://vm/w', queue: {min_backoff: 1m, max_backoff: 30s}}",
            "remote_write[0].queue.max_backoff: 30s must be at least min_backoff 1m",
        ),
        ("{url: 'http://vm/w', queue: {capacity: 10000}}", "remote_write[0].queue.capacity: unknown key"),
        ("{url: 'http://vm/w', remote_timeout: 30s}", "remote_write[0].remote_timeout: unknown key"),
        ("http://vm/w", "remote_write[0]: expected a mapping, got a string"),
    ],
)
def test_bad_remote_write_value_is_reported_with_its_field_and_line(entry: str, problem: str) -> None:
    assert _problems(f"devices: []\nremote_write:\n  - {entry}\n") == [f"c.yaml:3: {problem}"]


@pytest.mark.parametrize("header", sorted(SENSITIVE_HEADERS))
def test_credential_headers_are_refused_whatever_their_case(header: str) -> None:
    name = header.title()
    text = f"devices: []\nremote_write:\n  - url: http://vm/w\n    headers: {{{name}: x}}\n"

    assert _problems(text) == [
        f'c.yaml:4: remote_write[0].headers.{name}: "{name}" carries credentials: use bearer_token or basic_auth '
        "(secret references)"
    ]


def test_a_password_in_a_url_is_never_shown() -> None:
    text = "devices: []\nremote_write: [{url: 'ftp://writer:hunter22@vm'}]\nquery: {url: 'http://r:hunter22@vm'}\n"

    problems = _problems(text)

    assert [problem for problem in problems if "hunter22" in problem] == []
    assert len(problems) == 2


def test_remote_write_must_be_a_list() -> None:
    assert _problems("devices: []\nremote_write: {url: http://vm/w}\n") == [
        "c.yaml:2: remote_write: expected a list, got a mapping"
    ]


def test_remote_write_names_are_unique_whether_given_or_derived() -> None:
    text = (
        "devices: []\nremote_write:\n"
        "  - {name: vm, url: 'http://vm-a:8428/api/v1/write'}\n"
        "  - {name: vm, url: 'http://vm-b:8428/api/v1/write'}\n"
        "  - url: http://vm-c:8428/api/v1/write\n"
        "  - url: http://vm-c:8428/other/write\n"
    )

    assert _problems(text) == [
        'c.yaml:4: remote_write[1].name: "vm" is already used by remote_write[0]',
        'c.yaml:6: remote_write[3].name: "vm-c:8428" is already used by remote_write[2] '
        "(a name defaults to the url's host:port: set name)",
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{backend: prometheus}", "c.yaml:2: query.url: is required for backend prometheus"),
        ("{backend: thanos}", 'c.yaml:2: query.backend: "thanos" is not one of embedded, prometheus'),
        (
            "{backend: prometheus, url: 'vm:8428'}",
            'c.yaml:2: query.url: "vm:8428" is not an http:// or https:// URL with a host',
        ),
        ("{backend: prometheus, url: 'http://vm', timeout: 0}", "c.yaml:2: query.timeout: 0 must be greater than 0"),
        (
            "{backend: prometheus, url: 'http://vm', bearer_token: env:C, basic_auth: {username: u, password: env:C}}",
            "c.yaml:2: query.basic_auth: cannot be used together with bearer_token",
        ),
        ("{backend: prometheus, url: 'http://vm', headers: {X-Org: a}}", "c.yaml:2: query.headers: unknown key"),
        ("{url: 'http://vm:8428'}", "c.yaml:2: query.url: is only for backend prometheus (backend is embedded)"),
        (
            "{backend: embedded, timeout: 2m}",
            "c.yaml:2: query.timeout: is only for backend prometheus (backend is embedded)",
        ),
        (
            "{bearer_token: env:VM_TOKEN}",
            "c.yaml:2: query.bearer_token: is only for backend prometheus (backend is embedded)",
        ),
        ("[prometheus]", "c.yaml:2: query: expected a mapping, got a list"),
    ],
)
def test_bad_query_value_is_reported_with_its_field_and_line(body: str, problem: str) -> None:
    assert _problems(f"devices: []\nquery: {body}\n") == [problem]


def test_embedded_query_refuses_every_other_key_at_its_line() -> None:
    text = (
        "devices: []\nquery:\n"
        "  backend: embedded\n"
        "  url: http://vm:8428\n"
        "  basic_auth: {username: u, password: env:VM_PASSWORD}\n"
        "  tls: {insecure_skip_verify: true}\n"
        "  timeout: 1m\n"
    )

    assert _problems(text) == [
        "c.yaml:4: query.url: is only for backend prometheus (backend is embedded)",
        "c.yaml:5: query.basic_auth: is only for backend prometheus (backend is embedded)",
        "c.yaml:6: query.tls: is only for backend prometheus (backend is embedded)",
        "c.yaml:7: query.timeout: is only for backend prometheus (backend is embedded)",
    ]


@pytest.mark.parametrize(
    ("nodes", "problem"),
    [
        (
            "[{name: east, sites: [dc-east, dc-north]}, {name: west, sites: [dc-west]}]",
            'nodes[0].sites[1]: "dc-north" is not a defined site (known: dc-east, dc-west, office)',
        ),
        (
            "[{name: east, sites: [dc-east, dc-west]}, {name: west, sites: [dc-west]}]",
            'nodes[1].sites[0]: "dc-west" is already polled by node east (nodes[0]), so node west cannot poll it',
        ),
        (
            "[{name: east, sites: [dc-east, dc-west, dc-east]}]",
            'nodes[0].sites[2]: "dc-east" is already listed at nodes[0].sites[0]',
        ),
        (
            "[{name: east, sites: [dc-east]}, {name: east, sites: [dc-west]}]",
            'nodes[1].name: "east" is already used by nodes[0]',
        ),
        (
            "[{name: East, sites: [dc-east, dc-west]}]",
            'nodes[0].name: "East" is not a valid id (must match [a-z][a-z0-9-]*)',
        ),
        ("[{sites: [dc-east, dc-west]}]", "nodes[0].name: is required"),
        ("[{name: all, sites: dc-east}]", "nodes[0].sites: expected a list, got a string"),
        ("[{name: all, sites: [dc-east, '']}]", "nodes[0].sites[1]: must not be empty"),
        (
            "[{name: all, sites: [dc-east, dc-west], listen: ':8050'}]",
            'nodes[0].listen: ":8050" is not host:port',
        ),
        ("[{name: all, sites: [dc-east, dc-west], role: web}]", "nodes[0].role: unknown key"),
        ("{east: [dc-east]}", "nodes: expected a list, got a mapping"),
    ],
)
def test_bad_nodes_value_is_reported_with_its_path_and_line(nodes: str, problem: str) -> None:
    assert _problems(f"{INVENTORY}nodes: {nodes}\n") == [f"c.yaml:13: {problem}"]


def test_node_sites_are_checked_against_no_sites_at_all() -> None:
    assert _problems("devices: []\nnodes: [{name: east, sites: [dc-east]}]\n") == [
        'c.yaml:2: nodes[0].sites[0]: "dc-east" is not a defined site (no sites are defined)'
    ]


def test_a_site_with_devices_must_be_polled_by_some_node() -> None:
    text = f"{INVENTORY}nodes:\n  - {{name: east, sites: [dc-east]}}\n  - {{name: web}}\n"

    assert _problems(text) == [
        "c.yaml:13: nodes: no node polls site dc-west (2 devices): add it to the sites of a node"
    ]


def test_a_site_without_devices_needs_no_node() -> None:
    config = _load(f"{INVENTORY}nodes: [{{name: all, sites: [dc-east, dc-west]}}]\n")

    assert config.nodes == (NodeSettings(name="all", sites=("dc-east", "dc-west")),)


def test_node_problems_are_found_in_a_file_with_schema_problems_elsewhere() -> None:
    text = (
        INVENTORY.replace("role: server, address: 10.2.1.1", "role: Server, address: 10.2.1.1")
        + "remote_write: [{url: 'http://vm/w', timeout: 0}, {name: a, url: 'http://a/w'}, {name: a, url: 'http://b/w'}]\n"
        "query: {backend: prometheus}\n"
        "nodes: [{name: east, sites: [dc-east, dc-north]}, {name: west, sites: [dc-west, dc-east]}]\n"
    )

    assert _problems(text) == [
        'c.yaml:9: devices[3].role: "Server" is not a valid role (must match [a-z][a-z0-9_-]*)',
        "c.yaml:13: remote_write[0].timeout: 0 must be greater than 0",
        'c.yaml:13: remote_write[2].name: "a" is already used by remote_write[1]',
        "c.yaml:14: query.url: is required for backend prometheus",
        'c.yaml:15: nodes[0].sites[1]: "dc-north" is not a defined site (known: dc-east, dc-west, office)',
        'c.yaml:15: nodes[1].sites[1]: "dc-east" is already polled by node east (nodes[0]), '
        "so node west cannot poll it",
    ]


# -- one node's inventory -------------------------------------------------------------------------

NODES = "nodes:\n  - {name: east, sites: [office, dc-east]}\n  - {name: west, sites: [dc-west]}\n  - {name: web}\n"


def test_node_inventory_is_its_sites_their_devices_and_the_links_of_their_a_ends() -> None:
    config = _load(INVENTORY + NODES)
    full = config.inventory

    east = node_inventory(config, "east")
    west = node_inventory(config, "west")

    assert east == Inventory(
        sites=(Site(id="dc-east", name="East"), Site(id="office", name="Office")),
        systems=(System(id="records", name="Records"),),
        devices=full.devices[:2],
        links=full.links[:1],
    )
    assert west == Inventory(
        sites=full.sites[1:2], systems=full.systems, devices=full.devices[2:], links=full.links[1:]
    )


def test_devices_keep_their_links_parents_and_collectors_on_their_node() -> None:
    config = _load(INVENTORY + NODES)

    west = {device.name: device for device in node_inventory(config, "west").devices}

    assert west == {device.name: device for device in config.inventory.devices if device.site == "dc-west"}
    assert west["srv-west-01"].parents == ("east-west-1",)  # on the east node: reachable and up to this node


def test_node_without_sites_polls_nothing() -> None:
    config = _load(INVENTORY + NODES)

    assert node_inventory(config, "web") == Inventory(systems=config.inventory.systems)


def test_without_nodes_every_node_polls_everything() -> None:
    config = _load(INVENTORY)

    assert node_inventory(config, "anything") is config.inventory


def test_unknown_node_is_a_value_error_naming_the_known_nodes() -> None:
    config = _load(INVENTORY + NODES)

    with pytest.raises(ValueError, match=re.escape('"north" is not a node of c.yaml (known: east, west, web)')):
        node_inventory(config, "north")


# -- the documented example -----------------------------------------------------------------------


def test_the_two_centre_example_of_the_documentation_loads(tmp_path: Path) -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = docs.split("### Scaling out", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "internal-ca.pem").write_text("ca\n")

    config = load_file(_write(tmp_path, example), environ={"SNMP_COMMUNITY": "c", "OPS_VM_TOKEN": "t"})

    assert [entry.name for entry in config.remote_write] == ["vm"]
    assert (config.query.backend, config.query.url) == ("prometheus", "https://vm.example.org:8428")
    assert [device.name for device in node_inventory(config, "collector-west").devices] == [
        "rtr-west-01",
        "srv-west-01",
    ]
    assert [link.name for link in node_inventory(config, "collector-east").links] == ["east-west-1"]
    assert node_inventory(config, "web").devices == ()


def test_the_documented_problems_are_what_check_config_prints(tmp_path: Path) -> None:
    docs = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    section = docs.split("### Scaling out", 1)[1].split("Problems are reported like the others.", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    printed = section.split("```text\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "console.yaml"
    path.write_text(example, encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_file(path, environ={})

    assert str(caught.value).replace(f"{path}:", "console.yaml:") + "\n" == printed
