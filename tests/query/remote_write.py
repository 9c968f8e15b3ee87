"""Prometheus remote write 1.0, client side: a `WriteRequest` encoded by hand in the protobuf wire
format, compressed with snappy's BLOCK format (the framed format is refused: `snappy: corrupt input`).

No protobuf package: the message is small and fixed (prompb/remote.proto, types.proto):

    WriteRequest { repeated TimeSeries timeseries = 1; }
    TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
    Label        { string name = 1; string value = 2; }
    Sample       { double value = 1; int64 timestamp = 2; }   // timestamp: milliseconds

Samples are written as the store's `Sample`s; the metric name travels as the `__name__` label.
`STALE_NAN` is Prometheus' staleness marker (a NaN with its own bit pattern); remote write carries it
and Prometheus treats it as the end of the series, as a scrape would.
"""

from __future__ import annotations

import struct
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

import cramjam

from model import Sample

__all__ = ["STALE_NAN", "TimeSeries", "encode", "group", "is_stale", "send"]

STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
"""Prometheus' StaleNaN (value.StaleNaN): bits 0x7ff0000000000002. Compare with `is_stale`, never `==`."""

_STALE_BITS = 0x7FF0000000000002


class TimeSeries(NamedTuple):
    """One series of a request: all its labels (`__name__` included) and (milliseconds, value) samples
    in time order."""

    labels: Mapping[str, str]
    samples: Sequence[tuple[int, float]]


def is_stale(value: float) -> bool:
    """Whether `value` is the staleness marker (by bit pattern: every NaN compares unequal)."""
    bits: int = struct.unpack("<Q", struct.pack("<d", value))[0]
    return bits == _STALE_BITS


def group(samples: Iterable[Sample]) -> list[TimeSeries]:
    """The samples as remote-write series, one per (name, labels), in first-seen order; times in ms."""
    series: dict[tuple[str, object], tuple[dict[str, str], list[tuple[int, float]]]] = {}
    for name, labels, value, ts in samples:
        entry = series.get((name, labels))
        if entry is None:
            entry = series[(name, labels)] = ({"__name__": name, **labels}, [])
        entry[1].append((round(ts * 1000), value))
    return [TimeSeries(labels, points) for labels, points in series.values()]


def encode(series: Iterable[TimeSeries]) -> bytes:
    """The WriteRequest protobuf (uncompressed). Labels are written sorted by name, as the spec asks."""
    out = bytearray()
    for ts in series:
        body = bytearray()
        for name, value in sorted(ts.labels.items()):
            body += _field_bytes(1, _field_bytes(1, name.encode()) + _field_bytes(2, value.encode()))
        for t, v in ts.samples:
            body += _field_bytes(2, b"\x09" + struct.pack("<d", v) + b"\x10" + _varint(t))
        out += _field_bytes(1, bytes(body))
    return bytes(out)


def send(url: str, series: Sequence[TimeSeries], *, timeout: float = 30.0) -> None:
    """POST one WriteRequest to `url` (e.g. `http://127.0.0.1:9090/api/v1/write`).

    Raises urllib.error.HTTPError when the receiver refuses it (the body says why: out of order,
    out of bounds, ...) and URLError when it cannot be reached."""
    body = bytes(cramjam.snappy.compress_raw(encode(series)))
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-protobuf",
            "Content-Encoding": "snappy",
            "X-Prometheus-Remote-Write-Version": "0.1.0",
            "User-Agent": "ops-console-remote-write",
        },
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        response.read()


def _field_bytes(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): tag, length, payload."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _varint(n: int) -> bytes:
    """Base-128 varint; negative int64 values as their 64-bit two's complement (10 bytes)."""
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while n > 0x7F:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)
