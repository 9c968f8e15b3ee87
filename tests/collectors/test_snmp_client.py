"""SnmpClient against a real net-snmp snmpd on 127.0.0.1: v1, v2c, v3 users, walks and every error cause."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import subprocess
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from collectors.snmp_client import Community, SnmpAuth, SnmpClient, SnmpError, UsmUser
from tests.collectors.snmpd_agent import Agent, running_snmpd

T = TypeVar("T")

SYSTEM = "1.3.6.1.2.1.1"
SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME = f"{SYSTEM}.1.0", f"{SYSTEM}.2.0", f"{SYSTEM}.3.0"
SYS_CONTACT, SYS_NAME, SYS_LOCATION, SYS_SERVICES = f"{SYSTEM}.4.0", f"{SYSTEM}.5.0", f"{SYSTEM}.6.0", f"{SYSTEM}.7.0"
SYS_OR_LAST_CHANGE = f"{SYSTEM}.8.0"
NET_SNMP_LINUX = "1.3.6.1.4.1.8072.3.2.10"  # net-snmp's sysObjectID on Linux
TYPES = "1.3.6.1.4.1.99999"  # served by a `pass` script: one scalar per SNMP type
TYPED_VALUES = [  # (pass type, pass value, what the client returns)
    ("counter64", "18446744073709551615", 2**64 - 1),
    ("ipaddress", "10.1.2.3", "10.1.2.3"),
    ("octet", "00 ff 10", b"\x00\xff\x10"),
    ("gauge", "4294967295", 2**32 - 1),
    ("counter", "4294967295", 2**32 - 1),
    ("timeticks", "12345", 12345),
    ("integer", "-5", -5),
    ("objectid", ".1.3.6.1.4.1.8072", "1.3.6.1.4.1.8072"),
]

V2C = Community("2c", "ops-public")
V1 = Community("1", "ops-public")
SHA_AES128 = UsmUser("sha-aes128", "sha", "auth-key-1", "aes128", "priv-key-1")
SHA256_AES256_BLUMENTHAL = UsmUser("sha256-aes256", "sha256", "auth-key-2", "aes256-blumenthal", "priv-key-2")
SHA256_AES256_REEDER = UsmUser("sha256-aes256c", "sha256", "auth-key-3", "aes256", "priv-key-3")
SHA_AES256_BLUMENTHAL = UsmUser("sha-aes256", "sha", "auth-key-4", "aes256-blumenthal", "priv-key-4")
MD5_DES = UsmUser("md5-des", "md5", "auth-key-5", "des", "priv-key-5")
SHA512_AUTH_ONLY = UsmUser("sha512-auth", "sha512", "auth-key-6")
ALL_AUTHS = [
    V2C,
    V1,
    SHA_AES128,
    SHA256_AES256_BLUMENTHAL,
    SHA256_AES256_REEDER,
    SHA_AES256_BLUMENTHAL,
    MD5_DES,
    SHA512_AUTH_ONLY,
]

# net-snmp spells Blumenthal AES-256 "AES256" and Reeder AES-256 "AES256C".
SNMPD_CONF = """\
agentaddress udp:127.0.0.1:{port}
sysName test-agent
sysDescr Ops Console test agent
sysLocation rack 7
sysContact ops@example.test
sysServices 72
pass .{types} {script}
rocommunity ops-public 127.0.0.1
createUser sha-aes128 SHA "auth-key-1" AES "priv-key-1"
createUser sha256-aes256 SHA-256 "auth-key-2" AES256 "priv-key-2"
createUser sha256-aes256c SHA-256 "auth-key-3" AES256C "priv-key-3"
createUser sha-aes256 SHA "auth-key-4" AES256 "priv-key-4"
createUser md5-des MD5 "auth-key-5" DES "priv-key-5"
createUser sha512-auth SHA-512 "auth-key-6"
rouser sha-aes128 priv
rouser sha256-aes256 priv
rouser sha256-aes256c priv
rouser sha-aes256 priv
rouser md5-des priv
rouser sha512-auth auth
"""


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    tmp = tmp_path_factory.mktemp("snmpd")
    script = tmp / "types.sh"
    script.write_text(_pass_script())
    script.chmod(0o755)
    conf = SNMPD_CONF.replace("{types}", TYPES).replace("{script}", str(script))
    with running_snmpd(tmp / "agent", conf) as started:
        yield started


def _pass_script() -> str:
    """A net-snmp `pass` program serving TYPED_VALUES at TYPES.N.0 for GET (-g) and GETNEXT (-n)."""
    lines = ["#!/bin/sh", 'case "$1 $2" in']
    previous = f".{TYPES}"
    for index, (kind, value, _) in enumerate(TYPED_VALUES, start=1):
        oid = f".{TYPES}.{index}.0"
        lines.append(f'  "-g {oid}"|"-n {previous}") printf \'%s\\n%s\\n%s\\n\' "{oid}" "{kind}" "{value}";;')
        previous = oid
    lines += ["esac", ""]
    return "\n".join(lines)


def run(scenario: Callable[[SnmpClient], Awaitable[T]]) -> T:
    """Run `scenario(client)` on a fresh loop with a client created inside it."""

    async def main() -> T:
        client = SnmpClient(max_concurrency=8)
        try:
            return await scenario(client)
        finally:
            client.close()

    return asyncio.run(main())


def _error(agent: Agent, auth: SnmpAuth, oids: list[str], **options: Any) -> SnmpError:
    async def scenario(client: SnmpClient) -> SnmpError:
        with pytest.raises(SnmpError) as caught:
            await client.get("127.0.0.1", agent.port, auth, oids, **options)
        return caught.value

    return run(scenario)


def _cli_walk_oids(agent: Agent, root: str) -> list[str]:
    """The OIDs net-snmp's own snmpwalk finds under `root`: the reference for our walk."""
    out = subprocess.run(
        [agent.snmpwalk, "-On", "-Oq", "-v2c", "-c", "ops-public", f"127.0.0.1:{agent.port}", root],
        env={**os.environ, "MIBS": ""},
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout
    return [line.split(" ", 1)[0].removeprefix(".") for line in out.splitlines()]


@pytest.mark.parametrize("auth", ALL_AUTHS, ids=repr)
def test_get_returns_the_configured_system_values(agent: Agent, auth: SnmpAuth) -> None:
    oids = [SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME, SYS_LOCATION, SYS_SERVICES]
    values = run(lambda client: client.get("127.0.0.1", agent.port, auth, oids, timeout=1.0, retries=1))

    uptime = values.pop(SYS_UPTIME)
    assert type(uptime) is int
    assert values == {
        SYS_DESCR: b"Ops Console test agent",
        SYS_OBJECT_ID: NET_SNMP_LINUX,
        SYS_NAME: b"test-agent",
        SYS_LOCATION: b"rack 7",
        SYS_SERVICES: 72,
    }


def test_walk_of_system_matches_net_snmp_snmpwalk(agent: Agent) -> None:
    rows = run(lambda client: client.walk("127.0.0.1", agent.port, V2C, SYSTEM, timeout=1.0, retries=1))

    oids = [oid for oid, _ in rows]
    assert oids == _cli_walk_oids(agent, SYSTEM)
    assert oids[:8] == [
        SYS_DESCR,
        SYS_OBJECT_ID,
        SYS_UPTIME,
        SYS_CONTACT,
        SYS_NAME,
        SYS_LOCATION,
        SYS_SERVICES,
        SYS_OR_LAST_CHANGE,
    ]
    keys = [tuple(int(part) for part in oid.split(".")) for oid in oids]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    head = dict(rows[:8])
    assert head[SYS_CONTACT] == b"ops@example.test"
    assert head[SYS_OR_LAST_CHANGE] == 0


def test_walk_answers_the_same_for_v1_v2c_and_every_v3_user(agent: Agent) -> None:
    async def scenario(client: SnmpClient) -> list[list[tuple[str, object]]]:
        walks = []
        for auth in ALL_AUTHS:
            rows = await client.walk("127.0.0.1", agent.port, auth, SYSTEM, timeout=1.0, retries=1, max_repetitions=10)
            walks.append([(oid, value) for oid, value in rows if oid != SYS_UPTIME])
        return walks

    reference, *others = run(scenario)
    assert len(reference) > 8
    for auth, rows in zip(ALL_AUTHS[1:], others, strict=True):
        assert rows == reference, auth


def test_walk_with_one_repetition_pages_through_the_whole_subtree(agent: Agent) -> None:
    def without_uptime(rows: list[tuple[str, object]]) -> list[tuple[str, object]]:
        return [(oid, value) for oid, value in rows if oid != SYS_UPTIME]

    async def scenario(client: SnmpClient) -> tuple[list[tuple[str, object]], list[tuple[str, object]]]:
        one = await client.walk("127.0.0.1", agent.port, V2C, SYSTEM, max_repetitions=1)
        many = await client.walk("127.0.0.1", agent.port, V2C, SYSTEM, max_repetitions=50)
        return without_uptime(one), without_uptime(many)

    one, many = run(scenario)
    assert one == many


@pytest.mark.parametrize("auth", [V2C, V1, SHA_AES128], ids=repr)
def test_walk_of_a_missing_subtree_is_empty(agent: Agent, auth: SnmpAuth) -> None:
    async def scenario(client: SnmpClient) -> list[list[tuple[str, object]]]:
        return [
            await client.walk("127.0.0.1", agent.port, auth, f"{SYSTEM}.99"),  # before the end of the MIB view
            await client.walk("127.0.0.1", agent.port, auth, "1.3.6.1.9.9"),  # past the end of the MIB view
        ]

    assert run(scenario) == [[], []]


@pytest.mark.parametrize("auth", [V2C, V1, SHA_AES128], ids=repr)
def test_get_of_a_missing_oid_is_no_such(agent: Agent, auth: SnmpAuth) -> None:
    error = _error(agent, auth, [SYS_NAME, f"{SYSTEM}.99.0"])

    assert error.cause == "no_such"
    assert f"{SYSTEM}.99.0" in str(error)


@pytest.mark.parametrize("auth", [V2C, V1], ids=repr)
def test_get_with_allow_missing_leaves_missing_oids_out(agent: Agent, auth: SnmpAuth) -> None:
    values = run(
        lambda client: client.get(
            "127.0.0.1", agent.port, auth, [SYS_NAME, f"{SYSTEM}.99.0", SYS_LOCATION], allow_missing=True
        )
    )

    assert values == {SYS_NAME: b"test-agent", SYS_LOCATION: b"rack 7"}


def test_wrong_community_times_out_with_the_hint(agent: Agent) -> None:
    error = _error(agent, Community("2c", "not-the-community"), [SYS_NAME], timeout=0.2, retries=0)

    assert error.cause == "timeout"
    assert "no answer within 0.2s (a wrong community or privacy key looks the same)" in str(error)


def test_wrong_privacy_key_times_out_with_the_hint(agent: Agent) -> None:
    wrong_priv = UsmUser("sha-aes128", "sha", "auth-key-1", "aes128", "not-the-priv-key")
    error = _error(agent, wrong_priv, [SYS_NAME], timeout=0.2, retries=0)

    assert error.cause == "timeout"
    assert "no answer within 0.2s (a wrong community or privacy key looks the same)" in str(error)


def test_wrong_auth_key_is_auth(agent: Agent) -> None:
    error = _error(agent, UsmUser("sha-aes128", "sha", "not-the-auth-key", "aes128", "priv-key-1"), [SYS_NAME])

    assert error.cause == "auth"
    assert "check the auth key" in str(error)


def test_unknown_user_is_unknown_user(agent: Agent) -> None:
    error = _error(agent, UsmUser("nobody", "sha", "auth-key-1", "aes128", "priv-key-1"), [SYS_NAME])

    assert error.cause == "unknown_user"
    assert "'nobody'" in str(error)


def test_auth_only_request_to_a_priv_only_user_is_authorization(agent: Agent) -> None:
    error = _error(agent, UsmUser("sha-aes128", "sha", "auth-key-1"), [SYS_NAME])

    assert error.cause == "authorization"
    assert "security level" in str(error)


def test_priv_request_to_an_auth_only_user_is_authorization(agent: Agent) -> None:
    error = _error(agent, UsmUser("sha512-auth", "sha512", "auth-key-6", "aes128", "priv-key-6"), [SYS_NAME])

    assert error.cause == "authorization"


def test_too_big_walk_retries_with_fewer_repetitions(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    real_request = SnmpClient._request
    asked: list[int] = []

    async def small_agent(self: SnmpClient, kind: str, *args: Any) -> Any:
        repetitions = args[-1] if kind == "bulk" else 0
        asked.append(repetitions)
        if repetitions > 4:
            raise SnmpError("the answer would be too big", cause="too_big")
        return await real_request(self, kind, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(SnmpClient, "_request", small_agent)
    rows = run(lambda client: client.walk("127.0.0.1", agent.port, V2C, SYSTEM, max_repetitions=20))

    assert asked[:4] == [20, 10, 5, 2]
    assert set(asked[4:]) == {2}
    assert [oid for oid, _ in rows] == _cli_walk_oids(agent, SYSTEM)


def test_walk_stops_with_an_error_when_the_agent_repeats_oids(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    real_request = SnmpClient._request
    answers: list[Any] = []

    async def looping_agent(self: SnmpClient, *args: Any) -> Any:
        if not answers:
            answers.append(await real_request(self, *args))
        return answers[0]  # the same page again and again, as a broken agent does

    monkeypatch.setattr(SnmpClient, "_request", looping_agent)
    error = run(lambda client: _walk_error(client, agent, max_repetitions=3))

    assert error.cause == "malformed"
    assert f"OID {SYS_DESCR} does not increase after {SYS_UPTIME}" in str(error)


async def _walk_error(client: SnmpClient, agent: Agent, **options: Any) -> SnmpError:
    with pytest.raises(SnmpError) as caught:
        await client.walk("127.0.0.1", agent.port, V2C, SYSTEM, **options)
    return caught.value


@pytest.mark.parametrize("auth", [V2C, SHA_AES128], ids=repr)
def test_values_become_plain_python_with_counter64_exact(agent: Agent, auth: SnmpAuth) -> None:
    async def scenario(client: SnmpClient) -> tuple[list[tuple[str, object]], dict[str, object]]:
        rows = await client.walk("127.0.0.1", agent.port, auth, TYPES)
        values = await client.get("127.0.0.1", agent.port, auth, [f"{TYPES}.1.0", f"{TYPES}.4.0"])
        return rows, values

    rows, values = run(scenario)

    assert rows == [(f"{TYPES}.{index}.0", value) for index, (_, _, value) in enumerate(TYPED_VALUES, start=1)]
    assert [type(value) for _, value in rows] == [int, str, bytes, int, int, int, int, str]
    assert values == {f"{TYPES}.1.0": 2**64 - 1, f"{TYPES}.4.0": 2**32 - 1}


def test_v1_cannot_carry_counter64(agent: Agent) -> None:
    # RFC 2576: an agent answers a v1 GET of a Counter64 with noSuchName, and a v1 walk skips it.
    error = _error(agent, V1, [f"{TYPES}.1.0"])
    rows = run(lambda client: client.walk("127.0.0.1", agent.port, V1, TYPES))

    assert error.cause == "no_such"
    expected = [(f"{TYPES}.{index}.0", value) for index, (_, _, value) in enumerate(TYPED_VALUES, start=1)]
    assert rows == expected[1:]  # every other type as over v2c (the IpAddress a dotted string too)


IF_TABLE_STATIC_COLUMNS = [f"1.3.6.1.2.1.2.2.1.{column}" for column in range(1, 10)]  # ifIndex .. ifLastChange
SYS_OR_DESCR = f"{SYSTEM}.9.1.3"  # more rows than the agent has interfaces


@pytest.mark.parametrize("auth", [V2C, V1, SHA_AES128], ids=repr)
def test_walk_columns_equals_the_walk_of_each_column(agent: Agent, auth: SnmpAuth) -> None:
    roots = [*IF_TABLE_STATIC_COLUMNS, SYS_OR_DESCR]

    async def scenario(client: SnmpClient) -> tuple[dict[str, Any], dict[str, Any]]:
        together = await client.walk_columns("127.0.0.1", agent.port, auth, roots, max_repetitions=3)
        alone = {root: await client.walk("127.0.0.1", agent.port, auth, root) for root in roots}
        return together, alone

    together, alone = run(scenario)

    assert list(together) == roots
    assert together == alone
    assert [len(rows) > 0 for rows in together.values()] == [True] * len(roots)
    assert together[IF_TABLE_STATIC_COLUMNS[1]][0] == ("1.3.6.1.2.1.2.2.1.2.1", b"lo")  # ifDescr.1


def test_walk_columns_with_one_repetition_pages_through_every_column(agent: Agent) -> None:
    async def scenario(client: SnmpClient) -> tuple[dict[str, Any], dict[str, Any]]:
        roots = [*IF_TABLE_STATIC_COLUMNS, SYS_OR_DESCR]
        one = await client.walk_columns("127.0.0.1", agent.port, V2C, roots, max_repetitions=1)
        many = await client.walk_columns("127.0.0.1", agent.port, V2C, roots, max_repetitions=50)
        return one, many

    one, many = run(scenario)

    assert one == many


@pytest.mark.parametrize("auth", [V2C, V1], ids=repr)
def test_walk_columns_leaves_missing_roots_empty_beside_others_of_any_length(agent: Agent, auth: SnmpAuth) -> None:
    roots = [f"{SYSTEM}.99", ".1.3.6.1.2.1.2.2.1.2", SYSTEM, "1.3.6.1.9.9", TYPES]

    async def scenario(client: SnmpClient) -> tuple[dict[str, Any], dict[str, Any]]:
        together = await client.walk_columns("127.0.0.1", agent.port, auth, roots, max_repetitions=4)
        alone = {root.removeprefix("."): await client.walk("127.0.0.1", agent.port, auth, root) for root in roots}
        return together, alone

    together, alone = run(scenario)

    assert list(together) == [root.removeprefix(".") for root in roots]
    assert together[f"{SYSTEM}.99"] == together["1.3.6.1.9.9"] == []
    without_uptime = {root: [row for row in rows if row[0] != SYS_UPTIME] for root, rows in together.items()}
    assert without_uptime == {root: [row for row in rows if row[0] != SYS_UPTIME] for root, rows in alone.items()}


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (b"\x30\x05garbage", "byte 7: 2 bytes after the message"),
        (bytes.fromhex("300b020101040178a2030201"), "byte 2: content of 11 bytes runs past the end (10 left)"),
        (b"\x00\x00", "byte 0: expected the message SEQUENCE (tag 0x30), found tag 0x00"),
    ],
)
def test_an_answer_that_is_not_snmp_is_malformed_with_the_decoder_message(answer: bytes, problem: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

        def answer_everything() -> None:
            with contextlib.suppress(OSError):
                while True:
                    _, peer = sock.recvfrom(65535)
                    sock.sendto(answer, peer)

        threading.Thread(target=answer_everything, daemon=True).start()

        async def scenario(client: SnmpClient) -> SnmpError:
            with pytest.raises(SnmpError) as caught:
                await client.get("127.0.0.1", port, V2C, [SYS_UPTIME], timeout=0.3, retries=0)
            return caught.value

        error = run(scenario)

    assert error.cause == "malformed"
    assert str(error) == f"SNMP 127.0.0.1:{port}: the answer is not SNMP ({problem}) (v2c community)"


def test_concurrent_requests_over_one_engine_all_answer(agent: Agent) -> None:
    auths = [V2C, SHA_AES128, SHA256_AES256_BLUMENTHAL] * 20

    async def scenario(client: SnmpClient) -> list[dict[str, object]]:
        requests = [client.get("127.0.0.1", agent.port, auth, [SYS_NAME], timeout=2.0, retries=1) for auth in auths]
        return list(await asyncio.gather(*requests))

    assert run(scenario) == [{SYS_NAME: b"test-agent"}] * len(auths)


def test_usm_user_rejects_impossible_settings() -> None:
    with pytest.raises(ValueError, match="at least 8 characters"):
        UsmUser("u", "sha", "short")
    with pytest.raises(ValueError, match="privacy needs an auth protocol"):
        UsmUser("u", "none", None, "aes128", "priv-key-1")


def test_credentials_stay_out_of_repr() -> None:
    assert "ops-public" not in repr(V2C)
    assert "auth-key-1" not in repr(SHA_AES128)
    assert "priv-key-1" not in repr(SHA_AES128)


def test_client_needs_a_running_loop() -> None:
    with pytest.raises(RuntimeError):
        SnmpClient()


def test_closing_the_client_ends_requests_in_flight_with_an_error() -> None:
    # A request still waiting for a silent agent when the console stops: it ends with a clear
    # error instead of the dispatcher failing to call it back.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]

        async def scenario() -> SnmpError:
            client = SnmpClient()
            pending = asyncio.ensure_future(client.get("127.0.0.1", port, V2C, [SYS_UPTIME], timeout=30.0, retries=0))
            await asyncio.sleep(0.2)
            client.close()
            with pytest.raises(SnmpError) as caught:
                await asyncio.wait_for(pending, 2.0)
            return caught.value

        error = asyncio.run(scenario())

    assert error.cause == "error"
    pattern = rf"SNMP 127\.0\.0\.1:{port}: Request #\d+ terminated: the SNMP client was closed \(v2c community\)"
    assert re.fullmatch(pattern, str(error)), str(error)
