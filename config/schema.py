"""The config file's schema: strict, frozen pydantic models, and the one place defaults live.

Every model forbids unknown keys. Durations are Prometheus duration strings (or plain numbers of
seconds) and are held as float seconds. Resolving `metrics_token` needs the file's directory and
the environment: they come from a `ValidationContext` passed as pydantic's validation context
(without one, the current directory and `os.environ`).
Cross-field rules (references between sections) are not here: see `config.checks`.
"""

from __future__ import annotations

import decimal
import ipaddress
import math
import os
import re
import urllib.parse
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
)

import model
from config.durations import format_duration, parse_duration
from config.problems import kind_of, show
from config.secrets import resolve_secret
from model.samples import LABEL_NAME_RE

if TYPE_CHECKING:
    from alerts.alertconfig import AlertingConfig
    from config.scaleout import NodeSettings, QuerySettings, RemoteWriteSettings
    from reports.config import AvailabilityConfig

__all__ = [
    "PROBE_TIMEOUT_MARGIN",
    "RESERVED_LABELS",
    "Bandwidth",
    "BasicAuthSettings",
    "ByteSize",
    "CollectorSettings",
    "CollectorsSettings",
    "ConfigDocument",
    "ConsoleSettings",
    "DeviceSettings",
    "Duration",
    "ExporterCollectorSettings",
    "ExporterTlsSettings",
    "HostCollectorSettings",
    "HttpProbeSettings",
    "HttpTlsSettings",
    "LinkEndSettings",
    "LinkSettings",
    "PingProbeSettings",
    "RelabelSettings",
    "RetentionSettings",
    "SecuritySettings",
    "SiteSettings",
    "SnmpAuthSettings",
    "SnmpCollectorSettings",
    "SnmpPrivSettings",
    "StoreSettings",
    "SystemSettings",
    "TcpProbeSettings",
    "TlsSettings",
    "UserRole",
    "ValidationContext",
    "parse_bandwidth",
]

RESERVED_LABELS = (*model.TARGET_LABELS, "collector")
"""Label names the console sets itself; a device's own labels may not use them."""

_RESERVED_LIST = f"{', '.join(RESERVED_LABELS[:-1])} and {RESERVED_LABELS[-1]}"


@dataclass(frozen=True, slots=True)
class ValidationContext:
    """What validation needs from outside the text: the config file's directory and the environment."""

    base_dir: Path
    environ: Mapping[str, str]


def _context(info: ValidationInfo) -> ValidationContext:
    if isinstance(info.context, ValidationContext):
        return info.context
    return ValidationContext(base_dir=Path.cwd(), environ=os.environ)


def _seconds(value: object) -> float:
    """A duration string or a plain number of seconds, which must be positive."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a duration, got {kind_of(value)}")
    seconds = parse_duration(value) if isinstance(value, str) else float(value)
    if not math.isfinite(seconds):
        raise ValueError(f"{show(value)} is not a duration")
    if seconds <= 0:
        raise ValueError(f"{show(value)} must be greater than 0")
    return seconds


Duration = Annotated[float, BeforeValidator(_seconds)]
"""Seconds, written as a Prometheus duration (`15s`, `1h30m`) or a plain number of seconds."""


_BANDWIDTH_RE = re.compile(r"([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]{1,2})?) *([kMGT]?bps)?")
_BANDWIDTH_UNITS = {None: 1, "bps": 1, "kbps": 10**3, "Mbps": 10**6, "Gbps": 10**9, "Tbps": 10**12}


def parse_bandwidth(text: str) -> int:
    """`100Mbps`, `1Gbps`, `2.048Mbps`, `512kbps`, `1e9` (bit/s), ... -> whole bits per second.
    Prefixes are decimal (k = 1000). Raises ValueError with the user's message."""
    match = _BANDWIDTH_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f'"{text}" is not a bandwidth (e.g. 100Mbps, 1Gbps)')
    return _whole_bits(decimal.Decimal(match[1]) * _BANDWIDTH_UNITS[match[2]], show(text))


def _whole_bits(bits: decimal.Decimal, shown: str) -> int:
    if bits <= 0:
        raise ValueError(f"{shown} must be greater than 0")
    if bits != bits.to_integral_value():
        raise ValueError(f"{shown} is not a whole number of bits per second")
    return int(bits)


def _bits_per_second(value: object) -> int:
    """A bandwidth string or a plain number of bit/s."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a bandwidth, got {kind_of(value)}")
    if isinstance(value, str):
        return parse_bandwidth(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{show(value)} is not a bandwidth (e.g. 100Mbps, 1Gbps)")
    return _whole_bits(decimal.Decimal(value), show(value))


Bandwidth = Annotated[int, BeforeValidator(_bits_per_second)]
"""Bits per second, written as `100Mbps`, `1Gbps`, `2.048Mbps`, `512kbps`, `1e9` or a plain number."""


def _matching(regex: str, what: str) -> AfterValidator:
    pattern = re.compile(regex)

    def check(text: str) -> str:
        if not pattern.fullmatch(text):
            raise ValueError(f'"{text}" is not a valid {what} (must match {regex})')
        return text

    return AfterValidator(check)


_HOST_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _is_host(text: str) -> bool:
    """An IP address, or a DNS host name (RFC 1123 labels, optional trailing dot)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        name = text.removesuffix(".")
        labels = name.split(".")
        return 0 < len(name) <= 253 and all(_HOST_LABEL_RE.fullmatch(label) for label in labels)
    return True


def _check_address(text: str) -> str:
    if not _is_host(text):
        raise ValueError(f'"{text}" is not an IP address or host name')
    return text


def split_listen(text: str) -> tuple[str, int]:
    """`host:port` or `[v6]:port` -> (host without brackets, port). Raises ValueError."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        host_ok = ":" in host and _is_host(host)
    else:
        host_ok = ":" not in host and _is_host(host)
    if not (sep and host_ok and re.fullmatch(r"[0-9]{1,5}", port)):
        raise ValueError(f'"{text}" is not host:port')
    if not 1 <= int(port) <= 65535:
        raise ValueError(f'"{text}" is not host:port (port must be 1..65535)')
    return host, int(port)


def _check_listen(text: str) -> str:
    split_listen(text)
    return text


def _check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f'"{name}" is not a known time zone') from None
    return name


def _check_label_name(name: str) -> str:
    if not LABEL_NAME_RE.fullmatch(name):
        raise ValueError(f'"{name}" is not a valid label name (must match [a-zA-Z_][a-zA-Z0-9_]*)')
    if name in RESERVED_LABELS:
        raise ValueError(f'"{name}" is reserved ({_RESERVED_LIST} are set by the console)')
    if name.startswith("__"):
        raise ValueError(f'"{name}" is reserved (names starting with __ are for internal use)')
    return name


NonEmpty = Annotated[str, Field(min_length=1)]
Identifier = Annotated[str, _matching(r"[a-z][a-z0-9-]*", "id")]
Role = Annotated[str, _matching(r"[a-z][a-z0-9_-]*", "role")]
DeviceName = Annotated[str, _matching(r"[A-Za-z0-9][A-Za-z0-9._-]*", "device name")]
Address = Annotated[str, AfterValidator(_check_address)]
LabelName = Annotated[str, AfterValidator(_check_label_name)]
ListenAddress = Annotated[str, AfterValidator(_check_listen)]
TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]
MetricsToken = Annotated[model.Secret | None, PlainSerializer(lambda s: s.reference if s else None)]


class _Strict(BaseModel):
    # hide_input_in_errors: a secret written where a reference belongs must not show in str(ValidationError).
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class RetentionSettings(_Strict):
    """How long the store keeps raw samples and each rollup."""

    raw: Duration = parse_duration("15d")
    rollup_5m: Duration = parse_duration("90d")
    rollup_1h: Duration = parse_duration("2y")


class StoreSettings(_Strict):
    """The writer queue between the collectors and SQLite."""

    queue_batches: Annotated[StrictInt, Field(gt=0)] = 256
    stall_timeout: Duration = parse_duration("10s")


def _readable_file(value: object, info: ValidationInfo) -> Path:
    """A file that exists and can be read, relative to the config file's directory (or absolute);
    held as an absolute path, normalised as `data_dir` is (symbolic links are kept, not followed)."""
    if not isinstance(value, str | Path):
        raise ValueError(f"expected a file path, got {kind_of(value)}")
    if str(value) == "":
        raise ValueError("must not be empty")
    path = Path(os.path.abspath(_context(info).base_dir / value))
    if path.is_dir():
        raise ValueError(f"{path} is not a file")
    try:
        with path.open("rb"):
            pass
    except FileNotFoundError:
        raise ValueError(f"no such file: {path}") from None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    return path


ReadableFile = Annotated[Path, BeforeValidator(_readable_file)]


class TlsSettings(_Strict):
    """`console.tls:` the console serves HTTPS with this certificate (chain) and its unencrypted
    private key, both PEM. The files must exist and be readable when the config is loaded; whether
    they hold a matching certificate and key is found when the server loads them."""

    cert_file: ReadableFile
    key_file: ReadableFile


class ConsoleSettings(_Strict):
    """The `console:` section. `metrics_token` is the resolved secret (None: `/metrics` is open).
    `data_dir` is as written here; in a loaded `config.Config` it is absolute (resolved against
    the config file's directory). `tls` None: the console serves plain HTTP."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    listen: ListenAddress = "127.0.0.1:8050"
    data_dir: Path = Path("data")
    timezone: TimeZoneName = "Asia/Tokyo"
    language: Literal["ja", "en"] = "ja"
    metrics_token: MetricsToken = None
    head: Duration = parse_duration("2h")
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    tls: TlsSettings | None = None

    @property
    def listen_host(self) -> str:
        """The host part of `listen`, without the brackets of an IPv6 address."""
        return split_listen(self.listen)[0]

    @property
    def listen_port(self) -> int:
        return split_listen(self.listen)[1]

    @field_validator("data_dir", mode="before")
    @classmethod
    def _path(cls, value: object) -> Path:
        if not isinstance(value, str | Path):
            raise ValueError(f"expected a string, got {kind_of(value)}")
        if str(value) == "":
            raise ValueError("must not be empty")
        return Path(value)

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _resolve_metrics_token(cls, value: object, info: ValidationInfo) -> model.Secret | None:
        return _resolve_secret_ref(value, info)


UserRole = Literal["viewer", "operator", "oncall", "manager", "admin"]
"""The console users' role names, least powerful first: the values of security.users.Role, written
out because config/ may not import security/ (a test holds the two together)."""


def _secure_cookies(value: object) -> object:
    if not (value == "auto" or isinstance(value, bool)):
        raise ValueError(f"{show(value)} is not one of auto, true, false")
    return value


class SecuritySettings(_Strict):
    """The `security:` section: web sessions, login lockout, the second factor and cookies.
    Durations are seconds."""

    session_idle: Duration = parse_duration("15m")
    """A session unused this long ends."""
    session_max: Duration = parse_duration("12h")
    """A session ends this long after login however it is used; at least `session_idle`."""
    lockout_attempts: Annotated[StrictInt, Field(ge=1, le=1000)] = 10
    """This many failed logins in a row lock the account for `lockout_for`."""
    lockout_for: Duration = parse_duration("15m")
    totp_roles: tuple[UserRole, ...] = ("admin",)
    """Users with these roles must log in with a TOTP code as well (RFC 6238)."""
    secure_cookies: Annotated[Literal["auto"] | StrictBool, BeforeValidator(_secure_cookies)] = "auto"
    """Whether the session cookie is marked Secure: `auto` exactly when `console.tls` is set; `true`
    behind a TLS reverse proxy. See `cookies_secure`."""

    @field_validator("session_max")
    @classmethod
    def _not_shorter_than_idle(cls, value: float, info: ValidationInfo) -> float:
        idle = info.data.get("session_idle")  # absent when session_idle is itself invalid
        if idle is not None and value < idle:
            raise ValueError(f"{format_duration(value)} must be at least session_idle {format_duration(idle)}")
        return value

    def cookies_secure(self, console: ConsoleSettings) -> bool:
        """Whether session cookies carry the Secure attribute, for a console with these settings."""
        if self.secure_cookies == "auto":
            return console.tls is not None
        return self.secure_cookies


def _resolve_secret_ref(value: object, info: ValidationInfo) -> model.Secret | None:
    """A secret reference (`env:NAME`, `file:PATH`) resolved at load; None stays None."""
    if value is None or isinstance(value, model.Secret):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a secret reference (env:NAME or file:PATH), got {kind_of(value)}")
    context = _context(info)
    return resolve_secret(value, base_dir=context.base_dir, environ=context.environ)


SecretRef = Annotated[model.Secret, BeforeValidator(_resolve_secret_ref)]


class SiteSettings(_Strict):
    id: Identifier
    name: NonEmpty


class SystemSettings(_Strict):
    id: Identifier
    name: NonEmpty


class CollectorSettings(_Strict):
    """What every collector kind has: run interval and per-run timeout (seconds)."""

    kind: ClassVar[str]
    timeout_margin: ClassVar[float] = 0.0
    """Seconds `timeout` must leave of `interval` (besides being shorter): see `config.checks`."""

    interval: Duration = parse_duration("15s")
    timeout: Duration = parse_duration("10s")

    def spec(self) -> model.CollectorSpec:
        """The inventory's view of this collector."""
        return model.CollectorSpec(kind=self.kind, interval=self.interval, timeout=self.timeout)


class HostCollectorSettings(CollectorSettings):
    """`host:` (psutil, for the console's own host)."""

    kind: ClassVar[str] = "host"

    def spec(self) -> model.HostCollectorSpec:
        return model.HostCollectorSpec(kind=self.kind, interval=self.interval, timeout=self.timeout)


class SnmpAuthSettings(_Strict):
    """`auth:` of an SNMPv3 user."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    protocol: Literal["md5", "sha", "sha224", "sha256", "sha384", "sha512"]
    key: SecretRef


class SnmpPrivSettings(_Strict):
    """`priv:` of an SNMPv3 user. `aes192`/`aes256` are the Reeder key extension (net-snmp's
    AES192C/AES256C); `aes192-blumenthal`/`aes256-blumenthal` are net-snmp's AES192/AES256."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    protocol: Literal["des", "aes128", "aes192", "aes256", "aes192-blumenthal", "aes256-blumenthal"]
    key: SecretRef


class SnmpCollectorSettings(CollectorSettings):
    """`snmp:`. Here `timeout` and `retries` apply to each request, as with net-snmp's tools; the
    whole cycle may take up to 90 % of the interval. Versions 1 and 2c need `community`; version 3
    needs `user` (with `auth`, and `priv` on top of `auth`). Cross-field rules: `config.checks`."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    kind: ClassVar[str] = "snmp"

    interval: Duration = parse_duration("60s")
    timeout: Duration = parse_duration("1s")
    retries: Annotated[StrictInt, Field(ge=0, le=5)] = 1
    port: Annotated[StrictInt, Field(ge=1, le=65535)] = 161
    version: Literal["1", "2c", "3"] = "2c"
    community: SecretRef | None = None
    user: NonEmpty | None = None
    auth: SnmpAuthSettings | None = None
    priv: SnmpPrivSettings | None = None
    modules: tuple[Literal["system", "if_mib", "host_resources", "ucd"], ...] = ("system", "if_mib")
    static_refresh_cycles: Annotated[StrictInt, Field(ge=1)] = 10
    max_repetitions: Annotated[StrictInt, Field(ge=1, le=100)] = 25

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def spec(self) -> model.SnmpCollectorSpec:
        return model.SnmpCollectorSpec(
            kind=self.kind,
            interval=self.interval,
            timeout=self.interval * 0.9,
            port=self.port,
            version=self.version,
            community=self.community,
            user=self.user or "",
            auth_protocol=self.auth.protocol if self.auth else "none",
            auth_key=self.auth.key if self.auth else None,
            priv_protocol=self.priv.protocol if self.priv else "none",
            priv_key=self.priv.key if self.priv else None,
            modules=self.modules,
            request_timeout=self.timeout,
            retries=self.retries,
            static_refresh_cycles=self.static_refresh_cycles,
            max_repetitions=self.max_repetitions,
        )


PROBE_TIMEOUT_MARGIN = 0.5
"""Seconds a probe's `timeout` must leave of its interval (`config.checks`); the scheduler's own
deadline for a probe run is the probe's timeout plus this margin, so the probe reports first."""


def _check_regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as error:
        raise ValueError(f"{show(text)} is not a valid regular expression: {error}") from None
    return text


def _check_http_url(text: str) -> str:
    problem = ValueError(f"{show(text)} is not an http:// or https:// URL with a host")
    parts = urllib.parse.urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        raise problem from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not _is_host(parts.hostname):
        raise problem
    return text


Regex = Annotated[str, Field(min_length=1), AfterValidator(_check_regex)]
HttpUrlText = Annotated[str, AfterValidator(_check_http_url)]
StatusCode = Annotated[StrictInt, Field(ge=100, le=599)]


class _ProbeSettings(CollectorSettings):
    """What every probe has: `interval` (default 30s) and the probe's own `timeout` (default 10s),
    which must leave `PROBE_TIMEOUT_MARGIN` of the interval (`config.checks`)."""

    timeout_margin: ClassVar[float] = PROBE_TIMEOUT_MARGIN
    interval: Duration = parse_duration("30s")

    def _times(self) -> dict[str, float]:
        run_timeout = self.timeout + PROBE_TIMEOUT_MARGIN
        return {"interval": self.interval, "timeout": run_timeout, "probe_timeout": self.timeout}


class PingProbeSettings(_ProbeSettings):
    """`ping:` ICMP echo to the device's address: `packets` requests `packet_interval` apart."""

    kind: ClassVar[str] = "ping"

    packets: Annotated[StrictInt, Field(ge=1, le=100)] = 3
    packet_interval: Duration = parse_duration("200ms")

    def spec(self) -> model.PingProbeSpec:
        return model.PingProbeSpec(
            kind=self.kind, **self._times(), packets=self.packets, packet_interval=self.packet_interval
        )


class TcpProbeSettings(_ProbeSettings):
    """`tcp:` a TCP connect to the device's address on `port`; then TLS (`tls: true`), `send` and
    `expect` (a regular expression searched in what the peer answers), each optional."""

    kind: ClassVar[str] = "tcp"

    port: Annotated[StrictInt, Field(ge=1, le=65535)]
    send: NonEmpty | None = None
    expect: Regex | None = None
    tls: StrictBool = False

    def spec(self) -> model.TcpProbeSpec:
        return model.TcpProbeSpec(
            kind=self.kind, **self._times(), port=self.port, send=self.send, expect=self.expect, tls=self.tls
        )


class HttpTlsSettings(_Strict):
    """`tls:` of an HTTP probe. `ca_file` (PEM) is resolved against the config file's directory and
    must exist; without it the system's CAs are trusted."""

    ca_file: Path | None = None
    insecure_skip_verify: StrictBool = False

    @field_validator("ca_file", mode="before")
    @classmethod
    def _existing_file(cls, value: object, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ValueError(f"expected a file path, got {kind_of(value)}")
        path = _context(info).base_dir / value
        if not path.is_file():
            raise ValueError(f"{show(value)} is not a file")
        return path.resolve()


class HttpProbeSettings(_ProbeSettings):
    """`http:` one HTTP(S) request to `url` (its host as written, not the device's address).
    `valid_status_codes` empty means any 2xx."""

    kind: ClassVar[str] = "http"

    url: HttpUrlText
    method: Literal["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"] = "GET"
    valid_status_codes: tuple[StatusCode, ...] = ()
    body_regex: Regex | None = None
    body_regex_not: Regex | None = None
    follow_redirects: StrictBool = True
    max_redirects: Annotated[StrictInt, Field(ge=0, le=100)] = 10
    tls: HttpTlsSettings = Field(default_factory=HttpTlsSettings)
    headers: Mapping[NonEmpty, str] = Field(default_factory=dict)
    body_size_limit: Annotated[StrictInt, Field(ge=1)] = 1_048_576

    def spec(self) -> model.HttpProbeSpec:
        return model.HttpProbeSpec(
            kind=self.kind,
            **self._times(),
            url=self.url,
            method=self.method,
            valid_status_codes=self.valid_status_codes,
            body_regex=self.body_regex,
            body_regex_not=self.body_regex_not,
            follow_redirects=self.follow_redirects,
            max_redirects=self.max_redirects,
            ca_file=str(self.tls.ca_file) if self.tls.ca_file else None,
            insecure_skip_verify=self.tls.insecure_skip_verify,
            headers=tuple(self.headers.items()),
            body_size_limit=self.body_size_limit,
        )


_BYTE_SIZE_RE = re.compile(r"([0-9]+) *(B|KiB|MiB|GiB)?")
_BYTE_UNITS = {None: 1, "B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}


def _bytes(value: object) -> int:
    """A size in bytes: a whole number, or a string `512KiB`, `10MiB`, `1GiB`, `4096B`, `4096`."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"expected a size (e.g. 10MiB or a number of bytes), got {kind_of(value)}")
    match = _BYTE_SIZE_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if isinstance(value, str) and match is None:
        raise ValueError(f"{show(value)} is not a size (e.g. 10MiB, 512KiB, or a number of bytes)")
    size = value if isinstance(value, int) else int(match[1]) * _BYTE_UNITS[match[2]] if match else 0
    if size <= 0:
        raise ValueError(f"{show(value)} must be greater than 0")
    return size


ByteSize = Annotated[int, BeforeValidator(_bytes)]
"""Bytes, written as a whole number or with a binary unit: `10MiB`, `512KiB`, `1GiB`."""


def _config_file(value: object, info: ValidationInfo) -> str:
    """A path relative to the config file's directory (or absolute) of a file that exists; held
    as an absolute path."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a file path, got {kind_of(value)}")
    path = _context(info).base_dir / value
    if not path.is_file():
        raise ValueError(f"{show(value)} is not a file")
    return str(path.resolve())


ConfigFile = Annotated[str, BeforeValidator(_config_file)]
RelabelLabelName = Annotated[str, _matching(r"[a-zA-Z_][a-zA-Z0-9_]*", "label name")]


def _check_target_label(text: str) -> str:
    if "$" not in text and not LABEL_NAME_RE.fullmatch(text):
        raise ValueError(f"{show(text)} is not a valid label name (must match [a-zA-Z_][a-zA-Z0-9_]*, or use $1)")
    return text


class ExporterTlsSettings(_Strict):
    """`tls:` of an exporter: PEM files (relative to the config file's directory; they must exist),
    `server_name` to send and verify instead of the URL's host. No `ca_file`: the system's CAs."""

    ca_file: ConfigFile | None = None
    cert_file: ConfigFile | None = None
    key_file: ConfigFile | None = None
    insecure_skip_verify: StrictBool = False
    server_name: NonEmpty | None = None


class BasicAuthSettings(_Strict):
    """`basic_auth:` of an exporter: a user name and a password secret reference."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    username: NonEmpty
    password: SecretRef


class RelabelSettings(_Strict):
    """One `metric_relabel_configs` entry, as in Prometheus (actions keep, drop, replace,
    labeldrop). `regex` is a Python regular expression matched against the whole value."""

    action: Literal["replace", "keep", "drop", "labeldrop"] = "replace"
    source_labels: tuple[RelabelLabelName, ...] = ()
    separator: str = ";"
    regex: Regex = model.DEFAULT_RELABEL_REGEX
    target_label: Annotated[str, AfterValidator(_check_target_label)] | None = None
    replacement: str = "$1"

    def rule(self) -> model.RelabelRule:
        return model.RelabelRule(
            action=model.RelabelAction(self.action),
            source_labels=self.source_labels,
            separator=self.separator,
            regex=re.compile(self.regex, re.DOTALL),
            target_label=self.target_label or "",
            replacement=self.replacement,
        )


class ExporterCollectorSettings(CollectorSettings):
    """`exporter:` a Prometheus exporter scraped at `url`. `timeout` bounds the whole scrape; the
    run's own deadline (the scheduler's safety net) is 1 s later, at most the interval.
    Cross-field rules (one kind of credentials, cert and key together, relabel actions'
    fields): `config.checks`."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    kind: ClassVar[str] = "exporter"

    url: HttpUrlText
    interval: Duration = parse_duration("30s")
    honor_labels: StrictBool = False
    honor_timestamps: StrictBool = True
    body_size_limit: ByteSize = 10 * 2**20
    tls: ExporterTlsSettings = Field(default_factory=ExporterTlsSettings)
    bearer_token: SecretRef | None = None
    basic_auth: BasicAuthSettings | None = None
    metric_relabel_configs: tuple[RelabelSettings, ...] = ()

    def spec(self) -> model.ExporterCollectorSpec:
        tls = self.tls
        return model.ExporterCollectorSpec(
            kind=self.kind,
            interval=self.interval,
            timeout=min(self.interval, self.timeout + 1.0),
            url=self.url,
            scrape_timeout=self.timeout,
            honor_labels=self.honor_labels,
            honor_timestamps=self.honor_timestamps,
            body_size_limit=self.body_size_limit,
            tls=model.ExporterTls(
                ca_file=tls.ca_file,
                cert_file=tls.cert_file,
                key_file=tls.key_file,
                insecure_skip_verify=tls.insecure_skip_verify,
                server_name=tls.server_name,
            ),
            bearer_token=self.bearer_token,
            basic_auth_username=self.basic_auth.username if self.basic_auth else None,
            basic_auth_password=self.basic_auth.password if self.basic_auth else None,
            metric_relabel_configs=tuple(rule.rule() for rule in self.metric_relabel_configs),
        )


class CollectorsSettings(_Strict):
    """A device's `collectors:`, one optional key per collector kind (the key is the kind).
    An empty entry (`host:` with nothing after it) enables that collector with its defaults."""

    host: HostCollectorSettings | None = None
    snmp: SnmpCollectorSettings | None = None
    ping: PingProbeSettings | None = None
    tcp: TcpProbeSettings | None = None
    http: HttpProbeSettings | None = None
    exporter: ExporterCollectorSettings | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _empty_entry_means_defaults(cls, value: object) -> object:
        return {} if value is None else value

    def entries(self) -> tuple[tuple[str, CollectorSettings], ...]:
        """(kind, settings) of every configured collector, in schema order."""
        configured = ((name, getattr(self, name)) for name in type(self).model_fields)
        return tuple((name, value) for name, value in configured if isinstance(value, CollectorSettings))


class DeviceSettings(_Strict):
    name: DeviceName
    site: NonEmpty
    system: NonEmpty
    role: Role
    address: Address
    parents: tuple[NonEmpty, ...] = ()
    labels: Mapping[LabelName, NonEmpty] = Field(default_factory=dict)
    collectors: CollectorsSettings = Field(default_factory=CollectorsSettings)


class LinkEndSettings(_Strict):
    """`a:` / `b:` of a link: a device and its interface (ifName, or the ifIndex as a number)."""

    device: NonEmpty
    interface: NonEmpty

    @field_validator("interface", mode="before")
    @classmethod
    def _index_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else value


class LinkSettings(_Strict):
    """One entry of `links:`. Cross-field rules (devices, snmp, interfaces used twice): `config.checks`."""

    name: Identifier
    a: LinkEndSettings
    b: LinkEndSettings
    bandwidth: Bandwidth | None = None
    group: Identifier | None = None
    parents: tuple[NonEmpty, ...] = ()
    """What the link is reached through (devices or links), as a device's `parents`."""

    def link(self) -> model.Link:
        """The inventory's view of this link."""
        return model.Link(
            name=self.name,
            a=model.LinkEnd(device=self.a.device, interface=self.a.interface),
            b=model.LinkEnd(device=self.b.device, interface=self.b.interface),
            bandwidth_bps=self.bandwidth,
            group=self.group,
            parents=self.parents,
        )


def _alerting(value: object, info: ValidationInfo) -> AlertingConfig | None:
    """The `alerting:` section, validated by alerts.alertconfig with this validation's context.

    Imported here rather than at the top: alerts/ imports config's leaf modules (`config.durations`),
    which runs config/__init__ and so this module; a top-level import would be a cycle whenever
    alerts/ is imported first."""
    from alerts.alertconfig import AlertingConfig

    if value is None or isinstance(value, AlertingConfig):
        return value
    return AlertingConfig.model_validate(value, context=info.context)


def _availability(value: object, info: ValidationInfo) -> AvailabilityConfig | None:
    """The `availability:` section, validated by reports.config (imported here for the reason
    `_alerting` gives)."""
    from reports.config import AvailabilityConfig

    if value is None or isinstance(value, AvailabilityConfig):
        return value
    return AvailabilityConfig.model_validate(value, context=info.context)


def _scaleout(value: object, info: ValidationInfo) -> object:
    """`remote_write:`, `query:` or `nodes:`, validated by config.scaleout (imported here: it builds
    on this module's field types)."""
    from config.scaleout import validate_section

    return validate_section(info.field_name or "", value, info.context)


if TYPE_CHECKING:
    AlertingSection: TypeAlias = AlertingConfig | None
    AvailabilitySection: TypeAlias = AvailabilityConfig | None
    RemoteWriteSection: TypeAlias = tuple[RemoteWriteSettings, ...]
    QuerySection: TypeAlias = QuerySettings
    NodesSection: TypeAlias = tuple[NodeSettings, ...]
else:  # the type resolves only when validating (see _alerting); nested errors keep their paths
    AlertingSection = Annotated[object, PlainValidator(_alerting)]
    AvailabilitySection = Annotated[object, PlainValidator(_availability)]
    RemoteWriteSection = QuerySection = NodesSection = Annotated[object, PlainValidator(_scaleout)]


class ConfigDocument(_Strict):
    """The whole file. Only `devices` is required; an empty section means its defaults."""

    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    sites: tuple[SiteSettings, ...] = ()
    systems: tuple[SystemSettings, ...] = ()
    devices: tuple[DeviceSettings, ...]
    links: tuple[LinkSettings, ...] = ()
    rule_files: tuple[NonEmpty, ...] = ()
    """Prometheus rule files (shell globs, relative to this file), loaded by alerts/rules.py."""
    alerting: AlertingSection = None
    """Alertmanager-shaped `route`, `receivers`, `inhibit_rules`, `time_intervals`: alerts/alertconfig.py."""
    availability: AvailabilitySection = None
    """Per business system its SLA target, service hours and service tree: reports/config.py."""
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    """Sessions, login lockout, TOTP and cookies of the web console."""
    remote_write: RemoteWriteSection = Field(default=None, validate_default=True)
    """Engines samples are also written to (Prometheus remote write): config/scaleout.py."""
    query: QuerySection = Field(default=None, validate_default=True)
    """What queries go to: the embedded store or a Prometheus-compatible engine."""
    nodes: NodesSection = Field(default=None, validate_default=True)
    """Which node polls which sites; none: every node polls every site."""

    @field_validator("console", "sites", "systems", "links", "rule_files", "security", mode="before")
    @classmethod
    def _empty_section_means_defaults(cls, value: object, info: ValidationInfo) -> object:
        if value is not None:
            return value
        return {} if info.field_name in ("console", "security") else ()
