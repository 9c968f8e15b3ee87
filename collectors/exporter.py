"""The exporter collector: scrapes a Prometheus exporter over HTTP(S), as Prometheus does.

One request per run (`GET url`, httpx), with Prometheus' `Accept` header (OpenMetrics preferred,
text format 0.0.4 as fallback), `Accept-Encoding: gzip` and `X-Prometheus-Scrape-Timeout-Seconds`.
The body is read streaming, decompressed, and refused past `body_size_limit` bytes. The parser
follows the response's Content-Type: `application/openmetrics-text` goes to prometheus_client's
OpenMetrics parser, anything else to its text-format parser.

Samples keep the exporter's names (counters keep `_total`; histogram and summary samples are
`_bucket`, `_sum`, `_count` and the quantile series), values as floats, and the exposition's
timestamp when it has one and `honor_timestamps` is set, else the scrape time (`clock.now()` when
the answer's headers arrived). `metric_relabel_configs` apply to the exporter's own labels; the
scheduler then attaches the target's labels (`honor_labels`, see collectors/health.py). Each
family's type and help go to the shared `MetricMetadata`.

A new `httpx.AsyncClient` is made for each scrape, inside the running loop, and closed with it:
no connection outlives a run, so collectors need no close hook. The TLS context (CA file, client
certificate) is built once per collector and reused.

Failures raise `CollectError` with one cause each (messages name the URL):

- `timeout`: no (complete) answer within the scrape timeout: `no answer within 2s from URL`;
- `connect`: the connection cannot be made: `cannot connect to URL: Connection refused`;
- `tls`: TLS files unusable, handshake or verification failed:
  `TLS failed for URL: certificate verify failed: self-signed certificate`;
- `network`: the connection broke after it was made: `connection to URL failed: ...`;
- `protocol`: not HTTP, or the body ended before its announced length: `HTTP protocol error from URL: ...`;
- `auth`: HTTP 401 or 403: `HTTP 401 Unauthorized from URL`;
- `http_status`: any other status but 200: `HTTP 500 Internal Server Error from URL`;
- `too_big`: over `body_size_limit` bytes after gzip: `answer from URL is larger than body_size_limit (1024 bytes)`;
- `malformed`: undecodable gzip or UTF-8, or a line the parser refused:
  `malformed text exposition from URL at line 3: <parser message>: '<the line>'`.
"""

from __future__ import annotations

import asyncio
import io
import ssl
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import TextIO, cast

import httpx
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import parser as openmetrics_parser
from prometheus_client.parser import text_fd_to_metric_families

from collectors.base import CollectError, CollectorDeps, MetricMetadata
from collectors.relabel import relabel
from model import Clock, ExporterCollectorSpec, Labels, Sample, Target
from model.errors import find_cause, os_reason

__all__ = ["ACCEPT", "ExporterCollector", "create_exporter_collector", "parse_exposition"]

ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
"""What Prometheus sends: OpenMetrics preferred, the text format 0.0.4 as fallback."""

OPENMETRICS_TYPE = "application/openmetrics-text"


class ExporterCollector:
    """Scrapes one exporter target (its spec must be an `ExporterCollectorSpec`).

    `transport` replaces httpx's network transport (None: the real one).
    """

    def __init__(
        self, *, clock: Clock, metadata: MetricMetadata, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self._clock = clock
        self._metadata = metadata
        self._transport = transport
        self._ssl: ssl.SSLContext | None = None

    async def collect(self, target: Target) -> list[Sample]:
        spec = target.spec
        if not isinstance(spec, ExporterCollectorSpec):
            raise TypeError(f"{target.key}: the exporter collector needs an ExporterCollectorSpec")
        content_type, body, scraped_at = await self._fetch(spec)
        families = parse_exposition(body, content_type, source=_shown(spec.url))
        return self._samples(spec, families, scraped_at)

    def _samples(self, spec: ExporterCollectorSpec, families: list[Metric], scraped_at: float) -> list[Sample]:
        samples: list[Sample] = []
        for family in families:
            for raw in family.samples:
                if raw.value is None:  # a native histogram: no float value to keep
                    continue
                relabelled = relabel(raw.name, Labels(raw.labels), spec.metric_relabel_configs)
                if relabelled is None:
                    continue
                ts = scraped_at if raw.timestamp is None or not spec.honor_timestamps else float(raw.timestamp)
                samples.append(Sample(relabelled[0], relabelled[1], float(raw.value), ts))
        self._metadata.update({family.name: (family.type, family.documentation) for family in families})
        return samples

    async def _fetch(self, spec: ExporterCollectorSpec) -> tuple[str, bytes, float]:
        """(Content-Type, decompressed body, scrape time) of one GET of `spec.url`."""
        url, shown = spec.url, _shown(spec.url)
        headers = {
            "Accept": ACCEPT,
            "Accept-Encoding": "gzip",
            "User-Agent": "ops-console",
            "X-Prometheus-Scrape-Timeout-Seconds": f"{spec.scrape_timeout:g}",
        }
        if spec.bearer_token is not None:
            headers["Authorization"] = f"Bearer {spec.bearer_token.reveal()}"
        auth = None
        if spec.basic_auth_username is not None:
            password = spec.basic_auth_password.reveal() if spec.basic_auth_password is not None else ""
            auth = httpx.BasicAuth(spec.basic_auth_username, password)
        extensions = {"sni_hostname": spec.tls.server_name} if spec.tls.server_name else None
        answered = False
        deadline = asyncio.timeout(spec.scrape_timeout)
        try:
            async with (
                deadline,
                httpx.AsyncClient(
                    verify=self._ssl_context(spec),
                    timeout=spec.scrape_timeout,
                    trust_env=False,  # never a proxy from the environment
                    follow_redirects=True,
                    transport=self._transport,
                ) as client,
                client.stream("GET", url, headers=headers, auth=auth, extensions=extensions) as response,
            ):
                answered = True
                scraped_at = self._clock.now()
                _check_status(response, shown)
                body = await _read_limited(response, spec.body_size_limit, shown)
                return response.headers.get("content-type", ""), body, scraped_at
        except (TimeoutError, httpx.TimeoutException) as exc:
            if isinstance(exc, TimeoutError) and not deadline.expired():
                raise
            what = "no complete answer" if answered else "no answer"
            raise CollectError(f"{what} within {spec.scrape_timeout:g}s from {shown}", cause="timeout") from exc
        except httpx.HTTPError as exc:
            raise _transport_error(exc, shown) from exc

    def _ssl_context(self, spec: ExporterCollectorSpec) -> ssl.SSLContext:
        if self._ssl is None:
            tls = spec.tls
            try:
                context = ssl.create_default_context(cafile=tls.ca_file)
                if tls.cert_file is not None:
                    context.load_cert_chain(tls.cert_file, tls.key_file)
            except (OSError, ssl.SSLError) as exc:
                where = _shown(spec.url)
                raise CollectError(f"TLS failed for {where}: cannot load the TLS files: {exc}", cause="tls") from exc
            if tls.insecure_skip_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self._ssl = context
        return self._ssl


def _shown(url: str) -> str:
    """`url` as messages show it: without its user info (`user:password@`), if any."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _check_status(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if status == httpx.codes.OK:
        return
    reason = f" {response.reason_phrase}" if response.reason_phrase else ""
    text = f"HTTP {status}{reason} from {url}"
    raise CollectError(text, cause="auth" if status in (401, 403) else "http_status")


async def _read_limited(response: httpx.Response, limit: int, url: str) -> bytes:
    """The decompressed body; CollectError `too_big` as soon as it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise CollectError(f"answer from {url} is larger than body_size_limit ({limit} bytes)", cause="too_big")
        chunks.append(chunk)
    return b"".join(chunks)


def _transport_error(exc: httpx.HTTPError, url: str) -> CollectError:
    tls = find_cause(exc, ssl.SSLError)
    if tls is not None:
        return CollectError(f"TLS failed for {url}: {_tls_detail(tls)}", cause="tls")
    if isinstance(exc, httpx.ConnectError):
        reason = os_reason(exc) or str(exc) or type(exc).__name__
        return CollectError(f"cannot connect to {url}: {reason}", cause="connect")
    if isinstance(exc, httpx.DecodingError):
        return CollectError(f"malformed answer from {url}: cannot decode the body: {exc}", cause="malformed")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.UnsupportedProtocol | httpx.TooManyRedirects):
        return CollectError(f"HTTP protocol error from {url}: {exc}", cause="protocol")
    return CollectError(f"connection to {url} failed: {exc or type(exc).__name__}", cause="network")


def _tls_detail(error: ssl.SSLError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {error.verify_message}"
    return str(error.reason or error)


class _CountedLines:
    """A text's lines (split at LF only, as the parsers' StringIO does), counted as handed out so a
    parser error can be placed."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text))
        self.number = 0
        self.line = ""

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.number += 1
        self.line = line.removesuffix("\n")
        return line


def parse_exposition(body: bytes, content_type: str, *, source: str) -> list[Metric]:
    """Parse an exposition: OpenMetrics when `content_type` says so, else the text format.

    Raises CollectError `malformed` naming `source`, the format, the line number (1-based) the
    parser was reading when it gave up and that line's text (for OpenMetrics' missing `# EOF`, the
    last line).
    """
    openmetrics = content_type.split(";", 1)[0].strip().lower() == OPENMETRICS_TYPE
    fmt = "OpenMetrics exposition" if openmetrics else "text exposition"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CollectError(
            f"malformed {fmt} from {source}: not valid UTF-8 at byte {exc.start}", cause="malformed"
        ) from exc
    lines = _CountedLines(text)
    try:
        return list(_families(lines, openmetrics=openmetrics))
    except (ValueError, IndexError, KeyError) as exc:
        message = str(exc) or "invalid line"
        raise CollectError(
            f"malformed {fmt} from {source} at line {lines.number}: {message}: {lines.line!r}", cause="malformed"
        ) from exc


def _families(lines: _CountedLines, *, openmetrics: bool) -> Iterator[Metric]:
    if openmetrics:
        parsed = cast(Iterable[Metric], openmetrics_parser.text_fd_to_metric_families(lines))  # type: ignore[no-untyped-call]
        yield from parsed
    else:
        yield from text_fd_to_metric_families(cast(TextIO, lines))


def create_exporter_collector(deps: CollectorDeps) -> ExporterCollector:
    """The registry's factory: one collector per exporter target."""
    return ExporterCollector(clock=deps.clock, metadata=deps.metadata)
