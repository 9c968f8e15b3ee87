"""The values the evaluator passes around, and Prometheus' staleness marker.

An instant-vector expression is evaluated at every step of the query at once: a `Vec` is a list of
`StepSeries`, each with its label set and, per step, a value and whether the series has a sample at
that step. A scalar is one float per step. Time is integer milliseconds throughout.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from model import Labels

__all__ = [
    "NAME",
    "STALE_NAN",
    "STALE_NAN_BITS",
    "BoolArray",
    "FloatArray",
    "IntArray",
    "RangeSeries",
    "StepSeries",
    "Vec",
    "drop_name",
    "go_labels",
    "go_quote",
    "is_stale",
    "stale_mask",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

NAME = "__name__"
STALE_NAN_BITS = 0x7FF0000000000002
"""Prometheus' staleness marker: a NaN with this exact bit pattern ends a series."""
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]


def is_stale(value: float) -> bool:
    """Whether `value` is the staleness marker (a bit comparison: any other NaN is a plain NaN)."""
    bits: int = struct.unpack("<Q", struct.pack("<d", value))[0]
    return bits == STALE_NAN_BITS


def stale_mask(values: FloatArray) -> BoolArray:
    """Element-wise `is_stale` of an array."""
    mask: BoolArray = values.view(np.uint64) == np.uint64(STALE_NAN_BITS)
    return mask


@dataclass(slots=True)
class StepSeries:
    """One series of an instant vector over the query's steps: `present[i]` says whether it has a
    value at step i, `values[i]` what it is (meaningless where not present)."""

    labels: Labels
    values: FloatArray
    present: BoolArray


Vec = list[StepSeries]


@dataclass(slots=True)
class RangeSeries:
    """Raw points of one series (a range vector's input): ms timestamps, ascending, and values."""

    labels: Labels
    ts: IntArray
    values: FloatArray


@functools.lru_cache(maxsize=262_144)
@functools.lru_cache(maxsize=262_144)
def drop_name(labels: Labels) -> Labels:
    """`labels` without `__name__` (memoised: the same series lose their name in query after query)."""
    return Labels.from_pairs(tuple(p for p in labels.pairs if p[0] != NAME))


def go_labels(labels: Labels) -> str:
    """A label set as Prometheus prints it in messages: `{a="b", c="d"}` (Go-quoted values)."""
    return "{" + ", ".join(f"{k}={go_quote(v)}" for k, v in labels.pairs) + "}"


def go_quote(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
