"""Logins on a running console: sessions that end on the server, timeouts, lockout, the second
factor, CSRF and same-origin JSON for changes, cookies and security headers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.dashboards.test_serve_tls import write_certificate, write_key
from tests.security.console import PASSWORDS, Running, csrf_of, running

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running(tmp_path_factory.mktemp("login")) as found:
        yield found


def _json_post(client: httpx.Client, path: str, body: object, csrf: str | None = None) -> httpx.Response:
    return client.post(
        path,
        content=json.dumps(body),
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf if csrf is not None else csrf_of(client)},
    )


def test_a_session_cookie_captured_before_logout_is_refused_after_it(console: Running) -> None:
    client = console.login("operator")
    cookies = dict(client.cookies)
    assert client.get("/api/v1/alerts").status_code == 200
    assert _json_post(client, "/logout", {}).status_code == 200
    copied = console.client()
    copied.cookies.update(cookies)
    answer = copied.get("/api/v1/alerts")
    assert (answer.status_code, answer.json()["errorType"]) == (401, "unauthorized")
    assert copied.get("/alerts").headers["location"] == "/login?next=/alerts"


def test_login_gives_a_new_session_id_and_the_old_cookie_gains_nothing(console: Running) -> None:
    client = console.client()
    client.get("/login")
    before = client.cookies.get("ops_console")
    answer = console.login_answer(client, "viewer", PASSWORDS["viewer"])
    assert answer.status_code == 200
    after = client.cookies.get("ops_console")
    assert before and after and before != after
    fixated = console.client()
    fixated.cookies.set("ops_console", before)
    assert fixated.get("/api/v1/alerts").status_code == 401


def test_a_password_change_ends_every_session_of_that_user(console: Running) -> None:
    console.access.users.add("eve", "operator", "eve-password-2026", time.time(), actor="test")
    first, second = console.login("eve", "eve-password-2026"), console.login("eve", "eve-password-2026")
    changed = _json_post(first, "/account/password", {"current": "eve-password-2026", "password": "eve-password-2027"})
    assert (changed.status_code, changed.json()) == (200, {"next": "/login"})
    assert first.get("/api/v1/alerts").status_code == 401
    assert second.get("/api/v1/alerts").status_code == 401
    assert console.login_answer(console.client(), "eve", "eve-password-2026").status_code == 401
    assert console.login("eve", "eve-password-2027").get("/api/v1/alerts").status_code == 200


def test_a_disabled_users_session_stops_working(console: Running) -> None:
    console.access.users.add("dave", "viewer", "dave-password-2026", time.time(), actor="test")
    client = console.login("dave", "dave-password-2026")
    assert client.get("/api/v1/alerts").status_code == 200
    console.access.users.disable("dave", time.time(), actor="test")
    assert client.get("/api/v1/alerts").status_code == 401


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(console: Running) -> None:
    wrong = console.login_answer(console.client(), "viewer", "not-the-password")
    unknown = console.login_answer(console.client(), "nobody-at-all", "not-the-password")
    assert (wrong.status_code, wrong.json()) == (401, {"error": "ユーザー名またはパスワードが違います", "totp": False})
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/plain", '{"name": "viewer"}'), ("application/x-www-form-urlencoded", "name=viewer&password=x")],
)
def test_a_login_form_post_or_text_plain_is_refused(console: Running, content_type: str, body: str) -> None:
    client = console.client()
    client.get("/login")
    answer = client.post("/login", content=body, headers={"Content-Type": content_type})
    assert (answer.status_code, answer.json()["errorType"]) == (415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/plain", "{}"),
        ("application/x-www-form-urlencoded", "by=mallory&comment=x"),
        ("multipart/form-data; boundary=b", "--b--"),
    ],
)
def test_a_change_sent_as_a_form_or_text_plain_changes_nothing(console: Running, content_type: str, body: str) -> None:
    client = console.login("admin")
    silences = client.get("/api/v1/silences").json()["data"]
    answer = client.post(
        "/api/v1/silences", content=body, headers={"Content-Type": content_type, "X-CSRFToken": csrf_of(client)}
    )
    assert answer.status_code == 415
    assert client.get("/api/v1/silences").json()["data"] == silences


def test_a_change_without_the_csrf_token_or_from_another_origin_is_refused(console: Running) -> None:
    client = console.login("admin")
    body = {"matchers": ['alertname="X"'], "endsAt": time.time() + 600, "comment": "csrf"}
    assert _json_post(client, "/api/v1/silences", body, csrf="").status_code == 403
    assert _json_post(client, "/api/v1/silences", body, csrf="forged").status_code == 403
    foreign = client.post(
        "/api/v1/silences",
        content=json.dumps(body),
        headers={"Content-Type": "application/json", "X-CSRFToken": csrf_of(client), "Origin": "http://evil.example"},
    )
    assert (foreign.status_code, foreign.json()["error"]) == (
        403,
        'cross-origin request refused (Origin "http://evil.example")',
    )
    assert client.get("/api/v1/silences").json()["data"] == []
    made = _json_post(client, "/api/v1/silences", body)
    assert made.status_code == 200
    silence = client.get(f"/api/v1/silence/{made.json()['data']['silenceID']}").json()["data"]
    assert silence["createdBy"] == "admin"  # the session's user, not anything the body says


def test_the_body_cannot_say_who_acts(console: Running) -> None:
    client = httpx.Client(base_url=console.url, headers={"Authorization": f"Bearer {console.tokens['oncall']}"})
    body = {"matchers": ['alertname="Y"'], "endsAt": time.time() + 600, "comment": "who", "createdBy": "someone-else"}
    made = client.post("/api/v1/silences", json=body)
    assert made.status_code == 200
    silence = client.get(f"/api/v1/silence/{made.json()['data']['silenceID']}").json()["data"]
    assert silence["createdBy"] == "oncall"


def test_cookies_are_httponly_samesite_and_not_secure_without_tls(console: Running) -> None:
    client = console.client()
    client.get("/login")
    answer = console.login_answer(client, "viewer", PASSWORDS["viewer"])
    cookies = {c.split("=")[0]: c for c in answer.headers.get_list("set-cookie")}
    session, csrf = cookies["ops_console"], cookies["_csrf_token"]
    assert "HttpOnly" in session and "SameSite=Lax" in session and "Secure" not in session
    assert "HttpOnly" not in csrf and "SameSite=Strict" in csrf  # Dash's renderer reads it


def test_every_answer_carries_the_security_headers(console: Running) -> None:
    client = console.login("viewer")
    for path in ("/login", "/wall", "/api/v1/alerts", "/healthz", "/_dash-layout"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["x-frame-options"] == "DENY", path
        assert headers["referrer-policy"] == "same-origin", path
        csp = headers["content-security-policy"]
        assert csp.startswith("default-src 'self'; script-src 'self' 'sha256-"), path
        assert "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp, path
        assert "access-control-allow-origin" not in headers, path


def test_an_exception_answers_a_generic_500_without_a_trace(console: Running) -> None:
    client = console.login("admin")
    body = {"output": "..no-such.children..", "outputs": [], "inputs": [], "changedPropIds": []}
    answer = _json_post(client, "/_dash-update-component", body)
    assert answer.status_code == 403  # unmarked: refused before Dash
    assert console.console.app is not None and console.console.app.debug is False
    broken = _json_post(client, "/_dash-update-component", {"output": "shell.className"})
    assert broken.status_code == 500
    assert "Traceback" not in broken.text and "File " not in broken.text


def test_ten_wrong_passwords_lock_the_account_for_the_configured_time(tmp_path: Path) -> None:
    with running(tmp_path, security="{totp_roles: [], lockout_attempts: 10, lockout_for: 3s}") as console:
        for _ in range(9):
            assert console.login_answer(console.client(), "operator", "wrong-password").status_code == 401
        tenth = console.login_answer(console.client(), "operator", "wrong-password")
        assert (tenth.status_code, tenth.json()["error"]) == (
            401,
            "ログイン失敗が続いたため、このアカウントはあと1分ロックされています",
        )
        right = console.login_answer(console.client(), "operator", PASSWORDS["operator"])
        assert right.status_code == 401  # locked: even the right password
        time.sleep(3.2)
        assert console.login_answer(console.client(), "operator", PASSWORDS["operator"]).status_code == 200
        failed = console.access.audit.entries("login.failed")
        assert [e.detail["reason"] for e in failed] == ["password"] * 10 + ["locked"]
        assert "locked_until" in failed[9].detail


def test_totp_is_required_where_configured(tmp_path: Path) -> None:
    with running(tmp_path, security="{totp_roles: [admin]}") as console:
        no_factor = console.login_answer(console.client(), "admin", PASSWORDS["admin"])
        assert no_factor.status_code == 401
        assert no_factor.json()["error"].startswith("ロール admin には二要素認証が必要です")
        secret = console.access.users.enroll_totp("admin", time.time(), actor="test")
        asked = console.login_answer(console.client(), "admin", PASSWORDS["admin"])
        assert (asked.status_code, asked.json()["totp"]) == (401, True)
        wrong = console.login_answer(console.client(), "admin", PASSWORDS["admin"], "000000")
        assert (wrong.status_code, wrong.json()["error"]) == (401, "確認コードが違います")
        code = pyotp.TOTP(secret).now()
        assert console.login_answer(console.client(), "admin", PASSWORDS["admin"], code).status_code == 200
        replayed = console.login_answer(console.client(), "admin", PASSWORDS["admin"], code)
        assert replayed.status_code == 401  # a code works once
        assert console.login_answer(console.client(), "viewer", PASSWORDS["viewer"]).status_code == 200


def test_an_idle_session_ends(tmp_path: Path) -> None:
    with running(tmp_path, security="{totp_roles: [], session_idle: 3s, session_max: 1h}") as console:
        client = console.login("viewer")
        assert client.get("/api/v1/alerts").status_code == 200
        time.sleep(3.5)
        assert client.get("/api/v1/alerts").status_code == 401


def test_a_session_ends_at_its_absolute_lifetime(tmp_path: Path) -> None:
    with running(tmp_path, security="{totp_roles: [], session_idle: 4s, session_max: 7s}") as console:
        client = console.login("viewer")
        started = time.monotonic()
        for _ in range(5):  # used every second: never idle for 4 s
            time.sleep(1.0)
            assert client.get("/api/v1/alerts").status_code == 200
        time.sleep(max(0.0, 7.5 - (time.monotonic() - started)))  # idle 2.5 s at most, past 7 s of life
        assert client.get("/api/v1/alerts").status_code == 401


def test_a_revoked_kiosk_stops_at_once_and_a_kiosk_sees_the_wall_only(console: Running) -> None:
    kiosk = console.kiosk()
    assert kiosk.get("/wall").status_code == 200
    assert kiosk.get("/alerts").status_code == 403
    assert kiosk.get("/api/v1/alerts").status_code == 403
    console.access.users.revoke_kiosk("lobby", time.time(), actor="test")
    assert kiosk.get("/_dash-layout").status_code == 401
    refused = console.client().get(f"/kiosk/{console.kiosk_token}")
    assert refused.status_code == 401


def test_behind_tls_the_cookies_are_secure_host_only_and_hsts_is_sent(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    tls = (write_certificate(tmp_path / "cert.pem", key), write_key(tmp_path / "key.pem", key))
    with running(tmp_path, tls=tls) as console:
        client = console.client()
        answer = console.login_answer(client, "viewer", PASSWORDS["viewer"])
        assert answer.status_code == 200
        cookies = {c.split("=")[0]: c for c in answer.headers.get_list("set-cookie")}
        assert {"__Host-ops_console", "_csrf_token"} <= set(cookies)
        assert "Secure" in cookies["__Host-ops_console"] and "Path=/" in cookies["__Host-ops_console"]
        assert "Secure" in cookies["_csrf_token"]
        assert answer.headers["strict-transport-security"] == "max-age=31536000"
        assert client.get("/api/v1/alerts").status_code == 200
        with pytest.raises(httpx.HTTPError):
            httpx.get(console.url.replace("https://", "http://") + "/healthz", timeout=5)
