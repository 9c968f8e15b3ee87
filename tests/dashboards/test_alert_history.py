"""dashboards/views/alert_history.py: the alert's ALERTS selector (every label, quoted), periods per
alertstate from a range result, the panel's texts in both languages; the same against a real store
and query engine holding ALERTS as the rule evaluator writes them; and, in real Chromium, the page
loading one alert's history only when its button is clicked."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import flask
import pytest
from playwright.sync_api import Browser

from alerts.acks import Acknowledgement
from dashboards import ids
from dashboards.app import create_dash
from dashboards.i18n import MISSING
from dashboards.views import alert_forms
from dashboards.views import alert_history as h
from model import Labels, Sample
from store.query import QueryEngine
from store.query.result import QueryResult, RangeSeries
from store.query.values import STALE_NAN
from tests.dashboards.browser import open_page
from tests.dashboards.fakes import FakeData
from tests.dashboards.test_alerts_views import SILENCED, SRV, T0, alert, view
from tests.helpers import serve_wsgi
from tests.query.engine_support import open_store

NOW = T0 + 38 * 60  # 2027-01-15 17:38 in Tokyo
FP = SRV.alert.fingerprint
HELD = view(SRV.alert, SILENCED, ack=Acknowledgement(FP, "yamada", "交換手配中", T0 + 31, T0 + 4 * 3600 + 31))
EXPR = 'ALERTS{alertname="DeviceDown",severity="critical",site="dc-east",system="records",target="srv-0"}'
UNTRANSLATED = MISSING.format("")[0]


def series(state: str, times: list[float], labels: Labels = SRV.alert.labels) -> RangeSeries:
    return RangeSeries(labels.merge({"__name__": "ALERTS", "alertstate": state}), tuple((t, 1.0) for t in times))


def minutes(first: float, last: float) -> list[float]:
    """Every step time from `first` to `last`, 60 s apart."""
    return [first + 60 * i for i in range(int((last - first) // 60) + 1)]


# Pending 16:57-16:59, firing 17:00 on (38 min by NOW), and firing the day before 09:00-09:20 in Tokyo.
RESULT = QueryResult(
    "matrix",
    matrix=(
        series("firing", minutes(T0 - 8 * 3600, T0 - 8 * 3600 + 1200) + minutes(T0, NOW)),
        series("pending", minutes(T0 - 180, T0 - 60)),
    ),
)


# -- the query and the periods --------------------------------------------------------------------


def test_the_history_query_selects_the_alert_by_its_name_and_every_label_quoted() -> None:
    odd = Labels(alertname="Probe\\Down", target='sw "core"', note="a\nb")

    assert h.history_query(SRV.alert.labels) == EXPR
    assert h.history_query(odd) == 'ALERTS{alertname="Probe\\\\Down",note="a\\nb",target="sw \\"core\\""}'


def test_samples_become_periods_per_state_and_a_gap_of_more_than_two_steps_ends_one() -> None:
    result = QueryResult(
        "matrix",
        matrix=(
            series("firing", [1000.0, 1060.0, 1180.0, 1240.0, 1421.0, 1481.0]),  # 1240 -> 1421: 181 s
            replace(series("pending", []), points=((880.0, 1.0), (940.0, 1.0), (1000.0, float("nan")), (2000.0, 1.0))),
            series("firing", [], Labels(alertname="Other")),
        ),
    )

    assert h.periods_from(result, 60.0) == [
        h.Period("pending", 880.0, 940.0),
        h.Period("firing", 1000.0, 1240.0),
        h.Period("firing", 1421.0, 1481.0),
        h.Period("pending", 2000.0, 2000.0),
    ]
    assert h.periods_from(QueryResult("matrix"), 60.0) == []


def test_only_the_alerts_own_series_count_not_those_of_an_alert_with_more_labels() -> None:
    wider = series("firing", [T0], SRV.alert.labels.merge({"ifname": "Gi0/1"}))
    result = QueryResult("matrix", matrix=(*RESULT.matrix, wider))

    assert h.own_series(result, SRV.alert.labels) == RESULT


def test_the_history_of_alerts_written_by_the_evaluator_reads_back_from_a_real_store(tmp_path: Path) -> None:
    labels = Labels(alertname="DeviceDown", severity="critical", target='sw "core" \\1')
    wider = labels.merge({"ifname": "Gi0/1"})
    store = open_store(tmp_path)  # its clock at T0 + 3600
    samples = []
    for t in range(int(T0) + 60, int(T0) + 2400, 15):  # evaluated every 15 s: pending, then firing
        state = "pending" if t < T0 + 600 else "firing"
        samples.append(Sample("ALERTS", labels.merge({"alertstate": state}), 1.0, float(t)))
        samples.append(Sample("ALERTS", wider.merge({"alertstate": "firing"}), 1.0, float(t)))
    # The series the evaluator stops writing get a stale marker at the next evaluation.
    samples.append(Sample("ALERTS", labels.merge({"alertstate": "pending"}), STALE_NAN, T0 + 600))
    samples.append(Sample("ALERTS", labels.merge({"alertstate": "firing"}), STALE_NAN, T0 + 2400))
    store.append(sorted(samples, key=lambda s: s.ts))
    assert store.flush()
    try:
        now = T0 + 3600
        result = QueryEngine(store).range(h.history_query(labels), now - h.HISTORY_SPAN, now, h.HISTORY_STEP)
    finally:
        store.close()

    assert h.periods_from(h.own_series(result, labels), h.HISTORY_STEP) == [
        h.Period("pending", T0 + 60, T0 + 540),
        h.Period("firing", T0 + 600, T0 + 2340),
    ]


# -- the panel ------------------------------------------------------------------------------------


def texts(component: Any) -> list[str]:
    """Every string in a component tree, depth first."""
    if isinstance(component, str):
        return [component]
    if isinstance(component, list | tuple):
        return [text for child in component for text in texts(child)]
    children = getattr(component, "children", None)
    return [] if children is None else texts(children)


def test_loading_a_history_asks_one_range_query_for_the_alert() -> None:
    data = FakeData(alerts_=[HELD], answers={EXPR: RESULT}, t=NOW)

    history = h.alert_history(data, FP)

    assert data.calls == [EXPR]
    assert history == h.History(
        FP,
        HELD,
        (
            h.Period("firing", T0 - 8 * 3600, T0 - 8 * 3600 + 1200),
            h.Period("pending", T0 - 180, T0 - 60),
            h.Period("firing", T0, NOW),
        ),
        NOW - 86400,
        NOW,
    )


def test_the_panel_says_periods_acknowledgement_and_mutes_in_japanese_in_the_consoles_zone() -> None:
    data = FakeData(alerts_=[HELD], answers={EXPR: RESULT}, t=NOW)

    assert texts(h.history_panel(h.alert_history(data, FP), "ja", "Asia/Tokyo")) == [
        "履歴（過去24時間）: DeviceDown srv-0",
        "srv-0",
        "保留・発生の期間",
        "発生 2027年1月15日 09:00〜09:20（20分）",
        "保留 2027年1月15日 16:57〜16:59（2分）",
        "発生 2027年1月15日 17:00〜 継続中（38分）",
        "確認",
        "yamada が確認（2027年1月15日 17:00）、2027年1月15日 21:00 まで: 交換手配中",
        "通知されない理由",
        *["抑止（サイレンス）", " ", "サイレンス #s1 により抑止（yamada: disk swap）"],
    ]


def test_the_panel_says_the_same_in_english_and_a_period_over_midnight_names_both_dates() -> None:
    late = QueryResult("matrix", matrix=(series("firing", minutes(T0 + 23400, T0 + 23400 + 7500)),))
    resolved = replace(SRV, alert=replace(SRV.alert, resolved_at=T0 + 30900))
    data = FakeData(alerts_=[resolved], answers={EXPR: late}, t=T0 + 36000)

    assert texts(h.history_panel(h.alert_history(data, FP), "en", "Asia/Tokyo"))[2:] == [
        "Pending and firing",
        "Firing 15 Jan 2027 23:30–16 Jan 2027 01:35 (2 h 5 min)",
        "Acknowledgement",
        "Not acknowledged",
        "Why not notified",
        "Nothing mutes it",
    ]


def test_a_refused_query_shows_the_engines_reason_and_an_alert_gone_says_so_without_a_query() -> None:
    data = FakeData(alerts_=[HELD], t=NOW)

    refused = texts(h.history_panel(h.alert_history(data, FP), "en", "UTC"))
    gone = texts(h.history_panel(h.alert_history(data, "nosuch"), "ja", "UTC"))

    assert refused[3] == f"The history could not be read: {EXPR}: no answer for {EXPR} in this test"
    assert gone == ["このアラートは現在保持されていません"]
    assert data.calls == [EXPR]
    assert h.history_outputs(data, None, "ja") == ("alerts-history hidden", [])
    assert data.calls == [EXPR]


@pytest.mark.parametrize(
    ("seconds", "ja", "en"),
    [(0.0, "1分未満", "under 1 min"), (2280.0, "38分", "38 min"), (7500.0, "2時間5分", "2 h 5 min")],
)
def test_a_periods_length_is_in_whole_minutes_in_the_language(seconds: float, ja: str, en: str) -> None:
    assert (h.length_text(seconds, "ja"), h.length_text(seconds, "en")) == (ja, en)


HISTORY_BUTTON = {"type": ids.ALERTS_HISTORY_OPEN, "ref": "fp1"}


@pytest.mark.parametrize(
    ("triggered", "shown"),
    [
        ([(HISTORY_BUTTON, 1)], "fp1"),
        ([(HISTORY_BUTTON, 0)], alert_forms.UNCHANGED),  # a button appearing in a refreshed table
        ([({"type": ids.ALERTS_ACTION, "action": "ack", "ref": "fp1"}, 1)], alert_forms.UNCHANGED),
        ([(ids.ALERTS_HISTORY_CLOSE, 1)], None),
        ([], alert_forms.UNCHANGED),
    ],
)
def test_only_a_real_click_on_a_history_button_opens_it_and_close_closes_it(
    triggered: list[tuple[object, object]], shown: object
) -> None:
    assert h.history_chosen(triggered) == shown


# -- the page -------------------------------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[str, FakeData]]:
    other = view(alert(severity="warning", site="dc-east", target="srv-9"))
    data = FakeData(alerts_=[HELD, other], answers={EXPR: RESULT}, t=NOW)
    server = flask.Flask("alert-history")
    create_dash(server, lambda: data, default_language="ja")
    with serve_wsgi(server) as url:
        yield url, data


def test_the_page_loads_an_alerts_history_only_when_its_button_is_clicked(
    browser: Browser, served: tuple[str, FakeData]
) -> None:
    url, data = served
    watched = open_page(browser, url + "/alerts")
    page = watched.page
    page.wait_for_selector("tr.alerts-row")
    assert page.is_hidden("#alerts-history")
    assert data.calls == []

    page.click("tr.alerts-row:has-text('srv-0') .alerts-button-history")
    page.wait_for_selector("#alerts-history:not(.hidden) .alerts-history-period")

    assert page.inner_text("#alerts-history h2") == "履歴（過去24時間）: DeviceDown srv-0"
    assert page.locator(".alerts-history-period").all_inner_texts() == [
        "発生 2027年1月15日 09:00〜09:20（20分）",
        "保留 2027年1月15日 16:57〜16:59（2分）",
        "発生 2027年1月15日 17:00〜 継続中（38分）",
    ]
    assert page.get_attribute("#alerts-history .alerts-history-links a", "href") == "/device/srv-0"
    assert data.calls == [EXPR]
    assert UNTRANSLATED not in page.inner_text("#alerts-history")

    page.click("#alerts-history-close")
    page.wait_for_selector("#alerts-history", state="hidden")
    assert data.calls == [EXPR]
    assert watched.errors == []
