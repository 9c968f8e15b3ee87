"""The console's configuration: a strict YAML schema, loaded to `Config` with exact error messages.

`load_file(path)` (or `load(text)`) returns a `Config` (console settings and the inventory) or raises
`ConfigError`, whose `problems` each print as `{source}:{line}: {path}: {message}`.
`node_inventory(config, name)` is the part of the inventory one node of a scaled-out deployment polls.
Imports only `model/` of ours; does no work at import time.
"""

from config.durations import format_duration, parse_duration
from config.loader import Config, load, load_file, node_inventory
from config.problems import ConfigError, Problem
from config.scaleout import NodeSettings, QuerySettings, RemoteWriteQueueSettings, RemoteWriteSettings
from config.schema import ConsoleSettings, SecuritySettings, TlsSettings, split_listen

__all__ = [
    "Config",
    "ConfigError",
    "ConsoleSettings",
    "NodeSettings",
    "Problem",
    "QuerySettings",
    "RemoteWriteQueueSettings",
    "RemoteWriteSettings",
    "SecuritySettings",
    "TlsSettings",
    "format_duration",
    "load",
    "load_file",
    "node_inventory",
    "parse_duration",
    "split_listen",
]
