"""The alerts page's action form: which action is pending, what the form shows for it, and what
submitting it does through `ConsoleActions` (acknowledge with a comment and an optional expiry,
un-acknowledge, silence with prefilled matchers and a duration, expire a silence, add or delete a
maintenance window). Pure functions of what the user clicked and typed (and of the `AlertView`s
the form names); the page's callbacks only call these.

The maintenance editor builds a window as `alerts.maintenance.MaintenanceWindow` reads it: a
one-off window (`once: {start, end}`, `YYYY-MM-DD HH:MM` as typed) or a recurring one (`daily`,
`weekly` on chosen weekdays, `monthly` on days of the month; each `{start: "HH:MM", duration}`), in
the typed time zone or the console's. The alerting API validates it; its message is shown as is
inside the page's sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alerts.explain import AlertView
from alerts.matchers import quote
from config.durations import parse_duration
from dashboards import ids
from dashboards.actions import ActionError, ConsoleActions
from dashboards.i18n import t
from dashboards.views.alerts import describe

__all__ = [
    "DEFAULT_SILENCE",
    "UNCHANGED",
    "WEEKDAYS",
    "WINDOW_KINDS",
    "FormInput",
    "FormState",
    "Outcome",
    "chosen",
    "form_state",
    "matchers_from_text",
    "pending_action",
    "perform",
    "prefilled_matchers",
    "window_fields",
    "window_from",
    "window_options",
]

DEFAULT_SILENCE = "2h"
"""The silence duration the form proposes."""
WINDOW_KINDS = ("once", "daily", "weekly", "monthly")
"""The maintenance editor's schedules, as `alerts.maintenance.Schedule` names them."""
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""A weekly window's weekdays, in the order the editor lists them and sends them."""

_FIELDS = {
    # action: (comment, duration, matchers, window fields)
    "ack": (True, True, False, False),
    "unack": (False, False, False, False),
    "silence": (True, True, True, False),
    "expire": (False, False, False, False),
    "create-maintenance": (True, False, True, True),
    "delete-maintenance": (False, False, False, False),
}
_DAY_SEPARATORS = re.compile(r"[\s,、，]+")


def prefilled_matchers(view: AlertView) -> str:
    """The silence form's matchers for one alert: one equality matcher per label, a line each."""
    return "\n".join(f"{name}={quote(value)}" for name, value in sorted(view.alert.labels.items()))


def matchers_from_text(text: str) -> list[str]:
    """The matchers typed in the form: one per non-blank line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


# -- what the form shows --------------------------------------------------------------------------


def _shown(visible: bool, base: str = "alerts-field") -> str:
    return base if visible else f"{base} hidden".strip()


@dataclass(frozen=True)
class FormState:
    """What the action form shows for the pending action (closed when `title` is "")."""

    title: str = ""
    comment: bool = False
    duration: bool = False
    duration_label: str = ""
    duration_value: str = ""
    matchers: bool = False
    matchers_value: str = ""
    window: bool = False

    @property
    def open(self) -> bool:
        return bool(self.title)

    def outputs(self) -> tuple[str, ...]:
        """The page's form outputs: form class, title, window fields class, matchers field class
        and value, duration field class, label and value, comment field class and value (emptied)."""
        return (
            _shown(self.open, "alerts-form"),
            self.title,
            _shown(self.window, ""),
            _shown(self.matchers),
            self.matchers_value,
            _shown(self.duration),
            self.duration_label,
            self.duration_value,
            _shown(self.comment),
            "",
        )


def window_fields(kind: object) -> tuple[str, str, str, str]:
    """The classes of the maintenance editor's field groups for schedule `kind`: the one-off
    window's (start, end), a recurring one's (start time, duration), the weekdays, the days of the
    month. Anything but a known kind shows the one-off fields."""
    kind = kind if kind in WINDOW_KINDS else "once"
    group = "alerts-window-group"
    return (
        _shown(kind == "once", group),
        _shown(kind != "once", group),
        _shown(kind == "weekly", group),
        _shown(kind == "monthly", group),
    )


def window_options(lang: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The editor's choices in `lang`: the schedule kinds, then the weekdays (Monday first)."""
    kinds = [{"label": t(f"alerts.window.kind.{k}", lang), "value": k} for k in WINDOW_KINDS]
    days = [{"label": t(f"alerts.window.weekday.{d}", lang), "value": d} for d in WEEKDAYS]
    return kinds, days


UNCHANGED = object()
"""`chosen` (and the history panel's `history_chosen`): leave the store as it is."""


def chosen(triggered: Iterable[tuple[object, object]]) -> dict[str, str] | object | None:
    """The pending action after one call's triggers, each (component id, value) as Dash lists them:
    None after cancel (even when buttons of a refreshed table trigger in the same call), else the
    {"action", "ref"} of an action button really clicked (a button appearing in a refreshed table
    triggers too, with no click), else UNCHANGED. (A successful submission clears it itself.)"""
    triggered = list(triggered)
    if any(component == ids.ALERTS_CANCEL for component, _ in triggered):
        return None
    for component, value in triggered:
        if isinstance(component, Mapping) and component.get("type") == ids.ALERTS_ACTION and value:
            chosen_action = pending_action(component)
            if chosen_action is not None:
                return {"action": chosen_action[0], "ref": chosen_action[1]}
    return UNCHANGED


def pending_action(value: object) -> tuple[str, str] | None:
    """(action, ref) of the pending store's value, None for nothing (or anything unknown)."""
    if isinstance(value, Mapping) and value.get("action") in _FIELDS and isinstance(value.get("ref"), str):
        return str(value["action"]), str(value["ref"])
    return None


def form_state(pending: object, views: Sequence[AlertView], lang: str) -> FormState:
    """The form for the pending action; an alert that is gone closes it."""
    chosen_action = pending_action(pending)
    if chosen_action is None:
        return FormState()
    action, ref = chosen_action
    comment, duration, matchers, window = _FIELDS[action]
    view = next((v for v in views if v.alert.fingerprint == ref), None)
    if action in ("ack", "unack", "silence") and view is None:
        return FormState()
    what = describe(view) if view is not None else ref
    return FormState(
        title=t(f"alerts.form.{action}", lang, what=what),
        comment=comment,
        duration=duration,
        duration_label=t(f"alerts.form.duration.{action}", lang) if duration else "",
        duration_value=DEFAULT_SILENCE if action == "silence" else "",
        matchers=matchers,
        matchers_value=prefilled_matchers(view) if action == "silence" and view is not None else "",
        window=window,
    )


# -- what submitting does -------------------------------------------------------------------------


@dataclass(frozen=True)
class FormInput:
    """What the user typed and chose in the form (None: an empty field)."""

    actor: str | None = None
    comment: str | None = None
    duration: str | None = None
    matchers: str | None = None
    window_name: str | None = None
    window_start: str | None = None
    window_end: str | None = None
    window_kind: str | None = None
    """One of `WINDOW_KINDS` (None: "once")."""
    window_at: str | None = None
    """A recurring window's start time, `HH:MM`."""
    window_duration: str | None = None
    window_weekdays: Sequence[str] | None = None
    window_days: str | None = None
    """A monthly window's days of the month as typed: `1, 15, -1`."""
    window_location: str | None = None
    """The IANA time zone of the window's times (None or "": the console's)."""


@dataclass(frozen=True)
class Outcome:
    ok: bool
    message: str

    @property
    def css(self) -> str:
        return "alerts-message alerts-message-ok" if self.ok else "alerts-message alerts-message-error"


def perform(actions: ConsoleActions | None, pending: object, form: FormInput, lang: str, tz: str) -> Outcome:
    """Do the pending action with what the form holds. Refusals come back as a message, the
    console's reason included; nothing is done without a name for who acts. `tz` is the console's
    time zone, a new maintenance window's unless another is typed."""
    chosen_action = pending_action(pending)
    if chosen_action is None:
        return Outcome(False, t("alerts.error.nothing", lang))
    action, ref = chosen_action
    if actions is None:
        return Outcome(False, t("alerts.error.unavailable", lang))
    actor = (form.actor or "").strip()
    if not actor:
        return Outcome(False, t("alerts.error.actor", lang))
    try:
        ref = _do(actions, action, ref, form, actor, tz)
    except ActionError as exc:
        refused = "alerts.error.window" if action == "create-maintenance" else "alerts.error.refused"
        return Outcome(False, t(refused, lang, reason=exc.message))
    return Outcome(True, t(f"alerts.done.{action}", lang, ref=ref))


def _do(actions: ConsoleActions, action: str, ref: str, form: FormInput, actor: str, tz: str) -> str:
    """Do `action` on `ref`; returns what the success message names (a silence's new id, a new
    window's name, else `ref`). Raises ActionError."""
    comment = (form.comment or "").strip()
    if action == "ack":
        actions.acknowledge(ref, by=actor, comment=comment, expires_in=_duration(form.duration, required=False))
    elif action == "unack":
        actions.unacknowledge(ref, by=actor)
    elif action == "silence":
        duration = _duration(form.duration, required=True) or 0.0
        return actions.silence(matchers_from_text(form.matchers or ""), duration=duration, by=actor, comment=comment)
    elif action == "expire":
        actions.expire_silence(ref)
    elif action == "create-maintenance":
        window = window_from(form, actor, comment, tz)
        actions.create_maintenance(window, by=actor)
        return str(window["name"])
    else:
        actions.delete_maintenance(ref)
    return ref


def _duration(text: str | None, *, required: bool) -> float | None:
    text = (text or "").strip()
    if not text:
        if required:
            raise ActionError("duration: a duration such as 2h is required")
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise ActionError(f"duration: {exc}") from None


# -- the maintenance editor -----------------------------------------------------------------------


def window_from(form: FormInput, actor: str, reason: str, tz: str) -> dict[str, Any]:
    """The window the editor describes, as the config and `POST /api/v1/maintenance` write it:
    owned by `actor` for `reason`, its times in the typed zone or else `tz`. Values are sent as
    typed (trimmed), so that the API, not the page, says what is wrong with them."""
    kind = form.window_kind if form.window_kind in WINDOW_KINDS else "once"
    return {
        "name": (form.window_name or "").strip(),
        "matchers": matchers_from_text(form.matchers or ""),
        "owner": actor,
        "reason": reason,
        "location": (form.window_location or "").strip() or tz,
        "schedule": {kind: _schedule(form, kind)},
    }


def _schedule(form: FormInput, kind: str) -> dict[str, Any]:
    if kind == "once":
        return {"start": (form.window_start or "").strip(), "end": (form.window_end or "").strip()}
    spec: dict[str, Any] = {"start": (form.window_at or "").strip(), "duration": (form.window_duration or "").strip()}
    if kind == "weekly":
        picked = set(form.window_weekdays or ())
        spec["weekdays"] = [day for day in WEEKDAYS if day in picked]
    elif kind == "monthly":
        spec["days"] = _month_days(form.window_days or "")
    return spec


def _month_days(text: str) -> list[int | str]:
    """`1, 15, -1` (commas, Japanese commas or spaces between) as numbers; a part that is not a
    whole number is kept as typed for the API to name it."""
    out: list[int | str] = []
    for part in _DAY_SEPARATORS.split(text.strip()):
        if part:
            try:
                out.append(int(part))
            except ValueError:
                out.append(part)
    return out
