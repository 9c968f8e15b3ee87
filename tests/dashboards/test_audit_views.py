"""dashboards/views/audit.py: the filters as typed -> the query, entries -> rows, the count, the
chain's banner and the download links, over `FakeData` (Asia/Tokyo)."""

from __future__ import annotations

from typing import Any

import pytest
from dash import html

from dashboards.i18n import catalog
from dashboards.views import audit as v
from security.audit import GENESIS, AuditEntry, AuditPage, AuditQuery, ChainBreak
from tests.dashboards.fakes import FakeData

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z, 17:00 in Tokyo
TZ = "Asia/Tokyo"
YAMADA = {"ip": "10.0.0.5", "session": "0a1b2c3d4e5f", "outcome": "ok"}
LOGIN = AuditEntry(1, T0, "yamada", "login", "yamada", YAMADA, GENESIS, "a" * 64)
ACK = AuditEntry(
    2,
    T0 + 65.5,
    "suzuki",
    "alert.ack",
    "fp-1234",
    {"comment": "NTT 回線工事 対応中", "session": "ffeeddccbbaa", "expiresIn": 7200},
    "a" * 64,
    "b" * 64,
)
KIOSK = {"ip": "10.0.1.1", "outcome": "denied"}
DENIED = AuditEntry(3, T0 + 120, "kiosk:lobby", "authz.denied", "/alerts", KIOSK, "b" * 64, "c" * 64)


def test_filters_of_the_inputs_drop_blanks_and_take_none_as_empty() -> None:
    assert v.Filters.of(" 2027-01-15 17:00 ", None, " suzuki ", None, "") == v.Filters("2027-01-15 17:00", "", "suzuki")


@pytest.mark.parametrize(
    ("typed", "seconds"),
    [
        ("2027-01-15 17:00", T0),
        ("2027-01-15T17:00", T0),
        ("2027-01-15 17:00:30", T0 + 30),
        ("2027-01-15", T0 - 17 * 3600),
        ("2027-01-15T08:00:00+00:00", T0),
        ("", None),
    ],
)
def test_a_date_time_is_read_in_the_consoles_time_zone(typed: str, seconds: float | None) -> None:
    assert v.local_seconds(typed, TZ, "since") == seconds


def test_the_filters_make_the_query_since_inclusive_until_exclusive() -> None:
    filters = v.Filters("2027-01-15 17:00", "2027-01-15 17:05", "suzuki", "login", "10.0.0.9")

    assert v.to_query(filters, TZ) == AuditQuery(T0, T0 + 300, "suzuki", "login", "10.0.0.9", 500)
    assert v.to_query(v.Filters(), TZ, limit=20) == AuditQuery(None, None, "", "", "", 20)


def test_a_time_that_cannot_be_read_names_its_filter_in_both_languages() -> None:
    with pytest.raises(v.FilterError) as caught:
        v.to_query(v.Filters(until="yesterday"), TZ)

    assert (caught.value.field, caught.value.value) == ("until", "yesterday")
    assert caught.value.text("ja") == "終了の日時を読み取れません: yesterday"
    assert caught.value.text("en") == "Until: yesterday is not a date and time"


def test_an_until_before_since_is_refused() -> None:
    with pytest.raises(v.FilterError) as caught:
        v.to_query(v.Filters(since="2027-01-15 17:00", until="2027-01-15 16:00"), TZ)

    assert caught.value.text("ja") == "終了が開始より前です"
    assert caught.value.text("en") == "Until is before From"


def test_details_are_compact_pairs_without_the_columns_own_keys() -> None:
    detail = {
        "ip": "10.0.0.5",
        "outcome": "ok",
        "session": "0a1b2c3d4e5f",
        "role": "admin",
        "reason": "NTT 回線工事",
        "tokens": 2,
        "matchers": ['site="dc-east"'],
        "by": "",
        "note": "a=b",
    }

    assert v.details_text(detail) == (
        'by="" matchers=["site=\\"dc-east\\""] note="a=b" reason="NTT 回線工事" role=admin'
        " session=0a1b2c3d4e5f tokens=2"
    )
    assert v.details_text({"ip": "10.0.0.5"}) == ""


def test_rows_write_the_local_time_ip_outcome_and_details_in_japanese() -> None:
    rows = v.audit_rows([DENIED, ACK, LOGIN], "ja", TZ)

    assert rows == [
        v.AuditRow(
            3, ("2027年1月15日 17:02:00", "kiosk:lobby", "authz.denied", "/alerts", "10.0.1.1", "拒否", ""), "denied"
        ),
        v.AuditRow(
            2,
            (
                "2027年1月15日 17:01:05",
                "suzuki",
                "alert.ack",
                "fp-1234",
                "",
                "",
                'comment="NTT 回線工事 対応中" expiresIn=7200 session=ffeeddccbbaa',
            ),
            "",
        ),
        v.AuditRow(
            1, ("2027年1月15日 17:00:00", "yamada", "login", "yamada", "10.0.0.5", "成功", "session=0a1b2c3d4e5f"), "ok"
        ),
    ]


def test_rows_in_english() -> None:
    rows = v.audit_rows([DENIED, LOGIN], "en", TZ)

    assert [r.cells[0] for r in rows] == ["15 Jan 2027 17:02:00", "15 Jan 2027 17:00:00"]
    assert [r.cells[5] for r in rows] == ["Denied", "OK"]


def test_the_table_marks_each_row_with_its_outcome() -> None:
    table = v.table(v.audit_rows([DENIED, ACK], "en", TZ), "en")

    assert isinstance(table, html.Table)
    head, body = table.children
    assert [th.children for th in head.children.children] == [
        "Time", "Actor", "Action", "Subject", "IP address", "Outcome", "Details"
    ]  # fmt: skip
    assert [tr.className for tr in body.children] == ["audit-row audit-outcome-denied", "audit-row"]
    assert [td.className for td in body.children[0].children][:2] == ["audit-time", "audit-actor"]


def test_no_rows_say_so() -> None:
    empty = v.table([], "ja")

    assert isinstance(empty, html.P)
    assert (empty.children, empty.className) == ("条件に合う記録はありません。", "audit-empty")


def test_the_count_says_how_many_are_shown_of_how_many_match() -> None:
    assert v.count_text(AuditPage((DENIED, ACK), 12_345), "ja") == "12,345 件中 2 件を表示"
    assert v.count_text(AuditPage((DENIED, ACK), 2), "en") == "2 of 2 shown"


def test_the_banner_says_the_chain_is_intact_or_names_the_first_broken_entry() -> None:
    assert v.chain_banner(None, "ja") == (
        "ハッシュチェーンは正常です。変更・削除された記録はありません。",
        "audit-chain audit-chain-ok",
    )
    assert v.chain_banner(ChainBreak(7), "en") == (
        "The hash chain is broken: entry #7 was changed.",
        "audit-chain audit-chain-broken",
    )
    assert v.chain_banner(ChainBreak(7, 9), "ja") == (
        "ハッシュチェーンが壊れています: 記録 #7 が欠落しています（次は #9）。",
        "audit-chain audit-chain-broken",
    )


def test_the_action_dropdown_offers_each_family_by_name_and_prefix() -> None:
    options = v.action_options("ja")

    assert [o["value"] for o in options] == list(v.ACTION_FAMILIES)
    assert options[0] == {"label": "ログイン (login)", "value": "login"}
    assert v.action_options("en")[7] == {"label": "Pages viewed (view)", "value": "view"}


def test_shown_holds_the_newest_entries_the_count_and_the_export_links_of_the_filters() -> None:
    data = FakeData(audit_log=[LOGIN, ACK, DENIED])

    found = v.shown(data, v.Filters(since="2027-01-15 17:00", actor="yamada", action="login"), "en")

    assert isinstance(found.body, html.Table)
    assert [tr.children[1].children for tr in found.body.children[1].children] == ["yamada"]
    assert found.count == "1 of 1 shown"
    assert found.links == {
        "csv": "/api/v1/audit/export?format=csv&since=2027-01-15T08:00:00.000Z&actor=yamada&action=login",
        "json": "/api/v1/audit/export?format=json&since=2027-01-15T08:00:00.000Z&actor=yamada&action=login",
    }
    assert found.exports is True


def test_shown_with_no_filters_links_every_entry() -> None:
    found = v.shown(FakeData(audit_log=[LOGIN, ACK, DENIED]), v.Filters(), "ja")

    assert found.count == "3 件中 3 件を表示"
    assert found.links["csv"] == "/api/v1/audit/export?format=csv"


def test_shown_with_a_bad_filter_shows_the_error_and_no_downloads() -> None:
    found = v.shown(FakeData(audit_log=[LOGIN]), v.Filters(since="27/11"), "en")

    assert isinstance(found.body, html.P)
    assert (found.body.children, found.body.className) == ("From: 27/11 is not a date and time", "audit-error")
    assert (found.count, found.exports) == ("", False)


class NoAudit(FakeData):
    def audit_entries(self, query: AuditQuery) -> AuditPage:
        raise LookupError("the console keeps no audit log")

    def audit_check(self) -> ChainBreak | None:
        raise LookupError("the console keeps no audit log")


def test_a_console_without_an_audit_log_says_so() -> None:
    found = v.shown(NoAudit(), v.Filters(), "en")

    assert isinstance(found.body, html.P)
    assert (found.body.children, found.exports) == ("This console keeps no audit log.", False)
    assert v.chain_shown(NoAudit(), "ja") == (
        "このコンソールは監査ログを保持していません。",
        "audit-chain audit-chain-none",
    )


def test_the_chain_shown_is_the_fakes() -> None:
    assert v.chain_shown(FakeData(audit_break=ChainBreak(2)), "en")[0] == (
        "The hash chain is broken: entry #2 was changed."
    )


def test_both_catalogs_have_the_same_audit_keys() -> None:
    def keys(lang: str) -> set[str]:
        return {k for k in catalog(lang) if k.startswith("audit.")}

    used: set[Any] = {f"audit.family.{f}" for f in v.ACTION_FAMILIES} | {f"audit.column.{c}" for c in v.COLUMNS}
    assert keys("ja") == keys("en")
    assert used <= keys("ja")
