"""A scaled-out deployment: `remote_write:`, `query:` and `nodes:` (issue 10).

`remote_write` lists the Prometheus-compatible engines (Prometheus, VictoriaMetrics, ...) samples
are written to; `query` says what the console queries (its embedded store, or such an engine over
the Prometheus HTTP API); `nodes` says which node polls which sites. Credentials are secret
references (`bearer_token`, `basic_auth.password`), resolved when the file is loaded, as for the
exporters. Cross-field rules (names used twice, credentials that do not fit the backend, sites of
`nodes` that are not defined or are polled twice) are in `check_scaleout`; the loader narrows the
inventory to one node's sites (`config.loader.node_inventory`).

config.schema includes these sections through `validate_section`, imported when validating: this
module builds on config.schema's field types, so it cannot be imported while that one loads.
"""

from __future__ import annotations

import re
import urllib.parse
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)

from config.durations import format_duration, parse_duration
from config.problems import Finding, Loc
from config.schema import (
    BasicAuthSettings,
    Duration,
    HttpTlsSettings,
    HttpUrlText,
    Identifier,
    ListenAddress,
    NonEmpty,
    SecretRef,
)

__all__ = [
    "NodeSettings",
    "QueryBackend",
    "QuerySettings",
    "RemoteWriteQueueSettings",
    "RemoteWriteSettings",
    "ScaleOutParts",
    "check_scaleout",
    "default_remote_name",
    "validate_section",
]

QueryBackend = Literal["embedded", "prometheus"]
"""`embedded`: the console's own store; `prometheus`: an engine with the Prometheus HTTP query API."""

_HEADER_NAME_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
"""An HTTP header name: an RFC 9110 token."""

_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key", "x-auth-token"})
"""Headers whose values are credentials (security.secrets.SENSITIVE_HEADERS): never literal in the file."""
_WRITER_HEADERS = frozenset(
    {"host", "content-type", "content-encoding", "content-length", "user-agent", "x-prometheus-remote-write-version"}
)
"""Headers the remote writer sets itself (Prometheus refuses them in `headers` too)."""


def _no_credentials_in_url(value: object) -> object:
    # Checked before the URL itself, whose message shows the URL: a password in it must not show.
    if isinstance(value, str) and "@" in urllib.parse.urlsplit(value).netloc:
        raise ValueError("must not hold credentials (user:password@): use basic_auth with a secret reference")
    return value


EngineUrl = Annotated[HttpUrlText, BeforeValidator(_no_credentials_in_url)]
"""An http:// or https:// URL with a host and without user info."""


def _check_header_name(name: str) -> str:
    if not _HEADER_NAME_RE.fullmatch(name):
        raise ValueError(f'"{name}" is not a valid header name')
    if name.lower() in _CREDENTIAL_HEADERS:
        raise ValueError(f'"{name}" carries credentials: use bearer_token or basic_auth (secret references)')
    if name.lower() in _WRITER_HEADERS:
        raise ValueError(f'"{name}" is set by the remote writer itself')
    return name


def _check_header_value(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError("must not contain a line break")  # the value is not shown: it may be a token
    return value


HeaderName = Annotated[str, AfterValidator(_check_header_name)]
HeaderValue = Annotated[str, AfterValidator(_check_header_value)]


def default_remote_name(url: str) -> str:
    """`host:port` of `url`, the port the scheme's default when the URL has none (`vm:8428`,
    `vm.example.org:443`, `[::1]:9090`): the name of a `remote_write` entry that gives none."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, hide_input_in_errors=True)


def _one_kind_of_credentials(value: BasicAuthSettings | None, info: ValidationInfo) -> BasicAuthSettings | None:
    if value is not None and info.data.get("bearer_token") is not None:
        raise ValueError("cannot be used together with bearer_token")
    return value


class RemoteWriteQueueSettings(_Strict):
    """`queue:` of a remote write: `shards` parallel senders, each sending at most
    `max_samples_per_send` samples per request, and at least every `batch_send_deadline` seconds
    while it holds any; a failed request is retried after `min_backoff` seconds, doubled each time
    up to `max_backoff` (at least `min_backoff`)."""

    shards: Annotated[StrictInt, Field(ge=1, le=64)] = 2
    max_samples_per_send: Annotated[StrictInt, Field(ge=1, le=100_000)] = 2000
    batch_send_deadline: Duration = parse_duration("5s")
    min_backoff: Duration = parse_duration("30ms")
    max_backoff: Duration = parse_duration("5s")

    @field_validator("max_backoff")
    @classmethod
    def _not_below_min_backoff(cls, value: float, info: ValidationInfo) -> float:
        low = info.data.get("min_backoff")  # absent when min_backoff is itself invalid
        if low is not None and value < low:
            raise ValueError(f"{format_duration(value)} must be at least min_backoff {format_duration(low)}")
        return value


class RemoteWriteSettings(_Strict):
    """One entry of `remote_write:`: an engine that takes Prometheus remote write at `url`.
    `name` (default: the URL's `host:port`, see `default_remote_name`) is unique among the entries;
    `headers` are literal (credentials go in `bearer_token` or `basic_auth`); `timeout` (seconds)
    bounds one request."""

    name: NonEmpty
    url: EngineUrl
    headers: Mapping[HeaderName, HeaderValue] = Field(default_factory=dict)
    bearer_token: SecretRef | None = None
    basic_auth: BasicAuthSettings | None = None
    tls: HttpTlsSettings = Field(default_factory=HttpTlsSettings)
    timeout: Duration = parse_duration("30s")
    queue: RemoteWriteQueueSettings = Field(default_factory=RemoteWriteQueueSettings)

    @model_validator(mode="before")
    @classmethod
    def _name_from_url(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("name") is None:
            # A url that is missing or has no host is refused: the placeholder keeps "name: is required" away.
            url = data.get("url")
            return {**data, "name": default_remote_name(url) if isinstance(url, str) and _has_host(url) else "?"}
        return data

    @field_validator("queue", mode="before")
    @classmethod
    def _empty_queue_means_defaults(cls, value: object) -> object:
        return {} if value is None else value

    _one_auth = field_validator("basic_auth")(_one_kind_of_credentials)


def _has_host(url: str) -> bool:
    try:
        return bool(urllib.parse.urlsplit(url).hostname)
    except ValueError:
        return False


class QuerySettings(_Strict):
    """The `query:` section: where the console's queries (pages, rules of a web node, the API)
    go. With `backend: prometheus`, `url` is the engine's base URL (its `/api/v1/query` and
    `/api/v1/query_range` are below it) and `timeout` (seconds) bounds one query; with `embedded`
    (the default) the console's own store answers and no other key may be given."""

    backend: QueryBackend = "embedded"
    url: EngineUrl | None = None
    bearer_token: SecretRef | None = None
    basic_auth: BasicAuthSettings | None = None
    tls: HttpTlsSettings = Field(default_factory=HttpTlsSettings)
    timeout: Duration = parse_duration("2m")

    _one_auth = field_validator("basic_auth")(_one_kind_of_credentials)


class NodeSettings(_Strict):
    """One entry of `nodes:`: a console node (`name`, the name the node is started with), the ids of the
    sites whose devices it polls (none: a node that polls nothing, such as a web node) and its own
    `listen` address (None: `console.listen`)."""

    name: Identifier
    sites: tuple[NonEmpty, ...] = ()
    listen: ListenAddress | None = None


_SECTIONS: dict[str, TypeAdapter[Any]] = {
    "remote_write": TypeAdapter(tuple[RemoteWriteSettings, ...]),
    "query": TypeAdapter(QuerySettings),
    "nodes": TypeAdapter(tuple[NodeSettings, ...]),
}


def validate_section(name: str, value: object, context: object) -> object:
    """The `remote_write`, `query` or `nodes` section (`name`) of a document; an absent or empty
    section (None) is its defaults. Raises pydantic's ValidationError, located inside the section."""
    if value is None:
        value = {} if name == "query" else ()
    return _SECTIONS[name].validate_python(value, context=context)


@dataclass(frozen=True, slots=True)
class ScaleOutParts:
    """The parts of the three sections that passed schema validation, with their index in the file.
    `query` is None when that section is invalid; `all_nodes` is False when some entry of `nodes`
    is (then which sites no node polls is not known)."""

    remote_write: tuple[tuple[int, RemoteWriteSettings], ...] = ()
    query: QuerySettings | None = None
    nodes: tuple[tuple[int, NodeSettings], ...] = ()
    all_nodes: bool = True

    @classmethod
    def of(
        cls, remote_write: Sequence[RemoteWriteSettings], query: QuerySettings, nodes: Sequence[NodeSettings]
    ) -> ScaleOutParts:
        """All of valid sections."""
        return cls(tuple(enumerate(remote_write)), query, tuple(enumerate(nodes)))

    @classmethod
    def valid(cls, data: Mapping[str, object], failed: Sequence[Loc], context: object) -> ScaleOutParts:
        """The sections of `data` (a document that failed validation), each entry re-validated on
        its own unless a schema finding (`failed`) points into it."""

        def clean(*prefix: str | int) -> bool:
            return not any(loc[: len(prefix)] == prefix for loc in failed)

        def entries(section: str, kind: type[_Strict]) -> Iterator[tuple[int, Any]]:
            raw = data.get(section)
            for index, item in enumerate(raw if isinstance(raw, list) else []):
                if clean(section, index):
                    yield index, kind.model_validate(item, context=context)

        query = QuerySettings.model_validate(data.get("query") or {}, context=context) if clean("query") else None
        return cls(
            remote_write=tuple(entries("remote_write", RemoteWriteSettings)),
            query=query,
            nodes=tuple(entries("nodes", NodeSettings)),
            all_nodes=clean("nodes"),
        )


def check_scaleout(parts: ScaleOutParts, sites: Sequence[str] | None, device_sites: Sequence[str]) -> list[Finding]:
    """Every cross-field problem of the three sections: `remote_write` names used twice; a
    `prometheus` query backend without `url`, an `embedded` one with any other key; `nodes` names
    used twice, sites that are not defined (`sites`: the defined ids, None when that section is
    invalid), sites listed by two nodes (or twice by one), and sites that have devices
    (`device_sites`: each valid device's site) when no node polls them."""
    return [
        *_remote_names(parts.remote_write),
        *_query(parts.query),
        *_node_names(parts.nodes),
        *_node_sites(parts.nodes, sites),
        *_sites_nobody_polls(parts, sites, device_sites),
    ]


def _remote_names(entries: Sequence[tuple[int, RemoteWriteSettings]]) -> Iterator[Finding]:
    first: dict[str, int] = {}
    for index, entry in entries:
        if entry.name not in first:
            first[entry.name] = index
            continue
        hint = (
            " (a name defaults to the url's host:port: set name)"
            if entry.name == default_remote_name(entry.url)
            else ""
        )
        yield Finding(
            ("remote_write", index, "name"),
            f'"{entry.name}" is already used by remote_write[{first[entry.name]}]{hint}',
        )


def _query(query: QuerySettings | None) -> Iterator[Finding]:
    if query is None:
        return
    if query.backend == "prometheus" and query.url is None:
        yield Finding(("query", "url"), "is required for backend prometheus", missing=True)
    if query.backend == "embedded":
        for field in QuerySettings.model_fields:
            if field != "backend" and field in query.model_fields_set:
                yield Finding(("query", field), "is only for backend prometheus (backend is embedded)")


def _node_names(nodes: Sequence[tuple[int, NodeSettings]]) -> Iterator[Finding]:
    first: dict[str, int] = {}
    for index, node in nodes:
        if node.name in first:
            yield Finding(("nodes", index, "name"), f'"{node.name}" is already used by nodes[{first[node.name]}]')
        else:
            first[node.name] = index


def _node_sites(nodes: Sequence[tuple[int, NodeSettings]], sites: Sequence[str] | None) -> Iterator[Finding]:
    """Sites that are not defined; a site polled by two nodes, or listed twice by one."""
    listing = "no sites are defined" if not sites else f"known: {', '.join(sites)}"
    owner: dict[str, tuple[int, int, str]] = {}
    for index, node in nodes:
        for position, site in enumerate(node.sites):
            loc: Loc = ("nodes", index, "sites", position)
            if sites is not None and site not in sites:
                yield Finding(loc, f'"{site}" is not a defined site ({listing})')
                continue
            first = owner.setdefault(site, (index, position, node.name))
            if first[0] == index and first[1] != position:
                yield Finding(loc, f'"{site}" is already listed at nodes[{index}].sites[{first[1]}]')
            elif first[0] != index:
                polled_by = f"node {first[2]} (nodes[{first[0]}])"
                yield Finding(loc, f'"{site}" is already polled by {polled_by}, so node {node.name} cannot poll it')


def _sites_nobody_polls(
    parts: ScaleOutParts, sites: Sequence[str] | None, device_sites: Sequence[str]
) -> Iterator[Finding]:
    """With `nodes:`, a site whose devices no node polls would go unmonitored without a word."""
    if not parts.nodes or not parts.all_nodes or sites is None:
        return
    polled = {site for _, node in parts.nodes for site in node.sites}
    counts = Counter(device_sites)
    for site in sites:
        if counts[site] and site not in polled:
            devices = "1 device" if counts[site] == 1 else f"{counts[site]} devices"
            yield Finding(("nodes",), f"no node polls site {site} ({devices}): add it to the sites of a node")
