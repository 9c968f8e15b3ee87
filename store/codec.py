"""Compact, exact encoding of sample columns into one blob (the chunk format on disk and in the head).

A chunk is a header and one zlib stream holding its columns. Integer columns (timestamps in ms) are
stored as delta-of-delta, zig-zagged, in the narrowest of 1/2/4/8 bytes. Float columns are stored
either as scaled decimals (a value with at most 6 decimal places is an integer times 10^-k: most
gauges and every counter) delta-encoded like integers, or, when that is not exact, as the XOR of
consecutive IEEE-754 bit patterns, byte-shuffled. Decoding gives back the exact same floats (NaN
payloads included on the XOR path). Regular 15 s data costs 1-3 bytes per sample.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import numpy.typing as npt

__all__ = ["FloatArray", "IntArray", "decode_chunk", "encode_chunk"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_MAGIC = 1
_HEADER = struct.Struct("<BI")  # version, sample count
_COL = struct.Struct("<BHI")  # kind, parameter, byte length
_INT = 0  # delta or delta-of-delta integers; parameter = byte width * 4 + delta order
_DEC = 1  # scaled decimal floats; parameter = integer parameter * 8 + decimal places
_XOR = 2  # xor-shuffled floats; parameter unused
_WIDTHS = ((1, np.int8), (2, np.int16), (4, np.int32), (8, np.int64))
_MAX_EXACT = float(2**52)
_MAX_PLACES = 6
_LEVEL = 6


def _narrow(values: IntArray) -> tuple[int, bytes]:
    """Pack into the narrowest width that holds every value, bytes shuffled (all low bytes first)."""
    if values.size == 0:
        return 1, b""
    lo, hi = int(values.min()), int(values.max())
    for width, dtype in _WIDTHS:
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            packed = values.astype(dtype)
            if width == 1:
                return width, packed.tobytes()
            return width, packed.view(np.uint8).reshape(-1, width).T.tobytes()
    raise AssertionError("int64 always fits")


def _widen(data: bytes, width: int) -> IntArray:
    dtype = dict(_WIDTHS)[width]
    if width == 1:
        return np.frombuffer(data, dtype=dtype).astype(np.int64)
    planes = np.frombuffer(data, dtype=np.uint8).reshape(width, -1)
    return planes.T.copy().view(dtype).reshape(-1).astype(np.int64)


def _encode_ints(values: IntArray) -> tuple[int, int, bytes]:
    """Delta (order 1) or delta-of-delta (order 2), whichever packs narrower; param = width*4+order."""
    width1, data1 = _narrow(_delta1(values))
    if width1 == 1:
        return width1 * 4 + 1, width1, data1
    width2, data2 = _narrow(_delta2(values))
    if width1 < width2:
        return width1 * 4 + 1, width1, data1
    return width2 * 4 + 2, width2, data2


def _decode_ints(param: int, data: bytes) -> IntArray:
    width, order = divmod(param, 4)
    enc = _widen(data, width)
    return _undelta1(enc) if order == 1 else _undelta2(enc)


def _delta1(values: IntArray) -> IntArray:
    if values.size < 2:
        return values.copy()
    out = np.empty_like(values)
    out[0] = values[0]
    out[1:] = np.diff(values)
    return out


def _undelta1(enc: IntArray) -> IntArray:
    return np.cumsum(enc, dtype=np.int64)


def _delta2(values: IntArray) -> IntArray:
    """First value, first delta, then delta-of-delta (int64 wraps are harmless: exact inverse)."""
    if values.size < 2:
        return values.copy()
    d = np.diff(values)
    out = np.empty_like(values)
    out[0] = values[0]
    out[1] = d[0]
    out[2:] = np.diff(d)
    return out


def _undelta2(enc: IntArray) -> IntArray:
    if enc.size < 2:
        return enc.copy()
    d = np.cumsum(enc[1:], dtype=np.int64)
    out = np.empty_like(enc)
    out[0] = enc[0]
    out[1:] = enc[0] + np.cumsum(d, dtype=np.int64)
    return out


def _decimal_places(values: FloatArray) -> tuple[int, IntArray] | None:
    """The fewest decimal places k (0..6) such that values == rint(values*10^k)/10^k exactly."""
    if values.size == 0:
        return 0, np.zeros(0, dtype=np.int64)
    if not np.isfinite(values).all() or np.signbit(values[values == 0]).any():
        return None  # NaN, infinities and -0.0 only survive the XOR path bit for bit
    amax = float(np.abs(values).max())
    for k in range(_MAX_PLACES + 1):
        scale = 10.0**k
        if amax * scale >= _MAX_EXACT:
            return None
        ints = np.rint(values * scale)
        back = ints / scale if k else ints
        if np.array_equal(back, values):
            return k, ints.astype(np.int64)
    return None


def _encode_floats(values: FloatArray) -> tuple[int, int, bytes]:
    dec = _decimal_places(values)
    if dec is not None:
        k, ints = dec
        param, _, data = _encode_ints(ints)
        return _DEC, param * 8 + k, data
    bits = values.view(np.uint64)
    xored = bits.copy()
    xored[1:] ^= bits[:-1]
    shuffled = xored.view(np.uint8).reshape(-1, 8).T.copy()
    return _XOR, 0, shuffled.tobytes()


def _decode_floats(kind: int, param: int, data: bytes, n: int) -> FloatArray:
    if kind == _DEC:
        int_param, k = divmod(param, 8)
        ints = _decode_ints(int_param, data)
        return ints / 10.0**k if k else ints.astype(np.float64)
    shuffled = np.frombuffer(data, dtype=np.uint8).reshape(8, n).T.copy()
    xored = shuffled.view(np.uint64).reshape(n)
    bits = np.bitwise_xor.accumulate(xored)
    return bits.view(np.float64)


def encode_chunk(columns: list[IntArray | FloatArray]) -> bytes:
    """Encode equally long columns: int64 arrays as integers, float64 arrays as floats."""
    n = int(columns[0].size) if columns else 0
    parts: list[bytes] = []
    heads: list[bytes] = []
    for col in columns:
        if col.size != n:
            raise ValueError("columns differ in length")
        if col.dtype == np.int64:
            param, _, data = _encode_ints(col.astype(np.int64, copy=False))
            kind = _INT
        else:
            kind, param, data = _encode_floats(col.astype(np.float64, copy=False))
        heads.append(_COL.pack(kind, param, len(data)))
        parts.append(data)
    body = zlib.compress(b"".join(heads) + b"".join(parts), _LEVEL)
    return _HEADER.pack(_MAGIC, n) + bytes([len(columns)]) + body


def decode_chunk(blob: bytes) -> list[IntArray | FloatArray]:
    """Inverse of `encode_chunk`. Raises ValueError on a blob it does not understand."""
    version, n = _HEADER.unpack_from(blob, 0)
    if version != _MAGIC:
        raise ValueError(f"unknown chunk version {version}")
    ncols = blob[_HEADER.size]
    body = zlib.decompress(blob[_HEADER.size + 1 :])
    heads = [_COL.unpack_from(body, i * _COL.size) for i in range(ncols)]
    pos = ncols * _COL.size
    out: list[IntArray | FloatArray] = []
    for kind, param, length in heads:
        data = body[pos : pos + length]
        pos += length
        if kind == _INT:
            out.append(_decode_ints(param, data))
        else:
            out.append(_decode_floats(kind, param, data, n))
    return out
