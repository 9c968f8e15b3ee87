"""Silences: states over time, matching, Alertmanager's validation messages, expiry, garbage
collection and a restart that restores them exactly (real SQLite in tmp_path, a fake clock)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.matchers import Matcher
from alerts.mutedb import MuteDB, NotFound
from alerts.silences import SILENCE_RETENTION, Silence, Silences, SilenceState
from model import FakeClock, Labels

T0 = 1_800_000_000.0
EAST = Labels({"alertname": "DeviceDown", "site": "dc-east", "target": "rtr-east-01"})
WEST = Labels({"alertname": "DeviceDown", "site": "dc-west", "target": "rtr-west-01"})
OFFICE = Labels({"alertname": "DeviceDown", "site": "office", "target": "rtr-office-01"})


def make(
    silences: Silences,
    t: float,
    matchers: str | list[str] = 'site="dc-east"',
    *,
    starts_at: float | None = None,
    ends_at: float | None = None,
    created_by: str = "alice",
    comment: str = "router swap",
) -> Silence:
    return silences.create(
        matchers,
        starts_at=t if starts_at is None else starts_at,
        ends_at=t + 3600 if ends_at is None else ends_at,
        created_by=created_by,
        comment=comment,
        t=t,
    )


def test_silence_is_pending_then_active_then_expired_as_the_clock_steps(db: MuteDB) -> None:
    clock = FakeClock(T0)
    silences = Silences(db)
    silence = make(silences, clock.now(), starts_at=T0 + 600, ends_at=T0 + 1200)

    seen = []
    for _ in range(5):
        seen.append((clock.now() - T0, silence.state(clock.now()).value, silences.silencing(EAST, clock.now())))
        clock.advance(300)

    assert seen == [
        (0.0, "pending", None),
        (300.0, "pending", None),
        (600.0, "active", silence),
        (900.0, "active", silence),
        (1200.0, "expired", None),
    ]


def test_silence_with_regex_matcher_mutes_only_matching_alerts(db: MuteDB) -> None:
    silences = Silences(db)
    silence = make(silences, T0, 'site=~"dc-.*", alertname="DeviceDown"')

    assert silence.matchers == (Matcher("site", "=~", "dc-.*"), Matcher("alertname", "=", "DeviceDown"))
    assert [silences.silencing(labels, T0) is not None for labels in (EAST, WEST, OFFICE)] == [True, True, False]
    assert silence.mutes(Labels({"alertname": "DeviceDown", "site": "xdc-east"}), T0) is False  # anchored


def test_negative_regex_matcher_silences_everything_but_the_matching_sites(db: MuteDB) -> None:
    silences = Silences(db)
    make(silences, T0, ['site!~"dc-.*"', 'alertname="DeviceDown"'])

    assert [silences.silencing(labels, T0) is not None for labels in (EAST, WEST, OFFICE)] == [False, False, True]


def test_silencing_returns_the_first_matching_silence_by_id(db: MuteDB) -> None:
    silences = Silences(db)
    made = [make(silences, T0, 'alertname="DeviceDown"') for _ in range(5)]

    assert silences.silencing(EAST, T0) == min(made, key=lambda s: s.id)


@pytest.mark.parametrize(
    ("matchers", "kwargs", "message"),
    [
        ([], {}, "at least one matcher required"),
        ('team=""', {}, "at least one matcher must not match the empty string"),
        ('team=~".*", site!="dc-east"', {}, "at least one matcher must not match the empty string"),
        ('site="dc-east"', {"ends_at": T0 + 100, "starts_at": T0 + 100}, "end time must be after start time"),
        ('site="dc-east"', {"ends_at": T0 + 100, "starts_at": T0 + 200}, "end time must be after start time"),
        ('site="dc-east"', {"ends_at": T0}, "end time can't be in the past"),
        ('site="dc-east"', {"created_by": " "}, "created_by is required"),
        ('site="dc-east"', {"comment": ""}, "comment is required"),
        (
            'site=~"dc-("',
            {},
            "bad matcher 'site=~\"dc-(\"': invalid regex 'dc-(' for label site: "
            "missing ), unterminated subpattern at position 6",
        ),
    ],
)
def test_invalid_silence_is_refused_with_alertmanagers_message(
    db: MuteDB, matchers: str | list[str], kwargs: dict[str, float | str], message: str
) -> None:
    silences = Silences(db)
    with pytest.raises(ValueError) as caught:
        make(silences, T0, matchers, **kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert silences.list(T0) == []
    assert db.query("SELECT count(*) FROM silences") == [(0,)]


def test_silencing_finds_the_same_silence_as_checking_every_one_in_id_order(db: MuteDB) -> None:
    silences = Silences(db)
    texts = [
        'target="rtr-east-01"',
        'target="rtr-east-01", site="dc-east"',
        'site="dc-west", team=""',
        'site=~"dc-.*"',
        'site!="office", alertname="DeviceDown"',
        'target=~"rtr-(east|west)-01"',
        'site="office"',
    ]
    made = [make(silences, T0, text, ends_at=T0 + 60 * (i + 1)) for i, text in enumerate(texts)]
    alerts = [EAST, WEST, OFFICE, Labels({"alertname": "DeviceDown", "site": "dc-west", "team": "x"})]

    for t in (T0, T0 + 150, T0 + 330, T0 + 400):
        for labels in alerts:
            muting = sorted((s for s in made if s.mutes(labels, t)), key=lambda s: s.id)
            assert silences.silencing(labels, t) == (muting[0] if muting else None), (t - T0, labels)
    assert [silences.silencing(labels, T0 + 330) for labels in alerts] == [made[5], made[5], made[6], None]


def test_silence_starting_in_the_past_starts_now(db: MuteDB) -> None:
    silence = make(Silences(db), T0, starts_at=T0 - 3600)

    assert (silence.starts_at, silence.ends_at, silence.updated_at) == (T0, T0 + 3600, T0)


def test_expiring_an_active_silence_ends_it_at_that_time(db: MuteDB) -> None:
    silences = Silences(db)
    silence = make(silences, T0)

    expired = silences.expire(silence.id, T0 + 60)

    assert (expired.starts_at, expired.ends_at, expired.updated_at) == (T0, T0 + 60, T0 + 60)
    assert expired.state(T0 + 60) is SilenceState.EXPIRED
    assert silences.silencing(EAST, T0 + 59) == expired
    assert silences.silencing(EAST, T0 + 60) is None


def test_expiring_a_pending_silence_makes_it_start_and_end_then(db: MuteDB) -> None:
    silences = Silences(db)
    silence = make(silences, T0, starts_at=T0 + 600, ends_at=T0 + 1200)

    expired = silences.expire(silence.id, T0 + 60)

    assert (expired.starts_at, expired.ends_at) == (T0 + 60, T0 + 60)
    assert [silences.silencing(EAST, t) for t in (T0 + 60, T0 + 600, T0 + 900)] == [None, None, None]


def test_expiring_an_expired_or_unknown_silence_is_an_error(db: MuteDB) -> None:
    silences = Silences(db)
    silence = make(silences, T0)
    silences.expire(silence.id, T0 + 60)

    with pytest.raises(ValueError) as already:
        silences.expire(silence.id, T0 + 120)
    with pytest.raises(NotFound) as unknown:
        silences.expire("0b0e5c8e-0000-4000-8000-000000000000", T0 + 120)

    assert str(already.value) == f"silence {silence.id} already expired"
    assert str(unknown.value) == "silence 0b0e5c8e-0000-4000-8000-000000000000 not found"


def test_list_filters_by_state_at_a_time(db: MuteDB) -> None:
    silences = Silences(db)
    active = make(silences, T0)
    pending = make(silences, T0, starts_at=T0 + 7200, ends_at=T0 + 9000)
    expired = silences.expire(make(silences, T0).id, T0 + 10)

    assert silences.list(T0 + 60, states={SilenceState.ACTIVE}) == [active]
    assert silences.list(T0 + 60, states={SilenceState.PENDING, SilenceState.EXPIRED}) == sorted(
        [pending, expired], key=lambda s: s.id
    )
    assert silences.list(T0 + 60) == sorted([active, pending, expired], key=lambda s: s.id)


def test_gc_deletes_silences_expired_longer_than_the_retention(db: MuteDB) -> None:
    silences = Silences(db)
    old = make(silences, T0, ends_at=T0 + 100)
    recent = make(silences, T0, ends_at=T0 + 200)
    live = make(silences, T0, ends_at=T0 + 10 * 24 * 3600)

    assert SILENCE_RETENTION == 120 * 3600
    assert silences.gc(T0 + 100 + SILENCE_RETENTION - 1) == 0
    assert silences.gc(T0 + 100 + SILENCE_RETENTION) == 1
    assert {s.id for s in silences.list(T0)} == {recent.id, live.id}
    assert sorted(row[0] for row in db.query("SELECT id FROM silences")) == sorted([recent.id, live.id])
    with pytest.raises(NotFound):
        silences.get(old.id)


def test_silencing_ignores_silences_long_expired_but_still_answers_slightly_older_times(db: MuteDB) -> None:
    silences = Silences(db)
    short = make(silences, T0, ends_at=T0 + 60)

    assert silences.silencing(EAST, T0 + 7200) is None  # prunes `short` from the in-memory list
    assert silences.silencing(EAST, T0 + 30) is None  # more than an hour back: no longer looked at
    other = make(silences, T0 + 7200, ends_at=T0 + 7260)
    assert silences.silencing(EAST, T0 + 7230) == other
    assert silences.silencing(EAST, T0 + 7200 + 1800) is None
    assert silences.silencing(EAST, T0 + 7230) == other  # within the hour of slack
    assert short.state(T0 + 30) is SilenceState.ACTIVE


def test_restart_restores_every_silence_exactly(tmp_path: Path) -> None:
    path = tmp_path / "mute.sqlite3"
    db = MuteDB(path)
    silences = Silences(db)
    made = [
        make(silences, T0, 'site=~"dc-.*", target!~"rtr-(east|west)-0[12]"'),
        make(silences, T0, 'summary="回線断 \\"east\\""', starts_at=T0 + 60, ends_at=T0 + 120.5),
    ]
    made[0] = silences.expire(made[0].id, T0 + 30)
    db.close()

    db = MuteDB(path)
    restored = Silences(db)

    assert restored.list(T0) == sorted(made, key=lambda s: s.id)
    assert restored.get(made[1].id).matchers == (Matcher("summary", "=", '回線断 "east"'),)
    assert restored.silencing(Labels({"summary": '回線断 "east"'}), T0 + 60) == made[1]
    db.close()
