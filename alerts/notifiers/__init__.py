"""Notifiers: one module per receiver kind, one HTTP choke point (`http.post_json`), one error
contract (`alerts.model.NotifyError` with `retryable`).

`NOTIFIERS` is the one explicit map from a receiver integration's kind (`email_configs` ->
`"email"`, ...) to its factory: `NOTIFIERS[config.kind](config, deps)` gives a `Notifier`.
Retry is not here: the pipeline retries what a notifier reports as retryable.
"""

from alerts.notifiers.alertmanager import AlertmanagerNotifier, create_alertmanager_notifier
from alerts.notifiers.base import NotifierDeps, NotifierFactory, NotifierRegistry
from alerts.notifiers.config import (
    AlertmanagerConfig,
    BasicAuth,
    EmailConfig,
    HttpConfig,
    IntegrationConfig,
    ReceiverConfig,
    TlsConfig,
    WebhookConfig,
)
from alerts.notifiers.email import EmailNotifier, create_email_notifier
from alerts.notifiers.webhook import WebhookNotifier, create_webhook_notifier

NOTIFIERS: NotifierRegistry = {
    "email": create_email_notifier,
    "webhook": create_webhook_notifier,
    "alertmanager": create_alertmanager_notifier,
}

__all__ = [
    "NOTIFIERS",
    "AlertmanagerConfig",
    "AlertmanagerNotifier",
    "BasicAuth",
    "EmailConfig",
    "EmailNotifier",
    "HttpConfig",
    "IntegrationConfig",
    "NotifierDeps",
    "NotifierFactory",
    "NotifierRegistry",
    "ReceiverConfig",
    "TlsConfig",
    "WebhookConfig",
    "WebhookNotifier",
]
