"""The notification pipeline (alerts/pipeline.py) on a fake clock, sending to real webhook receivers
through the real outbox (alerts/delivery.py) and SQLite files in tmp_path."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from alerts.acks import Acks
from alerts.alertconfig import TimeIntervalConfig
from alerts.delivery import Delivery, build_integrations
from alerts.explain import AlertBrief, GroupPhase, MuteReason, RouteMute
from alerts.flapping import FlapDetector, FlappingConfig
from alerts.maintenance import Maintenances, MaintenanceWindow
from alerts.matchers import parse_matchers
from alerts.model import Alert, AlertState
from alerts.mutedb import MuteDB
from alerts.notifiers import NotifierDeps, ReceiverConfig, WebhookConfig
from alerts.pipeline import Pipeline
from alerts.routing import InhibitRule, Route
from alerts.silences import Silences
from alerts.suppression import Topology
from alerts.timeintervals import TimeInterval
from model import FakeClock, Labels
from tests.alerts.hooks import Hook, serve_hook

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z, a Friday

ROOT = Route(
    receiver="oncall",
    group_by=("alertname",),
    group_wait=30.0,
    group_interval=300.0,
    repeat_interval=3600.0,
)

PARENTS = {
    "rtr-east-01": (),
    "east-west-1": ("rtr-east-01",),
    "east-west-2": ("rtr-east-01",),
    "rtr-west-01": ("east-west-1", "east-west-2"),
    "srv-west-01": ("rtr-west-01",),
    "srv-west-02": ("rtr-west-01",),
}


def alert(name: str, t: float, *, resolved_at: float | None = None, **labels: str) -> Alert:
    return Alert(
        labels=Labels({"alertname": name, **labels}),
        annotations=Labels({"summary": f"{name} {' '.join(labels.values())}"}),
        state=AlertState.FIRING,
        active_at=t,
        value=1.0,
        fired_at=t,
        resolved_at=resolved_at,
    )


@dataclass
class World:
    tmp: Path
    clock: FakeClock
    oncall: Hook
    manager: Hook
    pipeline: Pipeline = field(init=False)
    delivery: Delivery = field(init=False)
    mutedb: MuteDB = field(init=False)
    root: Route = ROOT
    options: dict[str, Any] = field(default_factory=dict)

    def start(self, **options: Any) -> Pipeline:
        """(Re)build the pipeline over the same files, as a console restart does."""
        self.options = options or self.options
        self.mutedb = MuteDB(self.tmp / "mutes.sqlite3")
        receivers = build_integrations(
            [
                ReceiverConfig(name="oncall", webhook_configs=(WebhookConfig(url=self.oncall.url),)),
                ReceiverConfig(name="manager", webhook_configs=(WebhookConfig(url=self.manager.url),)),
            ],
            NotifierDeps(clock=self.clock),
        )
        self.delivery = Delivery(
            self.tmp / "notify.sqlite3", receivers=receivers, clock=self.clock, registry=CollectorRegistry()
        )
        self.pipeline = Pipeline(
            root=self.options.get("root", self.root),
            delivery=self.delivery,
            clock=self.clock,
            registry=CollectorRegistry(),
            silences=Silences(self.mutedb),
            acks=Acks(self.mutedb),
            maintenances=Maintenances(self.mutedb),
            flaps=FlapDetector(self.mutedb, FlappingConfig(changes=4, window=600, calm=300)),
            topology=Topology(PARENTS, devices=[n for n in PARENTS if not n.startswith("east-west")]),
            inhibit_rules=self.options.get("inhibit_rules", ()),
            time_intervals=self.options.get("time_intervals"),
        )
        return self.pipeline

    def stop(self) -> None:
        self.delivery.close()
        self.mutedb.close()

    def run(self, seconds: float, alerts: dict[str, Sequence[Alert]] | None = None) -> None:
        """Step the clock a second at a time for `seconds`: the rules hand over `alerts` (per
        source) every 15 s, the pipeline ticks and the outbox sends what is due."""
        end = self.clock.now() + seconds
        while self.clock.now() < end:
            self.clock.advance(1.0)
            if alerts is not None and int(self.clock.now() - T0) % 15 == 0:
                for source, items in alerts.items():
                    self.pipeline.receive(source, items)
            self.pipeline.tick()
            asyncio.run(self.delivery.send_due(self.clock.now()))

    def feed(self, source: str, alerts: Sequence[Alert]) -> None:
        self.pipeline.receive(source, alerts)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with serve_hook() as oncall, serve_hook() as manager:
        w = World(tmp_path, FakeClock(T0), oncall, manager)
        w.start()
        try:
            yield w
        finally:
            w.stop()


def alertnames(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["labels"]["alertname"], a["status"]) for a in payload["alerts"]]


def targets(payload: dict[str, Any]) -> list[str]:
    return sorted(a["labels"].get("target", a["labels"].get("link", "")) for a in payload["alerts"])


# -- grouping, group_wait, dedup, repeat, resolve -----------------------------------------------


def test_alerts_of_one_group_are_sent_once_together_after_group_wait(world: World) -> None:
    firing = [alert("DeviceDown", T0, target=f"srv-{i}") for i in range(3)]
    world.feed("g", firing)
    world.run(29)
    assert world.oncall.received == []
    world.run(2)
    assert world.oncall.delivered() == ['{}:{alertname="DeviceDown"}']
    assert targets(world.oncall.payloads[0]) == ["srv-0", "srv-1", "srv-2"]
    assert world.oncall.payloads[0]["status"] == "firing"


def test_the_same_alerts_are_not_sent_again_until_repeat_interval(world: World) -> None:
    firing = {"g": [alert("DeviceDown", T0, target="srv-0")]}
    world.feed("g", firing["g"])
    world.run(3600 + 30 - 1, firing)
    assert len(world.oncall.delivered()) == 1  # group_interval flushes found nothing new
    world.run(300, firing)  # the first flush after repeat_interval (3600 s after the send at +30 s)
    assert len(world.oncall.delivered()) == 2


def test_a_new_alert_in_a_flushed_group_waits_for_group_interval(world: World) -> None:
    first = alert("DeviceDown", T0, target="srv-0")
    world.feed("g", [first])
    world.run(31)
    second = alert("DeviceDown", world.clock.now(), target="srv-1")
    world.feed("g", [first, second])
    world.run(298)
    assert len(world.oncall.delivered()) == 1
    world.run(1)  # T0 + 30 + 300: the group's next flush
    assert len(world.oncall.delivered()) == 2
    assert targets(world.oncall.payloads[1]) == ["srv-0", "srv-1"]


def test_a_resolved_alert_is_sent_resolved_once_and_leaves_its_group(world: World) -> None:
    down = alert("DeviceDown", T0, target="srv-0")
    world.feed("g", [down])
    world.run(31)
    resolved = alert("DeviceDown", T0, target="srv-0", resolved_at=world.clock.now())
    world.feed("g", [resolved])
    world.run(600, {"g": [resolved]})
    assert [p["status"] for p in world.oncall.payloads] == ["firing", "resolved"]
    assert alertnames(world.oncall.payloads[1]) == [("DeviceDown", "resolved")]
    assert world.pipeline.next_due() is None  # the group is gone


def test_a_groups_view_says_its_phase_and_when_it_is_notified_and_repeated(world: World) -> None:
    down = [alert("DeviceDown", T0, target="srv-0")]
    world.feed("g", down)

    def group() -> tuple[GroupPhase, float | None, float, float | None]:
        g = world.pipeline.views()[0].groups[0]
        return g.phase, g.last_notified, g.next_flush, g.repeat_due

    assert group() == (GroupPhase.GROUP_WAIT, None, T0 + 30, None)
    world.run(31)
    assert group() == (GroupPhase.NOTIFIED, T0 + 30, T0 + 330, T0 + 3630)


def test_a_flushed_group_with_every_alert_muted_is_not_notified_yet(world: World) -> None:
    assert world.pipeline.silences is not None
    world.pipeline.silences.create(
        'target="srv-0"', starts_at=T0, ends_at=T0 + 3600, created_by="yamada", comment="disk swap", t=T0
    )
    world.feed("g", [alert("DeviceDown", T0, target="srv-0")])
    world.run(31)
    g = world.pipeline.views()[0].groups[0]
    assert (g.phase, g.last_notified, g.next_flush, g.repeat_due) == (GroupPhase.WAITING, None, T0 + 330, None)
    assert g.status == "not notified yet; next check at 2027-01-15T08:05:30Z"


# -- mutes and their explanations ---------------------------------------------------------------


def test_a_silenced_alert_is_not_sent_and_says_which_silence(world: World) -> None:
    assert world.pipeline.silences is not None
    silence = world.pipeline.silences.create(
        'target="srv-1"', starts_at=T0, ends_at=T0 + 3600, created_by="yamada", comment="disk swap", t=T0
    )
    world.feed("g", [alert("DeviceDown", T0, target="srv-0"), alert("DeviceDown", T0, target="srv-1")])
    world.run(31)
    assert targets(world.oncall.payloads[0]) == ["srv-0"]
    views = {v.alert.labels["target"]: v for v in world.pipeline.views()}
    assert views["srv-0"].mutes == ()
    assert [(m.reason, m.detail) for m in views["srv-1"].mutes] == [
        (MuteReason.SILENCED, f"silenced by #{silence.id} (yamada: disk swap)")
    ]
    assert [m.args for m in views["srv-1"].mutes] == [(("id", silence.id), ("by", "yamada"), ("comment", "disk swap"))]


def test_an_inhibit_rule_mutes_targets_while_its_source_fires(world: World) -> None:
    rule = InhibitRule(
        source_matchers=parse_matchers('alertname="SiteDown"'),
        target_matchers=parse_matchers('alertname="DeviceDown"'),
        equal=("site",),
    )
    world.stop()
    world.start(inhibit_rules=(rule,))
    world.feed(
        "g",
        [
            alert("SiteDown", T0, site="dc-west"),
            alert("DeviceDown", T0, target="srv-0", site="dc-west"),
            alert("DeviceDown", T0, target="srv-9", site="dc-east"),
        ],
    )
    world.run(31)
    sent = sorted((p["groupKey"], targets(p)) for p in world.oncall.payloads)
    assert sent == [('{}:{alertname="DeviceDown"}', ["srv-9"]), ('{}:{alertname="SiteDown"}', [""])]
    view = next(v for v in world.pipeline.views() if v.alert.labels.get("target") == "srv-0")
    assert [m.detail for m in view.mutes] == ['inhibited by SiteDown{site="dc-west"}']
    assert [m.args for m in view.mutes] == [(("source", 'SiteDown{site="dc-west"}'),)]


def test_a_wan_cut_pages_once_naming_what_is_behind_it(world: World) -> None:
    cut = [
        alert("WanLinkDown", T0, link="east-west-1"),
        alert("WanLinkDown", T0, link="east-west-2"),
        alert("DeviceUnreachable", T0, target="rtr-west-01"),
        alert("DeviceUnreachable", T0, target="srv-west-01"),
        alert("DeviceUnreachable", T0, target="srv-west-02"),
    ]
    world.feed("g", cut)
    world.run(600, {"g": cut})
    assert world.oncall.delivered() == ['{}:{alertname="WanLinkDown"}']
    payload = world.oncall.payloads[0]
    assert targets(payload) == ["east-west-1", "east-west-2"]
    assert [a["annotations"]["behind"] for a in payload["alerts"]] == [
        "3 devices cut off: rtr-west-01, srv-west-01, srv-west-02",
        "3 devices cut off: rtr-west-01, srv-west-01, srv-west-02",
    ]
    view = next(v for v in world.pipeline.views() if v.alert.labels.get("target") == "srv-west-02")
    assert [m.detail for m in view.mutes] == [
        'suppressed by WanLinkDown{link="east-west-1"}, WanLinkDown{link="east-west-2"}'
    ]
    assert [m.args for m in view.mutes] == [
        (("source", 'WanLinkDown{link="east-west-1"}, WanLinkDown{link="east-west-2"}'),)
    ]


def test_one_link_of_a_pair_down_suppresses_nothing_behind_it(world: World) -> None:
    alerts = [alert("WanLinkDown", T0, link="east-west-1"), alert("DeviceDown", T0, target="srv-west-01")]
    world.feed("g", alerts)
    world.run(31)
    assert sorted(p["groupKey"] for p in world.oncall.payloads) == [
        '{}:{alertname="DeviceDown"}',
        '{}:{alertname="WanLinkDown"}',
    ]
    assert "behind" not in world.oncall.payloads[0]["alerts"][0]["annotations"]


def test_a_maintenance_window_mutes_matching_alerts_while_it_runs(world: World) -> None:
    assert world.pipeline.maintenances is not None
    window = MaintenanceWindow.model_validate(
        {
            "name": "friday-batch",
            "matchers": ['target=~"srv-.*"'],
            "owner": "ops-west",
            "reason": "monthly batch",
            "location": "Asia/Tokyo",
            "schedule": {"weekly": {"weekdays": ["friday"], "start": "17:00", "duration": "1h"}},  # 08:00Z
        }
    )
    world.pipeline.maintenances.create(window, "suzuki", T0)
    world.feed("g", [alert("DeviceDown", T0, target="srv-0")])
    world.run(31)
    assert world.oncall.received == []
    view = world.pipeline.views()[0]
    assert [m.detail for m in view.mutes] == ["in maintenance friday-batch (ops-west: monthly batch)"]
    assert [m.args for m in view.mutes] == [
        (("name", "friday-batch"), ("owner", "ops-west"), ("reason", "monthly batch"))
    ]
    world.run(3600, {"g": [alert("DeviceDown", T0, target="srv-0")]})  # the window ends at 09:00Z
    assert len(world.oncall.delivered()) == 1


def test_briefs_say_what_the_views_say_of_cut_maintained_and_acknowledged_alerts(world: World) -> None:
    assert world.pipeline.maintenances is not None
    window = MaintenanceWindow.model_validate(
        {
            "name": "disk",
            "matchers": ['target="srv-0"'],
            "owner": "ops-east",
            "reason": "disk swap",
            "schedule": {"once": {"start": "2027-01-15T07:00:00Z", "end": "2027-01-15T09:00:00Z"}},
        }
    )
    world.pipeline.maintenances.create(window, "suzuki", T0)
    alerts = [
        alert("WanLinkDown", T0, link="east-west-1"),
        alert("WanLinkDown", T0, link="east-west-2"),
        alert("DeviceUnreachable", T0, target="srv-west-01"),
        alert("DeviceDown", T0, target="srv-0"),
        alert("DeviceDown", T0, target="srv-9"),
    ]
    world.feed("g", alerts)
    world.run(31)
    world.pipeline.acknowledge(alerts[4].fingerprint, "tanaka", "on it")
    now = world.clock.now()
    briefs = {b.alert.fingerprint: b for b in world.pipeline.briefs()}
    assert briefs == {v.alert.fingerprint: AlertBrief.of(v, now) for v in world.pipeline.views()}
    node = {fp: b.alert.labels.get("target") or b.alert.labels["link"] for fp, b in briefs.items()}
    assert sorted((node[fp], b.suppressed, b.maintenance, b.acknowledged_by) for fp, b in briefs.items()) == [
        ("east-west-1", False, False, None),
        ("east-west-2", False, False, None),
        ("srv-0", False, True, None),
        ("srv-9", False, False, "tanaka"),
        ("srv-west-01", True, False, None),
    ]


# -- acknowledgement and escalation -------------------------------------------------------------


def test_an_acknowledged_alert_is_not_repeated_and_pages_again_when_the_ack_expires(world: World) -> None:
    down = [alert("DeviceDown", T0, target="srv-0")]
    world.feed("g", down)
    world.run(31)
    fp = down[0].fingerprint
    world.pipeline.acknowledge(fp, "tanaka", "on it", expires_in=7200)
    view = world.pipeline.views()[0]
    assert [m.detail for m in view.mutes] == ["acknowledged by tanaka until 2027-01-15T10:00:31Z: on it"]
    assert [m.args for m in view.mutes] == [(("by", "tanaka"), ("until", "2027-01-15T10:00:31Z"), ("comment", "on it"))]
    world.run(7200 - 2, {"g": down})
    assert len(world.oncall.delivered()) == 1  # no repeat at +1 h: acknowledged
    world.run(3, {"g": down})
    assert len(world.oncall.delivered()) == 2  # expired while firing: paged again at once


def test_unacknowledging_pages_again(world: World) -> None:
    down = [alert("DeviceDown", T0, target="srv-0")]
    world.feed("g", down)
    world.run(31)
    world.pipeline.acknowledge(down[0].fingerprint, "tanaka", "on it")
    world.run(60, {"g": down})
    mutes = world.pipeline.views()[0].mutes
    assert [(m.detail, m.args) for m in mutes] == [
        ("acknowledged by tanaka: on it", (("by", "tanaka"), ("comment", "on it")))  # no expiry: no `until`
    ]
    world.pipeline.unacknowledge(down[0].fingerprint, "tanaka")
    world.run(1, {"g": down})
    assert len(world.oncall.delivered()) == 2


def test_an_unacknowledged_alert_escalates_along_the_chain(world: World) -> None:
    world.stop()
    world.start(root=Route(receiver="oncall", group_by=("alertname",), escalate_after=600.0, escalation=("manager",)))
    down = [alert("DeviceDown", T0, target="srv-0")]
    world.feed("g", down)
    world.run(598, {"g": down})
    assert world.manager.received == []
    world.run(3, {"g": down})  # fired at T0: 600 s unacknowledged
    assert world.manager.delivered() == ['{}:{alertname="DeviceDown"}/escalation/manager']


def test_an_acknowledged_alert_does_not_escalate(world: World) -> None:
    world.stop()
    world.start(root=Route(receiver="oncall", group_by=("alertname",), escalate_after=600.0, escalation=("manager",)))
    down = [alert("DeviceDown", T0, target="srv-0")]
    world.feed("g", down)
    world.run(31)
    world.pipeline.acknowledge(down[0].fingerprint, "tanaka", "on it")
    world.run(1200, {"g": down})
    assert world.manager.received == []


# -- flapping -----------------------------------------------------------------------------------


def test_a_flapping_alert_is_notified_once_as_flapping_then_muted_until_calm(world: World) -> None:
    down = alert("DeviceDown", T0, target="srv-0")
    for k in range(5):  # firing, then 4 state changes within 600 s: flapping from the 4th
        up = k % 2 == 1
        state = alert("DeviceDown", T0, target="srv-0", resolved_at=world.clock.now()) if up else down
        world.feed("g", [state])
        world.run(60)
    flaps = [p for p in world.oncall.payloads if p["groupKey"].endswith("/flapping")]
    assert [p["alerts"][0]["annotations"]["flapping"] for p in flaps] == ["started"]
    view = world.pipeline.views()[0]
    assert [(m.reason, m.detail, m.args) for m in view.mutes] == [  # the 4th change, at T0 + 240
        (
            MuteReason.FLAPPING,
            "flapping since 2027-01-15T08:04:00Z: notified once as flapping",
            (("since", "2027-01-15T08:04:00Z"),),
        )
    ]
    world.run(360, {"g": [down]})  # no change for `calm` (300 s): calmed, notified once more
    flaps = [p for p in world.oncall.payloads if p["groupKey"].endswith("/flapping")]
    assert [p["alerts"][0]["annotations"]["flapping"] for p in flaps] == ["started", "calmed"]


# -- time intervals and restart -----------------------------------------------------------------


def test_a_route_muted_by_a_time_interval_sends_nothing_while_it_is_active(world: World) -> None:
    interval = _interval_all_day()
    world.stop()
    world.start(
        root=Route(receiver="oncall", group_by=("alertname",), mute_time_intervals=("always",)),
        time_intervals={"always": interval},
    )
    world.feed("g", [alert("DeviceDown", T0, target="srv-0")])
    world.run(31)
    assert world.oncall.received == []
    group = world.pipeline.views()[0].groups[0]
    assert group.route_muted == "route muted by time interval always"
    assert (group.route_mute, group.route_mute_intervals) == (RouteMute.MUTED, ("always",))


def _interval_all_day() -> TimeInterval:
    return TimeIntervalConfig.model_validate(
        {"name": "always", "time_intervals": [{"times": [{"start_time": "00:00", "end_time": "24:00"}]}]}
    ).interval()


def test_a_restart_sends_nothing_already_sent_and_keeps_acknowledgements(world: World) -> None:
    down = [alert("DeviceDown", T0, target="srv-0"), alert("DeviceDown", T0, target="srv-1")]
    world.feed("g", down)
    world.run(31)
    world.pipeline.acknowledge(down[1].fingerprint, "tanaka", "on it")
    world.stop()
    world.start()
    world.run(900, {"g": down})  # the restored alerts fired long ago: flushed at once, and deduplicated
    assert len(world.oncall.delivered()) == 1
    view = next(v for v in world.pipeline.views() if v.alert.labels["target"] == "srv-1")
    assert view.acknowledgement is not None and view.acknowledgement.by == "tanaka"


def test_an_acknowledgement_that_expired_while_the_console_was_down_pages_after_the_restart(world: World) -> None:
    down = [alert("DeviceDown", T0, target="srv-0")]
    world.feed("g", down)
    world.run(31)
    world.pipeline.acknowledge(down[0].fingerprint, "tanaka", "on it", expires_in=600)
    world.stop()
    world.clock.advance(1200)  # the console is down when the acknowledgement expires
    world.start()
    world.run(2)  # before the rules hand the alert over again: nothing to page yet
    assert len(world.oncall.delivered()) == 1
    world.feed("g", down)
    world.run(2, {"g": down})
    assert len(world.oncall.delivered()) == 2
    world.run(600, {"g": down})  # paged once for the expiry, not at every tick
    assert len(world.oncall.delivered()) == 2
    assert world.pipeline.views()[0].acknowledgement is None


def test_a_pending_alert_is_shown_but_never_grouped_sent_or_inhibiting(world: World) -> None:
    pending = [
        Alert(
            labels=Labels({"alertname": "WanLinkDown", "link": link}),
            annotations=Labels(),
            state=AlertState.PENDING,
            active_at=T0,
            value=0.0,
        )
        for link in ("east-west-1", "east-west-2")
    ]
    behind = alert("DeviceDown", T0, target="srv-west-01")  # would be cut off were both links down
    world.feed("g", [*pending, behind])
    world.run(31)
    assert world.oncall.delivered() == ['{}:{alertname="DeviceDown"}']
    views = {v.alert.labels.get("link", v.alert.name): v for v in world.pipeline.views()}
    assert (views["east-west-1"].alert.state, views["east-west-1"].groups) == (AlertState.PENDING, ())
    assert views["DeviceDown"].mutes == ()
