"""The chunk codec gives back exactly what it was given, and picks the compact path for regular data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from store.codec import decode_chunk, encode_chunk

T0 = 1_800_000_000_000


def _roundtrip(ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    blob = encode_chunk([ts, values])
    out_ts, out_values = decode_chunk(blob)
    return out_ts, out_values, len(blob)


@pytest.mark.parametrize(
    "values",
    [
        np.array([0.0, 1.0, 2.0, 3.0]),
        np.array([0.125, 0.25, 0.5, 0.75]),
        np.array([1e300, -1e-300, 5e-324, 123456.789]),
        np.array([math.nan, math.inf, -math.inf, -0.0]),
        np.array([2.0**60, 2.0**61 + 2048, 1.0, 0.1]),
        np.random.default_rng(7).random(500),
    ],
    ids=["integers", "decimals", "extremes", "specials", "huge-integers", "random"],
)
def test_values_come_back_bit_for_bit(values: np.ndarray) -> None:
    ts = T0 + np.arange(values.size, dtype=np.int64) * 15_000
    out_ts, out_values, _ = _roundtrip(ts, values)
    assert out_ts.tolist() == ts.tolist()
    assert out_values.view(np.int64).tolist() == values.view(np.int64).tolist()


def test_irregular_and_negative_timestamps_come_back_exactly() -> None:
    ts = np.array([-5_000, 0, 1, 999_999_999_999, 1_800_000_000_123, 2**62], dtype=np.int64)
    out_ts, _, _ = _roundtrip(ts, np.zeros(ts.size))
    assert out_ts.tolist() == ts.tolist()


def test_empty_and_single_sample_chunks_roundtrip() -> None:
    for n in (0, 1):
        ts = T0 + np.arange(n, dtype=np.int64)
        out_ts, out_values, _ = _roundtrip(ts, np.full(n, 42.5))
        assert out_ts.tolist() == ts.tolist()
        assert out_values.tolist() == [42.5] * n


def test_regular_gauge_with_three_decimals_costs_under_two_bytes_per_sample() -> None:
    rng = np.random.default_rng(1)
    ts = T0 + np.arange(240, dtype=np.int64) * 15_000
    gauge = np.round(np.clip(0.5 + np.cumsum(rng.normal(0, 0.01, 240)), 0, 1), 3)
    _, _, size = _roundtrip(ts, gauge)
    assert size / 240 < 2.0


def test_unknown_chunk_version_is_refused() -> None:
    blob = bytearray(encode_chunk([np.zeros(1, np.int64), np.zeros(1)]))
    blob[0] = 9
    with pytest.raises(ValueError, match="unknown chunk version 9"):
        decode_chunk(bytes(blob))
