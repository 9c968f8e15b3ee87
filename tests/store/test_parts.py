"""Frozen parts of the open chunk come back exactly, and regular data packs small."""

from __future__ import annotations

import math

import numpy as np
import pytest

from store.parts import RAW, pack_part, unpack_part


def _roundtrip(offsets: list[int], values: list[float], hint: int) -> tuple[list[int], list[float], int, int]:
    data, new_hint = pack_part(np.array(offsets, dtype=np.int32), np.array(values), hint)
    got_offsets, got_values = unpack_part(data)
    assert got_values.view(np.int64).tolist() == np.array(values).view(np.int64).tolist()
    return got_offsets.tolist(), got_values.tolist(), len(data), new_hint


def test_regular_three_decimal_gauge_packs_to_a_byte_a_sample() -> None:
    values = [0.512, 0.514, 0.511, 0.515] * 8
    offsets, _, size, hint = _roundtrip([15_000 * i for i in range(32)], values, hint=0)
    assert offsets == [15_000 * i for i in range(32)]
    assert hint == 3
    assert size == 4 + 8 + 9 + 31  # header, first offset and step, first value and width, deltas


@pytest.mark.parametrize(
    ("values", "hint", "expected_hint"),
    [
        ([1.0, 2.0, 1e15, 3.0], 3, 0),  # a counter: integers
        ([0.1, 0.2, 0.30000000000000004, 0.4], 1, RAW),  # not a short decimal
        ([math.nan, 1.0, math.inf, -math.inf], 0, RAW),
        ([-0.0, 0.0, 1.5, -2.25], 2, RAW),  # -0.0 keeps its sign only raw
        ([1e300, 2e300, 3.0, 4.0], 0, RAW),  # too large to scale exactly
        ([0.125, 0.25, 0.375, 0.5], RAW, RAW),  # a raw hint is kept: no search
    ],
)
def test_values_come_back_bit_for_bit_and_the_hint_follows(values: list[float], hint: int, expected_hint: int) -> None:
    _, _, _, new_hint = _roundtrip([0, 5, 20, 21], values, hint)
    assert new_hint == expected_hint


def test_irregular_offsets_and_a_single_sample_come_back() -> None:
    assert _roundtrip([0, 14_998, 30_003, 45_000], [1.0, 2.0, 3.0, 4.0], 0)[0] == [0, 14_998, 30_003, 45_000]
    assert _roundtrip([7], [42.5], 1)[:2] == ([7], [42.5])
