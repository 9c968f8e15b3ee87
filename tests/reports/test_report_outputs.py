"""The same figures everywhere: `/api/v1/availability` (a real waitress server), the exports, and
`run_console.py report availability` (a real process) over one recorded history of the demo's
systems; reclassifying through the API is recorded in the hash-chained audit log."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CollectorRegistry

import config
from dashboards import HealthReport, create_server
from dashboards.api_availability import AvailabilityApi
from model import FakeClock, Labels
from reports import formatting
from reports.history import AlertSpan, HistoryDB, LeafSpan
from reports.report import figures_csv, outages_csv, report_json
from reports.reporting import Reporting
from tests.helpers import require, serve_wsgi

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo.yaml"
JST = ZoneInfo("Asia/Tokyo")


def jst(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> float:
    return datetime(y, m, d, h, mi, tzinfo=JST).timestamp()


NOW = jst(2026, 11, 27, 12)
PROBE_DOWN = (jst(2026, 10, 14, 10), jst(2026, 10, 14, 11, 30))  # a Wednesday, inside 08:30-21:00
LINKS_DOWN = (jst(2026, 10, 20, 3), jst(2026, 10, 20, 3, 20))  # both inter-centre links: the WAN is down


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("data")
    history = HistoryDB.open(directory / "history.sqlite3")
    history.insert(
        [
            LeafSpan("probe:srv-records-01/http", "failing", *PROBE_DOWN),
            LeafSpan("link:east-west-1", "down", *LINKS_DOWN),
            LeafSpan("link:east-west-2", "down", LINKS_DOWN[0] + 60, LINKS_DOWN[1]),
        ],
        [
            AlertSpan(
                "fp-probe",
                Labels(alertname="ProbeFailing", target="srv-records-01", collector="http", severity="critical"),
                Labels(
                    summary="http probe of srv-records-01 is failing",
                    summary_ja="サービス監視失敗: srv-records-01（http）",
                ),
                PROBE_DOWN[0],
                PROBE_DOWN[1],
            )
        ],
        [(jst(2026, 9, 1), NOW)],
    )
    history.close()
    return directory


@pytest.fixture(scope="module")
def loaded() -> config.Config:
    return config.load_file(DEMO)


@pytest.fixture(scope="module")
def reporting(data_dir: Path, loaded: config.Config) -> Iterator[Reporting]:
    opened = Reporting.read(data_dir, loaded.availability, loaded.inventory, list)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def api_url(reporting: Reporting) -> Iterator[str]:
    app = create_server(
        metrics=CollectorRegistry(),
        latest=list,
        health=lambda: HealthReport({}),
        availability=lambda: AvailabilityApi(reporting, FakeClock(NOW)),
    )
    with serve_wsgi(app) as url:
        yield url


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def post(url: str, body: object) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, str(ROOT / "run_console.py"), "report", "availability", "--config", str(DEMO)]
    return subprocess.run(
        [*command, "--data-dir", str(data_dir), *args], capture_output=True, timeout=120, cwd=ROOT, check=False
    )


def test_the_api_gives_the_reports_figures_of_october(api_url: str, reporting: Reporting) -> None:
    status, body = get(f"{api_url}/api/v1/availability?period=2026-10&lang=ja")
    assert status == 200
    expected = report_json(reporting.report(reporting.period("2026-10"), NOW), "ja")
    assert body["data"] == expected
    records, wan = (next(s for s in body["data"]["systems"] if s["system"] == k) for k in ("records", "wan"))
    assert records["total"]["downtimeSeconds"] == 5400.0  # the probe, 10:00-11:30 on a weekday
    assert records["total"]["incidents"] == 1
    assert records["outages"][0]["causeJa"] == "サービス監視失敗: srv-records-01（http）"
    assert wan["total"]["downtimeSeconds"] == 1140.0  # both links down 03:01-03:20 (WAN is 24x7)
    assert wan["total"]["degradedSeconds"] == 60.0  # one link down 03:00-03:01


def test_the_api_refuses_a_bad_period_and_an_unknown_system(api_url: str) -> None:
    status, body = get(f"{api_url}/api/v1/availability?period=2026-13")
    assert (status, body["errorType"]) == (400, "bad_data")
    assert body["error"].startswith("period: ")
    status, body = get(f"{api_url}/api/v1/availability?period=2026-10&system=payroll")
    assert (status, body["error"]) == (400, "system 'payroll' has no SLA")


def test_the_cli_writes_the_same_json_csv_and_outages_as_the_api(data_dir: Path, reporting: Reporting) -> None:
    report = reporting.report(reporting.period("2026-10"), NOW)
    run = cli(data_dir, "--period", "2026-10", "--format", "json", "--lang", "en")
    assert run.returncode == 0, run.stderr.decode()
    assert json.loads(run.stdout)["systems"] == report_json(report, "en")["systems"]
    run = cli(data_dir, "--period", "2026-10", "--format", "csv", "--lang", "ja")
    assert run.stdout.decode() == figures_csv(report, "ja")
    run = cli(data_dir, "--period", "2026-10", "--format", "outages-csv", "--lang", "en")
    assert run.stdout.decode() == outages_csv(report, "en")


def test_the_cli_pdf_shows_the_same_figures_in_japanese(data_dir: Path, reporting: Reporting, tmp_path: Path) -> None:
    require("pdftotext", install="apt-get install -y poppler-utils")
    out = tmp_path / "fy.pdf"
    run = cli(data_dir, "--period", "2026-10", "--format", "pdf", "--lang", "ja", "--out", str(out))
    assert run.returncode == 0, run.stderr.decode()
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, check=True).stdout.decode()
    report = reporting.report(reporting.period("2026-10"), NOW)
    for system in report.systems:
        assert system.name in text
        assert formatting.percent(system.total.availability, "ja") in text
    assert "2026-10-14 10:00    1時間30分    1時間30分         サービス監視失敗: srv-records-01（" in text  # wraps
    assert "2026年10月" in text


def test_the_cli_says_what_is_wrong(data_dir: Path, tmp_path: Path) -> None:
    run = cli(data_dir, "--period", "FY26")
    assert run.returncode == 2
    assert run.stderr.decode().startswith("--period: ")
    run = cli(data_dir, "--period", "2026-10", "--system", "payroll")
    assert (run.returncode, run.stderr.decode()) == (
        2,
        "--system: no SLA for payroll (the availability: section has records, kiso, benefit, wan)\n",
    )
    run = cli(tmp_path, "--period", "2026-10")
    assert run.returncode == 2
    assert "holds no state history" in run.stderr.decode()


def test_reclassifying_through_the_api_counts_the_outage_out_and_is_audited(
    tmp_path: Path, data_dir: Path, loaded: config.Config
) -> None:
    own = tmp_path / "data"
    own.mkdir()
    (own / "history.sqlite3").write_bytes((data_dir / "history.sqlite3").read_bytes())
    reporting = Reporting.open(own, loaded.availability, loaded.inventory, list)
    app = create_server(
        metrics=CollectorRegistry(),
        latest=list,
        health=lambda: HealthReport({}),
        availability=lambda: AvailabilityApi(reporting, FakeClock(NOW)),
    )
    try:
        with serve_wsgi(app) as url:
            status, body = post(
                f"{url}/api/v1/availability/reclassify",
                {"system": "records", "at": PROBE_DOWN[0] + 60, "category": "external", "reason": " ", "by": "sato"},
            )
            assert (status, body["error"]) == (400, "reason: a non-empty string is required")
            reclassify = {"system": "records", "at": "2026-10-14T01:30:00Z", "category": "external",
                          "reason": "回線事業者の工事", "by": "sato"}  # fmt: skip
            status, body = post(f"{url}/api/v1/availability/reclassify", reclassify)
            assert status == 200
            assert body["data"] == {
                "system": "records",
                "at": "2026-10-14T01:30:00.000Z",
                "category": "external",
                "reason": "回線事業者の工事",
                "by": "sato",
                "reclassifiedAt": "2026-11-27T03:00:00.000Z",
            }
            _, report = get(f"{url}/api/v1/availability?period=2026-10&system=records")
            (records,) = report["data"]["systems"]
            assert (records["total"]["downtimeSeconds"], records["total"]["excludedSeconds"]) == (0.0, 5400.0)
            assert records["outages"][0]["reclassified"]["reason"] == "回線事業者の工事"
            assert records["outages"][0]["cause"] == "http probe of srv-records-01 is failing"  # the original stays
        (entry,) = reporting.audit.entries("availability.reclassify")
        assert (entry.actor, entry.subject, dict(entry.detail)) == (
            "sato",
            f"records@{PROBE_DOWN[0] + 1800}",
            {
                "system": "records",
                "at_time": PROBE_DOWN[0] + 1800,
                "category": "external",
                "reason": "回線事業者の工事",
            },
        )
        assert reporting.audit.verify() is None
    finally:
        reporting.close()
    db = sqlite3.connect(own / "audit.sqlite3")
    db.execute("UPDATE audit SET detail = replace(detail, '工事', '故障') WHERE id = 1")
    db.commit()
    db.close()
    reopened = Reporting.read(own, loaded.availability, loaded.inventory, list)
    try:
        assert reopened.audit.verify() == "entry 1 was changed"
    finally:
        reopened.close()
