"""The audit log page's logic (issue 9): the filters as typed -> an `AuditQuery`, the entries ->
table rows, the count, the hash chain's banner and the download links. Pure functions of
`ConsoleData` and of what the user typed; the page's callbacks only call these.

Times are shown, and the filters' date-times (`2026-11-27 18:30`, `2026-11-27T18:30:05`, or a date
alone for its midnight) read, in the console's time zone (`ConsoleData.timezone`); `since` is
inclusive and `until` exclusive. The downloads are `/api/v1/audit/export` of the same filters
(dashboards/api_audit.py), every matching entry, not only the ones shown.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dash import html

from dashboards.api_audit import EXPORT_FORMATS, export_url
from dashboards.i18n import format_number, format_time, t
from dashboards.queries import ConsoleData
from security.audit import AuditEntry, AuditPage, AuditQuery, ChainBreak

__all__ = [
    "ACTION_FAMILIES",
    "COLUMNS",
    "PAGE_LIMIT",
    "AuditRow",
    "FilterError",
    "Filters",
    "Shown",
    "action_options",
    "audit_rows",
    "chain_banner",
    "chain_shown",
    "count_text",
    "details_text",
    "local_seconds",
    "shown",
    "table",
    "to_query",
]

ACTION_FAMILIES = (
    "login",
    "logout",
    "user",
    "alert",
    "silence",
    "maintenance",
    "availability",
    "view",
    "report",
    "audit",
    "authz",
    "config",
)
"""The action dropdown's prefixes, in order (catalog keys `audit.family.<name>`)."""
COLUMNS = ("time", "actor", "action", "subject", "ip", "outcome", "details")
"""The table's columns (catalog keys `audit.column.<name>`)."""
PAGE_LIMIT = 500
"""The most entries the page shows (the count says how many match in all)."""
_OWN_COLUMNS = frozenset({"ip", "outcome"})
"""Detail keys with a column of their own, left out of the details."""


@dataclass(frozen=True, slots=True)
class Filters:
    """The filters as typed ("" for none): `since` and `until` as local date-times."""

    since: str = ""
    until: str = ""
    actor: str = ""
    action: str = ""
    text: str = ""

    @classmethod
    def of(cls, since: object, until: object, actor: object, action: object, text: object) -> Filters:
        """From the inputs' values (None, or anything not a string, for empty); surrounding blanks dropped."""
        values = [v.strip() if isinstance(v, str) else "" for v in (since, until, actor, action, text)]
        return cls(*values)


class FilterError(ValueError):
    """A filter that cannot be read (`key` "audit.error.time") or an `until` before `since`
    ("audit.error.order"): `field` ("since", "until") and what was typed."""

    def __init__(self, field: str, value: str, key: str = "audit.error.time") -> None:
        super().__init__(f"{field}: {value!r} ({key})")
        self.field = field
        self.value = value
        self.key = key

    def text(self, lang: str) -> str:
        return t(self.key, lang, field=t(f"audit.filter.{self.field}", lang), value=self.value)


def local_seconds(text: str, tz: str, field: str) -> float | None:
    """A date-time typed as `2026-11-27 18:30[:05]` (or with a `T`; a date alone: its midnight) in
    time zone `tz`, or with its own offset, as Unix seconds; None for "". Raises FilterError naming
    `field`."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FilterError(field, text) from None
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(tz))).timestamp()


def to_query(filters: Filters, tz: str, limit: int = PAGE_LIMIT) -> AuditQuery:
    """The search `filters` ask for. Raises FilterError for a date-time that cannot be read, or an
    `until` before `since` (naming "until")."""
    since = local_seconds(filters.since, tz, "since")
    until = local_seconds(filters.until, tz, "until")
    if since is not None and until is not None and until < since:
        raise FilterError("until", filters.until, "audit.error.order")
    return AuditQuery(since, until, filters.actor, filters.action, filters.text, limit)


def action_options(lang: str) -> list[dict[str, str]]:
    """The action dropdown's options: each family's name and its prefix."""
    return [{"label": f"{t(f'audit.family.{f}', lang)} ({f})", "value": f} for f in ACTION_FAMILIES]


# -- rows -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditRow:
    """An entry as the table writes it: the cells of `COLUMNS`, and its outcome ("" when none)."""

    id: int
    cells: tuple[str, ...]
    outcome: str


def _value(value: object) -> str:
    """A detail's value: a string as it is unless it has blanks, `=` or quotes (then JSON), else JSON."""
    if isinstance(value, str) and value and not any(c.isspace() or c in '="' for c in value):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def details_text(detail: Mapping[str, Any]) -> str:
    """The details as compact `k=v` pairs in key order, without the keys that have a column
    (`role=admin session=0a1b2c3d4e5f reason="NTT 回線工事"`)."""
    return " ".join(f"{k}={_value(detail[k])}" for k in sorted(detail) if k not in _OWN_COLUMNS)


def _outcome(value: object, lang: str) -> str:
    if value in ("ok", "denied", "failed"):
        return t(f"audit.outcome.{value}", lang)
    return "" if value is None else str(value)


def audit_rows(entries: Iterable[AuditEntry], lang: str, tz: str) -> list[AuditRow]:
    """The table's rows, in the order given."""
    rows = []
    for e in entries:
        outcome = e.detail.get("outcome")
        cells = (
            format_time(e.at, lang, tz, seconds=True),
            e.actor,
            e.action,
            e.subject,
            str(e.detail.get("ip", "")),
            _outcome(outcome, lang),
            details_text(e.detail),
        )
        rows.append(AuditRow(e.id, cells, outcome if isinstance(outcome, str) else ""))
    return rows


def count_text(page: AuditPage, lang: str) -> str:
    """ "N of M shown"."""
    return t("audit.count", lang, shown=format_number(len(page.entries), lang), total=format_number(page.total, lang))


def chain_banner(found: ChainBreak | None, lang: str) -> tuple[str, str]:
    """(text, CSS class) of the banner: the chain is intact, or the first entry that breaks it."""
    if found is None:
        return t("audit.chain.ok", lang), "audit-chain audit-chain-ok"
    if found.next is not None:
        return t("audit.chain.missing", lang, entry=found.entry, next=found.next), "audit-chain audit-chain-broken"
    return t("audit.chain.changed", lang, entry=found.entry), "audit-chain audit-chain-broken"


def table(rows: list[AuditRow], lang: str) -> html.Table | html.P:
    if not rows:
        return html.P(t("audit.empty", lang), className="audit-empty")
    head = html.Thead(html.Tr([html.Th(t(f"audit.column.{c}", lang)) for c in COLUMNS]))
    body = html.Tbody(
        [
            html.Tr(
                [html.Td(cell, className=f"audit-{column}") for column, cell in zip(COLUMNS, row.cells, strict=True)],
                className=f"audit-row audit-outcome-{row.outcome}" if row.outcome else "audit-row",
            )
            for row in rows
        ]
    )
    return html.Table([head, body], className="audit-table")


# -- the page -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Shown:
    """What the page shows for its filters: the table (or why there is none), the count, the
    download links (by format) and whether they are shown."""

    body: Any
    count: str
    links: Mapping[str, str]
    exports: bool


def shown(data: ConsoleData, filters: Filters, lang: str) -> Shown:
    """The page's body for `filters`: the table of the newest `PAGE_LIMIT` entries, an error
    naming the filter that cannot be read, or a note when the console keeps no audit log."""
    none = {fmt: "" for fmt in EXPORT_FORMATS}
    try:
        query = to_query(filters, data.timezone)
    except FilterError as e:
        return Shown(html.P(e.text(lang), className="audit-error"), "", none, False)
    try:
        page = data.audit_entries(query)
    except LookupError:
        return Shown(html.P(t("audit.none", lang), className="audit-none"), "", none, False)
    links = {fmt: export_url(query, fmt) for fmt in EXPORT_FORMATS}
    return Shown(table(audit_rows(page.entries, lang, data.timezone), lang), count_text(page, lang), links, True)


def chain_shown(data: ConsoleData, lang: str) -> tuple[str, str]:
    """The banner of the console's audit log (a note when it keeps none)."""
    try:
        return chain_banner(data.audit_check(), lang)
    except LookupError:
        return t("audit.none", lang), "audit-chain audit-chain-none"
