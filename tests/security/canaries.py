"""A config with a canary in every place a secret can be configured, for the tests that check that
no secret shows anywhere: each canary is unique, so finding one in a text names the leak."""

from __future__ import annotations

from pathlib import Path

import config

COMMUNITY = "canary-community-7f3a"
AUTH_KEY = "canary-authkey-9b1c"
PRIV_KEY = "canary-privkey-4d2e"
METRICS_TOKEN = "canary-metrics-token-1e5d"
EXPORTER_TOKEN = "canary-exporter-token-3c8f"
EXPORTER_PASSWORD = "canary-exporter-password-6a0b"
SMTP_PASSWORD = "canary-smtp-password-5b9c"
WEBHOOK_TOKEN = "canary-webhook-token-0e4f"
WEBHOOK_PASSWORD = "canary-webhook-password-4a6b"
ALERTMANAGER_TOKEN = "canary-am-token-9f1e"
RESOLVED = (
    COMMUNITY,
    AUTH_KEY,
    PRIV_KEY,
    METRICS_TOKEN,
    EXPORTER_TOKEN,
    EXPORTER_PASSWORD,
    SMTP_PASSWORD,
    WEBHOOK_TOKEN,
    WEBHOOK_PASSWORD,
    ALERTMANAGER_TOKEN,
)
"""Canaries given through secret references (`env:`, `file:`): resolved to `model.Secret`."""

WEBHOOK_URL_PASSWORD = "canary-webhook-urlpw-7c2d"
PROBE_URL_PASSWORD = "canary-probe-urlpw-8d1a"
PROBE_HEADER_TOKEN = "canary-probe-header-2f7e"
WRITTEN = (WEBHOOK_URL_PASSWORD, PROBE_URL_PASSWORD, PROBE_HEADER_TOKEN)
"""Canaries written in the file itself: a URL's password and a probe's Authorization header."""

CANARIES = RESOLVED + WRITTEN

ENVIRON = {
    "SNMP_COMMUNITY": COMMUNITY,
    "SNMP_AUTH": AUTH_KEY,
    "SNMP_PRIV": PRIV_KEY,
    "METRICS_TOKEN": METRICS_TOKEN,
    "EXPORTER_PASSWORD": EXPORTER_PASSWORD,
    "SMTP_PASSWORD": SMTP_PASSWORD,
    "WEBHOOK_TOKEN": WEBHOOK_TOKEN,
    "WEBHOOK_PASSWORD": WEBHOOK_PASSWORD,
    "ALERTMANAGER_TOKEN": ALERTMANAGER_TOKEN,
}

CONFIG = f"""\
console:
  metrics_token: env:METRICS_TOKEN
sites: [{{id: dc-east, name: 東日本センター}}]
systems: [{{id: wan, name: WAN}}]
devices:
  - name: rtr-v2c
    site: dc-east
    system: wan
    role: router
    address: 127.0.0.1
    collectors:
      snmp: {{version: 2c, community: env:SNMP_COMMUNITY}}
      http:
        url: http://probe:{PROBE_URL_PASSWORD}@127.0.0.1:8443/health
        headers: {{Authorization: Bearer {PROBE_HEADER_TOKEN}}}
  - name: rtr-v3
    site: dc-east
    system: wan
    role: router
    address: 127.0.0.1
    collectors:
      snmp:
        version: 3
        user: monitor
        auth: {{protocol: sha256, key: env:SNMP_AUTH}}
        priv: {{protocol: aes256, key: env:SNMP_PRIV}}
      exporter: {{url: "http://127.0.0.1:9100/metrics", bearer_token: file:secrets/exporter-token}}
  - name: srv-01
    site: dc-east
    system: wan
    role: server
    address: 127.0.0.1
    collectors:
      exporter:
        url: http://127.0.0.1:9100/metrics
        basic_auth: {{username: scrape, password: env:EXPORTER_PASSWORD}}
alerting:
  route: {{receiver: oncall}}
  receivers:
    - name: oncall
      email_configs:
        - to: oncall@example.org
          from: console@example.org
          smarthost: 127.0.0.1:25
          auth_username: alert
          auth_password: env:SMTP_PASSWORD
      webhook_configs:
        - url: http://127.0.0.1:9000/hook
          http_config: {{bearer_token: env:WEBHOOK_TOKEN}}
        - url: http://hook:{WEBHOOK_URL_PASSWORD}@127.0.0.1:9000/hook
        - url: http://127.0.0.1:9000/basic
          http_config: {{basic_auth: {{username: hook, password: env:WEBHOOK_PASSWORD}}}}
      alertmanager_configs:
        - urls: [http://127.0.0.1:9093]
          http_config: {{bearer_token: env:ALERTMANAGER_TOKEN}}
"""


def write_config(directory: Path) -> Path:
    """CONFIG as `directory/console.yaml`, with the exporter token's secret file next to it."""
    (directory / "secrets").mkdir()
    (directory / "secrets" / "exporter-token").write_text(f"{EXPORTER_TOKEN}\n")
    path = directory / "console.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def load(directory: Path) -> config.Config:
    """CONFIG loaded from `directory` with the canaries in its environment."""
    return config.load_file(write_config(directory), environ=ENVIRON)


def leaked(text: str, canaries: tuple[str, ...] = CANARIES) -> list[str]:
    """The canaries that show in `text`."""
    return [canary for canary in canaries if canary in text]
