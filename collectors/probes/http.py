"""The HTTP(S) probe: one request to the configured URL (its host as written), through httpx.

| metric | labels | unit / meaning |
|---|---|---|
| `probe_http_status_code` | - | the final response's status (after redirects) |
| `probe_http_redirects` | - | redirects followed |
| `probe_http_duration_seconds` | phase=resolve\\|connect\\|tls\\|processing\\|transfer | seconds, summed |
| `probe_tls_cert_expiry_seconds` | - | https: the peer (leaf) certificate's notAfter, Unix seconds |

Phases are blackbox_exporter's: `resolve` our own lookup of a host name (0 for an IP address; httpx
then looks it up again, usually from the resolver's cache), `connect` the TCP connect, `tls` the
handshake, `processing` from sending the request headers to the response headers, `transfer`
reading the body. They come from httpcore's trace events. The expiry matches blackbox's
`probe_ssl_earliest_cert_expiry` for a chain of one (Python's ssl shows only the peer's certificate).

Only the first `body_size_limit` bytes of the body are read (the rest is not downloaded) and
matched against `body_regex` / `body_regex_not`; a longer body is not a failure by itself.

Failure reasons: `dns`, `refused`, `connect`, `tls` (handshake, an untrusted or expired
certificate, a host name mismatch), `redirects` (more than `max_redirects`), `http` (a broken
HTTP answer), `http_status`, `body_match`, `timeout` (from the caller).
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from collectors.base import CollectorDeps
from collectors.probes.base import Detail, ProbeFailed, ProbeResult, detail, narrow, resolve
from collectors.probes.tls import client_context, peer_cert_expiry
from model import HttpProbeSpec, ProbeSpec
from model.errors import exception_chain

__all__ = ["PHASES", "http_probe"]

PHASES = ("resolve", "connect", "tls", "processing", "transfer")

_SPANS = {
    "connection.connect_tcp": "connect",
    "connection.start_tls": "tls",
}


@dataclass(slots=True)
class _Timings:
    """Seconds per phase, from httpcore trace events (`<name>.started` / `<name>.complete`)."""

    phases: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    open: dict[str, float] = field(default_factory=dict)
    headers_sent: float | None = None
    tls_started: bool = False
    tls_done: bool = False

    async def trace(self, event: str, info: Mapping[str, Any]) -> None:
        now = time.monotonic()
        name, _, stage = event.rpartition(".")
        if name == "connection.start_tls":
            self.tls_started = True
            self.tls_done = self.tls_done or stage == "complete"
        if name in _SPANS:
            if stage == "started":
                self.open[name] = now
            elif stage == "complete" and name in self.open:
                self.phases[_SPANS[name]] += now - self.open.pop(name)
        elif name.endswith("send_request_headers") and stage == "started":
            self.headers_sent = now
        elif name.endswith("receive_response_headers") and stage == "complete" and self.headers_sent is not None:
            self.phases["processing"] += now - self.headers_sent
            self.headers_sent = None

    def details(self) -> list[Detail]:
        return [detail("probe_http_duration_seconds", self.phases[p], phase=p) for p in PHASES]


async def http_probe(spec: ProbeSpec, address: str, deps: CollectorDeps) -> ProbeResult:
    """Request `spec.url`; check status and body. `address` (the device's) is not used: the URL's
    host is. Raises ProbeFailed (reasons in the module doc)."""
    http = narrow(spec, HttpProbeSpec)
    url = httpx.URL(http.url)
    timings = _Timings()
    started = time.monotonic()
    await resolve(url.host)
    timings.phases["resolve"] = time.monotonic() - started
    context = client_context(ca_file=http.ca_file, insecure_skip_verify=http.insecure_skip_verify)
    async with httpx.AsyncClient(
        verify=context,
        follow_redirects=http.follow_redirects,
        max_redirects=http.max_redirects,
        timeout=http.probe_timeout,
        trust_env=False,
    ) as client:
        try:
            request = client.build_request(http.method, url, headers=dict(http.headers))
            request.extensions["trace"] = timings.trace
            response = await client.send(request, stream=True)
        except httpx.HTTPError as error:
            raise _failure(error, url, timings) from error
        try:
            body, details = await _read(response, http, timings)
        finally:
            await response.aclose()
    _check(http, response.status_code, body, tuple(details))
    return ProbeResult(tuple(details))


async def _read(response: httpx.Response, spec: HttpProbeSpec, timings: _Timings) -> tuple[bytes, list[Detail]]:
    """The body up to the limit, and every detail (the certificate read before the stream closes)."""
    stream = response.extensions.get("network_stream")
    expiry = peer_cert_expiry(stream.get_extra_info("ssl_object")) if stream is not None else None
    started = time.monotonic()
    body = b""
    try:
        async for chunk in response.aiter_raw():
            body += chunk
            if len(body) >= spec.body_size_limit:
                body = body[: spec.body_size_limit]
                break
    except httpx.HTTPError as error:
        raise _failure(error, response.url, timings) from error
    timings.phases["transfer"] += time.monotonic() - started
    details = [
        detail("probe_http_status_code", float(response.status_code)),
        detail("probe_http_redirects", float(len(response.history))),
        *timings.details(),
    ]
    if expiry is not None:
        details.append(detail("probe_tls_cert_expiry_seconds", expiry))
    return body, details


def _check(spec: HttpProbeSpec, status: int, body: bytes, details: tuple[Detail, ...]) -> None:
    valid = status in spec.valid_status_codes if spec.valid_status_codes else 200 <= status <= 299
    url = str(_shown(httpx.URL(spec.url))) if "@" in spec.url else spec.url
    if not valid:
        expected = ", ".join(map(str, spec.valid_status_codes)) or "2xx"
        raise ProbeFailed("http_status", f"status {status} from {url} is not {expected}", details)
    if spec.body_regex is None and spec.body_regex_not is None:
        return
    text = body.decode(errors="replace")
    if spec.body_regex is not None and not re.search(spec.body_regex, text):
        raise ProbeFailed("body_match", f"the body of {url} does not match {spec.body_regex!r}", details)
    if spec.body_regex_not is not None and re.search(spec.body_regex_not, text):
        raise ProbeFailed("body_match", f"the body of {url} matches {spec.body_regex_not!r}", details)


def _shown(url: httpx.URL) -> httpx.URL:
    """`url` as messages show it: without its user info (`user:password@`), if any."""
    return url.copy_with(username=None, password=None) if url.userinfo else url


def _failure(error: httpx.HTTPError, url: httpx.URL, timings: _Timings) -> ProbeFailed:
    """The reason for an httpx error: the socket or TLS error underneath decides."""
    url = _shown(url)
    where = f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
    details = tuple(timings.details())
    if isinstance(error, httpx.TooManyRedirects):
        return ProbeFailed("redirects", f"{url}: {error}", details)
    if isinstance(error, httpx.TimeoutException):
        return ProbeFailed("timeout", f"{url}: {type(error).__name__}", details)
    chain = list(exception_chain(error))
    if any(isinstance(e, ssl.SSLError) for e in chain) or (timings.tls_started and not timings.tls_done):
        return ProbeFailed("tls", f"TLS with {where} failed: {_innermost(chain)}", details)
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in str(error):
        return ProbeFailed("refused", f"connection refused by {where}", details)
    if isinstance(error, httpx.ConnectError):
        return ProbeFailed("connect", f"cannot connect to {where}: {_innermost(chain)}", details)
    return ProbeFailed("http", f"{url}: {type(error).__name__}: {error}", details)


def _innermost(chain: list[BaseException]) -> str:
    return str(chain[-1]) or type(chain[-1]).__name__
