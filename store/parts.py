"""Frozen parts of a head series' open chunk: a few dozen samples packed compactly and cheaply.

The open chunk of every series receives one sample per scrape. Kept as plain arrays it would cost
12 bytes a sample (int32 time offset + float64 value) and, as thousands of arrays grow in step, fragment
the heap. So every `FREEZE_SAMPLES` samples the buffer is packed into one small immutable bytes object:

- offsets: when evenly spaced (regular scrapes), just the first offset and the step (8 bytes);
  otherwise the int32 offsets;
- values: when they are integers times 10^-k (k <= 6, the usual case for counters and gauges), the
  first as int64 and the differences in the narrowest of 1/2/4/8 bytes; otherwise raw float64.

Packing costs a handful of NumPy calls (about 10 µs for 32 samples) and no zlib; unpacking gives back
the exact values. The series keeps the decimal places of its last part as a hint, so the usual case
needs one exactness check.
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

from store.codec import FloatArray

__all__ = ["RAW", "pack_part", "unpack_part"]

RAW = -1
"""The hint for a series whose values are not short decimals: pack them raw."""

_HEAD = struct.Struct("<HBb")  # samples, time layout, value layout (decimal places, or RAW)
_REGULAR = struct.Struct("<ii")
_TIME_REGULAR, _TIME_LIST = 0, 1
_WIDTHS = ((1, np.int8), (2, np.int16), (4, np.int32), (8, np.int64))
_MAX_EXACT = float(2**52)


_max = np.maximum.reduce
_min = np.minimum.reduce
_SCALES = tuple(10.0**k for k in range(7))
_INT_RANGES = tuple((w, d, int(np.iinfo(d).min), int(np.iinfo(d).max)) for w, d in _WIDTHS)


def _scaled(values: FloatArray, k: int) -> FloatArray | None:
    """`values` times 10^k if those are exact integers below 2^52 (as float64), else None.
    NaN fails the comparison and infinities the magnitude check."""
    ints = np.rint(values * _SCALES[k]) if k else np.rint(values)
    back = ints / _SCALES[k] if k else ints
    if not (back == values).all() or not _max(np.abs(ints)) < _MAX_EXACT:
        return None
    return ints


def pack_part(offsets: npt.NDArray[np.int32], values: FloatArray, hint: int) -> tuple[bytes, int]:
    """Pack one series' buffer (offsets in ms from the chunk's base, values): (bytes, new hint).
    The hinted decimal places are tried first, so the usual case costs one check."""
    n = int(values.size)
    steps = offsets[1:] - offsets[:-1]
    if n > 1 and (steps == steps[0]).all():
        layout, times = _TIME_REGULAR, _REGULAR.pack(int(offsets[0]), int(steps[0]))
    else:
        layout, times = _TIME_LIST, offsets.astype(np.int32).tobytes()
    ints = None
    k = hint
    if hint != RAW and not (np.signbit(values).any() and np.signbit(values[values == 0]).any()):
        for k in (hint, *(c for c in range(7) if c != hint)):  # -0.0 keeps its sign only raw
            ints = _scaled(values, k)
            if ints is not None:
                break
    if ints is None:
        return _HEAD.pack(n, layout, RAW) + times + values.tobytes(), RAW
    whole = ints.astype(np.int64)
    deltas = whole[1:] - whole[:-1]
    lo, hi = (int(_min(deltas)), int(_max(deltas))) if n > 1 else (0, 0)
    width, dtype, _, _ = next(r for r in _INT_RANGES if r[2] <= lo and hi <= r[3])
    body = struct.pack("<qB", int(whole[0]), width) + deltas.astype(dtype).tobytes()
    return _HEAD.pack(n, layout, k) + times + body, k


def unpack_part(data: bytes) -> tuple[npt.NDArray[np.int32], FloatArray]:
    """Inverse of `pack_part`: (offsets, values)."""
    n, layout, k = _HEAD.unpack_from(data, 0)
    pos = _HEAD.size
    if layout == _TIME_REGULAR:
        first, step = _REGULAR.unpack_from(data, pos)
        offsets = (first + step * np.arange(n, dtype=np.int64)).astype(np.int32)
        pos += _REGULAR.size
    else:
        offsets = np.frombuffer(data, dtype=np.int32, count=n, offset=pos).copy()
        pos += 4 * n
    if k == RAW:
        return offsets, np.frombuffer(data, dtype=np.float64, count=n, offset=pos).copy()
    first, width = struct.unpack_from("<qB", data, pos)
    dtype = dict(_WIDTHS)[width]
    deltas = np.frombuffer(data, dtype=dtype, count=n - 1, offset=pos + 9).astype(np.int64)
    ints = np.empty(n, dtype=np.int64)
    ints[0] = first
    np.cumsum(deltas, out=ints[1:])
    ints[1:] += first
    values: FloatArray = ints / 10.0**k if k else ints.astype(np.float64)
    return offsets, values
