"""dashboards/api_audit.py through a real waitress server on loopback over a real audit log (SQLite
in tmp_path): the search's JSON, the CSV and JSON exports byte for byte, a copy checked without the
console's code, the export recorded, and the errors."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flask
import pytest

from dashboards import api_audit
from dashboards.api_audit import audit_blueprint
from security.audit import GENESIS, AuditLog
from tests.dashboards.test_http import fetch
from tests.helpers import serve_wsgi

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
NOW = T0 + 3600.25
LOGIN = (T0, "yamada", "login", "yamada", {"ip": "10.0.0.5", "session": "0a1b2c3d4e5f", "outcome": "ok"})
ACK = (T0 + 65.125, "suzuki", "alert.ack", "fp-1234", {"comment": "NTT回線工事, 対応中", "session": "ffeeddccbbaa"})
DENIED = (T0 + 120, "kiosk:lobby", "authz.denied", "/alerts", {"ip": "10.0.1.1", "outcome": "denied"})


def chained(prev: str, id_: int, at: str, actor: str, action: str, subject: str, detail: str) -> str:
    """An entry's hash as the API's docstring says to compute it: no code of the console's."""
    text = json.dumps([prev, id_, at, actor, action, subject, detail], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


LOGIN_DETAIL = '{"ip": "10.0.0.5", "outcome": "ok", "session": "0a1b2c3d4e5f"}'
ACK_DETAIL = '{"comment": "NTT回線工事, 対応中", "session": "ffeeddccbbaa"}'
H1 = chained(GENESIS, 1, "1800000000.0", "yamada", "login", "yamada", LOGIN_DETAIL)
H2 = chained(H1, 2, "1800000065.125", "suzuki", "alert.ack", "fp-1234", ACK_DETAIL)


@dataclass
class Console:
    url: str
    log: AuditLog
    exports: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    def get(self, path: str) -> tuple[int, dict[str, str], bytes]:
        return fetch(self.url + path)

    def json(self, path: str) -> tuple[int, Any]:
        status, _, body = self.get(path)
        return status, json.loads(body)


@pytest.fixture
def console(tmp_path: Path) -> Iterator[Console]:
    log = AuditLog(tmp_path / "audit.sqlite3")
    exports: list[tuple[str, dict[str, object]]] = []

    def record(action: str, detail: Mapping[str, object]) -> None:
        exports.append((action, dict(detail)))

    app = flask.Flask("test-audit-api")
    app.register_blueprint(audit_blueprint(lambda: log, record_export=record, now=lambda: NOW))
    try:
        with serve_wsgi(app) as url:
            yield Console(url, log, exports)
    finally:
        log.close()


def record(log: AuditLog, *entries: tuple[float, str, str, str, dict[str, Any]]) -> None:
    for entry in entries:
        log.record(*entry)


def test_the_csv_export_is_exact_with_a_bom_and_named_for_the_time_of_the_export(console: Console) -> None:
    record(console.log, LOGIN, ACK)

    status, headers, body = console.get("/api/v1/audit/export?format=csv")

    assert status == 200
    assert headers["content-type"] == "text/csv; charset=utf-8"
    assert headers["content-disposition"] == 'attachment; filename="audit-20270115T090000Z.csv"'
    assert body.decode() == (
        "\ufeffid,time,at,actor,action,subject,ip,session,outcome,detail,prev,hash\r\n"
        "1,2027-01-15T08:00:00.000Z,1800000000.0,yamada,login,yamada,10.0.0.5,0a1b2c3d4e5f,ok,"
        '"{""ip"": ""10.0.0.5"", ""outcome"": ""ok"", ""session"": ""0a1b2c3d4e5f""}",'
        f"{GENESIS},{H1}\r\n"
        "2,2027-01-15T08:01:05.125Z,1800000065.125,suzuki,alert.ack,fp-1234,,ffeeddccbbaa,,"
        '"{""comment"": ""NTT回線工事, 対応中"", ""session"": ""ffeeddccbbaa""}",'
        f"{H1},{H2}\r\n"
    )
    assert console.exports == [
        (
            "audit.export",
            {"since": None, "until": None, "actor": "", "action": "", "text": "", "format": "csv", "rows": 2},
        )
    ]


def test_a_csv_copy_is_checked_without_the_console(console: Console) -> None:
    record(console.log, LOGIN, ACK, DENIED)

    _, _, body = console.get("/api/v1/audit/export")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    prev = GENESIS
    for row in rows:
        fields = (int(row["id"]), row["at"], row["actor"], row["action"], row["subject"], row["detail"])
        assert row["prev"] == prev
        assert chained(prev, *fields) == row["hash"]
        prev = row["hash"]

    assert [row["id"] for row in rows] == ["1", "2", "3"]  # oldest first, as the chain runs
    assert prev == console.log.entries()[-1].hash


def test_the_json_export_holds_the_filters_and_the_matching_entries_oldest_first(console: Console) -> None:
    record(console.log, LOGIN, ACK, DENIED)

    status, headers, body = console.get(
        "/api/v1/audit/export?format=json&since=2027-01-15T08:00:30Z&until=1800000200&text=ntt"
    )

    assert status == 200
    assert headers["content-type"] == "application/json"
    assert headers["content-disposition"] == 'attachment; filename="audit-20270115T090000Z.json"'
    assert json.loads(body) == {
        "exportedAt": "2027-01-15T09:00:00.250Z",
        "filters": {
            "since": "2027-01-15T08:00:30.000Z",
            "until": "2027-01-15T08:03:20.000Z",
            "actor": "",
            "action": "",
            "text": "ntt",
        },
        "entries": [
            {
                "id": 2,
                "time": "2027-01-15T08:01:05.125Z",
                "at": 1800000065.125,
                "actor": "suzuki",
                "action": "alert.ack",
                "subject": "fp-1234",
                "ip": None,
                "session": "ffeeddccbbaa",
                "outcome": None,
                "detail": {"comment": "NTT回線工事, 対応中", "session": "ffeeddccbbaa"},
                "prev": H1,
                "hash": H2,
            }
        ],
    }
    assert console.exports == [
        (
            "audit.export",
            {
                "since": "2027-01-15T08:00:30.000Z",
                "until": "2027-01-15T08:03:20.000Z",
                "actor": "",
                "action": "",
                "text": "ntt",
                "format": "json",
                "rows": 1,
            },
        )
    ]


def test_the_search_answers_the_newest_entries_the_total_and_the_chain(console: Console) -> None:
    record(console.log, LOGIN, ACK, DENIED)

    status, answer = console.json("/api/v1/audit?limit=1")
    _, by_action = console.json("/api/v1/audit?action=login&actor=yamada")

    assert status == 200
    assert answer == {
        "status": "success",
        "data": {
            "entries": [
                {
                    "id": 3,
                    "time": "2027-01-15T08:02:00.000Z",
                    "at": 1800000120.0,
                    "actor": "kiosk:lobby",
                    "action": "authz.denied",
                    "subject": "/alerts",
                    "ip": "10.0.1.1",
                    "session": None,
                    "outcome": "denied",
                    "detail": {"ip": "10.0.1.1", "outcome": "denied"},
                    "prev": H2,
                    "hash": console.log.entries()[2].hash,
                }
            ],
            "total": 3,
            "chain": {"intact": True, "brokenAt": None, "problem": None},
        },
    }
    assert [(e["id"], e["action"]) for e in by_action["data"]["entries"]] == [(1, "login")]
    assert console.exports == []  # a search is not an export


def test_the_search_names_the_first_entry_that_breaks_the_chain(console: Console) -> None:
    record(console.log, LOGIN, ACK, DENIED)
    with sqlite3.connect(console.log.path) as db:
        db.execute("UPDATE audit SET actor = 'someone-else' WHERE id = 2")
    db.close()

    _, answer = console.json("/api/v1/audit")

    assert answer["data"]["chain"] == {"intact": False, "brokenAt": 2, "problem": "entry 2 was changed"}
    assert answer["data"]["total"] == 3


def test_the_search_takes_up_to_ten_thousand(console: Console) -> None:
    record(console.log, LOGIN, ACK)

    assert console.json("/api/v1/audit?limit=10000")[1]["data"]["total"] == 2
    assert console.json("/api/v1/audit?limit=0")[1]["data"]["entries"] == []


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/api/v1/audit?limit=10001", 400, "limit must be a whole number from 0 to 10000, not '10001'"),
        ("/api/v1/audit?limit=-1", 400, "limit must be a whole number from 0 to 10000, not '-1'"),
        ("/api/v1/audit?since=yesterday", 400, "since: 'yesterday' is not an RFC 3339 time or Unix seconds"),
        ("/api/v1/audit?until=2027-01-15", 400, "until: '2027-01-15' is not an RFC 3339 time or Unix seconds"),
        ("/api/v1/audit?since=1800000100&until=1800000000", 400, "until must not be before since"),
        ("/api/v1/audit/export?format=xlsx", 400, "format must be one of csv, json, not 'xlsx'"),
        ("/api/v1/audit/export?since=nan", 400, "since: 'nan' is not an RFC 3339 time or Unix seconds"),
        ("/api/v1/audit/export?until=1e20", 400, "until: '1e20' is not an RFC 3339 time or Unix seconds"),
    ],
)  # fmt: skip
def test_a_bad_parameter_is_bad_data_and_nothing_is_exported(
    console: Console, path: str, status: int, message: str
) -> None:
    record(console.log, LOGIN)

    assert console.json(path) == (status, {"status": "error", "errorType": "bad_data", "error": message})
    assert console.exports == []


def test_an_export_of_more_than_the_limit_is_refused_not_cut_short(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(console.log, LOGIN, ACK, DENIED)
    monkeypatch.setattr(api_audit, "EXPORT_LIMIT", 2)

    status, answer = console.json("/api/v1/audit/export?format=csv")
    narrowed = console.get("/api/v1/audit/export?format=csv&actor=yamada")[0]

    assert (status, answer["error"]) == (400, "3 entries match: an export holds at most 2, narrow the filter")
    assert narrowed == 200
    assert [detail["rows"] for _, detail in console.exports] == [1]


def test_without_an_audit_log_the_api_is_unavailable(tmp_path: Path) -> None:
    exports: list[str] = []
    app = flask.Flask("test-audit-api-none")
    app.register_blueprint(audit_blueprint(lambda: None, record_export=lambda action, _detail: exports.append(action)))
    with serve_wsgi(app) as url:
        search = fetch(url + "/api/v1/audit")
        export = fetch(url + "/api/v1/audit/export?format=csv")

    unavailable = {"status": "error", "errorType": "unavailable", "error": "the console keeps no audit log"}
    assert (search[0], json.loads(search[2])) == (503, unavailable)
    assert (export[0], json.loads(export[2])) == (503, unavailable)
    assert exports == []
