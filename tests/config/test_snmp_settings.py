"""The `snmp:` collector block loads to the exact SnmpCollectorSpec the collector uses."""

from __future__ import annotations

from pathlib import Path

from config import load
from model import Secret, SnmpCollectorSpec

TEXT = """
sites: [{id: dc-east, name: East}]
systems: [{id: wan, name: WAN}]
devices:
  - {name: rtr-v2, site: dc-east, system: wan, role: router, address: 127.0.0.1,
     collectors: {snmp: {community: env:COMMUNITY}}}
  - name: rtr-v3
    site: dc-east
    system: wan
    role: router
    address: 127.0.0.2
    collectors:
      snmp:
        version: 3
        port: 16101
        user: monitor
        auth: {protocol: sha256, key: env:AUTH}
        priv: {protocol: aes256-blumenthal, key: env:PRIV}
        modules: [system]
        interval: 30s
        timeout: 2s
        retries: 0
"""


def test_snmp_blocks_become_specs_with_defaults_and_resolved_secrets(tmp_path: Path) -> None:
    env = {"COMMUNITY": "public", "AUTH": "authpass1", "PRIV": "privpass1"}
    devices = load(TEXT, base_dir=tmp_path, environ=env).inventory.devices
    assert devices[0].collectors == (
        SnmpCollectorSpec(
            kind="snmp", interval=60.0, timeout=54.0, community=Secret("public", reference="env:COMMUNITY")
        ),
    )
    assert devices[1].collectors == (
        SnmpCollectorSpec(
            kind="snmp",
            interval=30.0,
            timeout=27.0,
            port=16101,
            version="3",
            user="monitor",
            auth_protocol="sha256",
            auth_key=Secret("authpass1", reference="env:AUTH"),
            priv_protocol="aes256-blumenthal",
            priv_key=Secret("privpass1", reference="env:PRIV"),
            modules=("system",),
            request_timeout=2.0,
            retries=0,
        ),
    )
    assert "authpass1" not in repr(devices[1])
