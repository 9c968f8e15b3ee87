"""The `ping:`, `tcp:` and `http:` blocks load to the exact probe specs the probes use."""

from __future__ import annotations

from pathlib import Path

from config import load
from model import HttpProbeSpec, PingProbeSpec, TcpProbeSpec

TEXT = """
sites: [{id: dc-east, name: East}]
systems: [{id: web, name: Web}]
devices:
  - name: web-01
    site: dc-east
    system: web
    role: server
    address: 127.0.0.1
    collectors:
      ping:
      tcp: {port: 443}
      http: {url: "https://127.0.0.1:8443/"}
  - name: web-02
    site: dc-east
    system: web
    role: server
    address: 127.0.0.2
    collectors:
      ping: {interval: 10s, timeout: 2s, packets: 5, packet_interval: 100ms}
      tcp: {port: 25, send: "QUIT\\r\\n", expect: "^220 ", tls: true, interval: 1m, timeout: 59500ms}
      http:
        url: http://localhost:8080/health
        method: HEAD
        valid_status_codes: [200, 204]
        body_regex: ok
        body_regex_not: error
        follow_redirects: false
        max_redirects: 0
        tls: {ca_file: ca.pem, insecure_skip_verify: true}
        headers: {Host: example.org}
        body_size_limit: 4096
"""


def test_probe_blocks_become_specs_with_defaults(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("not read at load\n")
    devices = load(TEXT, base_dir=tmp_path, environ={}).inventory.devices
    assert devices[0].collectors == (
        PingProbeSpec(kind="ping", interval=30.0, timeout=10.5, probe_timeout=10.0),
        TcpProbeSpec(kind="tcp", interval=30.0, timeout=10.5, probe_timeout=10.0, port=443),
        HttpProbeSpec(kind="http", interval=30.0, timeout=10.5, probe_timeout=10.0, url="https://127.0.0.1:8443/"),
    )
    assert devices[1].collectors == (
        PingProbeSpec(kind="ping", interval=10.0, timeout=2.5, probe_timeout=2.0, packets=5, packet_interval=0.1),
        TcpProbeSpec(
            kind="tcp",
            interval=60.0,
            timeout=60.0,
            probe_timeout=59.5,
            port=25,
            send="QUIT\r\n",
            expect="^220 ",
            tls=True,
        ),
        HttpProbeSpec(
            kind="http",
            interval=30.0,
            timeout=10.5,
            probe_timeout=10.0,
            url="http://localhost:8080/health",
            method="HEAD",
            valid_status_codes=(200, 204),
            body_regex="ok",
            body_regex_not="error",
            follow_redirects=False,
            max_redirects=0,
            ca_file=str((tmp_path / "ca.pem").resolve()),
            insecure_skip_verify=True,
            headers=(("Host", "example.org"),),
            body_size_limit=4096,
        ),
    )
