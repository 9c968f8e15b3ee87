"""The alerting HTTP API: alerts with why each was or was not notified, silences,
acknowledgements, maintenance windows and the notification queue.

    GET    /api/v1/alerts                    every alert held (pending, firing, or resolved within
                                             15 min), Prometheus' /api/v1/alerts shape plus
                                             fingerprint, firedAt, resolvedAt, lastEvaluation, mutes
                                             (reason, detail, ref, args), acknowledgement, flapping,
                                             groups (receiver, status, phase, last and next
                                             notification, repeat due), behind
    POST   /api/v1/alerts/<fp>/ack           {"by", "comment", "expiresIn" (duration or seconds, optional)}
    DELETE /api/v1/alerts/<fp>/ack?by=USER   un-acknowledge
    GET    /api/v1/silences                  every silence (Alertmanager's v2 silence shape)
    POST   /api/v1/silences                  {"matchers": ["a=\\"b\\"", ...] or Alertmanager's objects,
                                              "startsAt", "endsAt" (RFC3339 or Unix seconds),
                                              "createdBy", "comment"} -> {"silenceID"}
    GET    /api/v1/silence/<id>
    DELETE /api/v1/silence/<id>              expire it now
    GET    /api/v1/maintenance               every maintenance window, with origin and next change
    POST   /api/v1/maintenance               {"window": {...as in the config...}, "createdBy"}
    DELETE /api/v1/maintenance/<name>        (only windows created through the API)
    GET    /api/v1/notifications             queued notifications (attempts, last error, next attempt)

Answers are `{"status":"success","data":...}` or `{"status":"error","errorType":...,"error":...}`
(400 bad_data, 404 not_found, 409 conflict when a file-defined window is deleted), as the query API.
`AlertsApi` holds the logic as plain functions of parsed JSON; `alerts_blueprint` puts it on Flask.
Who acts (`by`, `createdBy`) is the request's login or token (`AlertsApi.actor`); the body's
value counts only where no access control is installed (the API's own tests).
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import flask
from pydantic import ValidationError

from alerts.acks import Acknowledgement
from alerts.explain import AlertView
from alerts.handoff import AlertmanagerHandoff
from alerts.maintenance import MaintenanceRecord, MaintenanceWindow
from alerts.matchers import Matcher, parse_matcher, quote
from alerts.model import NotifyError
from alerts.mutedb import NotFound
from alerts.outbox import OutboxRow
from alerts.pipeline import Pipeline
from alerts.silences import Silence
from config.durations import parse_duration
from config.problems import Finding, findings_from, format_path
from model import Clock

__all__ = [
    "AlertsApi",
    "AlertsApiError",
    "AuditHook",
    "alerts_blueprint",
    "error_response",
    "json_response",
    "rfc3339",
    "text_field",
    "time_field",
]


class AlertsApiError(Exception):
    """A request the API refuses: `error_type` is bad_data (400), not_found (404) or conflict (409)."""

    STATUS: ClassVar[dict[str, int]] = {"bad_data": 400, "not_found": 404, "conflict": 409, "unavailable": 503}

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


AuditHook = Callable[[str, str, Mapping[str, object]], None]
"""Records a change in the audit log: (action, subject, detail); dashboards.auth adds who and from where."""


@dataclass(frozen=True)
class AlertsApi:
    """The endpoints of the module docstring over one pipeline. `actor` is who the request acts for
    (its login session or token): when set, it is what acknowledgements, silences and windows
    record as by/createdBy, whatever the body says. `audit` records every change."""

    pipeline: Pipeline
    clock: Clock
    actor: str | None = None
    audit: AuditHook | None = None
    handoff: AlertmanagerHandoff | None = None
    """Alertmanager mode: silences are the Alertmanager's (read back, created and expired there) and
    the alerts show what the Alertmanager mutes."""

    def _who(self, body: Mapping[str, Any], key: str) -> str:
        return self.actor if self.actor is not None else text_field(body, key)

    def _record(self, action: str, subject: str, detail: Mapping[str, object]) -> None:
        if self.audit is not None:
            self.audit(action, subject, detail)

    # -- alerts -----------------------------------------------------------------------------------

    def alerts(self) -> dict[str, Any]:
        views = self.pipeline.views()
        if self.handoff is not None:
            views = self.handoff.mark_views(views)
        return {"alerts": [alert_json(view) for view in views]}

    def acknowledge(self, fingerprint: str, body: Mapping[str, Any]) -> dict[str, Any]:
        by = self._who(body, "by")
        comment = text_field(body, "comment", required=False)
        expires_in = _seconds(body.get("expiresIn"), "expiresIn")
        if expires_in is not None and expires_in > 0 and not _representable(self.clock.now() + expires_in):
            # The expiry could not be shown: every later GET /alerts would fail.
            raise AlertsApiError("bad_data", f"expiresIn: {body['expiresIn']} is too far ahead")
        try:
            ack = self.pipeline.acknowledge(fingerprint, by, comment, expires_in)
        except KeyError:
            raise AlertsApiError("not_found", f"no firing alert has fingerprint {fingerprint}") from None
        except RuntimeError as exc:  # acknowledgements not configured
            raise AlertsApiError("unavailable", str(exc)) from None
        except ValueError as exc:
            raise AlertsApiError("bad_data", str(exc)) from None
        self._record("alert.ack", fingerprint, {"comment": comment, "expires_in": expires_in})
        return ack_json(ack)

    def unacknowledge(self, fingerprint: str, by: str) -> dict[str, Any]:
        by = self.actor if self.actor is not None else by
        if not by.strip():
            raise AlertsApiError("bad_data", "by is required: who withdraws the acknowledgement")
        try:
            withdrawn = ack_json(self.pipeline.unacknowledge(fingerprint, by))
        except (KeyError, NotFound):
            raise AlertsApiError("not_found", f"alert {fingerprint} is not acknowledged") from None
        self._record("alert.unack", fingerprint, {})
        return withdrawn

    # -- silences ---------------------------------------------------------------------------------

    def silences(self) -> list[dict[str, Any]]:
        t = self.clock.now()
        return [silence_json(s, t) for s in self._silences().list(t)]

    def silence(self, silence_id: str) -> dict[str, Any]:
        try:
            return silence_json(self._silences().get(silence_id), self.clock.now())
        except (KeyError, NotFound):
            raise AlertsApiError("not_found", f"no silence has id {silence_id}") from None

    def create_silence(self, body: Mapping[str, Any]) -> dict[str, Any]:
        t = self.clock.now()
        matchers = body.get("matchers")
        if not isinstance(matchers, list) or not matchers:
            raise AlertsApiError("bad_data", "matchers: a non-empty list is required")
        try:
            parsed = [_matcher(m) for m in matchers]
            silence = self._silences().create(
                parsed,
                starts_at=time_field(body.get("startsAt", t), "startsAt"),
                ends_at=time_field(body.get("endsAt"), "endsAt"),
                created_by=self._who(body, "createdBy"),
                comment=text_field(body, "comment"),
                t=t,
            )
        except ValueError as exc:
            raise AlertsApiError("bad_data", str(exc)) from None
        detail = {
            "matchers": [str(m) for m in parsed],
            "starts_at": silence.starts_at,
            "ends_at": silence.ends_at,
            "comment": silence.comment,
        }
        self._record("silence.create", silence.id, detail)
        return {"silenceID": silence.id}

    def expire_silence(self, silence_id: str) -> dict[str, Any]:
        try:
            silence = self._silences().expire(silence_id, self.clock.now())
        except (KeyError, NotFound):
            raise AlertsApiError("not_found", f"no silence has id {silence_id}") from None
        except ValueError as exc:
            raise AlertsApiError("bad_data", str(exc)) from None
        self._record("silence.expire", silence_id, {})
        return silence_json(silence, self.clock.now())

    def _silences(self) -> Any:
        if self.handoff is not None:
            return _AlertmanagerSilences(self.handoff)
        if self.pipeline.silences is None:
            raise AlertsApiError("unavailable", "silences are not configured")
        return self.pipeline.silences

    # -- maintenance ------------------------------------------------------------------------------

    def maintenance(self) -> list[dict[str, Any]]:
        return [maintenance_json(r, self.clock.now()) for r in self._maintenances().list()]

    def create_maintenance(self, body: Mapping[str, Any]) -> dict[str, Any]:
        try:
            window = MaintenanceWindow.model_validate(body.get("window"))
        except ValidationError as exc:
            problems = "; ".join(_problem(finding) for finding in findings_from(exc))
            raise AlertsApiError("bad_data", f"window: {problems}") from None
        try:
            record = self._maintenances().create(window, self._who(body, "createdBy"), self.clock.now())
        except ValueError as exc:
            raise AlertsApiError("conflict", str(exc)) from None
        self._record("maintenance.create", window.name, {"window": window.model_dump(mode="json", exclude_none=True)})
        return maintenance_json(record, self.clock.now())

    def delete_maintenance(self, name: str) -> dict[str, Any]:
        try:
            record = self._maintenances().delete(name)
        except (KeyError, NotFound):
            raise AlertsApiError("not_found", f"no maintenance window is named {name}") from None
        except ValueError as exc:
            raise AlertsApiError("conflict", str(exc)) from None
        self._record("maintenance.delete", name, {})
        return maintenance_json(record, self.clock.now())

    def _maintenances(self) -> Any:
        if self.pipeline.maintenances is None:
            raise AlertsApiError("unavailable", "maintenance windows are not configured")
        return self.pipeline.maintenances

    # -- notifications ----------------------------------------------------------------------------

    def notifications(self) -> list[dict[str, Any]]:
        return [outbox_json(row) for row in self.pipeline.delivery.pending()]


@dataclass(frozen=True)
class _AlertmanagerSilences:
    """The Alertmanager's silences with the local store's methods (alerts/silences.py `Silences`),
    so that the API answers the same either way; an Alertmanager that cannot be reached is a 503."""

    handoff: AlertmanagerHandoff

    def list(self, t: float) -> list[Silence]:
        return [found.silence for found in self.handoff.silences()]

    def get(self, silence_id: str) -> Silence:
        return self.handoff.silence(silence_id).silence

    def create(
        self, matchers: Any, *, starts_at: float, ends_at: float, created_by: str, comment: str, t: float
    ) -> Silence:
        try:
            made = self.handoff.create_silence(
                matchers, starts_at=starts_at, ends_at=ends_at, created_by=created_by, comment=comment
            )
        except NotifyError as exc:
            raise AlertsApiError("unavailable", f"no Alertmanager took the silence: {exc}") from None
        return made.silence

    def expire(self, silence_id: str, t: float) -> Silence:
        try:
            return self.handoff.expire_silence(silence_id).silence
        except NotifyError as exc:
            raise AlertsApiError("unavailable", f"no Alertmanager expired the silence: {exc}") from None


# -- JSON shapes ----------------------------------------------------------------------------------


def alert_json(view: AlertView) -> dict[str, Any]:
    alert = view.alert
    state = "resolved" if alert.resolved else alert.state.value
    return {
        "fingerprint": alert.fingerprint,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "state": state,
        "activeAt": rfc3339(alert.active_at),
        "firedAt": rfc3339(alert.fired_at),
        "resolvedAt": rfc3339(alert.resolved_at),
        "lastEvaluation": rfc3339(alert.last_evaluated),
        "value": _value(alert.value),
        "notified": alert.fired_at is not None and not view.mutes,
        "mutes": [
            {"reason": m.reason.value, "detail": m.detail, "ref": m.ref, "args": dict(m.args)} for m in view.mutes
        ],
        "acknowledgement": ack_json(view.acknowledgement) if view.acknowledgement is not None else None,
        "flapping": view.flapping,
        "groups": [
            {
                "groupKey": g.group_key,
                "receiver": g.receiver,
                "status": g.status,
                "phase": g.phase.value,
                "lastNotified": rfc3339(g.last_notified),
                "nextFlush": rfc3339(g.next_flush),
                "repeatDue": rfc3339(g.repeat_due),
                "routeMuted": g.route_muted,
            }
            for g in view.groups
        ],
        "behind": list(view.behind),
    }


def ack_json(ack: Acknowledgement) -> dict[str, Any]:
    return {
        "fingerprint": ack.fingerprint,
        "by": ack.by,
        "comment": ack.comment,
        "at": rfc3339(ack.at),
        "expiresAt": rfc3339(ack.expires_at),
    }


def silence_json(silence: Silence, t: float) -> dict[str, Any]:
    return {
        "id": silence.id,
        "matchers": [_matcher_json(m) for m in silence.matchers],
        "startsAt": rfc3339(silence.starts_at),
        "endsAt": rfc3339(silence.ends_at),
        "updatedAt": rfc3339(silence.updated_at),
        "createdBy": silence.created_by,
        "comment": silence.comment,
        "status": {"state": silence.state(t).value},
    }


def maintenance_json(record: MaintenanceRecord, t: float) -> dict[str, Any]:
    window = record.window
    return {
        "name": window.name,
        "window": window.model_dump(mode="json", by_alias=True, exclude_none=True),
        "origin": record.origin.value,
        "createdBy": record.created_by,
        "createdAt": rfc3339(record.created_at),
        "active": window.active_at(t),
        "nextChange": rfc3339(window.next_change(t)),
    }


def outbox_json(row: OutboxRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "receiver": row.receiver,
        "integration": row.integration,
        "groupKey": row.group_key,
        "reason": row.reason,
        "status": row.status.value,
        "createdAt": rfc3339(row.created_at),
        "attempts": row.attempts,
        "nextAttemptAt": rfc3339(row.next_attempt_at),
        "lastError": row.last_error,
    }


def rfc3339(t: float | None) -> str | None:
    """Unix seconds as RFC 3339 in UTC with milliseconds (None stays None)."""
    if t is None:
        return None
    return datetime.datetime.fromtimestamp(t, tz=datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


def _matcher_json(m: Matcher) -> dict[str, Any]:
    return {"name": m.name, "value": m.value, "isRegex": "~" in m.op, "isEqual": not m.op.startswith("!")}


def _matcher(item: object) -> Matcher:
    """A matcher from Alertmanager syntax text or an Alertmanager v2 matcher object."""
    if isinstance(item, str):
        return parse_matcher(item)
    if isinstance(item, Mapping) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str):
        regex, equal = bool(item.get("isRegex")), bool(item.get("isEqual", True))
        op = {(False, True): "=", (True, True): "=~", (False, False): "!=", (True, False): "!~"}[(regex, equal)]
        return parse_matcher(f"{item['name']}{op}{quote(item['value'])}")
    raise ValueError(f"matchers: {json.dumps(item)[:80]} is neither matcher text nor {{name, value, isRegex}}")


def text_field(body: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    """`body[key]`, a string (not blank when `required`); else bad_data naming the key."""
    value = body.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise AlertsApiError("bad_data", f"{key}: a non-empty string is required")
    return value


def time_field(value: object, key: str) -> float:
    """An RFC 3339 time (with its offset) or Unix seconds, as Unix seconds; else bad_data naming `key`."""
    if isinstance(value, bool) or value is None:
        raise AlertsApiError("bad_data", f"{key}: an RFC 3339 time or Unix seconds is required")
    if isinstance(value, int | float) and _representable(float(value)):
        return float(value)
    if isinstance(value, str):
        try:
            moment: datetime.datetime | None = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        # Without an offset the time would be read in the server's local time zone: not RFC 3339.
        if moment is not None and moment.tzinfo is not None and _representable(moment.timestamp()):
            return moment.timestamp()
    raise AlertsApiError("bad_data", f"{key}: {value!r} is not an RFC 3339 time or Unix seconds")


def _representable(t: float) -> bool:
    """Whether `t` (Unix seconds) is a date `rfc3339` can write (finite, years 1 to 9999)."""
    try:
        datetime.datetime.fromtimestamp(t, tz=datetime.UTC)
    except (OverflowError, ValueError, OSError):
        return False
    return True


def _problem(finding: Finding) -> str:
    """A window's problem worded as the config loader words it: `path: message` (the message
    alone for the window as a whole)."""
    return f"{format_path(finding.loc)}: {finding.message}" if finding.loc else finding.message


def _seconds(value: object, key: str) -> float | None:
    if value is None:
        return None
    try:
        if isinstance(value, str):
            return parse_duration(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    except ValueError as exc:
        raise AlertsApiError("bad_data", f"{key}: {exc}") from None
    raise AlertsApiError("bad_data", f"{key}: a duration such as 2h or a number of seconds is required")


# -- Flask ----------------------------------------------------------------------------------------


def alerts_blueprint(api: Callable[[], AlertsApi | None]) -> flask.Blueprint:
    """The endpoints of the module docstring under /api/v1, answered by `api()` (called per
    request; None: 503, alerting not running)."""
    bp = flask.Blueprint("api_v1_alerts", __name__, url_prefix="/api/v1")

    def answer(handler: Callable[[AlertsApi], object]) -> flask.Response:
        current = api()
        try:
            if current is None:
                raise AlertsApiError("unavailable", "alerting is not running")
            data = handler(current)
        except AlertsApiError as exc:
            return error_response(exc)
        return json_response({"status": "success", "data": data}, 200)

    def body() -> Mapping[str, Any]:
        data = flask.request.get_json(silent=True)
        if not isinstance(data, Mapping):
            raise AlertsApiError("bad_data", "the request body must be a JSON object")
        return data

    @bp.get("/alerts")
    def alerts() -> flask.Response:
        return answer(lambda a: a.alerts())

    @bp.post("/alerts/<fingerprint>/ack")
    def ack(fingerprint: str) -> flask.Response:
        return answer(lambda a: a.acknowledge(fingerprint, body()))

    @bp.delete("/alerts/<fingerprint>/ack")
    def unack(fingerprint: str) -> flask.Response:
        return answer(lambda a: a.unacknowledge(fingerprint, flask.request.args.get("by", "")))

    @bp.get("/silences")
    def silences() -> flask.Response:
        return answer(lambda a: a.silences())

    @bp.post("/silences")
    def create_silence() -> flask.Response:
        return answer(lambda a: a.create_silence(body()))

    @bp.get("/silence/<silence_id>")
    def silence(silence_id: str) -> flask.Response:
        return answer(lambda a: a.silence(silence_id))

    @bp.delete("/silence/<silence_id>")
    def expire_silence(silence_id: str) -> flask.Response:
        return answer(lambda a: a.expire_silence(silence_id))

    @bp.get("/maintenance")
    def maintenance() -> flask.Response:
        return answer(lambda a: a.maintenance())

    @bp.post("/maintenance")
    def create_maintenance() -> flask.Response:
        return answer(lambda a: a.create_maintenance(body()))

    @bp.delete("/maintenance/<name>")
    def delete_maintenance(name: str) -> flask.Response:
        return answer(lambda a: a.delete_maintenance(name))

    @bp.get("/notifications")
    def notifications() -> flask.Response:
        return answer(lambda a: a.notifications())

    return bp


def error_response(exc: AlertsApiError) -> flask.Response:
    """The API's error answer for `exc`: `{"status":"error","errorType":...,"error":...}` with its status."""
    body = {"status": "error", "errorType": exc.error_type, "error": exc.message}
    return json_response(body, AlertsApiError.STATUS.get(exc.error_type, 400))


def json_response(body: object, status: int) -> flask.Response:
    """`body` as the API's JSON answer (UTF-8, compact) with `status`."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return flask.Response(text, status=status, content_type="application/json")
