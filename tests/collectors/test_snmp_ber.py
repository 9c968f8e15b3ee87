"""snmp_ber.decode_response against messages encoded by pysnmp/pyasn1, and against broken bytes."""

from __future__ import annotations

import random
from typing import Any

import pytest
from pyasn1.codec.ber import encoder
from pysnmp.proto import api, rfc1902, rfc1905

from collectors.snmp_ber import (
    END_OF_MIB_VIEW,
    NO_SUCH_INSTANCE,
    NO_SUCH_OBJECT,
    BerError,
    Response,
    decode_response,
)

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
V1 = api.PROTOCOL_MODULES[api.SNMP_VERSION_1]

TYPED = [  # (pyasn1 value as an agent sends it, what the decoder gives)
    (rfc1902.Integer32(-5), -5),
    (rfc1902.Integer32(2**31 - 1), 2**31 - 1),
    (rfc1902.OctetString(b"\x00\xff\x10"), b"\x00\xff\x10"),
    (rfc1902.OctetString(b""), b""),
    (rfc1902.ObjectIdentifier((1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)), "1.3.6.1.4.1.8072.3.2.10"),
    (rfc1902.ObjectIdentifier((2, 999, 3)), "2.999.3"),
    (rfc1902.IpAddress("10.1.2.3"), "10.1.2.3"),
    (rfc1902.Counter32(2**32 - 1), 2**32 - 1),
    (rfc1902.Gauge32(2**32 - 1), 2**32 - 1),
    (rfc1902.TimeTicks(12345), 12345),
    (rfc1902.Counter64(2**64 - 1), 2**64 - 1),
    (rfc1902.Counter64(2**53 + 1), 2**53 + 1),
    (rfc1902.Opaque(b"\x9f\x78\x04"), b"\x9f\x78\x04"),
    (rfc1902.Null(""), None),
    (rfc1905.NoSuchObject(""), NO_SUCH_OBJECT),
    (rfc1905.NoSuchInstance(""), NO_SUCH_INSTANCE),
    (rfc1905.EndOfMibView(""), END_OF_MIB_VIEW),
]


def encode(protocol: Any, varbinds: list[tuple[tuple[int, ...], Any]], **fields: Any) -> bytes:
    """A Response message as pysnmp encodes it."""
    pdu = protocol.GetResponsePDU()
    protocol.apiPDU.set_defaults(pdu)
    protocol.apiPDU.set_request_id(pdu, fields.get("request_id", 4242))
    protocol.apiPDU.set_error_status(pdu, fields.get("error_status", 0))
    protocol.apiPDU.set_error_index(pdu, fields.get("error_index", 0))
    protocol.apiPDU.set_varbinds(pdu, [(rfc1902.ObjectName(oid), value) for oid, value in varbinds])
    message = protocol.Message()
    protocol.apiMessage.set_defaults(message)
    protocol.apiMessage.set_community(message, fields.get("community", "ops-public"))
    protocol.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def oid(i: int) -> tuple[int, ...]:
    return (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, i)


def test_every_value_type_decodes_to_plain_python_exactly() -> None:
    message = encode(V2C, [(oid(i), value) for i, (value, _) in enumerate(TYPED, start=1)])

    response = decode_response(message)

    assert response == Response(
        version=1,
        community=b"ops-public",
        request_id=4242,
        error_status=0,
        error_index=0,
        varbinds=[(oid(i), expected) for i, (_, expected) in enumerate(TYPED, start=1)],
    )


def test_v1_message_with_an_error_status() -> None:
    message = encode(V1, [(oid(1), rfc1902.Null(""))], request_id=7, error_status=2, error_index=1)

    response = decode_response(message)

    assert (response.version, response.request_id, response.error_status, response.error_index) == (0, 7, 2, 1)
    assert response.varbinds == [(oid(1), None)]


def test_a_long_message_with_multi_byte_lengths_and_big_request_id() -> None:
    varbinds = [(oid(i), rfc1902.Counter64(2**63 + i)) for i in range(1, 301)]
    message = encode(V2C, varbinds, request_id=2**31 - 1)

    response = decode_response(message)

    assert len(message) > 2**12  # lengths take two octets
    assert response.request_id == 2**31 - 1
    assert response.varbinds == [(oid(i), 2**63 + i) for i in range(1, 301)]


def test_unsigned_values_without_the_leading_zero_byte_read_as_unsigned() -> None:
    # Some agents send Counter32 4294967295 as 41 04 ff ff ff ff (no 00 pad): still unsigned.
    value = bytes([0x41, 0x04, 0xFF, 0xFF, 0xFF, 0xFF])
    name = bytes([0x06, 0x03, 0x2B, 0x06, 0x01])
    varbind = bytes([0x30, len(name) + len(value)]) + name + value
    varbinds = bytes([0x30, len(varbind)]) + varbind
    numbers = bytes([0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00])
    pdu = bytes([0xA2, len(numbers) + len(varbinds)]) + numbers + varbinds
    body = bytes([0x02, 0x01, 0x01, 0x04, 0x01, 0x70]) + pdu
    message = bytes([0x30, len(body)]) + body

    assert decode_response(message).varbinds == [((1, 3, 6, 1), 2**32 - 1)]


def test_every_truncation_of_a_valid_message_is_a_ber_error() -> None:
    message = encode(V2C, [(oid(i), value) for i, (value, _) in enumerate(TYPED, start=1)])
    for length in range(len(message)):
        with pytest.raises(BerError):
            decode_response(message[:length])


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (b"", "truncated at byte 0"),
        (b"\x30\x80\x00\x00", "indefinite length"),
        (b"\x30\x85\x00\x00\x00\x00\x01", "length of 5 octets"),
        (b"\x04\x00", "expected the message SEQUENCE"),
        (b"\x30\x03\x02\x01\x01\x00", "1 bytes after the message"),
        (b"\x30\x08\x02\x01\x01\x04\x01\x70\xa0\x00", "expected a Response-PDU"),
        (b"\x3f\x01\x00", "multi-byte tag"),
    ],
)
def test_broken_messages_say_what_and_where(message: bytes, problem: str) -> None:
    with pytest.raises(BerError, match=problem):
        decode_response(message)


def test_an_oid_whose_last_sub_identifier_does_not_end_is_an_error() -> None:
    message = bytearray(encode(V2C, [((1, 3, 6, 1, 200), rfc1902.Null(""))]))
    name_at = message.index(bytes([0x06, 0x05, 0x2B, 0x06, 0x01, 0x81, 0x48]))
    message[name_at + 6] = 0xC8  # the last octet keeps its continuation bit

    with pytest.raises(BerError, match="sub-identifier does not end"):
        decode_response(bytes(message))


def test_random_mutations_decode_or_raise_ber_error_and_nothing_else() -> None:
    """Flip, drop and insert bytes in real answers: the decoder either reads something or says why."""
    rng = random.Random(20261127)
    messages = [
        encode(V2C, [(oid(i), value) for i, (value, _) in enumerate(TYPED, start=1)]),
        encode(V1, [(oid(1), rfc1902.Counter32(5)), (oid(2), rfc1902.OctetString(b"x" * 200))]),
    ]
    outcomes = {"decoded": 0, "rejected": 0}
    for _ in range(20_000):
        data = bytearray(rng.choice(messages))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            action = rng.random()
            if action < 0.6:
                data[at] = rng.randrange(256)
            elif action < 0.8 and len(data) > 1:
                del data[at]
            else:
                data.insert(at, rng.randrange(256))
        try:
            decode_response(bytes(data))
        except BerError:
            outcomes["rejected"] += 1
        else:
            outcomes["decoded"] += 1
    assert outcomes["decoded"] + outcomes["rejected"] == 20_000
    assert outcomes["rejected"] > 10_000  # most damage is seen; some (a changed value byte) is not
