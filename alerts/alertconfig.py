"""The `alerting:` config section: Alertmanager's `route`, `receivers`, `inhibit_rules` and
`time_intervals`, in Alertmanager's names, as strict pydantic models.

`AlertingConfig.model_validate(data, context=...)` checks each field on its own (the context is the
config loader's `ValidationContext`, which receivers need for their `env:`/`file:` secrets);
`AlertingConfig.problems()` lists what needs the whole section: receivers and time intervals named
by routes but not defined, names defined twice, escalations without `escalate_after`.
`config.checks` reports those as findings; `root_route()`, `inhibition_rules()` and `intervals()`
give the routing vocabulary of `alerts.routing` and `alerts.timeintervals`.

Defaults are Alertmanager's: `group_wait` 30s, `group_interval` 5m, `repeat_interval` 4h, on the
root route; a child route inherits every setting it leaves out from its parent (`matchers`,
`continue`, `routes`, `mute_time_intervals` and `active_time_intervals` excepted, as in
Alertmanager), the console's `escalate_after` and `escalation` included. The root route needs a
receiver and has no matchers or time intervals. The deprecated `match:` / `match_re:` maps are
accepted and become matchers; the older top-level `mute_time_intervals:` list is accepted next to
`time_intervals:`.

`alertmanager:` turns on Alertmanager mode (`AlertmanagerHandoffConfig`, alerts/handoff.py): the
console hands every firing and recently resolved alert to an Alertmanager cluster instead of
routing and notifying itself, so `route` and `receivers` are then problems.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from alerts.flapping import FlappingConfig
from alerts.maintenance import MaintenanceWindow
from alerts.matchers import Matcher, Matchers, format_matchers, matchers_from_maps, parse_matchers, sorted_matchers
from alerts.notifiers.config import HttpConfig, HttpUrl, ReceiverConfig, Seconds
from alerts.routing import GROUP_BY_ALL, InhibitRule, Route
from alerts.suppression import DEFAULT_DOWN_ALERTS
from alerts.timeintervals import (
    Range,
    TimeInterval,
    TimePeriod,
    TimeRange,
    parse_days_of_month,
    parse_location,
    parse_months,
    parse_time_range,
    parse_weekdays,
    parse_years,
)
from config.durations import parse_duration
from model.samples import LABEL_NAME_RE

__all__ = [
    "AlertingConfig",
    "AlertmanagerHandoffConfig",
    "InhibitRuleConfig",
    "RouteConfig",
    "TimeIntervalConfig",
    "TimePeriodConfig",
    "TimeRangeConfig",
]

Loc = tuple[str | int, ...]


def _matchers(value: object) -> Matchers:
    if isinstance(value, tuple) and all(isinstance(m, Matcher) for m in value):
        return value  # already parsed (model_copy, model_validate of a dumped model)
    if isinstance(value, str):
        raise ValueError('expected a list of matcher strings, such as ["severity=page"]')
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of matcher strings, got {type(value).__name__}")
    matchers: list[Matcher] = []
    for index, item in enumerate(value):
        try:
            matchers.extend(parse_matchers([item]))
        except ValueError as exc:  # reported at matchers[index]
            error: InitErrorDetails = {"type": "value_error", "loc": (index,), "input": item, "ctx": {"error": exc}}
            raise ValidationError.from_exception_data("matchers", [error]) from None
    return tuple(matchers)


MatcherList = Annotated[
    Matchers, PlainValidator(_matchers), PlainSerializer(lambda ms: [str(m) for m in ms], return_type=list[str])
]
"""Alertmanager's `matchers:`: a list of strings, each one or more comma-separated matchers."""


def _wait(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a duration such as 30s, got {type(value).__name__}")
    seconds = parse_duration(value) if isinstance(value, str) else float(value)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r} must be a duration of 0 or more")
    return seconds


WaitSeconds = Annotated[float, PlainValidator(_wait)]
"""A duration that may be 0 (`group_wait: 0s` sends the first notification at once)."""
Name = Annotated[str, Field(min_length=1)]


def _label_name(name: str) -> str:
    if not LABEL_NAME_RE.fullmatch(name):
        raise ValueError(f'"{name}" is not a valid label name (must match [a-zA-Z_][a-zA-Z0-9_]*)')
    return name


def _group_by_name(name: str) -> str:
    return name if name == GROUP_BY_ALL else _label_name(name)


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regex {value!r}: {exc.msg}") from None
    return value


LabelName = Annotated[str, AfterValidator(_label_name)]
Regex = Annotated[str, AfterValidator(_regex)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True, populate_by_name=True)


class RouteConfig(_Strict):
    """One route. Settings left out (None) are inherited from the parent route."""

    receiver: Name | None = None
    group_by: tuple[Annotated[str, AfterValidator(_group_by_name)], ...] | None = None
    group_wait: WaitSeconds | None = None
    group_interval: Seconds | None = None
    repeat_interval: Seconds | None = None
    matchers: MatcherList = ()
    match: Mapping[LabelName, str] = Field(default_factory=dict)
    match_re: Mapping[LabelName, Regex] = Field(default_factory=dict)
    continue_: Annotated[bool, Field(alias="continue")] = False
    routes: tuple[RouteConfig, ...] = ()
    mute_time_intervals: tuple[Name, ...] = ()
    active_time_intervals: tuple[Name, ...] = ()
    escalate_after: Seconds | None = None
    """Console extension: seconds a firing alert may stay unacknowledged before escalating."""
    escalation: tuple[Name, ...] | None = None
    """Console extension: receivers notified in turn, one more every `escalate_after`."""

    @field_validator("group_by")
    @classmethod
    def _group_by(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None or value == (GROUP_BY_ALL,):
            return value
        if GROUP_BY_ALL in value:
            raise ValueError("'...' (group by all labels) cannot be combined with label names")
        duplicated = sorted({name for name in value if value.count(name) > 1})
        if duplicated:
            raise ValueError(f'"{duplicated[0]}" is listed twice')
        return value

    def all_matchers(self) -> Matchers:
        """`matchers`, `match` and `match_re` together, in Alertmanager's order."""
        return sorted_matchers((*matchers_from_maps(self.match, self.match_re), *self.matchers))

    def route(self, parent: Route | None = None, index: int = 0) -> Route:
        """This route (and its children) with inheritance from `parent` applied; `index` is its
        position among its siblings (it becomes part of the key)."""
        base = parent or Route(receiver="")
        matchers = self.all_matchers()
        key = "{}" if parent is None else f"{parent.key}/{format_matchers(matchers)}/{index}"
        this = Route(
            receiver=self.receiver if self.receiver is not None else base.receiver,
            key=key,
            group_by=self.group_by if self.group_by is not None else base.group_by,
            group_wait=self.group_wait if self.group_wait is not None else base.group_wait,
            group_interval=self.group_interval if self.group_interval is not None else base.group_interval,
            repeat_interval=self.repeat_interval if self.repeat_interval is not None else base.repeat_interval,
            matchers=matchers,
            continue_=self.continue_,
            mute_time_intervals=self.mute_time_intervals,
            active_time_intervals=self.active_time_intervals,
            escalate_after=self.escalate_after if self.escalate_after is not None else base.escalate_after,
            escalation=self.escalation if self.escalation is not None else base.escalation,
        )
        return dataclasses.replace(this, routes=tuple(child.route(this, i) for i, child in enumerate(self.routes)))


class InhibitRuleConfig(_Strict):
    """One `inhibit_rules` entry (Alertmanager's names, deprecated `*_match` maps included)."""

    source_matchers: MatcherList = ()
    target_matchers: MatcherList = ()
    source_match: Mapping[LabelName, str] = Field(default_factory=dict)
    source_match_re: Mapping[LabelName, Regex] = Field(default_factory=dict)
    target_match: Mapping[LabelName, str] = Field(default_factory=dict)
    target_match_re: Mapping[LabelName, Regex] = Field(default_factory=dict)
    equal: tuple[LabelName, ...] = ()

    def rule(self) -> InhibitRule:
        source = (*matchers_from_maps(self.source_match, self.source_match_re), *self.source_matchers)
        target = (*matchers_from_maps(self.target_match, self.target_match_re), *self.target_matchers)
        return InhibitRule(sorted_matchers(source), sorted_matchers(target), self.equal)


class TimeRangeConfig(_Strict):
    """A `times` entry: `start_time` to `end_time` (HH:MM, end excluded, `24:00` allowed)."""

    start_time: str
    end_time: str

    @model_validator(mode="after")
    def _check(self) -> TimeRangeConfig:
        parse_time_range(self.start_time, self.end_time)
        return self

    def range(self) -> TimeRange:
        return parse_time_range(self.start_time, self.end_time)


class TimePeriodConfig(_Strict):
    """One entry of a time interval's `time_intervals`; keys left out do not restrict."""

    times: tuple[TimeRangeConfig, ...] | None = None
    weekdays: tuple[Annotated[Range, PlainValidator(parse_weekdays)], ...] | None = None
    days_of_month: tuple[Annotated[Range, PlainValidator(parse_days_of_month)], ...] | None = None
    months: tuple[Annotated[Range, PlainValidator(parse_months)], ...] | None = None
    years: tuple[Annotated[Range, PlainValidator(parse_years)], ...] | None = None
    location: str = "UTC"

    @field_validator("times", "weekdays", "days_of_month", "months", "years")
    @classmethod
    def _nonempty(cls, value: tuple[object, ...] | None) -> tuple[object, ...] | None:
        if value is not None and not value:
            raise ValueError("an empty list never matches: leave the key out to allow any")
        return value

    @field_validator("location")
    @classmethod
    def _location(cls, value: str) -> str:
        parse_location(value)
        return value

    def period(self) -> TimePeriod:
        return TimePeriod(
            times=tuple(t.range() for t in self.times or ()),
            weekdays=self.weekdays or (),
            days_of_month=self.days_of_month or (),
            months=self.months or (),
            years=self.years or (),
            location=parse_location(self.location),
        )


class TimeIntervalConfig(_Strict):
    """A named time interval (`time_intervals:` entry)."""

    name: Name
    time_intervals: tuple[TimePeriodConfig, ...] = ()

    def interval(self) -> TimeInterval:
        return TimeInterval(self.name, tuple(p.period() for p in self.time_intervals))


class TopologySuppressionConfig(_Strict):
    """`topology_suppression:`: alerts of nodes cut off (by the inventory's `parents`) behind nodes
    that a firing alert of `down_alerts` says are down are muted (alerts/suppression.py)."""

    enabled: bool = True
    down_alerts: tuple[str, ...] = tuple(sorted(DEFAULT_DOWN_ALERTS))


class AlertmanagerHandoffConfig(_Strict):
    """`alertmanager:` (Alertmanager mode). `peers` are the base URLs of every member of one
    Alertmanager cluster: each gets every alert (POST `/api/v2/alerts`, as Prometheus sends them),
    a firing one again every `resend_delay` with `endsAt = now + 4 * resend_delay`. Silences and the
    alerts' silenced/inhibited status are read back from the first peer that answers, every
    `poll_interval`. `timeout` bounds each request; `http_config` is the notifiers' own."""

    peers: tuple[HttpUrl, ...]
    http_config: HttpConfig = Field(default_factory=HttpConfig)
    timeout: Seconds = 10.0
    resend_delay: Seconds = 60.0
    poll_interval: Seconds = 10.0

    @field_validator("peers")
    @classmethod
    def _peers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one peer is needed (the base URL of every cluster member)")
        bases = [url.rstrip("/") for url in value]
        for index, base in enumerate(bases):
            if base in bases[:index]:
                raise ValueError(f'"{value[index]}" is listed twice')
        return value


class AlertingConfig(_Strict):
    """The `alerting:` section. `route` is required as soon as there are receivers."""

    route: RouteConfig | None = None
    receivers: tuple[ReceiverConfig, ...] = ()
    inhibit_rules: tuple[InhibitRuleConfig, ...] = ()
    time_intervals: tuple[TimeIntervalConfig, ...] = ()
    mute_time_intervals: tuple[TimeIntervalConfig, ...] = ()
    """Alertmanager's older name for `time_intervals`; both may be used, names are shared."""
    external_url: str = ""
    maintenance_windows: tuple[MaintenanceWindow, ...] = ()
    """Recurring (or one-off) maintenance windows defined in the file (alerts/maintenance.py); more
    can be created through the API. Windows from the file replace API ones of the same name."""
    flapping: FlappingConfig = Field(default_factory=FlappingConfig)
    topology_suppression: TopologySuppressionConfig = Field(default_factory=TopologySuppressionConfig)
    alertmanager: AlertmanagerHandoffConfig | None = None
    """Alertmanager mode: an Alertmanager cluster groups, routes and notifies (alerts/handoff.py)."""

    @field_validator("route")
    @classmethod
    def _root(cls, route: RouteConfig | None) -> RouteConfig | None:
        if route is None:
            return None
        if route.receiver is None:
            raise ValueError("the root route needs a receiver (the default receiver)")
        if route.all_matchers():
            raise ValueError("the root route matches every alert: it cannot have matchers")
        if route.mute_time_intervals or route.active_time_intervals:
            raise ValueError("the root route cannot have mute_time_intervals or active_time_intervals")
        return route

    @model_validator(mode="after")
    def _route_needed(self) -> AlertingConfig:
        if self.receivers and self.route is None:
            raise ValueError("route is required when there are receivers")
        return self

    def root_route(self) -> Route:
        """The route tree with inheritance applied. Raises ValueError when there is no `route`."""
        if self.route is None:
            raise ValueError("alerting has no route")
        return self.route.route()

    def inhibition_rules(self) -> tuple[InhibitRule, ...]:
        """The inhibit rules, in config order."""
        return tuple(rule.rule() for rule in self.inhibit_rules)

    def intervals(self) -> dict[str, TimeInterval]:
        """Every named time interval (`time_intervals` and `mute_time_intervals`) by name."""
        return {c.name: c.interval() for c in (*self.time_intervals, *self.mute_time_intervals)}

    def receiver(self, name: str) -> ReceiverConfig | None:
        return next((r for r in self.receivers if r.name == name), None)

    def problems(self) -> list[tuple[Loc, str]]:
        """What needs the whole section, as (path inside `alerting`, message), in file order:
        receiver and time interval names defined twice; receivers (`receiver`, `escalation`) and
        time intervals named by routes but not defined; `escalation` without `escalate_after`;
        `route` and `receivers` in Alertmanager mode (the Alertmanager routes and notifies)."""
        found = list(_duplicates([(("receivers", i, "name"), r.name) for i, r in enumerate(self.receivers)]))
        named: list[tuple[Loc, str]] = [
            ((section, i, "name"), c.name)
            for section in ("time_intervals", "mute_time_intervals")
            for i, c in enumerate(getattr(self, section))
        ]
        found.extend(_duplicates(named))
        windows = [(("maintenance_windows", i, "name"), w.name) for i, w in enumerate(self.maintenance_windows)]
        found.extend(_duplicates(windows))
        if self.route is not None:
            receivers = {r.name for r in self.receivers}
            intervals = {name for _, name in named}
            found.extend(_route_problems(self.route, ("route",), receivers, intervals, None))
        if self.alertmanager is not None:
            unused = [name for name in ("route", "receivers") if getattr(self, name)]
            found.extend(
                ((name,), f"not used in Alertmanager mode: the Alertmanager routes and notifies (remove {name})")
                for name in unused
            )
        return found


def _duplicates(entries: Sequence[tuple[Loc, str]]) -> Iterator[tuple[Loc, str]]:
    first: dict[str, Loc] = {}
    for loc, name in entries:
        if name in first:
            where = f"{first[name][0]}[{first[name][1]}]"
            yield loc, f'"{name}" is already used by {where}'
        else:
            first[name] = loc


def _route_problems(
    route: RouteConfig, loc: Loc, receivers: set[str], intervals: set[str], escalate_after: float | None
) -> Iterator[tuple[Loc, str]]:
    if route.receiver is not None and route.receiver not in receivers:
        yield (*loc, "receiver"), f'"{route.receiver}" is not a defined receiver'
    for i, name in enumerate(route.escalation or ()):
        if name not in receivers:
            yield (*loc, "escalation", i), f'"{name}" is not a defined receiver'
    for field in ("mute_time_intervals", "active_time_intervals"):
        for i, name in enumerate(getattr(route, field)):
            if name not in intervals:
                yield (*loc, field, i), f'"{name}" is not a defined time interval'
    escalate_after = route.escalate_after if route.escalate_after is not None else escalate_after
    if route.escalation and escalate_after is None:
        yield (*loc, "escalation"), "needs escalate_after (on this route or a parent route)"
    for i, child in enumerate(route.routes):
        yield from _route_problems(child, (*loc, "routes", i), receivers, intervals, escalate_after)
