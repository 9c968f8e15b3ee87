"""The email notifier: one multipart/alternative message (text + HTML) per notification over SMTP.

The message: `From`, `To` (all recipients), `Subject` (Alertmanager's default subject, or the
`Subject` header of the config), `Date` (the injected clock), `Message-ID`, then the config's
headers. Headers are written as RFC 5322 with non-ASCII text as RFC 2047 UTF-8 encoded words
(Japanese subjects decode exactly); bodies are UTF-8, quoted-printable.

SMTP (stdlib smtplib, in a worker thread): port 465 is implicit TLS; otherwise, with `require_tls`
(the default, as in Alertmanager) the server must offer STARTTLS and the session is upgraded
before AUTH; with `require_tls: false` the session stays plain (for local relays), and a password
is only sent in the clear to a loopback host (as Go's net/smtp does). AUTH uses the best mechanism
both sides have (CRAM-MD5, PLAIN, LOGIN). `timeout` bounds each SMTP step (connect, each
command); a caller that cancels `notify` stops waiting, but the worker thread finishes that step.

Failures raise `NotifyError` naming the smarthost:

| failure                                          | retryable |
|--------------------------------------------------|-----------|
| cannot connect, timeout, connection dropped      | yes       |
| TLS handshake or certificate verification failed | yes       |
| a 4xx reply (greylisting, mailbox busy, 454 auth) | yes      |
| a 5xx reply (535 bad credentials, 550 recipient) | no        |
| STARTTLS not offered with `require_tls`          | no        |
| AUTH not offered, password refused over plain    | no        |
"""

from __future__ import annotations

import asyncio
import ipaddress
import smtplib
import ssl
import uuid
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from alerts.model import Notification, NotifyError
from alerts.notifiers.base import NotifierDeps
from alerts.notifiers.config import EmailConfig, IntegrationConfig
from alerts.notifiers.data import for_receiver
from alerts.notifiers.http import tls_context
from alerts.notifiers.templates import expand, html_body, template_vars, text_body
from model import Clock

__all__ = ["EmailNotifier", "build_message", "create_email_notifier"]

IMPLICIT_TLS_PORT = 465


class EmailNotifier:
    """Sends each notification as one email to all of the config's recipients."""

    def __init__(self, config: EmailConfig, *, clock: Clock) -> None:
        self._config = config
        self._clock = clock

    async def notify(self, notification: Notification) -> None:
        sent = for_receiver(notification, send_resolved=self._config.send_resolved)
        if sent is None:
            return
        message = build_message(sent, self._config, now=self._clock.now())
        await asyncio.to_thread(_deliver, self._config, message)

    def __repr__(self) -> str:
        return f"EmailNotifier({self._config.smarthost!r}, to={list(self._config.to)!r})"


def build_message(notification: Notification, config: EmailConfig, *, now: float) -> EmailMessage:
    """The message for `notification` (its bytes: `message.as_bytes()`, SMTP line endings)."""
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = config.from_
    message["To"] = ", ".join(config.to)
    variables = template_vars(notification)
    message["Subject"] = variables["subject"]
    message["Date"] = format_datetime(datetime.fromtimestamp(now, tz=UTC))
    message["Message-ID"] = f"<{uuid.uuid4().hex}@{config.hello}>"
    for name, template in config.headers.items():
        # An annotation may hold a line break: never let it start a header of its own.
        value = " ".join(expand(template, variables).splitlines())
        del message[name]
        message[name] = value
    text = text_body(notification, config.text)
    html = html_body(notification, config.html)
    if text is not None:
        message.set_content(text, cte="quoted-printable")
        if html is not None:
            message.add_alternative(html, subtype="html", cte="quoted-printable")
    elif html is not None:
        message.set_content(html, subtype="html", cte="quoted-printable")
    return message


def _deliver(config: EmailConfig, message: EmailMessage) -> None:
    """Send `message` to all recipients (blocking: run in a worker thread). Raises NotifyError."""
    where = config.smarthost
    try:
        smtp = _connect(config)
    except NotifyError:
        raise
    except (OSError, smtplib.SMTPException) as exc:
        raise _error(exc, f"cannot connect to smarthost {where}") from exc
    try:
        with smtp:
            _secure_and_login(smtp, config)
            refused = smtp.send_message(message, from_addr=config.from_, to_addrs=list(config.to))
    except NotifyError:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        raise _refused(exc.recipients, where) from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise _error(exc, f"sending to smarthost {where} failed") from exc
    if refused:
        raise _refused(refused, where)


def _connect(config: EmailConfig) -> smtplib.SMTP:
    if config.port == IMPLICIT_TLS_PORT:
        return smtplib.SMTP_SSL(
            config.host,
            config.port,
            local_hostname=config.hello,
            timeout=config.timeout,
            context=tls_context(config.tls_config),
        )
    return smtplib.SMTP(config.host, config.port, local_hostname=config.hello, timeout=config.timeout)


def _secure_and_login(smtp: smtplib.SMTP, config: EmailConfig) -> None:
    where = config.smarthost
    smtp.ehlo()
    encrypted = isinstance(smtp, smtplib.SMTP_SSL)
    if not encrypted and config.require_tls:
        if not smtp.has_extn("starttls"):
            raise NotifyError(f"smarthost {where} does not offer STARTTLS and require_tls is true", retryable=False)
        smtp.starttls(context=tls_context(config.tls_config))
        smtp.ehlo()
        encrypted = True
    if config.auth_username is None or config.auth_password is None:
        return
    if not encrypted and not _loopback(config.host):
        raise NotifyError(
            f"refusing to send the password for {config.auth_username} unencrypted to {where} "
            "(set require_tls: true or use a relay on this host)",
            retryable=False,
        )
    if not smtp.has_extn("auth"):
        raise NotifyError(f"smarthost {where} does not offer AUTH (auth_username is set)", retryable=False)
    try:
        smtp.login(config.auth_username, config.auth_password.reveal())
    except smtplib.SMTPResponseException as exc:
        raise _error(exc, f"authentication as {config.auth_username} at {where} failed") from exc


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _error(exc: BaseException, what: str) -> NotifyError:
    """A NotifyError for an SMTP or socket failure: a 5xx reply is permanent, anything else is not."""
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return NotifyError(f"{what}: {exc.smtp_code} {' '.join(reply.split())}", retryable=exc.smtp_code < 500)
    return NotifyError(f"{what}: {_reason(exc)}", retryable=not isinstance(exc, smtplib.SMTPNotSupportedError))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verify failed: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, TimeoutError):
        return "no answer within the timeout"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _refused(recipients: dict[str, tuple[int, bytes]], where: str) -> NotifyError:
    details = ", ".join(
        f"{address} ({code} {' '.join(reply.decode('utf-8', 'replace').split())})"
        for address, (code, reply) in recipients.items()
    )
    permanent = all(code >= 500 for code, _ in recipients.values())
    return NotifyError(f"smarthost {where} refused recipients: {details}", retryable=not permanent)


def create_email_notifier(config: IntegrationConfig, deps: NotifierDeps) -> EmailNotifier:
    """The registry's factory."""
    if not isinstance(config, EmailConfig):
        raise TypeError(f"the email notifier needs an EmailConfig, got {type(config).__name__}")
    return EmailNotifier(config, clock=deps.clock)
