"""The availability API (issue 8): the figures of the reports, their exports, reclassification.

    GET  /api/v1/availability?period=P[&system=ID ...][&lang=ja|en]
             the report as JSON (reports/report.py `report_json`): per system the figures of the
             period and of each month, the outages; the holidays and the maintenance that excluded
             downtime. P: 2026-11, 2026-Q3, FY2026 or 2026-04..2027-03.
    GET  /api/v1/availability/export?period=P&format=csv|outages-csv|json|pdf[&system=ID ...][&lang=ja|en]
             the same report as a file (Content-Disposition: attachment)
    GET  /api/v1/availability/reclassifications?system=ID
    POST /api/v1/availability/reclassify
             {"system", "at" (a time inside the outage: RFC3339 or Unix seconds), "category"
              ("planned" or "external"), "reason" (required), "by"} -> the reclassification;
             recorded in the audit log

Answers and errors as the alerting API (dashboards/api_alerts.py): `{"status":"success","data":...}`,
400 bad_data (a bad period, system, category or reason), 503 when reports are not running.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import flask

from dashboards.api_alerts import (
    AlertsApiError,
    AuditHook,
    error_response,
    json_response,
    rfc3339,
    text_field,
    time_field,
)
from model import Clock
from reports.calendars import Language
from reports.history import Reclassification
from reports.report import EXPORT_FORMATS, AvailabilityReport, export_file, report_json
from reports.reporting import Reporting

__all__ = ["AvailabilityApi", "availability_blueprint"]


@dataclass(frozen=True)
class AvailabilityApi:
    """`actor` and `audit` as in `dashboards.api_alerts.AlertsApi`: who acts (the request's login or
    token, over the body's `by`) and where changes and exports are recorded."""

    reporting: Reporting
    clock: Clock
    actor: str | None = None
    audit: AuditHook | None = None

    def record(self, action: str, subject: str, detail: Mapping[str, object]) -> None:
        if self.audit is not None:
            self.audit(action, subject, detail)

    def report(self, args: Mapping[str, Any]) -> AvailabilityReport:
        try:
            period = self.reporting.period(str(args.get("period", "")))
        except ValueError as e:
            raise AlertsApiError("bad_data", f"period: {e}") from e
        systems = args.get("systems") or None
        try:
            return self.reporting.report(period, self.clock.now(), systems)
        except KeyError as e:
            raise AlertsApiError("bad_data", f"system {e.args[0]!r} has no SLA") from e

    def reclassifications(self, system: str) -> list[dict[str, Any]]:
        return [reclassification_json(r) for r in self.reporting.history.reclassifications(system)]

    def reclassify(self, body: Mapping[str, Any]) -> dict[str, Any]:
        at = time_field(body.get("at"), "at")
        try:
            change = self.reporting.reclassify(
                text_field(body, "system"),
                at,
                text_field(body, "category"),
                text_field(body, "reason"),
                self.actor if self.actor is not None else text_field(body, "by"),
                self.clock.now(),
                self.audit,
            )
        except ValueError as e:
            raise AlertsApiError("bad_data", str(e)) from e
        return reclassification_json(change)


def reclassification_json(r: Reclassification) -> dict[str, Any]:
    return {
        "system": r.system,
        "at": rfc3339(r.at_time),
        "category": r.category,
        "reason": r.reason,
        "by": r.by,
        "reclassifiedAt": rfc3339(r.at),
    }


def _lang(value: str | None) -> Language:
    if value in (None, ""):
        return "en"
    if value not in ("en", "ja"):
        raise AlertsApiError("bad_data", f"lang must be ja or en, not {value!r}")
    return "ja" if value == "ja" else "en"


def availability_blueprint(api: Callable[[], AvailabilityApi | None]) -> flask.Blueprint:
    bp = flask.Blueprint("api_v1_availability", __name__, url_prefix="/api/v1/availability")

    def current() -> AvailabilityApi:
        found = api()
        if found is None:
            raise AlertsApiError("unavailable", "reports are not running")
        return found

    def args() -> dict[str, Any]:
        return {"period": flask.request.args.get("period", ""), "systems": flask.request.args.getlist("system")}

    def answer(handler: Callable[[], object]) -> flask.Response:
        try:
            data = handler()
        except AlertsApiError as exc:
            return error_response(exc)
        return json_response({"status": "success", "data": data}, 200)

    @bp.get("")
    def report() -> flask.Response:
        def handle() -> object:
            found = current()
            shown = report_json(found.report(args()), _lang(flask.request.args.get("lang")))
            found.record("view.availability", args()["period"] or "default", {"systems": args()["systems"]})
            return shown

        return answer(handle)

    @bp.get("/export")
    def export() -> flask.Response:
        try:
            found = current()
            lang = _lang(flask.request.args.get("lang"))
            fmt = flask.request.args.get("format", "csv")
            if fmt not in EXPORT_FORMATS:
                raise AlertsApiError("bad_data", f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
            body, content_type, name = export_file(found.report(args()), fmt, lang, found.reporting.config.timezone)
            found.record("report.export", name, {"period": args()["period"], "format": fmt})
        except AlertsApiError as exc:
            return error_response(exc)
        return flask.Response(
            body, content_type=content_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )

    @bp.get("/reclassifications")
    def reclassifications() -> flask.Response:
        return answer(lambda: current().reclassifications(flask.request.args.get("system", "")))

    @bp.post("/reclassify")
    def reclassify() -> flask.Response:
        def handle() -> object:
            data = flask.request.get_json(silent=True)
            if not isinstance(data, Mapping):
                raise AlertsApiError("bad_data", "the request body must be a JSON object")
            return current().reclassify(data)

        return answer(handle)

    return bp
