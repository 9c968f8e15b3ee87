"""The read fast paths: an open-chunk window cut from the unpacked buffer, and decoded closed chunks
kept in the bounded `ChunkCache` — both must give exactly what a full decode gives."""

from __future__ import annotations

import numpy as np

from model import FakeClock, Labels, Sample
from store import Store, reads
from store.chunkcache import ChunkCache
from store.codec import encode_chunk
from store.head import Head, HeadChunk, SeriesData, decode_blob

T0_MS = 1_800_000_000_000


def head_with(samples: int) -> Head:
    """One series `x` with `samples` samples 15 s apart from T0 (the head packs every 48 into a part)."""
    head = Head(block_ms=3_600_000, window_ms=7_200_000)
    head.append(
        [Sample("x", Labels(), float(i) * 1.5, (T0_MS + i * 15_000) / 1000) for i in range(samples)],
        now_ms=T0_MS + samples * 15_000,
    )
    return head


def full(head: Head) -> SeriesData:
    (series,) = head._by_id.values()
    return series.open_arrays()


def test_a_window_inside_the_buffer_is_the_same_slice_as_a_full_decode() -> None:
    head = head_with(100)  # two frozen parts of 48, then 4 in the buffer
    (series,) = head._by_id.values()
    reference = full(head)
    for start, end in [
        (T0_MS + 97 * 15_000, T0_MS + 99 * 15_000),  # inside the buffer
        (T0_MS + 97 * 15_000 - 1, T0_MS + 10**9),  # from just before a buffer sample to past the end
        (T0_MS + 50 * 15_000, T0_MS + 98 * 15_000),  # reaches back into the parts
        (T0_MS - 10**6, T0_MS + 5 * 15_000),  # before the first sample
        (T0_MS + 200 * 15_000, T0_MS + 300 * 15_000),  # after the last: empty
    ]:
        window = series.open_window(start, end)
        keep = (reference.ts >= start) & (reference.ts <= end)
        assert window.ts.tolist() == reference.ts[keep].tolist(), (start, end)
        assert window.values.tolist() == reference.values[keep].tolist(), (start, end)
        assert window.ts.dtype == np.int64 and window.values.dtype == np.float64


def test_the_cache_decodes_each_chunk_once_and_answers_the_same() -> None:
    ts = np.arange(T0_MS, T0_MS + 240 * 15_000, 15_000, dtype=np.int64)
    chunk = HeadChunk(int(ts[0]), int(ts[-1]), ts.size, encode_chunk([ts, np.sqrt(ts - T0_MS + 0.5)]))
    cache = ChunkCache(budget_bytes=240 * 16 * 2)  # room for two such chunks
    decodes: list[bytes] = []

    def counting(blob: bytes) -> SeriesData:
        decodes.append(blob)
        return decode_blob(blob)

    first = cache.decoded(7, chunk, counting)
    again = cache.decoded(7, chunk, counting)

    assert len(decodes) == 1 and (cache.hits, cache.misses) == (1, 1)
    assert again.ts.tolist() == first.ts.tolist() == ts.tolist()
    assert again.values.tolist() == decode_blob(chunk.blob).values.tolist()
    for other in (8, 9):  # two more series' chunks: the least recently used one goes
        cache.decoded(other, chunk, counting)
    assert cache.size_bytes == 240 * 16 * 2
    cache.decoded(7, chunk, counting)
    assert len(decodes) == 4  # series 7 was evicted and decoded again


def test_reads_through_the_cache_equal_reads_without_it(tmp_path: object, clock: FakeClock, store: Store) -> None:
    labels = [Labels(host=f"h{i}") for i in range(3)]
    t0 = clock.now()
    for k in range(400):  # 100 minutes at 15 s: crosses an hour block, so closed chunks exist
        clock.set(t0 + k * 15)
        store.append([Sample("y", lb, float(k * (i + 1)), t0 + k * 15) for i, lb in enumerate(labels)])
    assert store.flush()
    ids = [ref.id for ref in store.select([])]
    start, end = int(t0 * 1000) + 50 * 15_000, int(t0 * 1000) + 399 * 15_000

    cold = store.read_range(ids, start, end)
    warm = store.read_range(ids, start, end)

    assert {sid: d.ts.tolist() for sid, d in cold.items()} == {sid: d.ts.tolist() for sid, d in warm.items()}
    assert {sid: d.values.tolist() for sid, d in cold.items()} == {sid: d.values.tolist() for sid, d in warm.items()}
    assert [cold[sid].ts.size for sid in ids] == [350, 350, 350]
    assert store._chunk_cache.hits >= 3


def test_read_flat_is_read_range_laid_out_flat_for_every_window(clock: FakeClock, store: Store) -> None:
    labels = [Labels(host=f"h{i}") for i in range(4)]
    t0 = clock.now()
    for k in range(400):  # 100 minutes: closed chunks, frozen parts and the buffer all hold samples
        clock.set(t0 + k * 15)
        store.append(
            [Sample("z", lb, float(k * (i + 1)) + 0.25, t0 + k * 15) for i, lb in enumerate(labels) if k % (i + 1) == 0]
        )
    assert store.flush()
    ids = [ref.id for ref in store.select([])] + [10_000]  # and a series that does not exist
    base = int(t0 * 1000)
    for start_k, end_k in [(0, 399), (390, 399), (200, 260), (239, 241), (100, 100), (398, 500), (-50, 3)]:
        start, end = base + start_k * 15_000, base + end_k * 15_000
        flat = store.read_flat(ids, start, end)
        per_series = store.read_range(ids, start, end)
        sizes = [per_series[sid].ts.size if sid in per_series else 0 for sid in ids]
        assert flat.sizes.tolist() == sizes, (start_k, end_k)
        expected_ts = [t for sid in ids if sid in per_series for t in per_series[sid].ts.tolist()]
        expected_values = [v for sid in ids if sid in per_series for v in per_series[sid].values.tolist()]
        assert flat.ts.tolist() == expected_ts, (start_k, end_k)
        assert flat.values.tolist() == expected_values, (start_k, end_k)


def test_flat_reads_of_disk_chunks_fetch_only_the_blobs_the_cache_lacks(clock: FakeClock, store: Store) -> None:
    labels = [Labels(host=f"h{i}") for i in range(3)]
    t0 = clock.now()
    for k in range(3 * 240):  # 3 hours at 15 s, then time moves on: the first hours go to disk
        clock.set(t0 + k * 15)
        store.append([Sample("w", lb, float(k + i), t0 + k * 15) for i, lb in enumerate(labels)])
    clock.set(t0 + 5 * 3600)
    store.append([Sample("w", lb, 1.0, t0 + 5 * 3600) for lb in labels])
    assert store.flush()
    ids = [ref.id for ref in store.select([])]
    start, end = int(t0 * 1000), int(t0 * 1000) + 2 * 3_600_000
    assert store._head.floor > end  # the hours read are on disk only

    first = store.read_flat(ids, start, end)
    misses = store._chunk_cache.misses
    again = store.read_flat(ids, start, end)

    assert store._chunk_cache.misses == misses  # every disk chunk came from the cache the second time
    assert again.ts.tolist() == first.ts.tolist() and again.values.tolist() == first.values.tolist()
    per_series = store.read_range(ids, start, end)
    assert first.sizes.tolist() == [per_series[sid].ts.size for sid in ids]
    assert first.ts.tolist() == [t for sid in ids for t in per_series[sid].ts.tolist()]


def test_rollup_reads_through_the_cache_equal_reads_without_it(clock: FakeClock, store: Store) -> None:
    labels = [Labels(host=f"h{i}") for i in range(3)]
    t0 = clock.now()
    for k in range(3 * 240):
        clock.set(t0 + k * 15)
        store.append([Sample("r", lb, float((k * (i + 3)) % 17), t0 + k * 15) for i, lb in enumerate(labels)])
    clock.set(t0 + 5 * 3600)
    store.append([Sample("r", lb, 1.0, t0 + 5 * 3600) for lb in labels])
    assert store.flush()
    ids = [ref.id for ref in store.select([])]
    start, end = int(t0 * 1000), int(t0 * 1000) + 3 * 3_600_000

    cold = store.read_rollup(ids, "5m", start, end)
    hits = store._chunk_cache.hits
    warm = store.read_rollup(ids, "5m", start, end)
    uncached = reads.read_rollup(store._reader(), store._head, store._lock, ids, "5m", start, end, None)

    assert store._chunk_cache.hits > hits
    for answer in (warm, uncached):
        assert sorted(answer) == sorted(cold) == sorted(ids)
        for sid in ids:
            for field in ("ts", "count", "sum", "min", "max", "last"):
                assert getattr(answer[sid], field).tolist() == getattr(cold[sid], field).tolist(), (sid, field)
    assert cold[ids[0]].ts.size == 36  # three hours of 5-minute buckets
