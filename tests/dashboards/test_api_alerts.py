"""dashboards/api_alerts.py: the alerting API through a real waitress server on loopback, over a
real pipeline, outbox and mute database (SQLite files in tmp_path) on a fake clock, notifying a real
webhook receiver."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from alerts.model import Alert, AlertState
from alerts.pipeline import Pipeline
from alerts.routing import Route
from dashboards import HealthReport, create_server
from dashboards.api_alerts import AlertsApi
from model import FakeClock, Labels
from tests.alerts.factories import webhook_pipeline
from tests.alerts.hooks import Hook, serve_hook
from tests.helpers import serve_wsgi

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z, a Friday: 17:00 in Tokyo
ROUTE = Route(receiver="oncall", group_by=("alertname",), group_wait=30.0, group_interval=300.0, repeat_interval=3600.0)
GROUP = '{}:{alertname="DeviceDown"}'
CONFIG_WINDOW = {
    "name": "core-patching",
    "matchers": ['site="dc-east"'],
    "owner": "netops",
    "reason": "monthly switch firmware",
    "location": "Asia/Tokyo",
    "schedule": {"monthly": {"days": [1], "start": "02:00", "duration": "3h"}},
}
FRIDAY_BATCH = {
    "name": "friday-batch",
    "matchers": ['target=~"srv-.*"'],
    "owner": "ops-west",
    "reason": "weekly batch",
    "location": "Asia/Tokyo",
    "schedule": {"weekly": {"weekdays": ["friday"], "start": "17:00", "duration": "1h"}},
}


def down(target: str, *, site: str = "dc-west") -> Alert:
    return Alert(
        labels=Labels(alertname="DeviceDown", site=site, target=target),
        annotations=Labels(summary=f"{target} is down"),
        state=AlertState.FIRING,
        active_at=T0 - 60,
        value=0.0,
        fired_at=T0,
        last_evaluated=T0,
    )


SRV0, SRV1 = down("srv-0"), down("srv-1")


def request(
    url: str,
    method: str,
    body: object = None,
    *,
    raw: bytes | None = None,
    content_type: str | None = "application/json",
    token: str | None = None,
) -> tuple[int, Any]:
    """One request (`body` sent as JSON, or `raw` bytes): its status and the decoded JSON answer
    (the text of an answer that is not JSON)."""
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": content_type} if data is not None and content_type is not None else {}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    sent = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(sent, timeout=10) as response:
            status, kind, text = response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        with error:
            status, kind, text = error.code, error.headers["Content-Type"], error.read()
    return status, json.loads(text) if kind == "application/json" else text.decode()


def error(error_type: str, message: str) -> dict[str, str]:
    return {"status": "error", "errorType": error_type, "error": message}


@dataclass
class Console:
    """The server's URL and what stands behind it."""

    url: str
    clock: FakeClock
    pipeline: Pipeline
    hook: Hook

    def call(self, method: str, path: str, body: object = None, **options: Any) -> tuple[int, Any]:
        return request(self.url + path, method, body, **options)

    def data(self, method: str, path: str, body: object = None) -> Any:
        """The `data` of a successful answer."""
        status, answer = self.call(method, path, body)
        assert (status, answer["status"]) == (200, "success"), answer
        return answer["data"]

    def alerts(self) -> dict[str, dict[str, Any]]:
        """GET /api/v1/alerts by target."""
        return {a["labels"]["target"]: a for a in self.data("GET", "/api/v1/alerts")["alerts"]}

    def run(self, seconds: int, alerts: list[Alert] | None = None) -> None:
        """Step the clock a second at a time: the rules hand over `alerts` every 15 s, the pipeline
        ticks and the outbox sends what is due."""
        for _ in range(seconds):
            self.clock.advance(1.0)
            if alerts is not None and int(self.clock.now() - T0) % 15 == 0:
                self.pipeline.receive("g", alerts)
            self.pipeline.tick()
            asyncio.run(self.pipeline.delivery.send_due(self.clock.now()))


@contextlib.contextmanager
def serve_console(tmp_path: Path) -> Iterator[Console]:
    """A console server over a pipeline with silences, acks and the config window `core-patching`,
    its outbox notifying a webhook receiver, on a fake clock at T0."""
    clock = FakeClock(T0)
    with serve_hook() as hook, webhook_pipeline(tmp_path, clock, hook.url, ROUTE, [CONFIG_WINDOW]) as pipeline:
        app = create_server(
            metrics=CollectorRegistry(),
            latest=list,
            health=lambda: HealthReport({}),
            alerts=lambda: AlertsApi(pipeline, clock),
        )
        with serve_wsgi(app) as url:
            yield Console(url, clock, pipeline, hook)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    """Alerts srv-0 and srv-1 fired at T0 and were notified at T0 + 30 s; the clock is at T0 + 31 s."""
    with serve_console(tmp_path) as c:
        c.pipeline.receive("g", [SRV0, SRV1])
        c.run(31)
        assert c.hook.delivered() == [GROUP]
        yield c


VALID_SILENCE: dict[str, Any] = {
    "matchers": ['target="srv-1"'],
    "endsAt": "2027-01-15T10:00:00Z",
    "createdBy": "yamada",
    "comment": "disk swap",
}


# -- alerts -------------------------------------------------------------------------------------


def test_alerts_lists_each_fired_alert_with_its_group_and_why_it_is_notified(console: Console) -> None:
    assert console.data("GET", "/api/v1/alerts") == {
        "alerts": [
            {
                "fingerprint": alert.fingerprint,
                "labels": {"alertname": "DeviceDown", "site": "dc-west", "target": target},
                "annotations": {"summary": f"{target} is down"},
                "state": "firing",
                "activeAt": "2027-01-15T07:59:00.000Z",
                "firedAt": "2027-01-15T08:00:00.000Z",
                "resolvedAt": None,
                "lastEvaluation": "2027-01-15T08:00:00.000Z",
                "value": "0.0",
                "notified": True,
                "mutes": [],
                "acknowledgement": None,
                "flapping": False,
                "groups": [
                    {
                        "groupKey": GROUP,
                        "receiver": "oncall",
                        "status": "notified at 2027-01-15T08:00:30Z; repeat due at 2027-01-15T09:00:30Z,"
                        " next check at 2027-01-15T08:05:30Z",
                        "phase": "notified",
                        "lastNotified": "2027-01-15T08:00:30.000Z",
                        "nextFlush": "2027-01-15T08:05:30.000Z",
                        "repeatDue": "2027-01-15T09:00:30.000Z",
                        "routeMuted": "",
                    }
                ],
                "behind": [],
            }
            for target, alert in (("srv-0", SRV0), ("srv-1", SRV1))
        ]
    }


def test_every_endpoint_answers_503_unavailable_when_alerting_is_not_running() -> None:
    app = create_server(metrics=CollectorRegistry(), latest=list, health=lambda: HealthReport({}), alerts=lambda: None)
    with serve_wsgi(app) as url:
        answers = [
            request(url + path, method, body)
            for method, path, body in (
                ("GET", "/api/v1/alerts", None),
                ("POST", "/api/v1/alerts/0123456789abcdef/ack", {"by": "tanaka"}),
                ("GET", "/api/v1/silences", None),
                ("POST", "/api/v1/silences", VALID_SILENCE),
                ("DELETE", "/api/v1/silence/x", None),
                ("GET", "/api/v1/maintenance", None),
                ("DELETE", "/api/v1/maintenance/x", None),
                ("GET", "/api/v1/notifications", None),
            )
        ]
    assert answers == [(503, error("unavailable", "alerting is not running"))] * 8


# -- silences -----------------------------------------------------------------------------------


def test_a_silence_created_through_the_api_mutes_its_alert_and_is_named_in_its_mutes(console: Console) -> None:
    created = console.data(
        "POST",
        "/api/v1/silences",
        {
            "matchers": ['target="srv-1"'],
            "startsAt": "2027-01-15T08:00:31Z",
            "endsAt": "2027-01-15T10:00:31Z",
            "createdBy": "yamada",
            "comment": "disk swap",
        },
    )
    silence_id = created["silenceID"]
    assert created == {"silenceID": silence_id}

    alerts = console.alerts()
    assert (alerts["srv-0"]["notified"], alerts["srv-0"]["mutes"]) == (True, [])
    assert (alerts["srv-1"]["notified"], alerts["srv-1"]["mutes"]) == (
        False,
        [
            {
                "reason": "silenced",
                "detail": f"silenced by #{silence_id} (yamada: disk swap)",
                "ref": silence_id,
                "args": {"id": silence_id, "by": "yamada", "comment": "disk swap"},
            }
        ],
    )
    shown = {
        "id": silence_id,
        "matchers": [{"name": "target", "value": "srv-1", "isRegex": False, "isEqual": True}],
        "startsAt": "2027-01-15T08:00:31.000Z",
        "endsAt": "2027-01-15T10:00:31.000Z",
        "updatedAt": "2027-01-15T08:00:31.000Z",
        "createdBy": "yamada",
        "comment": "disk swap",
        "status": {"state": "active"},
    }
    assert console.data("GET", f"/api/v1/silence/{silence_id}") == shown
    assert console.data("GET", "/api/v1/silences") == [shown]


def test_alertmanager_matcher_objects_and_unix_seconds_are_accepted(console: Console) -> None:
    matchers = [
        {"name": "target", "value": "srv-.*", "isRegex": True, "isEqual": True},
        {"name": "site", "value": "dc-east", "isRegex": False, "isEqual": False},
        {"name": "rack", "value": "r9|r10", "isRegex": True, "isEqual": False},
        {"name": "alertname", "value": 'Device"Down', "isRegex": False, "isEqual": True},
    ]
    body = {"matchers": matchers, "startsAt": T0 + 600, "endsAt": T0 + 3600, "createdBy": "sato", "comment": "test"}
    silence_id = console.data("POST", "/api/v1/silences", body)["silenceID"]

    silence = console.data("GET", f"/api/v1/silence/{silence_id}")
    assert silence["matchers"] == matchers
    assert (silence["startsAt"], silence["endsAt"], silence["status"]) == (
        "2027-01-15T08:10:00.000Z",
        "2027-01-15T09:00:00.000Z",
        {"state": "pending"},
    )


def test_a_silence_starting_in_the_past_starts_now_as_in_alertmanager(console: Console) -> None:
    body = {"matchers": ['site="dc-west"'], "startsAt": T0 - 3600, "endsAt": T0 + 3600, "createdBy": "sato"}
    silence_id = console.data("POST", "/api/v1/silences", body | {"comment": "rack move"})["silenceID"]

    assert console.data("GET", f"/api/v1/silence/{silence_id}")["startsAt"] == "2027-01-15T08:00:31.000Z"
    assert [m["reason"] for a in console.alerts().values() for m in a["mutes"]] == ["silenced", "silenced"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"matchers": []}, "matchers: a non-empty list is required"),
        ({"matchers": ['target=~".*"']}, "at least one matcher must not match the empty string"),
        ({"startsAt": "2027-01-15T09:00:00Z", "endsAt": "2027-01-15T09:00:00Z"}, "end time must be after start time"),
        ({"endsAt": "2027-01-15T08:00:00Z"}, "end time can't be in the past"),
        (
            {"matchers": [{"name": "target", "isRegex": False}]},
            ('matchers: {"name": "target", "isRegex": false} is neither matcher text nor {name, value, isRegex}'),
        ),
        ({"createdBy": "  "}, "createdBy: a non-empty string is required"),
        ({"comment": None}, "comment: a non-empty string is required"),
        ({"endsAt": "tomorrow"}, "endsAt: 'tomorrow' is not an RFC 3339 time or Unix seconds"),
        ({"endsAt": None}, "endsAt: an RFC 3339 time or Unix seconds is required"),
        # A time without an offset would be read in the server's own time zone.
        ({"endsAt": "2027-01-15T10:00:00"}, "endsAt: '2027-01-15T10:00:00' is not an RFC 3339 time or Unix seconds"),
        # Beyond what a date can hold: it would break every later listing of the silences.
        ({"endsAt": 1e20}, "endsAt: 1e+20 is not an RFC 3339 time or Unix seconds"),
    ],
)
def test_an_invalid_silence_is_refused_with_400_and_what_is_wrong(
    console: Console, change: dict[str, Any], message: str
) -> None:
    assert console.call("POST", "/api/v1/silences", VALID_SILENCE | change) == (400, error("bad_data", message))
    assert console.data("GET", "/api/v1/silences") == []


def test_an_infinite_end_is_refused_and_the_silences_stay_listable(console: Console) -> None:
    body = json.dumps(VALID_SILENCE).replace('"2027-01-15T10:00:00Z"', "Infinity").encode()

    assert console.call("POST", "/api/v1/silences", raw=body) == (
        400,
        error("bad_data", "endsAt: inf is not an RFC 3339 time or Unix seconds"),
    )
    assert console.call("GET", "/api/v1/silences") == (200, {"status": "success", "data": []})


def test_deleting_a_silence_expires_it_now_and_unmutes_its_alert(console: Console) -> None:
    silence_id = console.data("POST", "/api/v1/silences", VALID_SILENCE)["silenceID"]
    console.run(60)
    assert [m["reason"] for m in console.alerts()["srv-1"]["mutes"]] == ["silenced"]

    expired = console.data("DELETE", f"/api/v1/silence/{silence_id}")

    assert (expired["startsAt"], expired["endsAt"], expired["updatedAt"], expired["status"]) == (
        "2027-01-15T08:00:31.000Z",
        "2027-01-15T08:01:31.000Z",
        "2027-01-15T08:01:31.000Z",
        {"state": "expired"},
    )
    assert console.data("GET", f"/api/v1/silence/{silence_id}") == expired
    assert console.alerts()["srv-1"]["mutes"] == []
    assert console.call("DELETE", f"/api/v1/silence/{silence_id}") == (
        400,
        error("bad_data", f"silence {silence_id} already expired"),
    )


def test_an_unknown_silence_id_is_404(console: Console) -> None:
    assert console.call("GET", "/api/v1/silence/nope") == (404, error("not_found", "no silence has id nope"))
    assert console.call("DELETE", "/api/v1/silence/nope") == (404, error("not_found", "no silence has id nope"))


# -- acknowledgements ---------------------------------------------------------------------------


def test_an_ack_for_2h_shows_on_the_alert_as_acknowledgement_and_mute(console: Console) -> None:
    fp = SRV0.fingerprint
    ack = {
        "fingerprint": fp,
        "by": "tanaka",
        "comment": "on it",
        "at": "2027-01-15T08:00:31.000Z",
        "expiresAt": "2027-01-15T10:00:31.000Z",
    }

    body = {"by": "tanaka", "comment": "on it", "expiresIn": "2h"}
    assert console.data("POST", f"/api/v1/alerts/{fp}/ack", body) == ack

    alert = console.alerts()["srv-0"]
    assert alert["acknowledgement"] == ack
    assert (alert["notified"], alert["mutes"]) == (
        False,
        [
            {
                "reason": "acknowledged",
                "detail": "acknowledged by tanaka until 2027-01-15T10:00:31Z: on it",
                "ref": "tanaka",
                "args": {"by": "tanaka", "until": "2027-01-15T10:00:31Z", "comment": "on it"},
            }
        ],
    )
    assert console.alerts()["srv-1"]["acknowledgement"] is None


def test_an_ack_in_seconds_without_comment_and_one_without_expiry(console: Console) -> None:
    fp0, fp1 = SRV0.fingerprint, SRV1.fingerprint

    timed = console.data("POST", f"/api/v1/alerts/{fp0}/ack", {"by": "tanaka", "expiresIn": 600})
    open_ended = console.data("POST", f"/api/v1/alerts/{fp1}/ack", {"by": "suzuki", "comment": "rebooting"})

    assert (timed["comment"], timed["expiresAt"]) == ("", "2027-01-15T08:10:31.000Z")
    assert (open_ended["comment"], open_ended["expiresAt"]) == ("rebooting", None)
    assert console.alerts()["srv-1"]["mutes"][0]["detail"] == "acknowledged by suzuki: rebooting"


def test_deleting_an_ack_unmutes_the_alert_and_pages_again(console: Console) -> None:
    fp = SRV0.fingerprint
    console.data("POST", f"/api/v1/alerts/{fp}/ack", {"by": "tanaka", "comment": "on it", "expiresIn": "2h"})
    console.run(60, [SRV0, SRV1])

    withdrawn = console.data("DELETE", f"/api/v1/alerts/{fp}/ack?by=tanaka")
    console.run(1, [SRV0, SRV1])

    assert withdrawn == {
        "fingerprint": fp,
        "by": "tanaka",
        "comment": "on it",
        "at": "2027-01-15T08:00:31.000Z",
        "expiresAt": "2027-01-15T10:00:31.000Z",
    }
    alert = console.alerts()["srv-0"]
    assert (alert["acknowledgement"], alert["mutes"]) == (None, [])
    assert console.hook.delivered() == [GROUP, GROUP]  # paged again at the next tick
    assert console.call("DELETE", f"/api/v1/alerts/{fp}/ack?by=tanaka") == (
        404,
        error("not_found", f"alert {fp} is not acknowledged"),
    )
    assert console.call("DELETE", f"/api/v1/alerts/{fp}/ack") == (
        400,
        error("bad_data", "by is required: who withdraws the acknowledgement"),
    )


@pytest.mark.parametrize(
    ("body", "status", "answer"),
    [
        ({"comment": "on it"}, 400, error("bad_data", "by: a non-empty string is required")),
        ({"by": "tanaka", "expiresIn": "soon"}, 400, error("bad_data", 'expiresIn: "soon" is not a duration')),
        (
            {"by": "tanaka", "expiresIn": True},
            400,
            error("bad_data", "expiresIn: a duration such as 2h or a number of seconds is required"),
        ),
        (
            {"by": "tanaka", "expiresIn": 0},
            400,
            error("bad_data", "expires_in must be a number of seconds greater than 0, got 0.0"),
        ),
        # Beyond what a date can hold: it would break every later GET /api/v1/alerts.
        ({"by": "tanaka", "expiresIn": "10000y"}, 400, error("bad_data", "expiresIn: 10000y is too far ahead")),
    ],
)
def test_an_invalid_ack_is_refused_with_400(console: Console, body: dict[str, Any], status: int, answer: Any) -> None:
    assert console.call("POST", f"/api/v1/alerts/{SRV0.fingerprint}/ack", body) == (status, answer)
    assert console.alerts()["srv-0"]["acknowledgement"] is None
    assert console.call("GET", "/api/v1/alerts")[0] == 200


def test_acknowledging_an_unknown_fingerprint_is_404(console: Console) -> None:
    assert console.call("POST", "/api/v1/alerts/0123456789abcdef/ack", {"by": "tanaka", "comment": "x"}) == (
        404,
        error("not_found", "no firing alert has fingerprint 0123456789abcdef"),
    )


@pytest.mark.parametrize(
    ("path", "raw", "content_type"),
    [
        (f"/api/v1/alerts/{SRV0.fingerprint}/ack", b"by=tanaka", "application/json"),
        (f"/api/v1/alerts/{SRV0.fingerprint}/ack", b'["tanaka"]', "application/json"),
        ("/api/v1/silences", b'{"matchers": ["target=\\"srv-1\\""]', "application/json"),  # cut short
        ("/api/v1/silences", b"", None),
        ("/api/v1/maintenance", b'"friday-batch"', "application/json"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(
    console: Console, path: str, raw: bytes, content_type: str | None
) -> None:
    assert console.call("POST", path, raw=raw, content_type=content_type) == (
        400,
        error("bad_data", "the request body must be a JSON object"),
    )
    assert console.alerts()["srv-0"]["acknowledgement"] is None
    assert console.data("GET", "/api/v1/silences") == []


# -- maintenance --------------------------------------------------------------------------------


def test_a_maintenance_window_created_through_the_api_is_listed_and_mutes_its_alerts(console: Console) -> None:
    created = console.data("POST", "/api/v1/maintenance", {"window": FRIDAY_BATCH, "createdBy": "suzuki"})

    friday = {
        "name": "friday-batch",
        "window": FRIDAY_BATCH | {"schedule": {"weekly": {"start": "17:00", "duration": "1h", "weekdays": ["friday"]}}},
        "origin": "api",
        "createdBy": "suzuki",
        "createdAt": "2027-01-15T08:00:31.000Z",
        "active": True,  # Friday 17:00 to 18:00 in Tokyo: 08:00 to 09:00 UTC
        "nextChange": "2027-01-15T09:00:00.000Z",
    }
    assert created == friday
    assert console.data("GET", "/api/v1/maintenance") == [
        {
            "name": "core-patching",
            "window": CONFIG_WINDOW,
            "origin": "config",
            "createdBy": "config",
            "createdAt": None,
            "active": False,
            "nextChange": "2027-01-31T17:00:00.000Z",  # 1 February, 02:00 in Tokyo
        },
        friday,
    ]
    assert [a["mutes"] for a in console.alerts().values()] == [
        [
            {
                "reason": "maintenance",
                "detail": "in maintenance friday-batch (ops-west: weekly batch)",
                "ref": "friday-batch",
                "args": {"name": "friday-batch", "owner": "ops-west", "reason": "weekly batch"},
            }
        ]
    ] * 2


def test_deleting_an_api_window_removes_it_and_its_mutes(console: Console) -> None:
    console.data("POST", "/api/v1/maintenance", {"window": FRIDAY_BATCH, "createdBy": "suzuki"})

    deleted = console.data("DELETE", "/api/v1/maintenance/friday-batch")

    assert (deleted["name"], deleted["origin"], deleted["createdBy"]) == ("friday-batch", "api", "suzuki")
    assert [w["name"] for w in console.data("GET", "/api/v1/maintenance")] == ["core-patching"]
    assert [a["mutes"] for a in console.alerts().values()] == [[], []]
    assert console.call("DELETE", "/api/v1/maintenance/friday-batch") == (
        404,
        error("not_found", "no maintenance window is named friday-batch"),
    )


def test_deleting_a_config_window_is_a_409_conflict(console: Console) -> None:
    assert console.call("DELETE", "/api/v1/maintenance/core-patching") == (
        409,
        error("conflict", 'maintenance window "core-patching" is defined in the config file: remove it there'),
    )
    assert [w["name"] for w in console.data("GET", "/api/v1/maintenance")] == ["core-patching"]


def test_a_window_whose_name_is_taken_is_a_409_conflict(console: Console) -> None:
    taken = FRIDAY_BATCH | {"name": "core-patching"}

    assert console.call("POST", "/api/v1/maintenance", {"window": taken, "createdBy": "suzuki"}) == (
        409,
        error("conflict", 'a maintenance window named "core-patching" already exists'),
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"window": FRIDAY_BATCH | {"location": "Tokyo"}, "createdBy": "suzuki"},
            'window: location: "Tokyo" is not an IANA time zone (such as UTC, Asia/Tokyo, Europe/London)',
        ),
        (
            {"window": FRIDAY_BATCH | {"owners": "ops-west"}, "createdBy": "suzuki"},
            "window: owners: unknown key",
        ),
        (
            {"window": FRIDAY_BATCH | {"matchers": ['target=~".*"']}, "createdBy": "suzuki"},
            "window: matchers: at least one matcher must not match the empty string",
        ),
        (
            {"window": FRIDAY_BATCH | {"schedule": {"weekly": {"start": "17:00", "duration": "1h"}}}, "createdBy": "x"},
            "window: schedule.weekly.weekdays: is required",
        ),
        ({"createdBy": "suzuki"}, "window: expected a mapping, got null"),
        ({"window": FRIDAY_BATCH}, "createdBy: a non-empty string is required"),
    ],
)
def test_an_invalid_window_is_refused_with_400_and_what_is_wrong(
    console: Console, body: dict[str, Any], message: str
) -> None:
    assert console.call("POST", "/api/v1/maintenance", body) == (400, error("bad_data", message))
    assert [w["name"] for w in console.data("GET", "/api/v1/maintenance")] == ["core-patching"]


# -- notifications ------------------------------------------------------------------------------


def test_notifications_lists_a_pending_row_with_its_attempts_and_last_error(console: Console) -> None:
    console.hook.answer = lambda payload: 503
    link = Alert(
        labels=Labels(alertname="LinkDown", link="east-west-1"),
        annotations=Labels(),
        state=AlertState.FIRING,
        active_at=console.clock.now(),
        value=0.0,
        fired_at=console.clock.now(),
    )
    console.pipeline.receive("links", [link])
    console.run(31)  # group_wait: queued and tried at 08:01:01, tried again at 08:01:02

    assert console.data("GET", "/api/v1/notifications") == [
        {
            "id": 2,
            "receiver": "oncall",
            "integration": "webhook/0",
            "groupKey": '{}:{alertname="LinkDown"}',
            "reason": "first",
            "status": "pending",
            "createdAt": "2027-01-15T08:01:01.000Z",
            "attempts": 2,
            "nextAttemptAt": "2027-01-15T08:01:04.000Z",
            "lastError": f"HTTP 503 Service Unavailable from {console.hook.url}: receiver down",
        }
    ]
    console.hook.answer = lambda payload: 200
    console.run(2)
    assert console.data("GET", "/api/v1/notifications") == []
    assert console.hook.delivered() == [GROUP, '{}:{alertname="LinkDown"}']
