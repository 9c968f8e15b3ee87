"""The login, logout, kiosk and account routes of the console (dashboards/auth.py puts them on the
server): `GET /login` (the page, dashboards/login_page.py) and `POST /login` (JSON: name, password,
TOTP code where required; lockout after repeated failures), `POST /logout`, `GET /kiosk/<token>` (a
wall screen's read-only session), `GET /account` and `POST /account/password` (a user changes their
own password, which ends all their sessions). Each outcome goes to the audit log.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from urllib.parse import urlsplit

import flask
import flask_login
import werkzeug

from dashboards import login_page
from dashboards.auth import (
    CSRF_COOKIE,
    LOGIN_CSRF,
    Access,
    WebUser,
    access_of,
    current_user,
    error_answer,
    set_csrf_cookie,
)
from dashboards.i18n import t
from security.access import Principal
from security.users import User

__all__ = ["blueprint"]


def blueprint() -> flask.Blueprint:
    bp = flask.Blueprint("auth", __name__)
    bp.add_url_rule("/login", "login_page", _login_page, methods=["GET"])
    bp.add_url_rule("/login", "login", _login, methods=["POST"])
    bp.add_url_rule("/logout", "logout", _logout, methods=["POST"])
    bp.add_url_rule("/kiosk/<token>", "kiosk", _kiosk, methods=["GET"])
    bp.add_url_rule("/account", "account_page", _account_page, methods=["GET"])
    bp.add_url_rule("/account/password", "change_password", _change_password, methods=["POST"])
    return bp


def _language() -> str:
    from dashboards.app import request_language  # the shell's language rule; app imports nothing of here

    return request_language()


def _login_page() -> flask.Response:
    token = flask.session.get(LOGIN_CSRF) or secrets.token_urlsafe(32)
    flask.session[LOGIN_CSRF] = token
    html = login_page.login_html(_language(), token, _safe_next(flask.request.args.get("next")))
    return flask.Response(html, content_type="text/html; charset=utf-8")


def _safe_next(target: str | None) -> str:
    """A path of this site to go to after login (never another site's address)."""
    parts = urlsplit(target or "")
    if not parts.path.startswith("/") or parts.path.startswith("//") or parts.scheme or parts.netloc:
        return "/wall"
    if parts.path.startswith(("/login", "/logout", "/kiosk/")):
        return "/wall"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _login() -> flask.Response:
    access = access_of()
    body = flask.request.get_json(silent=True)
    if not isinstance(body, Mapping):
        return error_answer(400, "bad_data", "the request body must be a JSON object")
    name, password, code = (str(body.get(key) or "") for key in ("name", "password", "code"))
    name = name[:128]  # what the audit log keeps of a name typed by anyone
    now = access.clock.now()
    lang = _language()
    locked = access.sessions.locked_until(name, now)
    if locked is not None:
        access.record("login.failed", name, {"outcome": "failed", "reason": "locked"}, actor=name)
        return _refused(login_page.locked_message(lang, locked, now))
    user = access.users.check_password(name, password)
    if user is None:
        return _failed(access, name, now, "password", t("login.wrong", lang))
    refused = _second_factor(access, user, code, now, lang)
    if refused is not None:
        return refused
    access.sessions.succeeded(name)
    return _open_session(access, user, now, _safe_next(str(body.get("next") or "")))


def _second_factor(access: Access, user: User, code: str, now: float, lang: str) -> flask.Response | None:
    """None when `user` needs no second factor or `code` is right; else the answer to send."""
    name = user.name
    if user.role not in access.policy.totp_roles and not user.totp:
        return None
    if not user.totp:
        access.record("login.failed", name, {"outcome": "failed", "reason": "no second factor"}, actor=name)
        return _refused(t("login.enroll", lang, role=user.role.value, name=name))
    if not code:
        body = {"totp": True, "error": t("login.code", lang)}
        return flask.Response(flask.json.dumps(body), status=401, content_type="application/json")
    if not access.users.check_totp(name, code, now):
        return _failed(access, name, now, "second factor", t("login.wrong_code", lang), totp=True)
    return None


def _failed(access: Access, name: str, now: float, reason: str, message: str, *, totp: bool = False) -> flask.Response:
    lock = access.sessions.failed(
        name, now, attempts=access.policy.lockout_attempts, lock_for=access.policy.lockout_for
    )
    detail: dict[str, object] = {"outcome": "failed", "reason": reason}
    if lock is not None:
        detail["locked_until"] = lock
    access.record("login.failed", name, detail, actor=name)
    if lock is not None:
        message = login_page.locked_message(_language(), lock, now)
    body = {"error": message, "totp": totp}
    return flask.Response(flask.json.dumps(body), status=401, content_type="application/json")


def _refused(message: str) -> flask.Response:
    return flask.Response(flask.json.dumps({"error": message}), status=401, content_type="application/json")


def _open_session(access: Access, user: User, now: float, target: str) -> flask.Response:
    flask.session.clear()  # nothing from before the login survives it (no session fixation)
    session_id, session = access.sessions.create(
        user.name,
        "session",
        now,
        ip=flask.request.remote_addr or "",
        idle=access.policy.session_idle,
        absolute=access.policy.session_max,
    )
    principal = Principal(user.name, user.role, "session", session.key)
    flask_login.login_user(WebUser(principal, session_id, session))
    flask.g.principal = principal
    access.record("login", user.name, {"role": user.role.value})
    response = flask.Response(flask.json.dumps({"next": target}), content_type="application/json")
    set_csrf_cookie(response, session.csrf, access.policy.secure_cookies)
    return response


def _logout() -> flask.Response:
    access = access_of()
    user = current_user()
    if user is not None and user.session_id:
        access.sessions.end(user.session_id, access.clock.now())
        access.record("logout", user.principal.name, {})
    flask_login.logout_user()
    flask.session.clear()
    response = flask.Response(flask.json.dumps({"next": "/login"}), content_type="application/json")
    response.delete_cookie(CSRF_COOKIE, path="/")
    response.headers["Clear-Site-Data"] = '"storage"'
    return response


def _kiosk(token: str) -> flask.Response | werkzeug.Response:
    access = access_of()
    name = access.users.kiosk_for_token(token)
    now = access.clock.now()
    if name is None:
        access.record("login.failed", "kiosk", {"outcome": "failed", "reason": "unknown or revoked kiosk token"})
        return flask.Response(t("kiosk.refused", _language()), status=401, content_type="text/plain")
    flask.session.clear()
    session_id, session = access.sessions.create(
        name, "kiosk", now, ip=flask.request.remote_addr or "", idle=None, absolute=None
    )
    principal = Principal(name, None, "kiosk", session.key)
    flask_login.login_user(WebUser(principal, session_id, session))
    flask.g.principal = principal
    access.record("kiosk.login", name, {})
    response = flask.redirect("/wall?kiosk=1")
    set_csrf_cookie(response, session.csrf, access.policy.secure_cookies)
    return response


def _account_page() -> flask.Response:
    user = current_user()
    if user is None or user.session is None or user.principal.kind != "session":
        return error_answer(403, "forbidden", "only a logged-in user has an account page")
    html = login_page.account_html(_language(), user.principal.name, user.principal.role, user.session.csrf)
    return flask.Response(html, content_type="text/html; charset=utf-8")


def _change_password() -> flask.Response:
    access = access_of()
    user = current_user()
    body = flask.request.get_json(silent=True)
    if user is None or user.principal.kind != "session":
        return error_answer(403, "forbidden", "only a logged-in user changes their own password")
    if not isinstance(body, Mapping):
        return error_answer(400, "bad_data", "the request body must be a JSON object")
    name, now = user.principal.name, access.clock.now()
    if access.users.check_password(name, str(body.get("current") or "")) is None:
        access.record("user.passwd", name, {"outcome": "failed", "reason": "wrong current password"})
        return error_answer(400, "bad_data", t("account.wrong", _language()))
    try:
        access.users.passwd(name, str(body.get("password") or ""), now, actor=name)
    except ValueError as exc:
        return error_answer(400, "bad_data", str(exc))
    access.sessions.end_for(name, "session", now)  # every session of this user, this one included
    flask_login.logout_user()
    flask.session.clear()
    response = flask.Response(flask.json.dumps({"next": "/login"}), content_type="application/json")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response
