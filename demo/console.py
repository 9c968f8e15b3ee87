"""`run_console.py demo`: the demo estate's agents, front ends, pager and node_exporter around the console.

`run_demo` starts everything the demo config polls (demo/agents.py), then runs the console through
the `serve` it is given and stops them all when the console stops; `cut_demo` rehearses a cut on a
running demo. This module never imports run_console.py: the composition root passes the console in.
They log to the console's logger (`ops_console`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

import config
from config.schema import ExporterCollectorSettings
from demo import agents
from demo.estate import ADDRESS, CONSOLE_HOST, Estate
from security.audit import AUDIT_FILE, AuditLog
from security.users import USERS_FILE, Role, UserDB

__all__ = [
    "DEMO_NODE_EXPORTER_PORT",
    "DEMO_USERS",
    "cut_demo",
    "demo_node_exporter",
    "demo_users",
    "run_demo",
    "with_exporter",
]

log = logging.getLogger("ops_console")

DEMO_NODE_EXPORTER_PORT = 19100
DEMO_USERS = {role.value: f"{role.value}-demo-2026" for role in Role}
"""The demo's users: one per role, named after it, with these passwords (README.md lists them).
For the demo only: a real console's first admin is made at set-up with a password of its own."""


def demo_users(data_dir: Path, now: float) -> list[str]:
    """Add the demo users missing from `data_dir` (a password changed since is kept); their names."""
    audit = AuditLog(data_dir / AUDIT_FILE)
    users = UserDB(data_dir / USERS_FILE, audit)
    added = []
    try:
        for name, password in DEMO_USERS.items():
            if users.get(name) is None:
                users.add(name, name, password, now, actor="demo")
                added.append(name)
    finally:
        users.close()
        audit.close()
    return added


def run_demo(
    estate: Estate, loaded: config.Config, data_dir: Path, serve: Callable[[config.Config], int], err: TextIO
) -> int:
    """Start the demo estate's simulated agents (data under DATA_DIR/agents/agent-PORT), its front ends,
    its pager (pages also in DATA_DIR/agents/pages.log) and, when installed, node_exporter; then
    `serve` the console on `loaded` (with node_exporter's scrape added) and return what it returns;
    they all stop when the console does. 1, with the cause on `err`, when one of them cannot start."""
    added = demo_users(data_dir, time.time())
    if added:
        log.info("demo users added (passwords in README.md): %s", ", ".join(added))
    try:
        with contextlib.ExitStack() as stack:
            pages = data_dir / "agents" / "pages.log"
            url = stack.enter_context(agents.running_pager(estate.pager_port, pages))
            log.info("demo pager: %s (pages also in %s)", url, pages)
            for r in stack.enter_context(agents.running_agents(estate, data_dir / "agents")):
                log.info("simulated agents: %d devices on udp %s:%d", r.devices, ADDRESS, r.port)
            for f in stack.enter_context(agents.running_front_ends(estate)):
                log.info("front end of %s: %s", f.front_end.system, f.front_end.url)
            return serve(demo_node_exporter(loaded, stack, data_dir / "agents"))
    except agents.AgentError as exc:
        err.write(f"error: {exc}\n")
        return 1


def cut_demo(estate: Estate, run_dir: Path, names: Sequence[str], err: TextIO) -> int:
    """Cut the links or link groups `names` (none: restore every link) on the running demo whose
    agents' data is in `run_dir`: 0, 1 when no demo runs there. Raises ValueError naming an unknown
    link and the known ones (`Estate.links_named`) before touching anything."""
    links = estate.links_named(names)
    try:
        silent = agents.cut_links(estate, run_dir, links)
    except agents.AgentError as exc:
        err.write(f"error: {exc}\n")
        return 1
    if links:
        log.info("cut %s: both ends report their interface down", ", ".join(links))
        log.info("%d devices behind the cut stop answering SNMP: %s", len(silent), ", ".join(silent))
    else:
        log.info("restored: every link up, every device answering")
    return 0


def demo_node_exporter(
    loaded: config.Config, stack: contextlib.ExitStack, run_dir: Path, *, port: int = DEMO_NODE_EXPORTER_PORT
) -> config.Config:
    """When node_exporter is installed and the config has the demo's `console-host`: start it on
    127.0.0.1:`port` (stopped when `stack` closes; log in `run_dir`) and return `loaded` with an
    `exporter` collector scraping it on that device. Otherwise log why not and return `loaded`.
    Raises AgentError when it cannot start."""
    host = CONSOLE_HOST
    if not any(d.name == host for d in loaded.inventory.devices):
        log.info("node_exporter scrape skipped: the config has no device %s", host)
        return loaded
    program = agents.find_node_exporter()
    if program is None:
        log.info(
            "node_exporter scrape skipped: %s is not installed (%s)",
            agents.NODE_EXPORTER,
            agents.NODE_EXPORTER_INSTALL,
        )
        return loaded
    url = stack.enter_context(agents.running_node_exporter(program, port, run_dir))
    log.info("node_exporter on %s, scraped by %s's exporter collector every 30s", url, host)
    return with_exporter(loaded, host, url)


def with_exporter(loaded: config.Config, device: str, url: str, interval: str = "30s") -> config.Config:
    """`loaded` with an `exporter` collector of `url` added to `device`, built as the config builds
    `exporter: {url: URL, interval: INTERVAL}` (its defaults otherwise). Raises KeyError for an
    unknown device."""
    if not any(d.name == device for d in loaded.inventory.devices):
        raise KeyError(device)
    spec = ExporterCollectorSettings.model_validate({"url": url, "interval": interval}).spec()
    devices = tuple(
        dataclasses.replace(d, collectors=(*d.collectors, spec)) if d.name == device else d
        for d in loaded.inventory.devices
    )
    return dataclasses.replace(loaded, inventory=dataclasses.replace(loaded.inventory, devices=devices))
