"""Maintenance windows: planned periods, once or recurring, in which matching alerts are muted (and
which availability reports leave out), as Zabbix maintenance periods, with an owner and a reason.

A `MaintenanceWindow` is config (pydantic, unknown keys are errors) and is also created at run time
through the API:

```yaml
maintenance_windows:
  - name: core-patching
    matchers: ['site=~"dc-.*"', 'scope="device"']
    owner: netops
    reason: monthly switch firmware
    location: Asia/Tokyo            # IANA time zone of the times below (default UTC)
    schedule:
      monthly: {days: [1, 15, -1], start: "02:00", duration: 3h}   # -1: the month's last day
    active_from: 2027-04-01         # optional bounds of a recurring schedule (dates, inclusive)
    active_until: 2028-03-31
```

Schedules: `once: {start, end}` (RFC 3339 with an offset, or `"YYYY-MM-DD HH:MM"` in `location`),
`daily: {start, duration}`, `weekly: {weekdays: [sunday, ...], start, duration}`,
`monthly: {days: [...], start, duration}` (1..31 from the month's start, -1..-31 from its end; a
day the month lacks, such as 31 in April or -30 in February, has no occurrence). Quote `start`
("10:30"): YAML reads an unquoted 10:30 as the number 630.

Time semantics: `start` is the local wall time in `location` on each day the schedule names, and
`duration` is elapsed time, so a window may last more than a day, cross midnight, and last its full
duration across a DST change (02:00 + 3h on the night clocks go back ends at 04:00 local, 3 hours
later). A start in the hour skipped when clocks go forward begins that much after the change
(01:30 in London on the last Sunday of March is 02:30 BST); a start in the hour repeated when they
go back is the first of the two. Occurrences are half-open [start, end); overlapping or touching
occurrences form one period. `active_from` / `active_until` select the occurrences whose local start
date lies within them. Times are Unix seconds.

`Maintenances` holds the windows in memory and in a `MuteDB`: config windows are replaced at start
(`sync_from_config`), API ones kept; `in_maintenance(labels, t)`, asked per alert per evaluation,
reuses one computation of which windows are active until the next change of any of them.
"""

from __future__ import annotations

import builtins
import calendar
import enum
import json
import math
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from alerts.matchers import Matchers, parse_matchers
from alerts.mutedb import MuteDB, NotFound
from alerts.notifiers.config import Seconds
from config.durations import format_duration

__all__ = [
    "Daily",
    "MaintenanceRecord",
    "MaintenanceWindow",
    "Maintenances",
    "Monthly",
    "Once",
    "Origin",
    "Schedule",
    "Weekly",
    "at_least_one",
    "iana_zone",
]

Weekday = Literal["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
_WEEKDAY_INDEX = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6}
_CLOCK_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})")
_INSTANT_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}")
_T = TypeVar("_T")
_MERGE_LIMIT = 366 * 86400.0
"""A period of back-to-back occurrences longer than this is cut here (a window that never ends)."""


def _clock(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(f'expected a time of day "HH:MM", got the number {value} (quote it: YAML reads 10:30 as 630)')
    match = _CLOCK_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"{value!r} is not a time of day (HH:MM, 00:00 to 23:59)")
    return f"{int(match[1]):02d}:{match[2]}"


def _instant(value: object) -> str:
    if isinstance(value, datetime):  # YAML reads an unquoted RFC 3339 time as a datetime
        return value.isoformat()
    if not isinstance(value, str) or _INSTANT_RE.match(value) is None:
        raise ValueError(f"{value!r} is not a time (RFC 3339 such as 2027-01-15T08:00:00+09:00, or YYYY-MM-DD HH:MM)")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid date and time") from None
    return value


def _month_day(day: int) -> int:
    if not (1 <= day <= 31 or -31 <= day <= -1):
        raise ValueError(f"{day} is not a day of the month (1 to 31, or -1 to -31 counted from the month's end)")
    return day


def at_least_one(what: str) -> Callable[[tuple[_T, ...]], tuple[_T, ...]]:
    def check(values: tuple[_T, ...]) -> tuple[_T, ...]:
        if not values:
            raise ValueError(f"at least one {what} is needed")
        return values

    return check


def iana_zone(value: str) -> str:
    """`value` if it names an IANA time zone, else ValueError with the words the config shows."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f'"{value}" is not an IANA time zone (such as UTC, Asia/Tokyo, Europe/London)') from None
    return value


def _matchers(value: object) -> object:
    if isinstance(value, str) or (isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)):
        return parse_matchers(value)
    return value


TimeOfDay = Annotated[str, BeforeValidator(_clock)]
Instant = Annotated[str, BeforeValidator(_instant)]
Duration = Annotated[Seconds, PlainSerializer(format_duration, return_type=str)]
MonthDay = Annotated[int, AfterValidator(_month_day)]
MatcherList = Annotated[
    Matchers, BeforeValidator(_matchers), PlainSerializer(lambda ms: [str(m) for m in ms], return_type=list[str])
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True, hide_input_in_errors=True)


class Once(_Strict):
    start: Instant
    end: Instant


class _Recurring(_Strict):
    start: TimeOfDay
    duration: Duration

    def on(self, day: date) -> bool:
        """Whether an occurrence starts on local date `day`."""
        raise NotImplementedError


class Daily(_Recurring):
    def on(self, day: date) -> bool:
        return True


class Weekly(_Recurring):
    weekdays: Annotated[tuple[Weekday, ...], AfterValidator(at_least_one("weekday"))]

    def on(self, day: date) -> bool:
        return any(_WEEKDAY_INDEX[name] == day.weekday() for name in self.weekdays)


class Monthly(_Recurring):
    days: Annotated[tuple[MonthDay, ...], AfterValidator(at_least_one("day"))]

    def on(self, day: date) -> bool:
        length = calendar.monthrange(day.year, day.month)[1]
        return any((d if d > 0 else length + 1 + d) == day.day for d in self.days)


class Schedule(_Strict):
    """Exactly one of `once`, `daily`, `weekly`, `monthly`."""

    once: Once | None = None
    daily: Daily | None = None
    weekly: Weekly | None = None
    monthly: Monthly | None = None

    @model_validator(mode="after")
    def _one(self) -> Schedule:
        given = [k for k in ("once", "daily", "weekly", "monthly") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"exactly one of once, daily, weekly, monthly is needed, got {len(given)}")
        return self

    @property
    def recurring(self) -> _Recurring | None:
        return self.daily or self.weekly or self.monthly


class MaintenanceWindow(_Strict):
    """One maintenance window (see the module docstring for the schedule's time semantics)."""

    name: Annotated[str, Field(min_length=1)]
    matchers: MatcherList
    owner: Annotated[str, Field(min_length=1)]
    reason: Annotated[str, Field(min_length=1)]
    location: Annotated[str, AfterValidator(iana_zone)] = "UTC"
    schedule: Schedule
    active_from: date | None = None
    active_until: date | None = None

    @model_validator(mode="after")
    def _check(self) -> MaintenanceWindow:
        if not self.matchers:
            raise ValueError("matchers: at least one matcher required")
        if all(m.matches({}) for m in self.matchers):
            raise ValueError("matchers: at least one matcher must not match the empty string")
        once = self.schedule.once
        if once is not None:
            if self.active_from is not None or self.active_until is not None:
                raise ValueError("active_from and active_until bound recurring schedules, not once")
            if not self._instant(once.end) > self._instant(once.start):
                raise ValueError("schedule.once: end must be after start")
        if self.active_from is not None and self.active_until is not None and self.active_until < self.active_from:
            raise ValueError("active_until must not be before active_from")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.location)

    def mutes(self, labels: Mapping[str, str], t: float) -> bool:
        """Whether the window is active at `t` and every matcher matches `labels`."""
        return all(m.matches(labels) for m in self.matchers) and self.active_at(t)

    def active_at(self, t: float) -> bool:
        for start, end in self._periods(t):
            if end > t:
                return start <= t
        return False

    def next_change(self, t: float) -> float | None:
        """The first time after `t` at which the window starts or ends; None if it never does again."""
        for start, end in self._periods(t):
            if end > t:
                return end if start <= t else start
        return None

    def occurrences(self, start: float, end: float) -> list[tuple[float, float]]:
        """The periods of the window overlapping [start, end), clipped to it, in time order."""
        out: list[tuple[float, float]] = []
        for p_start, p_end in self._periods(start):
            if p_start >= end:
                break
            if p_end > start:
                out.append((max(p_start, start), min(p_end, end)))
        return out

    def _instant(self, text: str) -> float:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.tz)
        return moment.timestamp()

    def _periods(self, t: float) -> Iterator[tuple[float, float]]:
        """Merged occurrences in time order, from one that may still be running at `t` on."""
        current: tuple[float, float] | None = None
        for start, end in self._occurrences_from(t):
            if current is not None and start <= current[1] and current[1] - current[0] < _MERGE_LIMIT:
                current = (current[0], max(current[1], end))
                continue
            if current is not None:
                yield current
            current = (start, end)
        if current is not None:
            yield current

    def _occurrences_from(self, t: float) -> Iterator[tuple[float, float]]:
        once, rule = self.schedule.once, self.schedule.recurring
        if once is not None:
            yield self._instant(once.start), self._instant(once.end)
            return
        assert rule is not None
        tz = self.tz
        hour, minute = (int(part) for part in rule.start.split(":"))
        day = datetime.fromtimestamp(t, tz).date() - timedelta(days=math.ceil(rule.duration / 86400) + 1)
        if self.active_from is not None:
            day = max(day, self.active_from)
        idle = 0
        while self.active_until is None or day <= self.active_until:
            if rule.on(day):
                idle = 0
                start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).timestamp()
                yield start, start + rule.duration
            elif (idle := idle + 1) > 400:  # cannot happen with a valid schedule; never loop for ever
                return
            day += timedelta(days=1)


class Origin(enum.Enum):
    CONFIG = "config"
    API = "api"


@dataclass(frozen=True, slots=True)
class MaintenanceRecord:
    """A window and where it came from: `created_by`/`created_at` are the API user and time
    ("config" and None for a config-defined window)."""

    window: MaintenanceWindow
    origin: Origin
    created_by: str
    created_at: float | None


@dataclass(frozen=True, slots=True)
class _Active:
    """The windows active throughout [since, until)."""

    since: float
    until: float
    windows: tuple[MaintenanceWindow, ...]


class Maintenances:
    """The maintenance windows, in memory and in `db`, by name. Thread-safe."""

    def __init__(self, db: MuteDB) -> None:
        self._db = db
        self._lock = threading.Lock()
        rows = db.query("SELECT spec, origin, created_by, created_at FROM maintenance_windows ORDER BY name")
        self._records = {
            record.window.name: record
            for record in (
                MaintenanceRecord(MaintenanceWindow.model_validate(json.loads(spec)), Origin(origin), by, at)
                for spec, origin, by, at in rows
            )
        }
        self._active: _Active | None = None

    def create(self, window: MaintenanceWindow, created_by: str, t: float) -> MaintenanceRecord:
        """Add a window through the API. Raises ValueError if one with its name exists."""
        if not created_by.strip():
            raise ValueError("created_by is required")
        record = MaintenanceRecord(window, Origin.API, created_by, t)
        with self._lock:
            if window.name in self._records:
                raise ValueError(f'a maintenance window named "{window.name}" already exists')
            with self._db.transaction() as db:
                _insert(db, record)
            self._set({**self._records, window.name: record})
        return record

    def delete(self, name: str) -> MaintenanceRecord:
        """Remove an API-created window. Raises NotFound, or ValueError for a config-defined one."""
        with self._lock:
            record = self._records.get(name)
            if record is None:
                raise NotFound(f'maintenance window "{name}" not found')
            if record.origin is Origin.CONFIG:
                raise ValueError(f'maintenance window "{name}" is defined in the config file: remove it there')
            with self._db.transaction() as db:
                db.execute("DELETE FROM maintenance_windows WHERE name = ?", (name,))
            self._set({n: r for n, r in self._records.items() if n != name})
        return record

    def list(self) -> builtins.list[MaintenanceRecord]:
        """Every window by name."""
        return list(self._records.values())

    def sync_from_config(self, windows: Iterable[MaintenanceWindow]) -> builtins.list[str]:
        """Make the config-defined windows exactly `windows`, keeping API-created ones, in one
        transaction. A config window replaces an API one of the same name; their names are returned.
        Raises ValueError if two of `windows` share a name."""
        config = [MaintenanceRecord(w, Origin.CONFIG, "config", None) for w in windows]
        names = [r.window.name for r in config]
        if len(set(names)) != len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"maintenance window names must be unique: {', '.join(twice)}")
        with self._lock:
            kept = {n: r for n, r in self._records.items() if r.origin is Origin.API}
            replaced = sorted(n for n in names if n in kept)
            with self._db.transaction() as db:
                db.execute("DELETE FROM maintenance_windows WHERE origin = ?", (Origin.CONFIG.value,))
                for record in config:
                    db.execute("DELETE FROM maintenance_windows WHERE name = ?", (record.window.name,))
                    _insert(db, record)
            self._set({**kept, **{r.window.name: r for r in config}})
        return replaced

    def in_maintenance(self, labels: Mapping[str, str], t: float) -> MaintenanceWindow | None:
        """The first (by name) window active at `t` whose matchers all match `labels`, or None."""
        active = self._active
        if active is None or not active.since <= t < active.until:
            active = self._compute(t)
        for window in active.windows:
            if all(m.matches(labels) for m in window.matchers):
                return window
        return None

    def _compute(self, t: float) -> _Active:
        records = self._records
        windows = [r.window for r in records.values()]
        changes = [c for c in (w.next_change(t) for w in windows) if c is not None]
        active = _Active(t, min(changes, default=math.inf), tuple(w for w in windows if w.active_at(t)))
        if self._records is records:  # not changed meanwhile (a change resets the cache)
            self._active = active
        return active

    def _set(self, records: dict[str, MaintenanceRecord]) -> None:
        self._records = dict(sorted(records.items()))
        self._active = None


def _insert(db: sqlite3.Connection, record: MaintenanceRecord) -> None:
    db.execute(
        "INSERT INTO maintenance_windows VALUES (?, ?, ?, ?, ?)",
        (
            record.window.name,
            json.dumps(record.window.model_dump(mode="json", exclude_none=True), ensure_ascii=False),
            record.origin.value,
            record.created_by,
            record.created_at,
        ),
    )
