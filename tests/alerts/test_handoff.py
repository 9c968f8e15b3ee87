"""Alertmanager mode (alerts/handoff.py) against real Alertmanagers (Debian's prometheus-alertmanager
0.25), each started by the test on 127.0.0.1 without gossip and routing to its own webhook
receiver: two of them stand for the two peers of a cluster, and each must get every alert.
The clock is a fake one set to the wall time (Alertmanager judges `endsAt` by its own clock)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from alerts.alertconfig import AlertingConfig, AlertmanagerHandoffConfig
from alerts.explain import AlertView, Mute, MuteReason
from alerts.handoff import AlertmanagerHandoff, PeerStatus
from alerts.matchers import parse_matchers
from alerts.model import Alert, AlertState
from alerts.mutedb import NotFound
from config import ConfigError, load
from model import FakeClock, Labels
from tests.alerts.alertmanagers import alertmanager
from tests.alerts.hooks import Hook, serve_hook
from tests.helpers import free_port

pytestmark = pytest.mark.slow

INSTALL = "apt-get install -y --no-install-recommends prometheus-alertmanager"
SOURCE = "estate.yaml;links"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[tuple[str, Hook]]]:
    """Two Alertmanagers (the peers), each with its own webhook receiver: [(url, hook), ...]."""
    with (
        serve_hook() as first_hook,
        serve_hook() as second_hook,
        alertmanager(tmp_path, "am1", first_hook.url) as first,
        alertmanager(tmp_path, "am2", second_hook.url) as second,
    ):
        yield [(first, first_hook), (second, second_hook)]


def until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:g}s: {what}")
        time.sleep(0.05)


def handoff_of(peers: list[str], clock: FakeClock, registry: CollectorRegistry) -> AlertmanagerHandoff:
    config = AlertmanagerHandoffConfig.model_validate(
        {"peers": peers, "timeout": "2s", "resend_delay": "1m", "poll_interval": "1s"}
    )
    return AlertmanagerHandoff(config, clock=clock, registry=registry)


def link_down(link: str, *, now: float, resolved_at: float | None = None) -> Alert:
    return Alert(
        labels=Labels(alertname="LinkDown", site="dc-east", link=link, severity="critical"),
        annotations=Labels(summary="回線断", description=f"{link} が停止"),
        state=AlertState.INACTIVE if resolved_at is not None else AlertState.FIRING,
        active_at=now - 120,
        value=0.0,
        fired_at=now - 60,
        resolved_at=resolved_at,
        generator_url="http://console.example/alerts?rule=LinkDown",
    )


def in_alertmanager(url: str) -> dict[str, dict[str, Any]]:
    """GET /api/v2/alerts, keyed by the `link` label."""
    answer = httpx.get(f"{url}/api/v2/alerts", trust_env=False, timeout=5)
    answer.raise_for_status()
    return {item["labels"]["link"]: item for item in answer.json()}


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def sent(registry: CollectorRegistry, peer: str) -> float | None:
    return registry.get_sample_value("am_handoff_alerts_sent_total", {"peer": peer})


def wall() -> float:
    return float(int(time.time()))


# -- sending --------------------------------------------------------------------------------------


def test_a_firing_alert_reaches_each_peers_webhook_with_its_labels_and_annotations(
    cluster: list[tuple[str, Hook]],
) -> None:
    now = wall()
    registry = CollectorRegistry()
    handoff = handoff_of([url for url, _ in cluster], FakeClock(now), registry)
    pending = Alert(Labels(alertname="LinkDown", link="東西回線2"), Labels(), AlertState.PENDING, now - 5, 0.0)

    handoff.receive(SOURCE, [link_down("東西回線1", now=now), pending])
    asyncio.run(handoff.send_round())

    for url, hook in cluster:
        until(lambda hook=hook: bool(hook.payloads), f"a notification from {url}")
        [payload] = hook.payloads
        assert (payload["status"], payload["groupKey"]) == ("firing", '{}:{alertname="LinkDown"}')
        [alert] = payload["alerts"]
        assert alert["labels"] == {
            "alertname": "LinkDown",
            "site": "dc-east",
            "link": "東西回線1",
            "severity": "critical",
        }
        assert alert["annotations"] == {"summary": "回線断", "description": "東西回線1 が停止"}
        assert (alert["status"], ts(alert["startsAt"])) == ("firing", now - 60)
        assert alert["generatorURL"] == "http://console.example/alerts?rule=LinkDown"
        [held] = in_alertmanager(url).values()  # the pending alert was never handed over
        assert ts(held["endsAt"]) == now + 240  # 4 x resend_delay, as Prometheus sends
        assert sent(registry, url) == 1


def test_resolving_an_alert_sends_the_resolved_notification_once(cluster: list[tuple[str, Hook]]) -> None:
    now = wall()
    clock, registry = FakeClock(now), CollectorRegistry()
    handoff = handoff_of([url for url, _ in cluster], clock, registry)
    handoff.receive(SOURCE, [link_down("東西回線1", now=now)])
    asyncio.run(handoff.send_round())
    for url, hook in cluster:
        until(lambda hook=hook: bool(hook.payloads), f"the firing notification from {url}")

    handoff.receive(SOURCE, [link_down("東西回線1", now=now, resolved_at=now)])
    clock.advance(1)
    asyncio.run(handoff.send_round())
    clock.advance(120)  # past the resend delay: a resolved alert is not sent again
    asyncio.run(handoff.send_round())

    for url, hook in cluster:
        until(lambda hook=hook: len(hook.payloads) == 2, f"the resolved notification from {url}")
        resolved = hook.payloads[1]
        assert resolved["status"] == "resolved"
        assert [(a["status"], a["labels"]["link"], ts(a["endsAt"])) for a in resolved["alerts"]] == [
            ("resolved", "東西回線1", now)
        ]
        assert sent(registry, url) == 2


def test_a_firing_alert_is_resent_every_resend_delay_with_its_end_moved_on(cluster: list[tuple[str, Hook]]) -> None:
    now = wall()
    clock, registry = FakeClock(now), CollectorRegistry()
    handoff = handoff_of([url for url, _ in cluster], clock, registry)
    handoff.receive(SOURCE, [link_down("東西回線1", now=now)])

    asyncio.run(handoff.send_round())
    clock.advance(59)
    asyncio.run(handoff.send_round())
    counts = [sent(registry, url) for url, _ in cluster]
    clock.advance(1)
    asyncio.run(handoff.send_round())

    assert counts == [1, 1]
    for url, _ in cluster:
        assert sent(registry, url) == 2
        assert ts(in_alertmanager(url)["東西回線1"]["endsAt"]) == now + 60 + 240


def test_a_peer_down_does_not_stop_delivery_to_the_other_and_is_counted_and_retried(tmp_path: Path) -> None:
    now = wall()
    port = free_port()
    down = f"http://127.0.0.1:{port}"
    registry = CollectorRegistry()
    with serve_hook() as hook, serve_hook() as late_hook, alertmanager(tmp_path, "am2", hook.url) as up:
        handoff = handoff_of([down, up], FakeClock(now), registry)
        handoff.receive(SOURCE, [link_down("東西回線1", now=now)])

        asyncio.run(handoff.send_round())

        until(lambda: bool(hook.payloads), "the notification from the peer that is up")
        error = f"cannot connect to {down}/api/v2/alerts: Connection refused"
        assert handoff.peers() == [
            PeerStatus(down, False, None, error, now, now, failures=1, waiting=1),
            PeerStatus(up, True, now, "", None, None, failures=0, waiting=0),
        ]
        assert registry.get_sample_value("am_handoff_send_failures_total", {"peer": down}) == 1
        assert registry.get_sample_value("am_handoff_peer_up", {"peer": down}) == 0
        assert registry.get_sample_value("am_handoff_alerts_waiting", {"peer": down}) == 1
        assert asyncio.run(handoff.refresh()) is True
        assert handoff.read_back().peer == up  # the first peer that answers

        with alertmanager(tmp_path, "am1", late_hook.url, port):
            asyncio.run(handoff.send_round())  # the next round: retried, delivered

            until(lambda: bool(late_hook.payloads), "the notification from the peer back up")
            assert [a["labels"]["link"] for a in late_hook.payloads[0]["alerts"]] == ["東西回線1"]
            assert [p.up for p in handoff.peers()] == [True, True]
            assert (sent(registry, down), sent(registry, up)) == (1, 1)
            assert registry.get_sample_value("am_handoff_send_failures_total", {"peer": down}) == 1


def test_an_alert_a_peer_refuses_is_dropped_counted_and_sent_again_only_after_the_resend_delay(
    cluster: list[tuple[str, Hook]],
) -> None:
    now = wall()
    clock, registry = FakeClock(now), CollectorRegistry()
    [(url, _), _] = cluster
    handoff = handoff_of([url], clock, registry)
    handoff.receive(SOURCE, [Alert(Labels(), Labels(), AlertState.FIRING, now - 60, 1.0, fired_at=now - 60)])

    asyncio.run(handoff.send_round())
    clock.advance(30)
    asyncio.run(handoff.send_round())
    failures_before_resend = handoff.peers()[0].failures
    clock.advance(30)
    asyncio.run(handoff.send_round())

    assert failures_before_resend == 1
    [peer] = handoff.peers()
    assert (peer.failures, peer.waiting, peer.up) == (2, 0, False)
    assert peer.last_error == f'HTTP 400 Bad Request from {url}/api/v2/alerts: "at least one label pair required"'
    assert registry.get_sample_value("am_handoff_alerts_dropped_total", {"peer": url}) == 2


def test_run_hands_alerts_over_and_reads_back_on_its_own(cluster: list[tuple[str, Hook]]) -> None:
    now = wall()
    handoff = handoff_of([url for url, _ in cluster], FakeClock(now), CollectorRegistry())

    async def scenario() -> None:
        stop = asyncio.Event()
        running = asyncio.create_task(handoff.run(stop))
        await asyncio.sleep(0.1)
        handoff.receive(SOURCE, [link_down("東西回線1", now=now)])
        deadline = time.monotonic() + 10
        while not all(hook.payloads for _, hook in cluster) or handoff.read_back().at is None:
            assert time.monotonic() < deadline, "no notification through both peers within 10s"
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(running, 5)

    asyncio.run(scenario())

    assert [[a["labels"]["link"] for a in hook.payloads[0]["alerts"]] for _, hook in cluster] == [
        ["東西回線1"],
        ["東西回線1"],
    ]
    assert handoff.read_back().peer == cluster[0][0]


# -- silences -------------------------------------------------------------------------------------


def test_a_silence_made_in_alertmanager_is_read_back_and_mutes_the_alert_in_the_console(
    cluster: list[tuple[str, Hook]],
) -> None:
    now = wall()
    [(url, _), _] = cluster
    handoff = handoff_of([url for url, _ in cluster], FakeClock(now), CollectorRegistry())
    alert = link_down("東西回線1", now=now)
    handoff.receive(SOURCE, [alert, link_down("東西回線2", now=now)])
    asyncio.run(handoff.send_round())
    body = {
        "matchers": [{"name": "link", "value": "東西回線1", "isRegex": False, "isEqual": True}],
        "startsAt": "2020-01-01T00:00:00Z",
        "endsAt": "2099-01-01T00:00:00Z",
        "createdBy": "ops",
        "comment": "回線工事",
    }
    made = httpx.post(f"{url}/api/v2/silences", json=body, trust_env=False, timeout=5).json()["silenceID"]

    assert asyncio.run(handoff.refresh()) is True

    [remote] = handoff.silences()
    assert (remote.silence.id, remote.peer, remote.state, remote.origin) == (made, url, "active", "alertmanager")
    assert [str(m) for m in remote.silence.matchers] == ['link="東西回線1"']
    assert (remote.silence.created_by, remote.silence.comment, remote.silence.ends_at) == (
        "ops",
        "回線工事",
        ts("2099-01-01T00:00:00Z"),
    )
    assert handoff.silence(made) == remote
    silenced = Mute(
        MuteReason.SILENCED,
        f"silenced by #{made} in Alertmanager (ops: 回線工事)",
        made,
        (("id", made), ("by", "ops"), ("comment", "回線工事"), ("peer", url)),
    )
    assert handoff.mutes(alert) == (silenced,)
    assert handoff.mutes(link_down("東西回線2", now=now)) == ()
    view = AlertView(alert, mutes=(), groups=(), acknowledgement=None, flapping=False)
    [marked] = handoff.mark_views([view])
    assert marked.mutes == (silenced,)


def test_a_silence_made_through_the_console_is_created_and_expired_in_alertmanager(
    cluster: list[tuple[str, Hook]],
) -> None:
    now = wall()
    [(url, _), _] = cluster
    handoff = handoff_of([url for url, _ in cluster], FakeClock(now), CollectorRegistry())

    created = handoff.create_silence(
        parse_matchers('link="東西回線1"'), starts_at=now - 600, ends_at=now + 3600, created_by="ops", comment="工事"
    )

    stored = httpx.get(f"{url}/api/v2/silence/{created.silence.id}", trust_env=False, timeout=5).json()
    assert stored["matchers"] == [{"name": "link", "value": "東西回線1", "isRegex": False, "isEqual": True}]
    assert now <= ts(stored["startsAt"]) < now + 10  # a start in the past becomes now
    assert (ts(stored["endsAt"]), stored["createdBy"], stored["comment"]) == (now + 3600, "ops", "工事")
    assert (created.silence.starts_at, created.peer, created.state) == (ts(stored["startsAt"]), url, "active")
    assert handoff.silences() == [created]

    expired = handoff.expire_silence(created.silence.id)

    assert (expired.state, expired.silence.ends_at) == ("expired", now)
    stored = httpx.get(f"{url}/api/v2/silence/{created.silence.id}", trust_env=False, timeout=5).json()
    assert stored["status"]["state"] == "expired"
    assert handoff.silences() == [expired]
    with pytest.raises(ValueError, match=rf"^silence {created.silence.id} already expired$"):
        handoff.expire_silence(created.silence.id)
    unknown = "00000000-0000-4000-8000-000000000000"
    for missing in (unknown, "not-a-uuid"):
        with pytest.raises(NotFound, match=rf"^silence {missing} not found$"):
            handoff.expire_silence(missing)


def test_a_silence_is_refused_with_the_consoles_messages_before_reaching_alertmanager(
    cluster: list[tuple[str, Hook]],
) -> None:
    now = wall()
    handoff = handoff_of([url for url, _ in cluster], FakeClock(now), CollectorRegistry())
    cases = [
        (parse_matchers('link="a"'), now - 1, "ops", "x", "end time can't be in the past"),
        (parse_matchers('link="a"'), now + 60, "ops", "x", "end time must be after start time"),
        (parse_matchers('link=""'), now + 3600, "ops", "x", "at least one matcher must not match the empty string"),
        (parse_matchers('link="a"'), now + 3600, "ops", " ", "comment is required"),
    ]
    for matchers, ends_at, by, comment, message in cases:
        with pytest.raises(ValueError) as caught:
            handoff.create_silence(matchers, starts_at=now + 120, ends_at=ends_at, created_by=by, comment=comment)
        assert str(caught.value) == message
    for url, _ in cluster:
        assert httpx.get(f"{url}/api/v2/silences", trust_env=False, timeout=5).json() == []


def test_silences_go_to_the_next_peer_when_the_first_is_down_and_fail_when_none_answers(
    cluster: list[tuple[str, Hook]],
) -> None:
    now = wall()
    down = f"http://127.0.0.1:{free_port()}"
    up = cluster[1][0]
    handoff = handoff_of([down, up], FakeClock(now), CollectorRegistry())

    created = handoff.create_silence(
        parse_matchers("site=dc-east"), starts_at=now, ends_at=now + 60, created_by="ops", comment="x"
    )

    assert created.peer == up
    nobody = handoff_of([down], FakeClock(now), CollectorRegistry())
    with pytest.raises(Exception, match=rf"^no Alertmanager accepted the silence: cannot connect to {down}"):
        nobody.create_silence(
            parse_matchers("site=dc-east"), starts_at=now, ends_at=now + 60, created_by="o", comment="x"
        )
    assert asyncio.run(nobody.refresh()) is False
    assert (
        nobody.read_back().error
        == f"no Alertmanager answered: cannot connect to {down}/api/v2/silences: Connection refused"
    )


# -- config ---------------------------------------------------------------------------------------


def test_the_mode_has_prometheus_defaults_and_exact_errors() -> None:
    config = AlertingConfig.model_validate({"alertmanager": {"peers": ["http://am1:9093", "http://am2:9093/"]}})
    assert config.alertmanager is not None
    assert (config.alertmanager.timeout, config.alertmanager.resend_delay, config.alertmanager.poll_interval) == (
        10.0,
        60.0,
        10.0,
    )
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"peers": []},
            "alertmanager.peers: Value error, at least one peer is needed (the base URL of every cluster member)",
        ),
        (
            {"peers": ["http://a:9093", "http://a:9093/"]},
            'alertmanager.peers: Value error, "http://a:9093/" is listed twice',
        ),
        ({"peers": ["am1:9093"]}, 'alertmanager.peers.0: Value error, "am1:9093" is not an http:// or https:// URL'),
        (
            {"peers": ["http://a:9093"], "resend_delay": "0s"},
            "alertmanager.resend_delay: Value error, '0s' must be a duration greater than 0",
        ),
        (
            {"peers": ["http://a:9093"], "resend_every": "1m"},
            "alertmanager.resend_every: Extra inputs are not permitted",
        ),
    ]
    for data, message in cases:
        with pytest.raises(ValidationError) as caught:
            AlertingConfig.model_validate({"alertmanager": data})
        assert [".".join(map(str, e["loc"])) + ": " + e["msg"] for e in caught.value.errors()] == [message]


def test_route_and_receivers_are_problems_in_alertmanager_mode(tmp_path: Path) -> None:
    text = """
sites: [{id: dc-east, name: east}]
systems: [{id: records, name: records}]
devices:
  - {name: host-01, site: dc-east, system: records, role: server, address: 127.0.0.1, collectors: {host: {}}}
alerting:
  alertmanager: {peers: ['http://127.0.0.1:9093']}
  route: {receiver: oncall}
  receivers: [{name: oncall}]
"""
    with pytest.raises(ConfigError) as caught:
        load(text, source="console.yaml", base_dir=tmp_path, environ={})
    assert str(caught.value).splitlines() == [
        "console.yaml:8: alerting.route: not used in Alertmanager mode: the Alertmanager routes and notifies"
        " (remove route)",
        "console.yaml:9: alerting.receivers: not used in Alertmanager mode: the Alertmanager routes and notifies"
        " (remove receivers)",
    ]
