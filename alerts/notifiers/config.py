"""Receiver configs: what each notifier needs, in Alertmanager's receiver config names.

A receiver (`name`, `email_configs`, `webhook_configs`, `alertmanager_configs`) is built from a plain
dict with `ReceiverConfig.model_validate(data, context=...)`; unknown keys are errors. Durations are
Prometheus durations (`10s`) or seconds. Secrets (`auth_password`, `bearer_token`,
`basic_auth.password`) are references `env:NAME` / `file:PATH` resolved at validation against the
context's `base_dir` and `environ` (any object with those attributes, such as the config loader's
`ValidationContext`; without one: the current directory and the process environment), or
`model.Secret` values given directly.

Imports only `model/` and the leaf modules `config.durations` / `config.secrets`, so the config
loader can include these models without a cycle.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)

from config.durations import parse_duration
from config.secrets import SecretError, resolve_secret
from model import Secret

__all__ = [
    "AlertmanagerConfig",
    "BasicAuth",
    "EmailConfig",
    "HttpConfig",
    "IntegrationConfig",
    "ReceiverConfig",
    "TlsConfig",
    "WebhookConfig",
]


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a duration such as 10s, got {type(value).__name__}")
    seconds = parse_duration(value) if isinstance(value, str) else float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{value!r} must be a duration greater than 0")
    return seconds


def _secret(value: object, info: ValidationInfo) -> Secret:
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a secret reference (env:NAME or file:PATH), got {type(value).__name__}")
    base_dir = _from_context(info, "base_dir") or Path.cwd()
    environ = _from_context(info, "environ") or os.environ
    try:
        return resolve_secret(value, base_dir=Path(base_dir), environ=environ)
    except SecretError as exc:
        raise ValueError(str(exc)) from None


def _from_context(info: ValidationInfo, name: str) -> Any:
    """`name` from the validation context: a mapping's key or an object's attribute (None if absent)."""
    context = info.context
    if isinstance(context, Mapping):
        return context.get(name)
    return getattr(context, name, None)


def _http_url(url: str) -> str:
    if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
        raise ValueError(f'"{url}" is not an http:// or https:// URL')
    return url


def _smarthost(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f'"{value}" is not host:port (for example 127.0.0.1:25)')
    return value


def _address(value: str) -> str:
    if value.count("@") != 1 or value.startswith("@") or value.endswith("@") or any(c in value for c in " ,<>\r\n"):
        raise ValueError(f'"{value}" is not an email address (local@domain)')
    return value


Seconds = Annotated[float, BeforeValidator(_seconds)]
SecretRef = Annotated[Secret, BeforeValidator(_secret), PlainSerializer(lambda s: s.reference)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
EmailAddress = Annotated[str, AfterValidator(_address)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, hide_input_in_errors=True)


class TlsConfig(_Strict):
    """`tls_config`: a CA file to trust (None: the system's), a client certificate, or no checks."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False

    @model_validator(mode="after")
    def _pair(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: set both or neither")
        return self


class BasicAuth(_Strict):
    username: Annotated[str, Field(min_length=1)]
    password: SecretRef | None = None


class HttpConfig(_Strict):
    """`http_config`: how to authenticate and which TLS to trust (Prometheus' common HTTP config)."""

    bearer_token: SecretRef | None = None
    basic_auth: BasicAuth | None = None
    tls_config: TlsConfig = Field(default_factory=TlsConfig)

    @model_validator(mode="after")
    def _one_auth(self) -> HttpConfig:
        if self.bearer_token is not None and self.basic_auth is not None:
            raise ValueError("at most one of bearer_token and basic_auth can be set")
        return self


class IntegrationConfig(_Strict):
    """What every receiver integration has. `kind` is its key in `alerts.notifiers.NOTIFIERS`."""

    kind: ClassVar[str]
    send_resolved: bool = True


class EmailConfig(IntegrationConfig):
    """`email_configs` entry. `to` is one address, a comma-separated string of them (as in
    Alertmanager) or a list. `smarthost` is `host:port` (port 465: implicit TLS; otherwise STARTTLS,
    required unless `require_tls: false`). `headers` override the default From/To/Subject and may use
    the `$subject`, `$summary`, `$status`, `$receiver` variables; `text`/`html` replace the default
    bodies (same variables plus `$alerts`), an empty string leaves that part out.
    `send_resolved` defaults to false, as in Alertmanager."""

    kind: ClassVar[str] = "email"
    model_config = ConfigDict(
        extra="forbid", frozen=True, arbitrary_types_allowed=True, hide_input_in_errors=True, populate_by_name=True
    )

    send_resolved: bool = False
    to: tuple[EmailAddress, ...]
    from_: Annotated[EmailAddress, Field(alias="from")]
    smarthost: Annotated[str, AfterValidator(_smarthost)]
    hello: str = "localhost"
    auth_username: str | None = None
    auth_password: SecretRef | None = None
    require_tls: bool = True
    tls_config: TlsConfig = Field(default_factory=TlsConfig)
    headers: Mapping[str, str] = Field(default_factory=dict)
    text: str | None = None
    html: str | None = None
    timeout: Seconds = 30.0

    @field_validator("to", mode="before")
    @classmethod
    def _split_to(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(","))
        return value

    @model_validator(mode="after")
    def _check(self) -> EmailConfig:
        if not self.to:
            raise ValueError("to: at least one recipient is needed")
        if (self.auth_username is None) != (self.auth_password is None):
            raise ValueError("auth_username and auth_password go together: set both or neither")
        if self.text == "" and self.html == "":
            raise ValueError("text and html are both empty: the message would have no body")
        return self

    @property
    def host(self) -> str:
        return self.smarthost.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.smarthost.rpartition(":")[2])


class WebhookConfig(IntegrationConfig):
    """`webhook_configs` entry: POSTs Alertmanager's webhook JSON (version 4) to `url`.
    `max_alerts` 0 sends all alerts."""

    kind: ClassVar[str] = "webhook"

    url: HttpUrl
    max_alerts: Annotated[int, Field(ge=0)] = 0
    http_config: HttpConfig = Field(default_factory=HttpConfig)
    timeout: Seconds = 10.0


class AlertmanagerConfig(IntegrationConfig):
    """`alertmanager_configs` entry (ours): POSTs the alerts to `/api/v2/alerts` of every URL in
    `urls` (the base URLs of one Alertmanager cluster's members). `resend_delay` is the rule
    evaluator's resend interval: firing alerts carry `endsAt = now + 4 * resend_delay`, as Prometheus
    sends them."""

    kind: ClassVar[str] = "alertmanager"

    urls: Annotated[tuple[HttpUrl, ...], Field(min_length=1)]
    timeout: Seconds = 10.0
    resend_delay: Seconds = 60.0
    http_config: HttpConfig = Field(default_factory=HttpConfig)


class ReceiverConfig(_Strict):
    """One `alerting.receivers` entry: a name and any number of integrations of each kind."""

    name: Annotated[str, Field(min_length=1)]
    email_configs: tuple[EmailConfig, ...] = ()
    webhook_configs: tuple[WebhookConfig, ...] = ()
    alertmanager_configs: tuple[AlertmanagerConfig, ...] = ()

    def integrations(self) -> Iterator[IntegrationConfig]:
        """Every integration in config order, by kind: email, webhook, alertmanager."""
        yield from self.email_configs
        yield from self.webhook_configs
        yield from self.alertmanager_configs
