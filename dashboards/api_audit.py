"""The audit log API (issue 9): search the log and export it, for administrators.

    GET /api/v1/audit[?since=T&until=T&actor=NAME&action=PREFIX&text=TEXT&limit=N]
            {"entries": [entry, ... newest first], "total": M (how many match), "chain": {"intact",
             "brokenAt", "problem"}}; `limit` 0 to 10000, 500 when not given
    GET /api/v1/audit/export?format=csv|json[&since=T&until=T&actor=NAME&action=PREFIX&text=TEXT]
            every matching entry (at most 100000: narrow the filter beyond), oldest first, as a file
            `audit-20261127T093000Z.csv` (or .json; the time of the export, UTC)

T is an RFC 3339 time (with its offset) or Unix seconds; `since` is inclusive, `until` exclusive;
`action` a prefix ("view" finds "view.device"); `text` is looked for in the subject and the
details (security/audit.py `AuditQuery`). An entry is {"id", "time" (RFC 3339 UTC), "at" (Unix
seconds, as hashed), "actor", "action", "subject", "ip", "session", "outcome" (null when the entry
has none), "detail", "prev", "hash"}.

The CSV (UTF-8 with a BOM, for Excel, as the availability exports) has the columns of
`CSV_COLUMNS`; with `at`, `detail` (the JSON text as hashed) and `prev` a copy can be checked
without the console: each `hash` is the SHA-256 of
`json.dumps([prev, id, at, actor, action, subject, detail], ensure_ascii=False)` with `at` the
column's text, and each `prev` the previous entry's `hash` (security/audit.py).

After each export `record_export("audit.export", {filters, "format", "rows"})` is called (the
console records it in the audit log). Answers and errors as the alerting API
(dashboards/api_alerts.py); 503 when the console keeps no audit log. No authentication here: the
console's guard runs before every /api/v1 route.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import flask

from dashboards.api_alerts import AlertsApiError, error_response, json_response, rfc3339, time_field
from security.audit import AuditEntry, AuditLog, AuditQuery, ChainBreak, detail_text

__all__ = [
    "CSV_COLUMNS",
    "EXPORT_FORMATS",
    "EXPORT_LIMIT",
    "EXPORT_PATH",
    "LIMIT_MAX",
    "audit_blueprint",
    "chain_json",
    "entry_json",
    "export_csv",
    "export_url",
    "parse_query",
]

EXPORT_FORMATS = ("csv", "json")
EXPORT_PATH = "/api/v1/audit/export"
LIMIT_DEFAULT = 500
LIMIT_MAX = 10_000
"""The most entries `GET /api/v1/audit` answers with."""
EXPORT_LIMIT = 100_000
"""The most entries an export holds; a filter matching more is refused (never cut short)."""
CSV_COLUMNS = ("id", "time", "at", "actor", "action", "subject", "ip", "session", "outcome", "detail", "prev", "hash")
_FILTERS = ("since", "until", "actor", "action", "text")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


# -- parameters -----------------------------------------------------------------------------------


def _time(args: Mapping[str, str], key: str) -> float | None:
    value = args.get(key, "").strip()
    if not value:
        return None
    if not _NUMBER.match(value):
        return time_field(value, key)
    try:
        return time_field(float(value), key)
    except AlertsApiError:  # too far out: say it as it was typed
        raise AlertsApiError("bad_data", f"{key}: {value!r} is not an RFC 3339 time or Unix seconds") from None


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return LIMIT_DEFAULT
    if not value.isdigit() or int(value) > LIMIT_MAX:
        raise AlertsApiError("bad_data", f"limit must be a whole number from 0 to {LIMIT_MAX}, not {value!r}")
    return int(value)


def parse_query(args: Mapping[str, str], limit: int) -> AuditQuery:
    """The query of the request's parameters (module docstring). Raises AlertsApiError (bad_data)
    for a time that cannot be read or an `until` before `since`."""
    since, until = _time(args, "since"), _time(args, "until")
    if since is not None and until is not None and until < since:
        raise AlertsApiError("bad_data", "until must not be before since")
    return AuditQuery(since, until, args.get("actor", ""), args.get("action", ""), args.get("text", ""), limit)


def _time_param(t: float | None) -> str | None:
    """`t` as RFC 3339 when that keeps it exactly (whole milliseconds), else as Unix seconds."""
    if t is None:
        return None
    return rfc3339(t) if round(t * 1000) / 1000 == t else repr(t)


def _filters(query: AuditQuery) -> dict[str, str | None]:
    return {
        "since": _time_param(query.since),
        "until": _time_param(query.until),
        "actor": query.actor,
        "action": query.action,
        "text": query.text,
    }


def export_url(query: AuditQuery, fmt: str) -> str:
    """The export of `query`'s filters in `fmt` (its limit is not part of an export)."""
    given = [(k, v) for k, v in _filters(query).items() if v]
    return f"{EXPORT_PATH}?" + urlencode([("format", fmt), *given], safe=":")


# -- answers --------------------------------------------------------------------------------------


def _detail(entry: AuditEntry, key: str) -> str | None:
    value = entry.detail.get(key)
    return None if value is None else str(value)


def entry_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "time": rfc3339(entry.at),
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "ip": _detail(entry, "ip"),
        "session": _detail(entry, "session"),
        "outcome": _detail(entry, "outcome"),
        "detail": dict(entry.detail),
        "prev": entry.prev,
        "hash": entry.hash,
    }


def chain_json(found: ChainBreak | None) -> dict[str, Any]:
    """{"intact", "brokenAt" (the first entry that breaks the chain), "problem" (in words)}."""
    if found is None:
        return {"intact": True, "brokenAt": None, "problem": None}
    return {"intact": False, "brokenAt": found.entry, "problem": str(found)}


def export_csv(entries: Iterable[AuditEntry]) -> str:
    """The CSV of the module docstring, with its BOM, lines ending in CRLF."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        extra = [_detail(e, key) or "" for key in ("ip", "session", "outcome")]
        writer.writerow(
            [
                e.id,
                rfc3339(e.at),
                repr(e.at),
                e.actor,
                e.action,
                e.subject,
                *extra,
                detail_text(e.detail),
                e.prev,
                e.hash,
            ]
        )
    return "\ufeff" + buffer.getvalue()


def _export_json(entries: list[AuditEntry], query: AuditQuery, at: float) -> str:
    body = {"exportedAt": rfc3339(at), "filters": _filters(query), "entries": [entry_json(e) for e in entries]}
    return json.dumps(body, ensure_ascii=False, indent=1)


# -- Flask ----------------------------------------------------------------------------------------


def audit_blueprint(
    audit: Callable[[], AuditLog | None],
    *,
    record_export: Callable[[str, Mapping[str, object]], None],
    now: Callable[[], float] = time.time,
) -> flask.Blueprint:
    """The endpoints of the module docstring over `audit()` (called per request; None: 503).
    `now()` names the export's file."""
    bp = flask.Blueprint("api_v1_audit", __name__, url_prefix="/api/v1/audit")

    def current() -> AuditLog:
        found = audit()
        if found is None:
            raise AlertsApiError("unavailable", "the console keeps no audit log")
        return found

    @bp.get("")
    def search() -> flask.Response:
        try:
            log = current()
            query = parse_query(flask.request.args, _limit(flask.request.args.get("limit")))
        except AlertsApiError as exc:
            return error_response(exc)
        page = log.page(query)
        data = {"entries": [entry_json(e) for e in page.entries], "total": page.total, "chain": chain_json(log.check())}
        return json_response({"status": "success", "data": data}, 200)

    @bp.get("/export")
    def export() -> flask.Response:
        try:
            log = current()
            fmt = flask.request.args.get("format", "csv")
            if fmt not in EXPORT_FORMATS:
                raise AlertsApiError("bad_data", f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
            query = parse_query(flask.request.args, EXPORT_LIMIT)
            page = log.page(query)
            if page.total > EXPORT_LIMIT:
                raise AlertsApiError(
                    "bad_data", f"{page.total} entries match: an export holds at most {EXPORT_LIMIT}, narrow the filter"
                )
        except AlertsApiError as exc:
            return error_response(exc)
        at = now()
        entries = list(reversed(page.entries))
        if fmt == "csv":
            body, content_type = export_csv(entries), "text/csv; charset=utf-8"
        else:
            body, content_type = _export_json(entries, query, at), "application/json"
        name = datetime.fromtimestamp(at, UTC).strftime("audit-%Y%m%dT%H%M%SZ") + f".{fmt}"
        record_export("audit.export", {**_filters(query), "format": fmt, "rows": len(entries)})
        return flask.Response(
            body.encode(), content_type=content_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )

    return bp
