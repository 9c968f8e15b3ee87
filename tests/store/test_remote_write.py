"""Remote write (store/remote.py): the encoding, the durable queue, retries and refusals against a scripted
receiver on a real socket, and exact delivery into real VictoriaMetrics and Prometheus, through outages
and a restart of the writer."""

from __future__ import annotations

import logging
import math
import random
import signal
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from model import FakeClock, Labels, Sample, Secret, SystemClock
from store.query import STALE_NAN
from store.remote import RemoteWriteClosed, RemoteWriter, RemoteWriteTarget, SeriesEncoder, TimeSeries, encode
from store.remote_queue import Record, RemoteQueue
from store.remote_send import Verdict, judge, retry_after
from tests.collectors.probe_support import self_signed
from tests.store.engines import (
    Engine,
    FakeReceiver,
    Feeder,
    Reply,
    decode_write_request,
    outage,
    series_of,
    start_prometheus,
    start_victoria_metrics,
)

T0 = 1_800_000_000.0
ROOT = Path(__file__).resolve().parents[2]
SeriesKey = tuple[tuple[str, str], ...]


def _key(labels: dict[str, str]) -> SeriesKey:
    return tuple(sorted(labels.items()))  # as engines' SeriesSamples keys


def _received(receiver: FakeReceiver) -> dict[SeriesKey, list[tuple[int, float]]]:
    out: dict[SeriesKey, list[tuple[int, float]]] = defaultdict(list)
    for labels, t, v in receiver.received:
        out[_key(labels)].append((t, v))
    return dict(out)


def _run(name: str, series: int, k: int, ts: float) -> list[Sample]:
    """One collector run: `series` samples of metric `name` at `ts`, values distinct per (series, k)."""
    return [Sample(name, Labels(series=str(i), site="dc-east"), i * 1000.0 + k + 0.25, ts) for i in range(series)]


def _wait(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _value(registry: CollectorRegistry, name: str, url: str, **labels: str) -> float:
    value = registry.get_sample_value(name, {"url": url, **labels})
    return 0.0 if value is None else value


def _writer(url: str, queue_dir: Path, registry: CollectorRegistry, **options: object) -> RemoteWriter:
    settings: dict[str, object] = {"shards": 1, "batch_send_deadline": 0.05, "min_backoff": 0.02, "max_backoff": 0.2}
    settings.update(options)
    target = RemoteWriteTarget(url, **settings)  # type: ignore[arg-type]
    return RemoteWriter([target], queue_dir, clock=SystemClock(), registry=registry)


# -- encoding -----------------------------------------------------------------------------------------
def test_series_encoder_writes_one_reference_timeseries_per_sample() -> None:
    samples = [
        Sample("up", Labels(target="rtr-east-01", Zone="A", site="東日本"), 1.0, T0),
        Sample("up", Labels(target="rtr-east-01", Zone="A", site="東日本"), 0.0, T0 + 15.001),
        Sample("flap", Labels(), STALE_NAN, T0 + 30),
        Sample("early", Labels(a="b"), -2.5, 1.0),  # 1000 ms: a shorter varint than the cached head's
        Sample("early", Labels(a="b"), math.inf, T0),
    ]
    encoded = SeriesEncoder().encode(samples)
    reference = [
        encode([TimeSeries({"__name__": s.name, **s.labels}, [(round(s.ts * 1000), s.value)])]) for s in samples
    ]
    assert encoded.messages == reference
    assert encoded.oldest == 1.0
    assert encoded.hashes[0] == encoded.hashes[1] != encoded.hashes[2]
    decoded = decode_write_request(b"".join(encoded.messages))
    assert list(decoded[0][0]) == ["Zone", "__name__", "site", "target"]  # sorted by name, bytewise
    assert struct.pack("<d", decoded[2][1][0][1]) == struct.pack("<d", STALE_NAN)
    assert decoded[3][1] == [(1000, -2.5)]


@pytest.mark.parametrize(
    ("status", "verdict"),
    [(200, Verdict.DELIVERED), (204, Verdict.DELIVERED), (429, Verdict.RETRY), (500, Verdict.RETRY),
     (503, Verdict.RETRY), (400, Verdict.REFUSED), (401, Verdict.REFUSED), (404, Verdict.REFUSED),
     (302, Verdict.REFUSED)],
)  # fmt: skip
def test_answers_are_delivered_retried_or_refused(status: int, verdict: Verdict) -> None:
    assert judge(status) is verdict


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after("7", T0) == 7.0
    assert retry_after("Fri, 15 Jan 2027 08:00:09 GMT", T0) == 9.0  # T0 is 08:00:00Z that day
    assert retry_after("Fri, 15 Jan 2027 07:00:00 GMT", T0) == 0.0
    assert retry_after(None, T0) is None
    assert retry_after("soon", T0) is None


# -- the queue ----------------------------------------------------------------------------------------
def _record(shard: int, samples: int, oldest: float) -> Record:
    import cramjam

    raw = b"".join(SeriesEncoder().encode(_run("q", samples, shard, oldest)).messages)
    return Record(shard, samples, oldest, bytes(cramjam.snappy.compress_raw(raw)))


def test_queue_reads_whole_records_in_order_per_shard_and_forgets_them_only_on_delete(tmp_path: Path) -> None:
    queue = RemoteQueue.open(tmp_path, "http://127.0.0.1:1/api/v1/write", shards=2)
    queue.put([_record(0, 3, T0), _record(1, 5, T0 + 1), _record(0, 4, T0 + 2)])
    queue.put([_record(0, 2, T0 + 3)])
    assert (queue.pending(0), queue.pending(1), queue.pending()) == (9, 5, 14)
    first = queue.read(0, max_samples=8)
    assert first is not None
    assert (first.samples, first.oldest, first.resent) == (7, T0, False)  # 3 + 4: with the next (2), over 8
    again = queue.read(0, max_samples=1)  # reading removes nothing; the batch read is read again, whole
    assert again == first._replace(resent=True)
    queue.delete(first)
    rest = queue.read(0, max_samples=8)
    assert rest is not None and (rest.samples, rest.oldest) == (2, T0 + 3)
    assert queue.pending() == 7
    assert queue.lag(T0 + 10) == 9.0  # shard 1's record from T0 + 1
    queue.delete(rest)
    assert queue.read(0, max_samples=8) is None
    queue.close()


def test_a_reopened_queue_keeps_its_samples_and_its_shard_count_until_it_drains(tmp_path: Path) -> None:
    url = "http://127.0.0.1:1/api/v1/write"
    queue = RemoteQueue.open(tmp_path, url, shards=2)
    queue.put([_record(1, 5, T0)])
    queue.close()
    reopened = RemoteQueue.open(tmp_path, url, shards=4)
    assert (reopened.shards, reopened.pending(), reopened.pending(1)) == (2, 5, 5)
    batch = reopened.read(1, 100)
    assert batch is not None
    reopened.delete(batch)
    reopened.close()
    assert RemoteQueue.open(tmp_path, url, shards=4).shards == 4


def test_a_drained_queue_gives_its_pages_back(tmp_path: Path) -> None:
    queue = RemoteQueue.open(tmp_path, "http://127.0.0.1:1/api/v1/write", shards=1)
    queue.put([_record(0, 2000, T0) for _ in range(80)])  # about 500 pages of 4 KiB
    while (batch := queue.read(0, 2000)) is not None:
        queue.delete(batch)
    queue.close()
    with sqlite3.connect(queue.path) as conn:
        assert conn.execute("PRAGMA freelist_count").fetchone() == (0,)
        assert conn.execute("PRAGMA page_count").fetchone()[0] < 20


def test_pending_samples_and_lag_are_read_from_the_queue(tmp_path: Path, registry: CollectorRegistry) -> None:
    clock = FakeClock(start=T0)
    url = "http://127.0.0.1:1/api/v1/write"
    writer = RemoteWriter([RemoteWriteTarget(url)], tmp_path, clock=clock, registry=registry)
    assert _value(registry, "remote_write_lag_seconds", url) == 0.0
    writer.append(_run("m", 10, 0, T0 - 30) + _run("m", 10, 1, T0 - 15))
    writer.append(_run("m", 10, 2, T0))
    clock.advance(5)
    assert _value(registry, "remote_write_pending_samples", url) == 30
    assert _value(registry, "remote_write_lag_seconds", url) == 35.0
    assert writer.stop(timeout=0) is False  # never started: everything stays queued
    with pytest.raises(RemoteWriteClosed):
        writer.append(_run("m", 1, 3, T0))


# -- against a scripted receiver ----------------------------------------------------------------------
def test_every_sample_arrives_once_in_order_per_series_from_many_threads(
    tmp_path: Path, registry: CollectorRegistry
) -> None:
    appended: list[Sample] = []
    lock = threading.Lock()
    with FakeReceiver(lambda i, series: Reply()) as receiver:
        writer = _writer(
            receiver.url, tmp_path, registry, shards=3, max_samples_per_send=250,
            headers={"X-Scope-OrgID": "ops"}, bearer_token=Secret("s3cret", reference="env:RW_TOKEN"),
        )  # fmt: skip
        writer.start()

        def collector(worker: int) -> None:
            for k in range(40):
                run = [
                    Sample("threaded", Labels(worker=str(worker), series=str(i)), float(k), T0 + k * 15 + worker)
                    for i in range(25)
                ]
                writer.append(run)
                with lock:
                    appended.extend(run)

        threads = [threading.Thread(target=collector, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert writer.stop(timeout=20) is True
    assert _received(receiver) == series_of(appended)  # each series complete, once, in time order
    assert len(receiver.received) == 8 * 40 * 25
    assert max(sum(len(p) for _, p in r.series) for r in receiver.requests) <= 250
    headers = receiver.requests[0].headers
    assert headers["Content-Encoding"] == "snappy"
    assert headers["Content-Type"] == "application/x-protobuf"
    assert headers["X-Prometheus-Remote-Write-Version"] == "0.1.0"
    assert headers["Authorization"] == "Bearer s3cret"
    assert headers["X-Scope-OrgID"] == "ops"
    assert _value(registry, "remote_write_sent_samples_total", receiver.url) == 8000
    assert _value(registry, "remote_write_pending_samples", receiver.url) == 0


def test_a_small_batch_waits_for_the_send_deadline(tmp_path: Path, registry: CollectorRegistry) -> None:
    with FakeReceiver(lambda i, series: Reply()) as receiver:
        writer = _writer(receiver.url, tmp_path, registry, batch_send_deadline=0.8)
        writer.start()
        appended = time.monotonic()
        writer.append(_run("small", 3, 0, T0))
        assert _wait(lambda: len(receiver.requests) == 1, timeout=5)
        assert 0.75 <= receiver.requests[0].at - appended < 1.5
        assert writer.stop(timeout=5) is True


def test_5xx_is_retried_with_backoff_until_the_receiver_recovers(tmp_path: Path, registry: CollectorRegistry) -> None:
    with FakeReceiver(lambda i, series: Reply(500, "storage busy") if i < 3 else Reply()) as receiver:
        writer = _writer(receiver.url, tmp_path, registry, min_backoff=0.1, max_backoff=1.0)
        samples = _run("retried", 40, 0, T0)
        writer.append(samples)
        writer.start()
        assert _wait(lambda: writer.pending() == 0, timeout=10)
        assert writer.stop(timeout=5) is True
    assert len(receiver.requests) == 4
    assert all(r.series == receiver.requests[0].series for r in receiver.requests)  # the same request again
    gaps = [b.at - a.at for a, b in zip(receiver.requests, receiver.requests[1:], strict=False)]
    assert all(want <= gap < want + 0.1 for gap, want in zip(gaps, [0.1, 0.2, 0.4], strict=True)), gaps
    assert _received(receiver) == series_of(samples)
    assert _value(registry, "remote_write_retries_total", receiver.url) == 3
    assert _value(registry, "remote_write_sent_samples_total", receiver.url) == 40
    assert _value(registry, "remote_write_failed_samples_total", receiver.url, reason="4xx") == 0


def test_429_waits_as_long_as_retry_after_says(tmp_path: Path, registry: CollectorRegistry) -> None:
    def decide(i: int, series: object) -> Reply:
        return Reply(429, "slow down", headers={"Retry-After": "1"}) if i == 0 else Reply()

    with FakeReceiver(decide) as receiver:
        writer = _writer(receiver.url, tmp_path, registry)
        writer.append(_run("throttled", 5, 0, T0))
        writer.start()
        assert _wait(lambda: writer.pending() == 0, timeout=10)
        assert writer.stop(timeout=5) is True
    assert len(receiver.requests) == 2
    assert 0.95 <= receiver.requests[1].at - receiver.requests[0].at < 1.5
    assert _value(registry, "remote_write_retries_total", receiver.url) == 1
    assert len(receiver.received) == 5


def test_a_4xx_drops_the_batch_counts_it_and_logs_the_message_once(
    tmp_path: Path, registry: CollectorRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeReceiver(lambda i, series: Reply(401, "bad token")) as receiver:
        writer = _writer(receiver.url, tmp_path, registry)
        writer.append(_run("refused", 30, 0, T0))
        with caplog.at_level(logging.WARNING, logger="store.remote_send"):
            writer.start()
            assert _wait(lambda: writer.pending() == 0, timeout=10)
            assert writer.stop(timeout=5) is True
    assert len(receiver.requests) == 1  # neither retried nor split: the data is not what is wrong
    assert _value(registry, "remote_write_failed_samples_total", receiver.url, reason="4xx") == 30
    assert _value(registry, "remote_write_sent_samples_total", receiver.url) == 0
    assert _value(registry, "remote_write_retries_total", receiver.url) == 0
    assert [r.getMessage() for r in caplog.records if "bad token" in r.getMessage()] == [
        f"remote write {receiver.url}: the receiver refused a batch of 30 samples (401: bad token)"
    ]


def test_a_400_batch_is_split_so_only_the_bad_samples_are_dropped(tmp_path: Path, registry: CollectorRegistry) -> None:
    def decide(i: int, series: list[tuple[dict[str, str], list[tuple[int, float]]]]) -> Reply:
        bad = any(labels.get("series") in {"13", "77"} for labels, _ in series)  # e.g. out of bounds
        return Reply(400, "out of bounds") if bad else Reply()

    samples = _run("mixed", 100, 0, T0)
    with FakeReceiver(decide) as receiver:
        writer = _writer(receiver.url, tmp_path, registry, shards=1, max_samples_per_send=100)
        writer.append(samples)
        writer.start()
        assert _wait(lambda: writer.pending() == 0, timeout=10)
        assert writer.stop(timeout=5) is True
    good = [s for s in samples if s.labels["series"] not in {"13", "77"}]
    assert _received(receiver) == series_of(good)
    assert _value(registry, "remote_write_failed_samples_total", receiver.url, reason="4xx") == 2
    assert _value(registry, "remote_write_sent_samples_total", receiver.url) == 98
    assert len(receiver.requests) <= 1 + 2 * 2 * math.ceil(math.log2(100))


class _LikePrometheus:
    """Answers as Prometheus 2.42's receiver does: a request is stored whole or not at all; a sample older
    than its series' latest, or at the same time with another value, refuses it (400 "out of order
    sample"); an identical copy of the latest is accepted and ignored. The first `hang_ups` requests that
    store something get no answer. What it stored is in `stored`."""

    def __init__(self, hang_ups: int = 0) -> None:
        self.stored: dict[SeriesKey, list[tuple[int, float]]] = defaultdict(list)
        self.hang_ups = hang_ups

    def __call__(self, index: int, series: list[tuple[dict[str, str], list[tuple[int, float]]]]) -> Reply:
        latest: dict[SeriesKey, tuple[int, float]] = {}
        new: list[tuple[SeriesKey, int, float]] = []
        for labels, points in series:
            key = _key(labels)
            for t, v in points:
                last = latest.get(key) or (self.stored[key][-1] if self.stored.get(key) else None)
                if last is not None and (t < last[0] or (t == last[0] and v != last[1])):
                    return Reply(400, "out of order sample", store=False)
                if last is None or t > last[0]:
                    latest[key] = (t, v)
                    new.append((key, t, v))
        for key, t, v in new:
            self.stored[key].append((t, v))
        if new and self.hang_ups:
            self.hang_ups -= 1
            return Reply(hang_up=True, store=False)
        return Reply(store=False)


def test_a_resend_after_a_lost_answer_refused_as_out_of_order_counts_as_already_there(
    tmp_path: Path, registry: CollectorRegistry
) -> None:
    samples = _run("resent", 10, 0, T0) + _run("resent", 10, 1, T0 + 15)
    prometheus = _LikePrometheus(hang_ups=1)
    with FakeReceiver(prometheus) as receiver:
        writer = _writer(receiver.url, tmp_path, registry)
        writer.append(samples)
        writer.start()
        assert _wait(lambda: writer.pending() == 0, timeout=10)
        assert writer.stop(timeout=5) is True
    assert prometheus.stored == series_of(samples)
    assert [r.reply.status for r in receiver.requests] == [204, 400]  # 204: the reply never sent
    assert _value(registry, "remote_write_failed_samples_total", receiver.url, reason="resent_duplicate") == 20
    assert _value(registry, "remote_write_failed_samples_total", receiver.url, reason="4xx") == 0
    assert _value(registry, "remote_write_sent_samples_total", receiver.url) == 0


def test_a_batch_sent_before_a_restart_does_not_take_new_samples_down_with_it(tmp_path: Path) -> None:
    earlier = _run("restarted", 10, 0, T0) + _run("restarted", 10, 1, T0 + 15)
    later = _run("restarted", 10, 2, T0 + 30)
    prometheus = _LikePrometheus(hang_ups=1)
    with FakeReceiver(prometheus) as receiver:
        first = _writer(receiver.url, tmp_path / "queue", CollectorRegistry(), min_backoff=5.0, max_backoff=5.0)
        first.append(earlier)
        first.start()
        assert _wait(lambda: len(receiver.requests) == 1, timeout=5)  # stored, the answer lost
        assert first.stop(timeout=0) is False
        registry = CollectorRegistry()
        second = _writer(receiver.url, tmp_path / "queue", registry)
        second.append(later)  # would fit in the first batch, but that batch is the one read before
        second.start()
        assert second.stop(timeout=10) is True
    assert prometheus.stored == series_of(earlier + later)
    assert [r.reply.status for r in receiver.requests] == [204, 400, 204]  # the same 20, again; then 10 new
    assert [sum(len(p) for _, p in r.series) for r in receiver.requests] == [20, 20, 10]
    assert _value(registry, "remote_write_failed_samples_total", receiver.url, reason="resent_duplicate") == 20
    assert _value(registry, "remote_write_failed_samples_total", receiver.url, reason="4xx") == 0
    assert _value(registry, "remote_write_sent_samples_total", receiver.url) == 10


def test_stop_keeps_what_was_not_taken_and_the_next_writer_sends_it(tmp_path: Path) -> None:
    available = threading.Event()
    with FakeReceiver(lambda i, series: Reply() if available.is_set() else Reply(503, "down")) as receiver:
        first = _writer(receiver.url, tmp_path / "queue", CollectorRegistry())
        samples = _run("kept", 30, 0, T0) + _run("kept", 30, 1, T0 + 15)
        first.append(samples)
        first.start()
        assert _wait(lambda: len(receiver.requests) >= 2, timeout=5)
        assert first.stop(timeout=0.3) is False
        available.set()
        second = _writer(receiver.url, tmp_path / "queue", CollectorRegistry())
        assert second.pending() == 60
        second.start()
        assert second.stop(timeout=10) is True
    assert _received(receiver) == series_of(samples)


def test_https_receiver_verified_against_ca_file_and_untrusted_one_retried(
    tmp_path: Path, registry: CollectorRegistry
) -> None:
    certificate = self_signed(tmp_path, days=30)
    samples = _run("tls", 10, 0, T0)
    with FakeReceiver(lambda i, series: Reply(), tls=certificate.server_context()) as receiver:
        untrusted = _writer(receiver.url, tmp_path / "untrusted", CollectorRegistry())
        untrusted.append(samples)
        untrusted.start()
        assert untrusted.stop(timeout=0.5) is False  # certificate verify failed: retried, kept
        assert receiver.requests == []
        trusted = _writer(
            receiver.url, tmp_path / "trusted", registry, ca_file=certificate.cert_file,
            basic_auth=("collector", Secret("pa55", reference="env:RW_PASSWORD")),
        )  # fmt: skip
        trusted.append(samples)
        trusted.start()
        assert trusted.stop(timeout=5) is True
    assert _received(receiver) == series_of(samples)
    assert receiver.requests[0].headers["Authorization"] == "Basic Y29sbGVjdG9yOnBhNTU="  # collector:pa55


_CRASH_CHILD = """
import sys
from pathlib import Path
from prometheus_client import CollectorRegistry
from model import Labels, Sample, SystemClock
from store.remote import RemoteWriter, RemoteWriteTarget
target = RemoteWriteTarget("http://127.0.0.1:9/api/v1/write")
writer = RemoteWriter([target], Path(sys.argv[1]), clock=SystemClock(), registry=CollectorRegistry())
for k in range(10**9):
    writer.append([Sample("crash", Labels(series=str(i)), float(k), 1.8e9 + k) for i in range(100)])
    print(k, flush=True)
"""


def test_kill_9_loses_nothing_that_append_returned_from(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    for attempt in range(3):
        queue_dir = tmp_path / f"run{attempt}"
        child = subprocess.Popen(
            [sys.executable, "-c", _CRASH_CHILD, str(queue_dir)], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "0"
        time.sleep(rng.uniform(0.2, 1.0))
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        last = int(["0", *child.stdout.read().split("\n")[:-1]][-1])  # the last whole line printed
        queue = RemoteQueue.open(queue_dir, "http://127.0.0.1:9/api/v1/write", shards=2)
        assert queue.pending() in {(last + 1) * 100, (last + 2) * 100}  # the append in flight, whole or not
        queue.close()


# -- real engines ---------------------------------------------------------------------------------------
@pytest.fixture
def victoria_metrics(tmp_path: Path) -> Iterator[Engine]:
    engine = start_victoria_metrics(tmp_path / "victoria-metrics")
    yield engine
    engine.stop()


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Engine]:
    engine = start_prometheus(tmp_path / "prometheus")
    yield engine
    engine.stop()


def _engine_writer(engines: list[Engine], queue_dir: Path, registry: CollectorRegistry) -> RemoteWriter:
    targets = [RemoteWriteTarget(e.write_url, batch_send_deadline=0.2, max_backoff=0.5) for e in engines]
    return RemoteWriter(targets, queue_dir, clock=SystemClock(), registry=registry)


def _assert_stored_exactly(engine: Engine, name: str, samples: list[Sample]) -> None:
    start, end = min(s.ts for s in samples), max(s.ts for s in samples)
    assert engine.wait_for_count(name, start, end, len(samples)) == len(samples), engine.name
    time.sleep(0.3)  # anything more would show now
    assert engine.raw_samples(name, start, end) == series_of(samples), engine.name


@pytest.mark.slow
def test_samples_arrive_exactly_in_victoria_metrics_and_prometheus(
    tmp_path: Path, victoria_metrics: Engine, prometheus: Engine, registry: CollectorRegistry
) -> None:
    now = round(time.time(), 3)
    samples = [s for k in range(20) for s in _run("rw_exact", 150, k, now - 60 + k * 3)]
    writer = _engine_writer([victoria_metrics, prometheus], tmp_path / "queue", registry)
    writer.start()
    for k in range(20):
        writer.append(samples[k * 150 : (k + 1) * 150])
    assert writer.stop(timeout=20) is True
    for engine in (victoria_metrics, prometheus):
        _assert_stored_exactly(engine, "rw_exact", samples)
        assert _value(registry, "remote_write_sent_samples_total", engine.write_url) == 3000


@pytest.mark.slow
def test_an_engine_outage_loses_nothing_and_stores_nothing_twice(
    tmp_path: Path, victoria_metrics: Engine, prometheus: Engine, registry: CollectorRegistry
) -> None:
    writer = _engine_writer([victoria_metrics, prometheus], tmp_path / "queue", registry)
    writer.start()
    collector = Feeder(writer.append, "rw_outage", series=50, interval=0.1)
    time.sleep(2)
    with outage(victoria_metrics, prometheus):
        time.sleep(12)
        url = victoria_metrics.write_url
        assert _value(registry, "remote_write_pending_samples", url) >= 50 * 100
        assert _value(registry, "remote_write_lag_seconds", url) >= 10
    time.sleep(2)
    samples = collector.stop()
    assert writer.stop(timeout=30) is True
    for engine in (victoria_metrics, prometheus):
        _assert_stored_exactly(engine, "rw_outage", samples)
        assert _value(registry, "remote_write_retries_total", engine.write_url) >= 1
        assert _value(registry, "remote_write_failed_samples_total", engine.write_url, reason="4xx") == 0


@pytest.mark.slow
def test_the_queue_survives_a_restart_of_the_writer_while_the_engine_is_down(
    tmp_path: Path, victoria_metrics: Engine
) -> None:
    now = round(time.time(), 3)
    samples = [s for k in range(10) for s in _run("rw_restart", 40, k, now - 30 + k)]
    victoria_metrics.stop()
    first = _engine_writer([victoria_metrics], tmp_path / "queue", CollectorRegistry())
    first.start()
    first.append(samples[:200])
    first.append(samples[200:])
    assert first.stop(timeout=0.5) is False
    victoria_metrics.start()
    second = _engine_writer([victoria_metrics], tmp_path / "queue", CollectorRegistry())
    assert second.pending() == 400
    second.start()
    assert second.stop(timeout=20) is True
    _assert_stored_exactly(victoria_metrics, "rw_restart", samples)
