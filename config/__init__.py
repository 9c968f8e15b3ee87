"""The console's configuration: a strict YAML schema, loaded to `Config` with exact error messages.

`load_file(path)` (or `load(text)`) returns a `Config` (console settings and the inventory) or raises
`ConfigError`, whose `problems` each print as `{source}:{line}: {path}: {message}`.
Imports only `model/` of ours; does no work at import time.
"""

from config.durations import format_duration, parse_duration
from config.loader import Config, load, load_file
from config.problems import ConfigError, Problem
from config.schema import ConsoleSettings, SecuritySettings, TlsSettings, split_listen

__all__ = [
    "Config",
    "ConfigError",
    "ConsoleSettings",
    "Problem",
    "SecuritySettings",
    "TlsSettings",
    "format_duration",
    "load",
    "load_file",
    "parse_duration",
    "split_listen",
]
