"""The state history: the recorder reads the real store through the real query engine, intervals
open and close with the states, a restart closes what was open at the last heartbeat, and the time
the console was not running is a gap, never an outage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from alerts.model import Alert, AlertState
from model import FakeClock, Labels, Sample
from reports.history import HistoryDB, LeafSpan
from reports.recorder import StateRecorder
from store.query.engine import QueryEngine
from store.tsdb import Store

T0 = 1_800_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "data", clock=FakeClock(T0), metrics=CollectorRegistry())
    yield opened
    opened.close()


def scrape(
    store: Store, t: float, *, up: dict[str, float], unreachable: dict[str, float], links: dict[str, float]
) -> None:
    samples = [Sample("up", Labels(target=k, collector="snmp"), v, t) for k, v in up.items()]
    samples += [Sample("up", Labels(target="web-01", collector="http"), up.get("web-01", 1.0), t)]
    samples += [Sample("target_unreachable", Labels(target=k, collector="snmp"), v, t) for k, v in unreachable.items()]
    samples += [
        Sample("interface_oper_up", Labels(target="rtr-01", ifindex="3", link=k), v, t) for k, v in links.items()
    ]
    store.append(samples)
    assert store.flush()


def test_the_recorder_opens_and_closes_intervals_as_states_change(store: Store, tmp_path: Path) -> None:
    history = HistoryDB.open(tmp_path / "history.sqlite3")
    firing: list[Alert] = []
    recorder = StateRecorder(history, query=QueryEngine(store).instant, firing=lambda: firing)
    down = Alert(Labels(alertname="WanLinkDown", link="office-01"), Labels(summary="WAN link office-01 is down"),
                 AlertState.FIRING, active_at=T0 + 15, value=1.0, fired_at=T0 + 75)  # fmt: skip
    steps = [  # t, srv-01 up, srv-02 (behind office-01) unreachable, link office-01 up, firing
        (T0, 1.0, 0.0, 1.0, []),
        (T0 + 15, 1.0, 1.0, 0.0, []),
        (T0 + 30, 0.0, 1.0, 0.0, []),
        (T0 + 75, 0.0, 1.0, 0.0, [down]),
        (T0 + 90, 1.0, 0.0, 1.0, []),
    ]
    for t, srv01, srv02, link, alerts in steps:
        scrape(store, t, up={"srv-01": srv01, "srv-02": 0.0}, unreachable={"srv-01": 0.0, "srv-02": srv02},
               links={"office-01": link})  # fmt: skip
        firing[:] = alerts
        recorder.observe(t)
    assert history.leaf_spans(T0, T0 + 100) == [
        LeafSpan("device:srv-02", "down", T0, T0 + 15),  # down and reachable at T0: down
        LeafSpan("device:srv-02", "unreachable", T0 + 15, T0 + 90),
        LeafSpan("link:office-01", "down", T0 + 15, T0 + 90),
        LeafSpan("device:srv-01", "down", T0 + 30, T0 + 90),
        LeafSpan("device:srv-02", "down", T0 + 90, T0 + 90),  # still open: ends at the heartbeat
    ]
    (span,) = history.alert_spans(T0, T0 + 100)
    assert (span.labels, span.start, span.end) == (down.labels, T0 + 15, T0 + 90)
    history.close()


def test_a_restart_closes_open_intervals_at_the_last_heartbeat_and_the_downtime_is_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    first = HistoryDB.open(path)
    first.observe(T0, {})
    first.observe(T0 + 15, {"device:srv-01": "down"})
    first.observe(T0 + 30, {"device:srv-01": "down"})  # the console dies here
    first.close()
    second = HistoryDB.open(path)  # and starts again 10 minutes later
    second.observe(T0 + 630, {"device:srv-01": "down"})
    second.observe(T0 + 645, {})
    assert second.leaf_spans(T0, T0 + 700) == [
        LeafSpan("device:srv-01", "down", T0 + 15, T0 + 30),
        LeafSpan("device:srv-01", "down", T0 + 630, T0 + 645),
    ]
    assert second.gaps(T0, T0 + 700) == [(T0 + 30, T0 + 630), (T0 + 645, T0 + 700)]
    reader = HistoryDB(path)  # what `run_console.py report` opens while the console runs
    assert reader.heartbeat == T0 + 645
    reader.close()
    second.close()
