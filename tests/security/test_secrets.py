"""security/secrets.py: the redacting log filter and the secret values of a loaded config; and that no
secret shows in the reprs of config objects or in config error messages (canaries: tests/security/canaries.py)."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

import config
from alerts.notifiers import NOTIFIERS, EmailConfig, NotifierDeps, WebhookConfig
from alerts.notifiers.config import AlertmanagerConfig
from collectors.snmp import snmp_auth
from config.schema import SnmpCollectorSettings
from model import FakeClock, Secret, SnmpCollectorSpec
from security.secrets import (
    SECRET_MARKER,
    RedactingFilter,
    install_redaction,
    redact,
    secret_values,
)
from tests.security import canaries
from tests.security.canaries import AUTH_KEY, COMMUNITY, PRIV_KEY, SMTP_PASSWORD, leaked

Install = Callable[[Iterable[str]], RedactingFilter]


@pytest.fixture
def redaction() -> Iterator[Install]:
    """`install(values)`: install_redaction over `values` (call it in the test, where caplog's handler
    is on the root logger); every RedactingFilter is taken off the root's handlers afterwards."""
    installed: list[RedactingFilter] = []

    def install(values: Iterable[str]) -> RedactingFilter:
        kept = set(values)
        installed.append(install_redaction(lambda: kept))
        return installed[-1]

    yield install
    for handler in logging.getLogger().handlers:
        for redacting in installed:
            handler.removeFilter(redacting)


def logger_into(stream: io.StringIO, values: Iterable[str], name: str) -> logging.Logger:
    """A logger of its own writing `%(message)s` lines to `stream` through a RedactingFilter."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    kept = list(values)
    handler.addFilter(RedactingFilter(lambda: kept))
    logger = logging.getLogger(f"tests.security.{name}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def test_redact_replaces_every_occurrence_longest_value_first_and_leaves_short_values() -> None:
    text = f"{COMMUNITY} then {COMMUNITY}-west and abc and {AUTH_KEY}"

    assert redact(text, [COMMUNITY, f"{COMMUNITY}-west", "abc", AUTH_KEY]) == (
        "<secret> then <secret> and abc and <secret>"
    )
    assert redact(text, []) == text
    assert SECRET_MARKER == "<secret>"


def test_filter_redacts_the_formatted_message_and_the_exception_text() -> None:
    stream = io.StringIO()
    logger = logger_into(stream, [AUTH_KEY, PRIV_KEY], "message")

    try:
        raise ValueError(f"key {PRIV_KEY} refused")
    except ValueError:
        logger.exception("login with %s failed", AUTH_KEY)

    lines = stream.getvalue().splitlines()
    assert lines[0] == "login with <secret> failed"
    assert lines[1] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: key <secret> refused"
    assert leaked(stream.getvalue()) == []


def test_filter_keeps_a_record_whose_arguments_do_not_fit_without_its_arguments() -> None:
    stream = io.StringIO()
    logger = logger_into(stream, [COMMUNITY], "misfit")

    logger.warning("community %s for %s", COMMUNITY)  # noqa: PLE1206 - the mistake under test

    assert stream.getvalue() == "community %s for %s (its arguments are not shown: they do not fit the message)\n"


def test_filter_follows_its_values_provider_as_the_values_change() -> None:
    stream = io.StringIO()
    values = [COMMUNITY]
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(lambda: values))
    logger = logging.getLogger("tests.security.reload")
    logger.handlers[:] = [handler]
    logger.propagate = False

    logger.warning("%s %s", COMMUNITY, AUTH_KEY)
    values.append(AUTH_KEY)  # a reload brought a new secret
    logger.warning("%s %s", COMMUNITY, AUTH_KEY)

    assert stream.getvalue() == f"<secret> {AUTH_KEY}\n<secret> <secret>\n"


def test_install_redaction_covers_every_root_handler_once_however_often_it_is_called(
    caplog: pytest.LogCaptureFixture, redaction: Install
) -> None:
    redaction([COMMUNITY])
    latest = redaction([COMMUNITY, SMTP_PASSWORD])

    logging.getLogger("some.library").warning("sent %s and %s", COMMUNITY, SMTP_PASSWORD)

    for handler in logging.getLogger().handlers:
        assert [f for f in handler.filters if isinstance(f, RedactingFilter)] == [latest]
    assert [r.getMessage() for r in caplog.records] == ["sent <secret> and <secret>"]
    assert leaked(caplog.text) == []


def test_secret_values_of_a_loaded_config_are_every_canary_and_a_credential_header_as_written(
    tmp_path: Path,
) -> None:
    values = secret_values(canaries.load(tmp_path))

    assert values == {*canaries.CANARIES, f"Bearer {canaries.PROBE_HEADER_TOKEN}"}


class _FutureSettings(BaseModel):
    """A settings model with secrets in places no setting has yet."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    tokens: tuple[Secret, ...]
    by_site: dict[str, list[Secret]]
    nested: _FutureNested | None = None


@dataclass(frozen=True)
class _FutureNested:
    key: Secret


_FutureSettings.model_rebuild()


def test_secret_values_finds_secrets_anywhere_in_nested_models_dataclasses_lists_and_dicts() -> None:
    settings = _FutureSettings(
        tokens=(Secret("token-one", reference="env:ONE"),),
        by_site={"dc-east": [Secret("token-east", reference="env:EAST")]},
        nested=_FutureNested(Secret("token-nested", reference="file:nested")),
    )

    assert secret_values(settings) == {"token-one", "token-east", "token-nested"}  # type: ignore[arg-type]


def test_reprs_of_the_loaded_config_and_what_is_built_from_it_show_references_not_secrets(tmp_path: Path) -> None:
    loaded = canaries.load(tmp_path)
    [v2c_spec, v3_spec] = [
        spec for device in loaded.inventory.devices for spec in device.collectors if isinstance(spec, SnmpCollectorSpec)
    ]

    texts = [repr(loaded), str(loaded), repr(loaded.document), repr(loaded.inventory), repr(loaded.alerting)]
    texts += [repr(snmp_auth(v2c_spec)), repr(snmp_auth(v3_spec)), str(loaded.document.model_dump())]  # type: ignore[union-attr]

    assert [leaked(text, canaries.RESOLVED) for text in texts] == [[]] * len(texts)
    assert "Secret('env:SNMP_AUTH')" in repr(loaded)
    assert repr(snmp_auth(v3_spec)) == "UsmUser(user='monitor', auth_protocol='sha256', priv_protocol='aes256')"
    assert repr(snmp_auth(v2c_spec)) == "Community(version='2c', community=<hidden>)"


def test_notifier_reprs_leave_out_the_password_of_their_url() -> None:
    deps = NotifierDeps(clock=FakeClock(0.0))
    url = f"http://hook:{canaries.WEBHOOK_URL_PASSWORD}@127.0.0.1:9000/hook"
    webhook = NOTIFIERS["webhook"](WebhookConfig(url=url), deps)
    alertmanager = NOTIFIERS["alertmanager"](AlertmanagerConfig(urls=(url,)), deps)

    assert repr(webhook) == "WebhookNotifier('http://127.0.0.1:9000/hook')"
    assert repr(alertmanager) == "AlertmanagerNotifier(['http://127.0.0.1:9000/hook'])"


@pytest.mark.parametrize(
    ("setting", "line", "path"),
    [
        (f"console: {{metrics_token: {canaries.METRICS_TOKEN}}}\ndevices: []\n", 1, "console.metrics_token"),
        (f"devices: [{{name: r1, site: s, system: y, role: router, address: 127.0.0.1, collectors: {{snmp: {{community: {COMMUNITY}}}}}}}]\n", 1, "devices[0].collectors.snmp.community"),  # noqa: E501
        (f"devices: []\nalerting:\n  route: {{receiver: r}}\n  receivers:\n    - name: r\n      email_configs: [{{to: a@b.c, from: a@b.c, smarthost: 127.0.0.1:25, auth_username: u, auth_password: {SMTP_PASSWORD}}}]\n", 6, "alerting.receivers[0].email_configs[0].auth_password"),  # noqa: E501
    ],
    ids=["metrics_token", "community", "auth_password"],
)  # fmt: skip
def test_a_secret_written_where_its_reference_belongs_is_reported_without_its_value(
    setting: str, line: int, path: str
) -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.load(setting, source="console.yaml", environ={})

    assert str(caught.value) == (
        f"console.yaml:{line}: {path}: is not a secret reference (use env:NAME or file:PATH); the value is not shown"
    )


def test_pydantic_validation_errors_of_secret_settings_do_not_quote_the_input() -> None:
    with pytest.raises(ValidationError) as snmp:
        SnmpCollectorSettings.model_validate({"community": COMMUNITY, "port": AUTH_KEY})
    with pytest.raises(ValidationError) as email:
        EmailConfig.model_validate(
            {"to": "a@b.c", "from": "a@b.c", "smarthost": "h:25", "auth_username": "u", "auth_password": SMTP_PASSWORD}
        )

    assert leaked(str(snmp.value)) == []
    assert leaked(repr(snmp.value)) == []
    assert leaked(str(email.value)) == []
    assert [e["loc"] for e in snmp.value.errors()] == [("port",), ("community",)]


def test_an_unset_or_unreadable_secret_is_reported_by_its_reference(tmp_path: Path) -> None:
    (tmp_path / "community").write_bytes(b"\xffcanary-community-7f3a")
    text = (
        "devices:\n"
        "  - {name: r1, site: s, system: y, role: router, address: 127.0.0.1,"
        " collectors: {snmp: {version: 3, user: u, auth: {protocol: sha, key: env:SNMP_AUTH}}}}\n"
        "  - {name: r2, site: s, system: y, role: router, address: 127.0.0.1,"
        " collectors: {snmp: {community: file:community}}}\n"
    )

    with pytest.raises(config.ConfigError) as caught:
        config.load(text, source="console.yaml", base_dir=tmp_path, environ={"SNMP_AUTH": ""})

    messages = [f"{p.path}: {p.message}" for p in caught.value.problems]
    assert "devices[0].collectors.snmp.auth.key: environment variable SNMP_AUTH is empty" in messages
    assert (
        f"devices[1].collectors.snmp.community: cannot read secret file {tmp_path / 'community'}: not valid UTF-8"
        in (messages)
    )
    assert leaked(str(caught.value)) == []
