"""The one way the web console's pages change the console: the write side of the alerting API
(and the availability API's reclassification of outages).

Pages and their callbacks call `current_actions()` to get the `ConsoleActions` of the console
serving the request (set on the Flask app by `dashboards.app.create_dash(..., actions=...)`), as
they read through `dashboards.queries.current()`. `ApiActions` implements it over
`dashboards.api_alerts.AlertsApi`, so a page and `/api/v1` validate and record an action the same
way. Every refusal raises `ActionError` with the API's message (the page shows it as is). The
maintenance windows are listed here too: they belong to the alerting API, not to the read facade.

Who acts (`by`) is the request's logged-in user (`dashboards.authz.acting`); the typed name only
where no access control is installed (the pages' own tests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import flask

from alerts.maintenance import MaintenanceRecord
from dashboards.api_alerts import AlertsApi, AlertsApiError
from dashboards.api_availability import AvailabilityApi

__all__ = [
    "ACTIONS_KEY",
    "ActionError",
    "ApiActions",
    "ConsoleActions",
    "MaintenanceItem",
    "current_actions",
    "optional_actions",
]

ACTIONS_KEY = "ops_console.actions"
"""Where `create_dash` keeps the provider of `ConsoleActions` in `flask.Flask.extensions`."""


class ActionError(Exception):
    """An action the console refused; `message` says why (the alerting API's words)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class MaintenanceItem:
    """One maintenance window as the alerts page lists it. Times are Unix seconds."""

    name: str
    origin: str
    """"config" (from the config file: cannot be deleted here) or "api"."""
    owner: str
    reason: str
    matchers: tuple[str, ...]
    schedule: str
    """The schedule in the config's words: `monthly start=02:00 duration=3h days=1,15`."""
    location: str
    active: bool
    next_change: float | None
    created_by: str


class ConsoleActions(Protocol):
    """What a page may do. Every method raises `ActionError` when the console refuses."""

    def acknowledge(self, fingerprint: str, *, by: str, comment: str, expires_in: float | None) -> None:
        """Acknowledge a firing alert; `expires_in` seconds (None: until it resolves)."""
        ...

    def unacknowledge(self, fingerprint: str, *, by: str) -> None: ...

    def silence(self, matchers: Sequence[str], *, duration: float, by: str, comment: str) -> str:
        """Silence what `matchers` (Alertmanager syntax) match from now for `duration` seconds;
        returns the silence id."""
        ...

    def expire_silence(self, silence_id: str) -> None: ...

    def maintenance(self) -> list[MaintenanceItem]:
        """Every maintenance window, config ones first as the API lists them."""
        ...

    def create_maintenance(self, window: Mapping[str, Any], *, by: str) -> None:
        """`window` as in the config (`name`, `matchers`, `owner`, `reason`, `location`, `schedule`)."""
        ...

    def delete_maintenance(self, name: str) -> None: ...

    def reclassify(self, system: str, at: float, *, category: str, reason: str, by: str) -> None:
        """Reclassify the outage of `system` in progress at `at` as `category` ("planned" or
        "external") with a reason (recorded in the audit log)."""
        ...


@dataclass(frozen=True)
class ApiActions:
    """`ConsoleActions` over the alerting and availability APIs of the running console."""

    api: AlertsApi
    availability: AvailabilityApi | None = None

    def acknowledge(self, fingerprint: str, *, by: str, comment: str, expires_in: float | None) -> None:
        body: dict[str, Any] = {"by": by, "comment": comment}
        if expires_in is not None:
            body["expiresIn"] = expires_in
        _call(lambda: self.api.acknowledge(fingerprint, body))

    def unacknowledge(self, fingerprint: str, *, by: str) -> None:
        _call(lambda: self.api.unacknowledge(fingerprint, by))

    def silence(self, matchers: Sequence[str], *, duration: float, by: str, comment: str) -> str:
        if not duration > 0:
            raise ActionError("duration: a positive duration such as 2h is required")
        now = self.api.clock.now()
        body = {
            "matchers": list(matchers),
            "startsAt": now,
            "endsAt": now + duration,
            "createdBy": by,
            "comment": comment,
        }
        created = _call(lambda: self.api.create_silence(body))
        return str(created["silenceID"])

    def expire_silence(self, silence_id: str) -> None:
        _call(lambda: self.api.expire_silence(silence_id))

    def maintenance(self) -> list[MaintenanceItem]:
        maintenances = self.api.pipeline.maintenances
        if maintenances is None:
            return []
        now = self.api.clock.now()
        return [_item(record, now) for record in maintenances.list()]

    def create_maintenance(self, window: Mapping[str, Any], *, by: str) -> None:
        _call(lambda: self.api.create_maintenance({"window": dict(window), "createdBy": by}))

    def delete_maintenance(self, name: str) -> None:
        _call(lambda: self.api.delete_maintenance(name))

    def reclassify(self, system: str, at: float, *, category: str, reason: str, by: str) -> None:
        availability = self.availability
        if availability is None:
            raise ActionError("the console keeps no availability reports")
        body = {"system": system, "at": at, "category": category, "reason": reason, "by": by}
        _call(lambda: availability.reclassify(body))


def current_actions() -> ConsoleActions:
    """The actions of the console serving this request. Raises LookupError outside a request of a
    console app, when the app was built without actions, or while alerting is not running."""
    provider: Callable[[], ConsoleActions | None] | None = flask.current_app.extensions.get(ACTIONS_KEY)
    actions = provider() if provider is not None else None
    if actions is None:
        raise LookupError("alerting is not running: no action is possible")
    return actions


def optional_actions() -> ConsoleActions | None:
    """`current_actions()`, or None where no action is possible (the page says so)."""
    try:
        return current_actions()
    except LookupError:
        return None


def _call(action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return action()
    except AlertsApiError as exc:
        raise ActionError(exc.message) from exc


def _item(record: MaintenanceRecord, now: float) -> MaintenanceItem:
    window = record.window
    schedule = window.schedule.model_dump(mode="json", exclude_none=True)
    return MaintenanceItem(
        name=window.name,
        origin=record.origin.value,
        owner=window.owner,
        reason=window.reason,
        matchers=tuple(str(m) for m in window.matchers),
        schedule="; ".join(
            f"{kind} " + " ".join(f"{key}={_value(value)}" for key, value in spec.items())
            for kind, spec in schedule.items()
        ),
        location=window.location,
        active=window.active_at(now),
        next_change=window.next_change(now),
        created_by=record.created_by,
    )


def _value(value: object) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
