"""dashboards/views/alert_forms.py: which action is pending after a click, what the form shows for
it, what submitting it does (over a recording fake of `ConsoleActions`), and the maintenance
editor's windows, once and recurring, built as `alerts.maintenance.MaintenanceWindow` reads them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from alerts.maintenance import MaintenanceWindow
from dashboards import ids
from dashboards.actions import ActionError, MaintenanceItem
from dashboards.views import alert_forms as f
from tests.dashboards.test_alerts_views import PENDING, SRV, alert, view

ACK_BUTTON = {"type": ids.ALERTS_ACTION, "action": "ack", "ref": "fp1"}


def test_the_silence_form_is_prefilled_with_an_equality_matcher_per_label_quoted() -> None:
    odd = view(alert(target='sw "core" \\1'))

    assert f.prefilled_matchers(SRV) == (
        'alertname="DeviceDown"\nseverity="critical"\nsite="dc-east"\nsystem="records"\ntarget="srv-0"'
    )
    assert f.prefilled_matchers(odd) == 'alertname="DeviceDown"\ntarget="sw \\"core\\" \\\\1"'
    assert f.matchers_from_text(' a="b"\n\n  c=~"d.*"  \n') == ['a="b"', 'c=~"d.*"']


# -- what the form shows -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("triggered", "pending"),
    [
        ([(ACK_BUTTON, 1)], {"action": "ack", "ref": "fp1"}),
        ([(ACK_BUTTON, 0)], f.UNCHANGED),  # a button appearing in a refreshed table
        ([(ACK_BUTTON, None)], f.UNCHANGED),
        ([({**ACK_BUTTON, "action": "reboot"}, 1)], f.UNCHANGED),
        ([({"type": ids.ALERTS_HISTORY_OPEN, "ref": "fp1"}, 1)], f.UNCHANGED),
        ([(ids.ALERTS_CANCEL, 1)], None),
        ([(ACK_BUTTON, 0), (ids.ALERTS_CANCEL, 2)], None),  # cancel and a refreshed table in one call
        ([(None, None)], f.UNCHANGED),
        ([], f.UNCHANGED),
    ],
)
def test_only_a_real_click_chooses_an_action_and_cancel_closes_it(
    triggered: list[tuple[object, object]], pending: object
) -> None:
    assert f.chosen(triggered) == pending


def test_the_silence_form_opens_with_the_alerts_matchers_and_the_default_duration() -> None:
    form = f.form_state({"action": "silence", "ref": SRV.alert.fingerprint}, [PENDING, SRV], "ja")

    assert form.outputs() == (
        "alerts-form",
        "抑止（サイレンス）: DeviceDown srv-0",
        "hidden",
        "alerts-field",
        f.prefilled_matchers(SRV),
        "alerts-field",
        "抑止する期間（例: 2h）",
        "2h",
        "alerts-field",
        "",
    )


def test_the_acknowledge_form_asks_for_comment_and_optional_expiry_only() -> None:
    form = f.form_state({"action": "ack", "ref": SRV.alert.fingerprint}, [SRV], "en")

    assert form == f.FormState(
        title="Acknowledge DeviceDown srv-0",
        comment=True,
        duration=True,
        duration_label="Expires in (optional, e.g. 4h)",
    )


def test_the_form_stays_closed_for_no_action_and_closes_for_an_alert_gone() -> None:
    closed = (
        "alerts-form hidden",
        "",
        "hidden",
        "alerts-field hidden",
        "",
        "alerts-field hidden",
        "",
        "",
        "alerts-field hidden",
        "",
    )

    assert f.form_state(None, [SRV], "ja").outputs() == closed
    assert f.form_state({"action": "ack", "ref": "gone"}, [SRV], "ja") == f.FormState()
    assert f.form_state({"action": "expire", "ref": "s1"}, [], "en").title == "Expire silence #s1"


@dataclass
class RecordingActions:
    """`ConsoleActions` that records each call and refuses with `refuse` when set."""

    calls: list[tuple[str, Any]] = field(default_factory=list)
    refuse: str = ""

    def _do(self, name: str, *args: Any) -> None:
        if self.refuse:
            raise ActionError(self.refuse)
        self.calls.append((name, args))

    def acknowledge(self, fingerprint: str, *, by: str, comment: str, expires_in: float | None) -> None:
        self._do("acknowledge", fingerprint, by, comment, expires_in)

    def unacknowledge(self, fingerprint: str, *, by: str) -> None:
        self._do("unacknowledge", fingerprint, by)

    def silence(self, matchers: Sequence[str], *, duration: float, by: str, comment: str) -> str:
        self._do("silence", list(matchers), duration, by, comment)
        return "s7"

    def expire_silence(self, silence_id: str) -> None:
        self._do("expire_silence", silence_id)

    def maintenance(self) -> list[MaintenanceItem]:
        return []

    def create_maintenance(self, window: Mapping[str, Any], *, by: str) -> None:
        self._do("create_maintenance", dict(window), by)

    def delete_maintenance(self, name: str) -> None:
        self._do("delete_maintenance", name)


def test_submitting_an_acknowledgement_passes_who_why_and_the_expiry_in_seconds() -> None:
    actions = RecordingActions()
    typed = f.FormInput(actor=" yamada ", comment=" 交換中 ", duration="4h")

    outcome = f.perform(actions, {"action": "ack", "ref": "fp1"}, typed, "ja", "Asia/Tokyo")

    assert outcome == f.Outcome(True, "確認しました")
    assert outcome.css == "alerts-message alerts-message-ok"
    assert actions.calls == [("acknowledge", ("fp1", "yamada", "交換中", 14400.0))]


def test_submitting_a_silence_sends_the_typed_matchers_and_reports_its_id() -> None:
    actions = RecordingActions()
    typed = f.FormInput(
        actor="yamada", comment="disk swap", duration="90m", matchers='target="srv-0"\n\nsite="dc-east"\n'
    )

    outcome = f.perform(actions, {"action": "silence", "ref": "fp1"}, typed, "en", "Asia/Tokyo")

    assert outcome == f.Outcome(True, "Silence #s7 created")
    assert actions.calls == [("silence", (['target="srv-0"', 'site="dc-east"'], 5400.0, "yamada", "disk swap"))]


def test_submitting_a_maintenance_window_builds_a_one_off_window_in_the_consoles_zone() -> None:
    actions = RecordingActions()
    typed = f.FormInput(
        actor="sato",
        comment="ディスク交換",
        matchers='target="srv-0"',
        window_name=" srv-0-disk ",
        window_start="2027-01-16 02:00",
        window_end="2027-01-16 05:00",
    )

    outcome = f.perform(actions, {"action": "create-maintenance", "ref": ""}, typed, "ja", "Asia/Tokyo")

    assert outcome == f.Outcome(True, "保守期間 srv-0-disk を追加しました")
    window = {
        "name": "srv-0-disk",
        "matchers": ['target="srv-0"'],
        "owner": "sato",
        "reason": "ディスク交換",
        "location": "Asia/Tokyo",
        "schedule": {"once": {"start": "2027-01-16 02:00", "end": "2027-01-16 05:00"}},
    }
    assert actions.calls == [("create_maintenance", (window, "sato"))]


@pytest.mark.parametrize(
    ("pending", "typed", "message"),
    [
        ({"action": "ack", "ref": "fp1"}, f.FormInput(actor="  "), "操作者名を入力してください"),
        (None, f.FormInput(actor="yamada"), "操作が選ばれていません"),
        (
            {"action": "ack", "ref": "fp1"},
            f.FormInput(actor="yamada", duration="soon"),
            '実行できませんでした: duration: "soon" is not a duration',
        ),
        (
            {"action": "silence", "ref": "fp1"},
            f.FormInput(actor="yamada", duration=""),
            "実行できませんでした: duration: a duration such as 2h is required",
        ),
    ],
)
def test_nothing_is_done_without_a_name_an_action_or_a_valid_duration(
    pending: object, typed: f.FormInput, message: str
) -> None:
    actions = RecordingActions()

    outcome = f.perform(actions, pending, typed, "ja", "Asia/Tokyo")

    assert outcome == f.Outcome(False, message)
    assert outcome.css == "alerts-message alerts-message-error"
    assert actions.calls == []


def test_a_refusal_shows_the_consoles_reason_and_no_actions_says_alerting_is_down() -> None:
    refusing = RecordingActions(refuse="no firing alert has fingerprint fp1")
    typed = f.FormInput(actor="yamada")

    assert f.perform(refusing, {"action": "unack", "ref": "fp1"}, typed, "en", "UTC") == f.Outcome(
        False, "Refused: no firing alert has fingerprint fp1"
    )
    assert f.perform(None, {"action": "expire", "ref": "s1"}, typed, "en", "UTC") == f.Outcome(
        False, "Alerting is not running: no action is possible"
    )


# -- the maintenance editor -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "classes"),
    [
        ("once", ("alerts-window-group", "alerts-window-group hidden", *["alerts-window-group hidden"] * 2)),
        ("daily", ("alerts-window-group hidden", "alerts-window-group", *["alerts-window-group hidden"] * 2)),
        (
            "weekly",
            ("alerts-window-group hidden", "alerts-window-group", "alerts-window-group", "alerts-window-group hidden"),
        ),
        (
            "monthly",
            ("alerts-window-group hidden", "alerts-window-group", "alerts-window-group hidden", "alerts-window-group"),
        ),
        (None, ("alerts-window-group", "alerts-window-group hidden", *["alerts-window-group hidden"] * 2)),
    ],
)
def test_the_editor_shows_the_fields_of_the_chosen_schedule(kind: str | None, classes: tuple[str, ...]) -> None:
    assert f.window_fields(kind) == classes


def test_the_editor_offers_the_schedules_and_the_weekdays_monday_first_in_the_language() -> None:
    kinds, weekdays = f.window_options("ja")

    assert [(k["label"], k["value"]) for k in kinds] == [
        ("1回のみ", "once"),
        ("毎日", "daily"),
        ("毎週", "weekly"),
        ("毎月", "monthly"),
    ]
    assert [d["label"] for d in weekdays] == ["月", "火", "水", "木", "金", "土", "日"]
    assert [d["value"] for d in weekdays] == list(f.WEEKDAYS)
    assert [d["label"] for d in f.window_options("en")[1]] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


RECURRING = f.FormInput(
    actor="sato",
    comment="定期パッチ",
    matchers='site="dc-east"\nscope="device"',
    window_name=" patch-night ",
    window_at=" 02:00 ",
    window_duration=" 3h ",
    window_weekdays=["thursday", "tuesday"],
    window_days="1、15 -1,",
)


@pytest.mark.parametrize(
    ("kind", "schedule"),
    [
        ("daily", {"daily": {"start": "02:00", "duration": "3h"}}),
        ("weekly", {"weekly": {"start": "02:00", "duration": "3h", "weekdays": ["tuesday", "thursday"]}}),
        ("monthly", {"monthly": {"start": "02:00", "duration": "3h", "days": [1, 15, -1]}}),
    ],
)
def test_a_recurring_window_is_built_as_the_config_writes_it_and_the_model_reads_it(
    kind: str, schedule: dict[str, Any]
) -> None:
    window = f.window_from(replace(RECURRING, window_kind=kind), "sato", "定期パッチ", "Asia/Tokyo")

    assert window == {
        "name": "patch-night",
        "matchers": ['site="dc-east"', 'scope="device"'],
        "owner": "sato",
        "reason": "定期パッチ",
        "location": "Asia/Tokyo",
        "schedule": schedule,
    }
    assert MaintenanceWindow.model_validate(window).model_dump(mode="json", exclude_none=True)["schedule"] == schedule


def test_a_window_is_in_the_typed_time_zone_else_the_consoles() -> None:
    typed = replace(RECURRING, window_kind="daily", window_location=" Europe/London ")
    blank = replace(RECURRING, window_kind="daily", window_location="  ")

    assert f.window_from(typed, "sato", "r", "Asia/Tokyo")["location"] == "Europe/London"
    assert f.window_from(blank, "sato", "r", "Asia/Tokyo")["location"] == "Asia/Tokyo"


def test_what_is_not_a_day_of_the_month_is_sent_as_typed_for_the_api_to_name_it() -> None:
    typed = replace(RECURRING, window_kind="monthly", window_days="1, last")

    assert f.window_from(typed, "sato", "r", "UTC")["schedule"] == {
        "monthly": {"start": "02:00", "duration": "3h", "days": [1, "last"]}
    }


def test_submitting_a_weekly_window_creates_it_and_names_it() -> None:
    actions = RecordingActions()
    typed = replace(RECURRING, window_kind="weekly")

    outcome = f.perform(actions, {"action": "create-maintenance", "ref": ""}, typed, "ja", "Asia/Tokyo")

    assert outcome == f.Outcome(True, "保守期間 patch-night を追加しました")
    window = {
        "name": "patch-night",
        "matchers": ['site="dc-east"', 'scope="device"'],
        "owner": "sato",
        "reason": "定期パッチ",
        "location": "Asia/Tokyo",
        "schedule": {"weekly": {"start": "02:00", "duration": "3h", "weekdays": ["tuesday", "thursday"]}},
    }
    assert actions.calls == [("create_maintenance", (window, "sato"))]


def test_a_window_the_console_refuses_shows_its_reason_inside_the_pages_sentence() -> None:
    reason = "window: schedule.weekly.weekdays: at least one weekday is needed"
    typed = replace(RECURRING, window_kind="weekly", window_weekdays=[])
    pending = {"action": "create-maintenance", "ref": ""}

    assert f.perform(RecordingActions(refuse=reason), pending, typed, "ja", "UTC") == f.Outcome(
        False, f"保守期間を追加できませんでした（入力内容を確認してください）: {reason}"
    )
    assert f.perform(RecordingActions(refuse=reason), pending, typed, "en", "UTC") == f.Outcome(
        False, f"The maintenance window was not added (check the fields): {reason}"
    )
