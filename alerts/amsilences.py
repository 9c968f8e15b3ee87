"""What an Alertmanager cluster says back to the console in Alertmanager mode (alerts/handoff.py):
its silences, which of our alerts they silence or its inhibit rules inhibit, and silences created
and expired in it.

`read_back(clients, t)` reads `/api/v2/silences` and `/api/v2/alerts` from the first member that
answers; `mutes(reading, alert)` says why the Alertmanager mutes an alert, in the pipeline's words
(alerts/explain.py) with "in Alertmanager"; `post_silence` and `delete_silence` create and expire
a silence in the first member that takes it (the cluster gossips it to the others), checked first
as the console's own silences are (alerts/silences.py), with the same messages.
Errors: a NotifyError (retryable) listing each member's failure when none answers; ValueError for
a silence refused (ours or Alertmanager's reason); NotFound (alerts/mutedb.py) for an unknown id.
Times are Unix seconds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from alerts.explain import Mute, MuteReason
from alerts.matchers import Matcher, MatchOp
from alerts.model import Alert, NotifyError, fingerprint
from alerts.mutedb import NotFound
from alerts.notifiers.alertmanager import AlertmanagerClient
from alerts.notifiers.data import rfc3339
from alerts.silences import Silence, validate_silence
from model import Labels

__all__ = [
    "ORIGIN",
    "AmStatus",
    "ReadBack",
    "RemoteSilence",
    "delete_silence",
    "mutes",
    "post_silence",
    "read_back",
]

log = logging.getLogger(__name__)

ORIGIN = "alertmanager"
"""The `origin` of every silence here, against the console's own (`console`)."""


@dataclass(frozen=True, slots=True)
class RemoteSilence:
    """A silence read from (or created in) an Alertmanager: `peer` is the member it came from
    (base URL without user info), `state` Alertmanager's own (`active`, `pending`, `expired`)."""

    silence: Silence
    peer: str
    state: str
    origin: str = ORIGIN


@dataclass(frozen=True, slots=True)
class AmStatus:
    """How an Alertmanager holds one of our alerts: `state` (`active`, `suppressed`, `unprocessed`),
    the ids of the silences muting it and the labels of the alerts inhibiting it."""

    state: str
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[Labels, ...] = ()


@dataclass(frozen=True, slots=True)
class ReadBack:
    """A reading: when (`at`), from which member, its silences (by id) and the statuses of the
    alerts it holds (by the console's fingerprint). `error` is why the latest attempt failed (at
    `failed_at`; the rest is then the last good reading), "" when it succeeded."""

    at: float | None = None
    peer: str = ""
    silences: tuple[RemoteSilence, ...] = ()
    statuses: Mapping[str, AmStatus] = field(default_factory=dict)
    error: str = ""
    failed_at: float | None = None

    def silence(self, silence_id: str) -> RemoteSilence:
        """Raises NotFound."""
        found = next((r for r in self.silences if r.silence.id == silence_id), None)
        if found is None:
            raise NotFound(f"silence {silence_id} not found")
        return found

    def keeping(self, remote: RemoteSilence) -> ReadBack:
        """This reading with `remote` in place of the silence of its id (or added)."""
        kept = [r for r in self.silences if r.silence.id != remote.silence.id]
        return dataclasses.replace(self, silences=tuple(sorted((*kept, remote), key=lambda r: r.silence.id)))


async def read_back(clients: Sequence[AlertmanagerClient], t: float) -> ReadBack:
    """Silences and alert statuses from the first of `clients` that answers both, read at `t`.
    Raises a retryable NotifyError listing each failure when none does."""
    errors: list[NotifyError] = []
    for client in clients:
        try:
            silences = await client.silences()
            alerts = await client.alerts()
        except NotifyError as exc:
            errors.append(exc)
            continue
        remote = sorted(_remote_silences(silences, client.shown), key=lambda r: r.silence.id)
        return ReadBack(t, client.shown, tuple(remote), _statuses(alerts))
    raise _none_answered("no Alertmanager answered", errors)


def mutes(reading: ReadBack, alert: Alert) -> tuple[Mute, ...]:
    """Why the Alertmanager mutes `alert` according to `reading`, in the pipeline's order:
    inhibited, then silenced (by the smallest silence id, as the console reports its own)."""
    status = reading.statuses.get(alert.fingerprint)
    if status is None or alert.resolved:
        return ()
    found: list[Mute] = []
    if status.inhibited_by:
        names = ", ".join(_describe(labels) for labels in status.inhibited_by)
        found.append(Mute(MuteReason.INHIBITED, f"inhibited in Alertmanager by {names}", args=(("source", names),)))
    if status.silenced_by:
        silence_id = min(status.silenced_by)
        detail = f"silenced by #{silence_id} in Alertmanager"
        args: tuple[tuple[str, str], ...] = (("id", silence_id),)
        known = next((r.silence for r in reading.silences if r.silence.id == silence_id), None)
        if known is not None:
            detail += f" ({known.created_by}: {known.comment})"
            args += (("by", known.created_by), ("comment", known.comment))
        found.append(Mute(MuteReason.SILENCED, detail, silence_id, (*args, ("peer", reading.peer))))
    return tuple(found)


async def post_silence(
    clients: Sequence[AlertmanagerClient],
    matchers: Sequence[Matcher],
    *,
    starts_at: float,
    ends_at: float,
    created_by: str,
    comment: str,
    t: float,
) -> RemoteSilence:
    """Create a silence at `t` in the first of `clients` that answers; the silence as it stored it.
    Checked first as `Silences.create` checks (same messages); a start before `t` becomes `t`.
    Raises ValueError (ours, or the Alertmanager's reason when it refuses), or a retryable
    NotifyError when no member answers."""
    draft = Silence("", tuple(matchers), max(starts_at, t), ends_at, created_by, comment, t)
    if ends_at <= t:
        raise ValueError("end time can't be in the past")
    validate_silence(draft)
    body = {
        "matchers": [_matcher_json(m) for m in draft.matchers],
        "startsAt": rfc3339(draft.starts_at),
        "endsAt": rfc3339(draft.ends_at),
        "createdBy": draft.created_by,
        "comment": draft.comment,
    }
    errors: list[NotifyError] = []
    for client in clients:
        try:
            silence_id = await client.create_silence(body)
        except NotifyError as exc:
            if not exc.retryable:
                raise ValueError(str(exc)) from exc
            errors.append(exc)
            continue
        state = "pending" if draft.starts_at > t else "active"
        created = RemoteSilence(dataclasses.replace(draft, id=silence_id), client.shown, state)
        with contextlib.suppress(NotifyError):  # as the member stored it (by its own clock), if it says
            stored = await client.silence(silence_id)
            created = next(iter(_remote_silences([stored] if stored else [], client.shown)), created)
        return created
    raise _none_answered("no Alertmanager accepted the silence", errors)


async def delete_silence(clients: Sequence[AlertmanagerClient], silence_id: str, t: float) -> RemoteSilence:
    """Expire the silence at `t` in the first of `clients` that has it; the silence as it is then
    (a pending one starts and ends at `t`). Raises NotFound when no member that answers has it,
    ValueError when it has already expired, a retryable NotifyError when no member answers."""
    try:
        uuid.UUID(silence_id)  # Alertmanager refuses other ids with a 422
    except ValueError:
        raise NotFound(f"silence {silence_id} not found") from None
    errors: list[NotifyError] = []
    for client in clients:
        try:
            found = await client.silence(silence_id)
            old = next(iter(_remote_silences([found], client.shown)), None) if found is not None else None
            if old is None:
                continue
            if old.state == "expired":
                raise ValueError(f"silence {silence_id} already expired")
            await client.expire_silence(silence_id)
        except NotifyError as exc:
            errors.append(exc)
            continue
        starts_at = t if old.state == "pending" else old.silence.starts_at
        return RemoteSilence(
            dataclasses.replace(old.silence, starts_at=starts_at, ends_at=t, updated_at=t), client.shown, "expired"
        )
    if errors and len(errors) == len(clients):
        raise _none_answered("no Alertmanager answered", errors)
    raise NotFound(f"silence {silence_id} not found")


# -- Alertmanager's JSON --------------------------------------------------------------------------

_OPS: dict[tuple[bool, bool], MatchOp] = {
    (False, True): "=",
    (True, True): "=~",
    (False, False): "!=",
    (True, False): "!~",
}
_FRACTION = re.compile(r"(\.\d{6})\d+")


def _matcher_json(m: Matcher) -> dict[str, Any]:
    return {"name": m.name, "value": m.value, "isRegex": "~" in m.op, "isEqual": not m.op.startswith("!")}


def _remote_silences(items: Sequence[Mapping[str, Any]], peer: str) -> list[RemoteSilence]:
    """Alertmanager's gettable silences; one the console cannot read (a regex Python refuses, a
    field missing) is left out with a warning naming it and why."""
    out = []
    for item in items:
        try:
            matchers = tuple(
                Matcher(m["name"], _OPS[bool(m.get("isRegex")), bool(m.get("isEqual", True))], m["value"])
                for m in item["matchers"]
            )
            silence = Silence(
                id=item["id"],
                matchers=matchers,
                starts_at=_time(item["startsAt"]),
                ends_at=_time(item["endsAt"]),
                created_by=item.get("createdBy", ""),
                comment=item.get("comment", ""),
                updated_at=_time(item.get("updatedAt", item["startsAt"])),
            )
            out.append(RemoteSilence(silence, peer, str((item.get("status") or {}).get("state", ""))))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("silence %s of Alertmanager %s left out: %r", item.get("id", "?"), peer, exc)
    return out


def _statuses(items: Sequence[Mapping[str, Any]]) -> dict[str, AmStatus]:
    """Alertmanager's gettable alerts as statuses by the console's fingerprint of their labels
    (Alertmanager keeps the labels we sent); `inhibitedBy` (Alertmanager's fingerprints) as the
    inhibiting alerts' labels."""
    labels_by_am = {str(item.get("fingerprint", "")): Labels(item.get("labels") or {}) for item in items}
    out: dict[str, AmStatus] = {}
    for item in items:
        status = item.get("status") or {}
        inhibitors = tuple(labels_by_am.get(fp, Labels(alertname=fp)) for fp in status.get("inhibitedBy") or ())
        silencers = tuple(str(s) for s in status.get("silencedBy") or ())
        out[fingerprint(Labels(item.get("labels") or {}))] = AmStatus(
            str(status.get("state", "")), silencers, inhibitors
        )
    return out


def _time(text: str) -> float:
    """An RFC 3339 time as Go writes it (up to nanoseconds) as Unix seconds."""
    moment = datetime.datetime.fromisoformat(_FRACTION.sub(r"\1", text).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return moment.timestamp()


def _describe(labels: Labels) -> str:
    rest = ", ".join(f'{k}="{v}"' for k, v in labels.pairs if k in ("target", "link", "site", "instance"))
    return f"{labels.get('alertname', '')}{{{rest}}}"


def _none_answered(what: str, errors: Sequence[NotifyError]) -> NotifyError:
    error = NotifyError(f"{what}: " + "; ".join(str(e) for e in errors), retryable=True)
    error.__cause__ = errors[0] if errors else None
    return error
