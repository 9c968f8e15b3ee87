"""The one HTTP choke point of the notifiers: `post_json`.

Every notifier that speaks HTTP sends through here, so timeouts, TLS, authentication, proxies
(never: `trust_env=False`) and the error contract are decided once. A new `httpx.AsyncClient` is made
for each send inside the running loop and closed with it.

Failures raise `NotifyError` naming the URL (`shown_url`: without its user info, which may hold a password):

| failure                                   | retryable | message                                           |
|-------------------------------------------|-----------|---------------------------------------------------|
| no (complete) answer within `timeout`     | yes       | `no answer within 5s from URL`                    |
| connection refused / unreachable          | yes       | `cannot connect to URL: Connection refused`       |
| TLS handshake or verification failed      | yes       | `TLS failed for URL: certificate verify failed: ...` |
| connection broken, protocol error         | yes       | `connection to URL failed: ...`                   |
| HTTP 429, 5xx                             | yes       | `HTTP 503 Service Unavailable from URL: <body>`   |
| HTTP 3xx, other 4xx                       | no        | `HTTP 400 Bad Request from URL: <body>`           |

`<body>` is the first `SNIPPET_CHARS` characters of the answer, whitespace collapsed, with our own
credentials (should the answer quote them) as `<secret>`. TLS failures are retryable as Alertmanager
treats them: the server's certificate may be fixed while we wait.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.parse
from collections.abc import Mapping

import httpx

from alerts.model import NotifyError
from alerts.notifiers.config import HttpConfig, TlsConfig
from model.errors import find_cause, os_reason

__all__ = ["SNIPPET_CHARS", "USER_AGENT", "post_json", "request_settings", "shown_url", "tls_context"]

USER_AGENT = "ops-console"
SNIPPET_CHARS = 200
"""How much of an error answer's body goes into the message."""
_READ_LIMIT = 4096


JsonValue = object


async def post_json(
    url: str,
    payload: JsonValue,
    *,
    timeout: float,
    headers: Mapping[str, str] | None = None,
    http_config: HttpConfig | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """POST `payload` as UTF-8 JSON to `url`; return when the answer is 2xx.

    `timeout` (seconds) bounds the whole exchange. `http_config` gives the bearer token or basic
    auth and the TLS settings. `transport` replaces httpx's network transport (tests).
    Raises NotifyError (see the module's table).
    """
    config = http_config or HttpConfig()
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    sent_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
    auth, extensions, verify = request_settings(config, url, sent_headers)
    deadline = asyncio.timeout(timeout)
    try:
        async with (
            deadline,
            httpx.AsyncClient(verify=verify, timeout=timeout, trust_env=False, transport=transport) as client,
            client.stream(
                "POST", url, content=body, headers=sent_headers, auth=auth, extensions=extensions
            ) as response,
        ):
            if 200 <= response.status_code < 300:
                return
            snippet = await _snippet(response, hidden=_credentials(config, url))
            raise _status_error(response, shown_url(url), snippet)
    except (TimeoutError, httpx.TimeoutException) as exc:
        if isinstance(exc, TimeoutError) and not deadline.expired():
            raise
        raise NotifyError(f"no answer within {timeout:g}s from {shown_url(url)}", retryable=True) from exc
    except httpx.HTTPError as exc:
        raise _transport_error(exc, shown_url(url)) from exc


def shown_url(url: str) -> str:
    """`url` as messages and reprs show it: without its user info (`user:password@`), if any."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def request_settings(
    config: HttpConfig, url: str, headers: dict[str, str]
) -> tuple[httpx.BasicAuth | None, dict[str, str] | None, ssl.SSLContext | bool]:
    """A request's authentication (a bearer token goes into `headers`), SNI and TLS verification from
    `config`: what `post_json` and the Alertmanager client send."""
    if config.bearer_token is not None:
        headers["Authorization"] = f"Bearer {config.bearer_token.reveal()}"
    auth = None
    if config.basic_auth is not None:
        password = config.basic_auth.password.reveal() if config.basic_auth.password is not None else ""
        auth = httpx.BasicAuth(config.basic_auth.username, password)
    tls = config.tls_config
    extensions = {"sni_hostname": tls.server_name} if tls.server_name else None
    return auth, extensions, tls_context(tls) if url.startswith("https://") else True


def tls_context(tls: TlsConfig) -> ssl.SSLContext:
    """The client TLS context for `tls`. Raises NotifyError (not retryable) when its files cannot be
    loaded: that needs a config change."""
    try:
        context = ssl.create_default_context(cafile=str(tls.ca_file) if tls.ca_file else None)
        if tls.cert_file is not None:
            context.load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise NotifyError(f"cannot load the TLS files: {exc}", retryable=False) from exc
    if tls.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _credentials(config: HttpConfig, url: str) -> list[str]:
    """What an answer must not repeat in a message: an error page may quote the request it got."""
    secrets = (config.bearer_token, config.basic_auth.password if config.basic_auth else None)
    values = [secret.reveal() for secret in secrets if secret is not None]
    return [*values, urllib.parse.urlsplit(url).password or ""]


async def _snippet(response: httpx.Response, *, hidden: list[str]) -> str:
    """The start of the answer's body, whitespace collapsed, every `hidden` value as `<secret>`
    (security.secrets.SECRET_MARKER: alerts/ does not import security/)."""
    raw = b""
    try:
        async for chunk in response.aiter_bytes():
            raw += chunk
            if len(raw) >= _READ_LIMIT:
                break
    except httpx.HTTPError:
        pass  # the status is the news; a body cut short still says what it can
    text = " ".join(raw.decode("utf-8", errors="replace").split())
    for value in sorted((v for v in hidden if v), key=len, reverse=True):
        text = text.replace(value, "<secret>")
    if len(text) > SNIPPET_CHARS:
        return text[:SNIPPET_CHARS] + "…"
    return text


def _status_error(response: httpx.Response, url: str, snippet: str) -> NotifyError:
    status = response.status_code
    reason = f" {response.reason_phrase}" if response.reason_phrase else ""
    message = f"HTTP {status}{reason} from {url}"
    if snippet:
        message += f": {snippet}"
    retryable = status == httpx.codes.TOO_MANY_REQUESTS or status >= 500
    return NotifyError(message, retryable=retryable)


def _transport_error(exc: httpx.HTTPError, url: str) -> NotifyError:
    tls = find_cause(exc, ssl.SSLError)
    if tls is not None:
        detail = (
            f"certificate verify failed: {tls.verify_message}"
            if isinstance(tls, ssl.SSLCertVerificationError)
            else str(tls.reason or tls)
        )
        return NotifyError(f"TLS failed for {url}: {detail}", retryable=True)
    if isinstance(exc, httpx.ConnectError):
        reason = os_reason(exc) or str(exc) or type(exc).__name__
        return NotifyError(f"cannot connect to {url}: {reason}", retryable=True)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return NotifyError(f"cannot send to {url}: {exc}", retryable=False)
    return NotifyError(f"connection to {url} failed: {exc or type(exc).__name__}", retryable=True)
