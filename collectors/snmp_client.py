"""The SNMP client: GET and subtree walks over v1, v2c and v3 — the one module that imports pysnmp.

Everything above this module speaks plain Python: `SnmpAuth` value types in, dotted numeric OID
strings (no leading dot) and plain values out, `SnmpError` (a `CollectError`) on failure. No MIB is
ever looked up: OIDs are numeric everywhere (Debian ships no IETF MIB files).

Value mapping (agent type -> Python):
    Integer32/INTEGER, Counter32, Gauge32/Unsigned32, TimeTicks, Counter64 -> int (exact, never float)
    OCTET STRING, Opaque, BITS                                              -> bytes (undecoded)
    IpAddress                                                               -> str, dotted quad
    OBJECT IDENTIFIER                                                       -> str, dotted numeric
    NULL                                                                    -> None
noSuchObject/noSuchInstance (v2c/v3) and noSuchName (v1) are errors with cause "no_such", unless
`get(..., allow_missing=True)` leaves such OIDs out; endOfMibView ends a walk.

Engine, per version, both on the running asyncio loop (a client binds to the loop it is created in):
- v1/v2c: pysnmp's lean v1arch dispatcher (sockets, request IDs, retries, timeouts) with answers
  decoded by our own `snmp_ber` straight into plain values — decoding with pyasn1 was 80 % of the
  poller's CPU. An answer that does not decode gives cause "malformed" with the decoder's message.
- v3: pysnmp's v3arch engine (USM, engine discovery, time windows), one `SnmpEngine` per client. A
  limit of that engine: it holds one USM entry per user name, so the same v3 user name with
  different keys on different devices must not be queried concurrently.
Transport targets are resolved once per (address, timeout, retries) and kept.
`walk_columns` walks the columns of a table together: one GETBULK carries every open column.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pyasn1.type import univ
from pysnmp.hlapi.v1arch import asyncio as v1hlapi
from pysnmp.hlapi.v3arch import asyncio as hlapi
from pysnmp.proto import api, errind, rfc1902, rfc1905

from collectors.base import CollectError
from collectors.snmp_ber import (
    END_OF_MIB_VIEW,
    NO_SUCH_INSTANCE,
    NO_SUCH_OBJECT,
    BerError,
    Exceptional,
    Response,
    Value,
    decode_response,
)

__all__ = [
    "AuthProtocol",
    "Community",
    "PrivProtocol",
    "SnmpAuth",
    "SnmpClient",
    "SnmpError",
    "SnmpValue",
    "UsmUser",
]

AuthProtocol = Literal["none", "md5", "sha", "sha224", "sha256", "sha384", "sha512"]
PrivProtocol = Literal["none", "des", "aes128", "aes192", "aes256", "aes192-blumenthal", "aes256-blumenthal"]
SnmpValue = int | bytes | str | None

_AUTH_PROTOCOLS: dict[str, Any] = {
    "none": hlapi.USM_AUTH_NONE,
    "md5": hlapi.USM_AUTH_HMAC96_MD5,
    "sha": hlapi.USM_AUTH_HMAC96_SHA,
    "sha224": hlapi.USM_AUTH_HMAC128_SHA224,
    "sha256": hlapi.USM_AUTH_HMAC192_SHA256,
    "sha384": hlapi.USM_AUTH_HMAC256_SHA384,
    "sha512": hlapi.USM_AUTH_HMAC384_SHA512,
}
# aes192/aes256 are the Reeder key extension (net-snmp "AES192C"/"AES256C", Cisco); the Blumenthal
# variants are what net-snmp calls plain "AES192"/"AES256".
_PRIV_PROTOCOLS: dict[str, Any] = {
    "none": hlapi.USM_PRIV_NONE,
    "des": hlapi.USM_PRIV_CBC56_DES,
    "aes128": hlapi.USM_PRIV_CFB128_AES,
    "aes192": hlapi.USM_PRIV_CFB192_AES,
    "aes256": hlapi.USM_PRIV_CFB256_AES,
    "aes192-blumenthal": hlapi.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "aes256-blumenthal": hlapi.USM_PRIV_CFB256_AES_BLUMENTHAL,
}
_MIN_KEY_LENGTH = 8  # RFC 3414 passphrases; pysnmp raises WrongValueError on shorter ones

log = logging.getLogger(__name__)

_NULL = rfc1902.Null("")
_Answer = Any
"""What pysnmp's hlapi commands return: (errorIndication, errorStatus, errorIndex, varBinds)."""
_TIMEOUT_HINT = "(a wrong community or privacy key looks the same)"


@dataclass(frozen=True, slots=True)
class Community:
    """SNMP v1 or v2c with a community string."""

    version: Literal["1", "2c"]
    community: str

    def __repr__(self) -> str:  # the community is a secret
        return f"Community(version={self.version!r}, community=<hidden>)"


@dataclass(frozen=True, slots=True)
class UsmUser:
    """SNMPv3 USM user. Security level follows the protocols: noAuthNoPriv, authNoPriv or authPriv.

    Keys are passphrases (at least 8 characters). Raises ValueError on an impossible combination.
    """

    user: str
    auth_protocol: AuthProtocol = "none"
    auth_key: str | None = None
    priv_protocol: PrivProtocol = "none"
    priv_key: str | None = None

    def __post_init__(self) -> None:
        if self.auth_protocol not in _AUTH_PROTOCOLS:
            raise ValueError(f"user {self.user!r}: unknown auth protocol {self.auth_protocol!r}")
        if self.priv_protocol not in _PRIV_PROTOCOLS:
            raise ValueError(f"user {self.user!r}: unknown privacy protocol {self.priv_protocol!r}")
        if self.priv_protocol != "none" and self.auth_protocol == "none":
            raise ValueError(f"user {self.user!r}: privacy needs an auth protocol too (SNMPv3 has no noAuthPriv)")
        keys = (("auth", self.auth_protocol, self.auth_key), ("priv", self.priv_protocol, self.priv_key))
        for kind, protocol, key in keys:
            if protocol != "none" and (key is None or len(key) < _MIN_KEY_LENGTH):
                raise ValueError(f"user {self.user!r}: the {kind} key must have at least {_MIN_KEY_LENGTH} characters")

    def __repr__(self) -> str:  # keys are secrets
        protocols = f"auth_protocol={self.auth_protocol!r}, priv_protocol={self.priv_protocol!r}"
        return f"UsmUser(user={self.user!r}, {protocols})"


SnmpAuth = Community | UsmUser


class SnmpError(CollectError):
    """An SNMP request failed. `cause` is one of: timeout, auth, unknown_user, time_window,
    authorization, no_such, too_big, malformed, error. The message says what to check."""


# Error indications pysnmp reports instead of a response -> (cause, what the user should check).
_INDICATIONS: tuple[tuple[type[errind.ErrorIndication], str, str], ...] = (
    (errind.WrongDigest, "auth", "wrong digest: check the auth key and auth protocol"),
    (errind.DecryptionError, "auth", "cannot decrypt the answer: check the privacy key and privacy protocol"),
    (errind.UnknownUserName, "unknown_user", "the agent does not know this user: check the user name"),
    (
        errind.NotInTimeWindow,
        "time_window",
        "not in time window: the agent's engine boots/time moved "
        "(a reboot, or two agents sharing one engine ID); retry, then check the agent's engine ID",
    ),
    (
        errind.UnsupportedSecurityLevel,
        "authorization",
        "the agent refuses this security level for the user: check the auth and privacy settings",
    ),
    (errind.TooBig, "too_big", "the request would be too big: ask for fewer OIDs at once"),
    (errind.DeserializationError, "malformed", "the answer could not be decoded"),
    (errind.SerializationError, "malformed", "the request could not be encoded"),
    (errind.OidNotIncreasing, "malformed", "the agent returned OIDs that do not increase"),
)


def _parse_oid(oid: str) -> tuple[int, ...]:
    """'1.3.6.1.2.1.1.1.0' (a leading dot is allowed) -> a tuple of ints. Raises ValueError."""
    text = oid.strip().removeprefix(".")
    try:
        parts = tuple(int(part) for part in text.split("."))
    except ValueError:
        raise ValueError(f"not a numeric OID: {oid!r}") from None
    if len(parts) < 2 or any(part < 0 for part in parts):
        raise ValueError(f"not a numeric OID: {oid!r}")
    return parts


def _oid_text(oid: Sequence[int]) -> str:
    return ".".join(str(part) for part in oid)


def _from_pyasn1(where: str, value: object) -> Value:
    """A v3 answer's pyasn1 value -> what `snmp_ber` gives for v1/v2c answers."""
    if isinstance(value, rfc1905.NoSuchObject):
        return NO_SUCH_OBJECT
    if isinstance(value, rfc1905.NoSuchInstance):
        return NO_SUCH_INSTANCE
    if isinstance(value, rfc1905.EndOfMibView):
        return END_OF_MIB_VIEW
    try:
        return _to_python(value)
    except TypeError as error:
        raise SnmpError(f"{where}: {error}", cause="malformed") from error


def _to_python(value: object) -> SnmpValue:
    """An agent's value as plain Python (see the module docstring for the mapping)."""
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(octet) for octet in value.asOctets())
    if isinstance(value, univ.Integer):
        return int(value)
    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets())
    if isinstance(value, univ.ObjectIdentifier):
        return _oid_text(tuple(value))
    if isinstance(value, univ.Null):
        return None
    raise TypeError(f"unexpected SNMP value type {type(value).__name__}")


class SnmpClient:
    """Long-lived SNMP client. Create it inside the running event loop and use it only there.

    At most `max_concurrency` requests are in flight at once (more queue); each request waits
    `timeout` seconds per attempt, `1 + retries` attempts.
    """

    def __init__(self, *, max_concurrency: int = 32) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._loop = asyncio.get_running_loop()  # RuntimeError outside a loop: the engine binds to it
        self._engine = hlapi.SnmpEngine()
        self._context = hlapi.ContextData()
        self._dispatcher = _LeanDispatcher()
        self._targets: dict[tuple[Any, str, int, float, int], Any] = {}
        self._slots = asyncio.Semaphore(max_concurrency)
        self._closed = False

    def close(self) -> None:
        """Release the engine's sockets. The client cannot be used afterwards."""
        if not self._closed:
            self._closed = True
            self._engine.close_dispatcher()
            self._dispatcher.close()

    async def get(
        self,
        host: str,
        port: int,
        auth: SnmpAuth,
        oids: Sequence[str],
        *,
        timeout: float = 1.0,
        retries: int = 1,
        allow_missing: bool = False,
    ) -> dict[str, SnmpValue]:
        """GET `oids` in one request. Returns {oid: value} keyed by OID without a leading dot.

        A missing OID raises SnmpError(cause="no_such"), or is left out with `allow_missing`.
        Raises SnmpError for every failure (see `SnmpError` for the causes).
        """
        wanted = [_parse_oid(oid) for oid in oids]
        if not wanted:
            return {}
        where = f"SNMP {host}:{port}"
        try:
            varbinds = await self._request("get", host, port, auth, wanted, timeout, retries)
        except SnmpError as error:
            if error.cause != "no_such" or not allow_missing:
                raise
            if len(wanted) == 1:  # SNMPv1 noSuchName: the one OID is missing
                return {}
            return await self._get_one_by_one(host, port, auth, wanted, timeout, retries)
        if len(varbinds) != len(wanted):
            raise SnmpError(f"{where}: asked for {len(wanted)} OIDs, got {len(varbinds)} back", cause="malformed")
        result: dict[str, SnmpValue] = {}
        missing: list[str] = []
        for asked, (name, value) in zip(wanted, varbinds, strict=True):
            if name != asked:
                raise SnmpError(f"{where}: asked for {_oid_text(asked)}, got {_oid_text(name)}", cause="malformed")
            if value is NO_SUCH_OBJECT or value is NO_SUCH_INSTANCE:
                missing.append(_oid_text(asked))
            elif isinstance(value, Exceptional):
                raise SnmpError(f"{where}: {value.name} for {_oid_text(asked)} in a GET answer", cause="malformed")
            else:
                result[_oid_text(asked)] = value
        if missing and not allow_missing:
            raise SnmpError(
                f"{where}: no such object: {', '.join(missing)} (check the OID and the agent's view)", cause="no_such"
            )
        return result

    async def _get_one_by_one(
        self, host: str, port: int, auth: SnmpAuth, wanted: list[tuple[int, ...]], timeout: float, retries: int
    ) -> dict[str, SnmpValue]:
        # SNMPv1 fails a whole GET with noSuchName on its first missing OID: ask each OID alone.
        result: dict[str, SnmpValue] = {}
        for oid in wanted:
            result.update(
                await self.get(host, port, auth, [_oid_text(oid)], timeout=timeout, retries=retries, allow_missing=True)
            )
        return result

    async def walk(
        self,
        host: str,
        port: int,
        auth: SnmpAuth,
        root_oid: str,
        *,
        timeout: float = 1.0,
        retries: int = 1,
        max_repetitions: int = 25,
    ) -> list[tuple[str, SnmpValue]]:
        """Every (oid, value) strictly under `root_oid`, in increasing OID order; [] if none.

        GETBULK for v2c and v3 (halving the repetitions on tooBig), GETNEXT for v1. An agent that
        answers with a non-increasing OID raises SnmpError(cause="malformed") instead of looping.
        """
        walked = await self.walk_columns(
            host, port, auth, [root_oid], timeout=timeout, retries=retries, max_repetitions=max_repetitions
        )
        return next(iter(walked.values()))

    async def walk_columns(
        self,
        host: str,
        port: int,
        auth: SnmpAuth,
        roots: Sequence[str],
        *,
        timeout: float = 1.0,
        retries: int = 1,
        max_repetitions: int = 25,
    ) -> dict[str, list[tuple[str, SnmpValue]]]:
        """Walk several subtrees (the columns of a table) together -> {root: rows}, each root's rows
        exactly what `walk(root)` returns. Keys are the roots as given, without a leading dot.

        Each request carries one varbind per root still open (GETBULK with non-repeaters 0 for v2c
        and v3, GETNEXT for v1), so k columns of n rows cost about n / max_repetitions requests, not
        k times that. A root closes when its next OID leaves the subtree or is endOfMibView; a
        response the agent truncated (fewer rows than asked) continues from the last OID of each root.
        """
        where = f"SNMP {host}:{port}"
        parsed = {root.strip().removeprefix("."): _parse_oid(root) for root in roots}
        rows: dict[str, list[tuple[str, SnmpValue]]] = {key: [] for key in parsed}
        last = dict(parsed)
        open_keys = list(parsed)
        bulk = not (isinstance(auth, Community) and auth.version == "1")
        repetitions = max(1, max_repetitions)
        while open_keys:
            asked = [last[key] for key in open_keys]
            try:
                if bulk:
                    varbinds = await self._request("bulk", host, port, auth, asked, timeout, retries, repetitions)
                else:
                    varbinds = await self._request("next", host, port, auth, asked, timeout, retries)
            except SnmpError as error:
                if error.cause == "too_big" and bulk and repetitions > 1:
                    repetitions //= 2
                    continue
                if error.cause == "no_such" and not bulk:  # v1 reports the end of the MIB as noSuchName
                    index = error.index if isinstance(error, _StatusError) else 0
                    del open_keys[index - 1 if 0 < index <= len(open_keys) else 0]
                    continue
                raise
            if not varbinds:
                raise SnmpError(
                    f"{where}: empty answer to a walk request after {_oid_text(asked[0])}", cause="malformed"
                )
            still_open = [True] * len(open_keys)
            for position, (oid, value) in enumerate(varbinds):
                column = position % len(open_keys)
                if not still_open[column]:
                    continue
                key = open_keys[column]
                root = parsed[key]
                if value is END_OF_MIB_VIEW or oid[: len(root)] != root:
                    still_open[column] = False
                    continue
                if oid <= last[key]:
                    raise SnmpError(
                        f"{where}: OID {_oid_text(oid)} does not increase after {_oid_text(last[key])}: "
                        "the agent's table is broken, walk stopped",
                        cause="malformed",
                    )
                if isinstance(value, Exceptional):
                    raise SnmpError(f"{where}: {value.name} for {_oid_text(oid)} in a walk", cause="malformed")
                rows[key].append((_oid_text(oid), value))
                last[key] = oid
            open_keys = [key for key, is_open in zip(open_keys, still_open, strict=True) if is_open]
        return rows

    async def _request(
        self,
        kind: Literal["get", "next", "bulk"],
        host: str,
        port: int,
        auth: SnmpAuth,
        oids: list[tuple[int, ...]],
        timeout: float,
        retries: int,
        repetitions: int = 0,
    ) -> list[tuple[tuple[int, ...], Value]]:
        """One request/response -> its (OID, value) pairs as plain Python; raises SnmpError."""
        if self._closed:
            raise RuntimeError("SnmpClient is closed")
        if asyncio.get_running_loop() is not self._loop:  # pysnmp hangs forever on a foreign loop
            raise RuntimeError("SnmpClient used outside the event loop it was created in")
        where = f"SNMP {host}:{port}"
        async with self._slots:
            if isinstance(auth, Community):
                target = await self._target(v1hlapi.UdpTransportTarget, host, port, timeout, retries)
                indication, response = await self._dispatcher.request(kind, auth, target, oids, repetitions)
                garbage = self._dispatcher.undecodable(tuple(target.transport_address))
                if indication and garbage is not None:
                    raise SnmpError(f"{where}: the answer is not SNMP ({garbage}) ({_who(auth)})", cause="malformed")
                if indication:
                    raise _indication_error(where, auth, indication, timeout, retries)
                assert response is not None  # a response comes with no indication
                status, index, varbinds = response.error_status, response.error_index, response.varbinds
                status_name = _ERROR_STATUS.get(status, f"error-status {status}")
            else:
                answer = await self._request_v3arch(kind, host, port, auth, oids, timeout, retries, repetitions)
                indication, status, index, raw = answer
                if indication:
                    raise _indication_error(where, auth, indication, timeout, retries)
                status_name = str(status.prettyPrint()) if status else ""
                varbinds = [(tuple(name), _from_pyasn1(where, value)) for name, value in raw]
        if status:
            raise _status_error(where, auth, status_name, int(index), oids)
        return varbinds

    async def _request_v3arch(
        self,
        kind: Literal["get", "next", "bulk"],
        host: str,
        port: int,
        auth: UsmUser,
        oids: list[tuple[int, ...]],
        timeout: float,
        retries: int,
        repetitions: int,
    ) -> _Answer:
        """v3 through the full engine (USM, engine discovery, time windows)."""
        target = await self._target(hlapi.UdpTransportTarget, host, port, timeout, retries)
        auth_data = _auth_data(auth)
        varbinds = [hlapi.ObjectType(hlapi.ObjectIdentity(rfc1902.ObjectName(oid)), _NULL) for oid in oids]
        engine, context = self._engine, self._context
        if kind == "get":
            return await hlapi.get_cmd(engine, auth_data, target, context, *varbinds, lookupMib=False)
        if kind == "next":
            return await hlapi.next_cmd(engine, auth_data, target, context, *varbinds, lookupMib=False)
        return await hlapi.bulk_cmd(engine, auth_data, target, context, 0, repetitions, *varbinds, lookupMib=False)

    async def _target(self, kind: Any, host: str, port: int, timeout: float, retries: int) -> Any:
        """A transport target per (architecture, address, timeout, retries), resolved once: creating
        one per request costs a getaddrinfo in the executor each time."""
        key = (kind, host, port, timeout, retries)
        target = self._targets.get(key)
        if target is None:
            target = self._targets[key] = await kind.create((host, port), timeout=timeout, retries=retries)
        return target


_ERROR_STATUS = dict(
    enumerate(
        [
            "noError",
            "tooBig",
            "noSuchName",
            "badValue",
            "readOnly",
            "genErr",
            "noAccess",
            "wrongType",
            "wrongLength",
            "wrongEncoding",
            "wrongValue",
            "noCreation",
            "inconsistentValue",
            "resourceUnavailable",
            "commitFailed",
            "undoFailed",
            "authorizationError",
            "notWritable",
            "inconsistentName",
        ]
    )
)
"""RFC 3416 error-status values by number."""


class _LeanDispatcher(v1hlapi.SnmpDispatcher):  # type: ignore[misc]
    """pysnmp's v1/v2c dispatcher (sockets, request IDs, retries, timeouts) with our own answer
    decoding: `snmp_ber` reads each answer straight into plain values, about twenty times faster
    than pyasn1. An answer that does not decode, or that comes from another address than the one
    asked, is dropped and counted (`malformed`, `strays`); the request then times out, and
    `undecodable(address)` tells why."""

    def __init__(self) -> None:
        super().__init__()
        self.malformed = 0
        self.strays = 0
        self._undecodable: dict[tuple[str, int], str] = {}

    def undecodable(self, address: tuple[str, int]) -> str | None:
        """Why the last answer from `address` that did not decode failed, once (then forgotten)."""
        return self._undecodable.pop(address, None)

    async def request(
        self,
        kind: Literal["get", "next", "bulk"],
        auth: Community,
        target: Any,
        oids: list[tuple[int, ...]],
        repetitions: int,
    ) -> tuple[Any, Response | None]:
        """Send one request and wait -> (error indication or None, the decoded response)."""
        mp_model = 0 if auth.version == "1" else 1
        protocol = api.PROTOCOL_MODULES[mp_model]
        if kind == "bulk":
            pdu = protocol.GetBulkRequestPDU()
            protocol.apiBulkPDU.set_defaults(pdu)
            protocol.apiBulkPDU.set_non_repeaters(pdu, 0)
            protocol.apiBulkPDU.set_max_repetitions(pdu, repetitions)
        else:
            pdu = protocol.GetRequestPDU() if kind == "get" else protocol.GetNextRequestPDU()
            protocol.apiPDU.set_defaults(pdu)
        protocol.apiPDU.set_varbinds(pdu, [(rfc1902.ObjectName(oid), _NULL) for oid in oids])
        future: asyncio.Future[tuple[Any, Response | None]] = asyncio.get_running_loop().create_future()

        def answered(_dispatcher: Any, request_id: Any, *rest: Any) -> None:
            # (dispatcher, request id, indication, response, context) for an answer or a timeout;
            # (dispatcher, "Request #N terminated", None, context) when the dispatcher closes.
            if future.done():
                return
            if len(rest) == 3:  # an answer or a timeout
                future.set_result((rest[0], rest[1]))
            else:
                future.set_result((f"{request_id}: the SNMP client was closed", None))

        auth_data = v1hlapi.CommunityData(_octets(auth.community), mpModel=mp_model)
        self.send_pdu(auth_data, target, pdu, cbFun=answered)
        return await future

    def _recv_callback(self, _engine: Any, _domain: Any, address: Any, message: bytes) -> bytes:
        try:
            response = decode_response(bytes(message))
        except BerError as error:
            self.malformed += 1
            self._undecodable[(str(address[0]), int(address[1]))] = str(error)
            log.debug("dropping an undecodable SNMP answer from %s: %s", address, error)
            return b""
        state = self._pendingReqs.get(response.request_id)
        if state is None or tuple(state["transportTarget"].transport_address) != tuple(address)[:2]:
            self.strays += 1
            return b""
        del self._pendingReqs[response.request_id]
        self.transport_dispatcher.job_finished(id(self))
        state["cbFun"](self, response.request_id, None, response, state["cbCtx"])
        return b""


def _auth_data(auth: SnmpAuth) -> Any:
    if isinstance(auth, Community):
        return hlapi.CommunityData(_octets(auth.community), mpModel=0 if auth.version == "1" else 1)
    return hlapi.UsmUserData(
        auth.user,
        authKey=_octets(auth.auth_key) if auth.auth_protocol != "none" else None,
        privKey=_octets(auth.priv_key) if auth.priv_protocol != "none" else None,
        authProtocol=_AUTH_PROTOCOLS[auth.auth_protocol],
        privProtocol=_PRIV_PROTOCOLS[auth.priv_protocol],
    )


def _octets(secret: str | None) -> Any:
    """A community or key as UTF-8 octets, as net-snmp reads them from its config. Given as `str`,
    pysnmp encodes it as Latin-1 and fails on other text with an error that carries the secret."""
    return None if secret is None else rfc1902.OctetString(secret.encode("utf-8"))


def _who(auth: SnmpAuth) -> str:
    return f"v{auth.version} community" if isinstance(auth, Community) else f"v3 user {auth.user!r}"


def _indication_error(where: str, auth: SnmpAuth, indication: object, timeout: float, retries: int) -> SnmpError:
    if isinstance(indication, errind.RequestTimedOut):
        attempts = 1 + retries
        return SnmpError(
            f"{where}: no answer within {timeout:g}s {_TIMEOUT_HINT}, "
            f"{attempts} attempt{'s' if attempts > 1 else ''} ({_who(auth)})",
            cause="timeout",
        )
    for kind, cause, hint in _INDICATIONS:
        if isinstance(indication, kind):
            return SnmpError(f"{where}: {hint} ({_who(auth)})", cause=cause)
    return SnmpError(f"{where}: {indication} ({_who(auth)})", cause="error")


class _StatusError(SnmpError):
    """An errorStatus the agent answered; `index` is its 1-based errorIndex (0: none)."""

    def __init__(self, message: str, *, cause: str, index: int) -> None:
        super().__init__(message, cause=cause)
        self.index = index


def _status_error(where: str, auth: SnmpAuth, status: str, index: int, oids: list[tuple[int, ...]]) -> _StatusError:
    """An errorStatus in the agent's response PDU -> SnmpError. `index` is 1-based (0: none)."""
    about = f" at {_oid_text(oids[index - 1])}" if 0 < index <= len(oids) else ""
    if status == "authorizationError":
        return _StatusError(
            f"{where}: the agent refused access ({_who(auth)}): check the security level "
            "(auth/priv) and the agent's access view",
            cause="authorization",
            index=index,
        )
    if status == "noSuchName":
        return _StatusError(
            f"{where}: no such object{about} (check the OID and the agent's view)", cause="no_such", index=index
        )
    if status == "tooBig":
        return _StatusError(
            f"{where}: the answer would be too big for the agent: ask for fewer OIDs", cause="too_big", index=index
        )
    return _StatusError(f"{where}: the agent answered {status}{about}", cause="error", index=index)
