"""The default email bodies (plain text and HTML) and the `$variable` templates users may set.

The default bodies list the firing alerts, then the resolved ones, each with its labels,
annotations (Japanese text kept as is), start time (RFC 3339, UTC), end time if resolved and its
source URL. User templates are `string.Template` text: every common annotation by its name
(`$summary`, `$summary_ja`, `$description`; `$summary` is "" when the alerts' summaries differ),
`$subject`, `$status` (`firing` / `resolved`), `$receiver`, `$external_url` and, in bodies,
`$alerts` (the default rendering of the alerts in that part's format). Unknown `$names` are left
as written.
"""

from __future__ import annotations

import html
import string
from collections.abc import Mapping

from alerts.model import Alert, Notification
from alerts.notifiers.data import default_subject, rfc3339, starts_at

__all__ = ["alerts_html", "alerts_text", "expand", "html_body", "template_vars", "text_body"]


def template_vars(notification: Notification) -> dict[str, str]:
    """The variables every template of `notification` can use (not `$alerts`): every common
    annotation by its name (`$summary_ja`, `$description`), then the fixed ones."""
    return {
        **{name: value for name, value in notification.common_annotations.pairs if name.isidentifier()},
        "subject": default_subject(notification),
        "summary": notification.common_annotations.get("summary", ""),
        "status": notification.status,
        "receiver": notification.receiver,
        "external_url": notification.external_url,
    }


def expand(template: str, variables: Mapping[str, str]) -> str:
    """`template` with its `$names` replaced (unknown ones kept)."""
    return string.Template(template).safe_substitute(variables)


def _sections(notification: Notification) -> list[tuple[str, list[Alert]]]:
    firing = [a for a in notification.alerts if not a.resolved]
    resolved = [a for a in notification.alerts if a.resolved]
    return [(title, alerts) for title, alerts in (("Firing", firing), ("Resolved", resolved)) if alerts]


def alerts_text(notification: Notification) -> str:
    """The alerts as plain text."""
    lines: list[str] = []
    for title, alerts in _sections(notification):
        lines.append(f"{title} ({len(alerts)})")
        for alert in alerts:
            lines.append("")
            lines.append("Labels:")
            lines.extend(f"  {name} = {value}" for name, value in alert.labels.pairs)
            if alert.annotations:
                lines.append("Annotations:")
                lines.extend(f"  {name} = {value}" for name, value in alert.annotations.pairs)
            lines.append(f"Started: {rfc3339(starts_at(alert))}")
            if alert.resolved_at is not None:
                lines.append(f"Resolved: {rfc3339(alert.resolved_at)}")
            if alert.generator_url:
                lines.append(f"Source: {alert.generator_url}")
        lines.append("")
    return "\n".join(lines)


def alerts_html(notification: Notification) -> str:
    """The alerts as an HTML fragment (every value escaped)."""
    parts: list[str] = []
    for title, alerts in _sections(notification):
        parts.append(f"<h2>{title} ({len(alerts)})</h2>")
        for alert in alerts:
            rows = [_row("Labels", alert.labels.pairs)]
            if alert.annotations:
                rows.append(_row("Annotations", alert.annotations.pairs))
            rows.append(f"<tr><th>Started</th><td>{rfc3339(starts_at(alert))}</td></tr>")
            if alert.resolved_at is not None:
                rows.append(f"<tr><th>Resolved</th><td>{rfc3339(alert.resolved_at)}</td></tr>")
            if alert.generator_url:
                url = html.escape(alert.generator_url)
                rows.append(f'<tr><th>Source</th><td><a href="{url}">{url}</a></td></tr>')
            parts.append("<table>" + "".join(rows) + "</table>")
    return "\n".join(parts)


def _row(title: str, pairs: tuple[tuple[str, str], ...]) -> str:
    items = "".join(f"<li>{html.escape(name)} = {html.escape(value)}</li>" for name, value in pairs)
    return f"<tr><th>{title}</th><td><ul>{items}</ul></td></tr>"


def text_body(notification: Notification, template: str | None) -> str | None:
    """The plain-text part: the default, `template` expanded, or None when `template` is empty."""
    if template == "":
        return None
    variables = template_vars(notification)
    alerts = alerts_text(notification)
    if template is None:
        link = f"\nConsole: {notification.external_url}\n" if notification.external_url else ""
        return f"{variables['subject']}\n\n{alerts}{link}"
    return expand(template, {**variables, "alerts": alerts})


def html_body(notification: Notification, template: str | None) -> str | None:
    """The HTML part: the default, `template` expanded, or None when `template` is empty."""
    if template == "":
        return None
    variables = template_vars(notification)
    alerts = alerts_html(notification)
    if template is None:
        title = html.escape(variables["subject"])
        link = ""
        if notification.external_url:
            url = html.escape(notification.external_url)
            link = f'<p><a href="{url}">{url}</a></p>'
        return (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
            f"{title}</title></head><body>\n<h1>{title}</h1>\n{alerts}\n{link}</body></html>\n"
        )
    escaped = {name: html.escape(value) for name, value in variables.items()}
    return expand(template, {**escaped, "alerts": alerts})
