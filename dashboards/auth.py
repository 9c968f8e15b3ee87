"""Sessions, principals and the guard in front of every route: `install_access(server, app, access)`
(the login, logout, kiosk and account routes it puts on the server are in dashboards/login.py).

Who a request is (its `Principal`) comes from one of:

- a **login session** (Flask-Login): the signed session cookie holds only a server-side session id
  (security/sessions.py); logout, a password change or disabling the user ends it on the server, so
  a copied cookie stops working. Idle and absolute timeouts come from the `security:` config.
- an **API bearer token** (`Authorization: Bearer ...`, `run_console.py users token NAME`), kept
  hashed in users.sqlite3 and revocable;
- a **kiosk**: `GET /kiosk/<token>` (`run_console.py kiosk add NAME`) opens a read-only session that
  may see the wall and nothing else, so a wall screen never holds a person's password.

Before any view runs, the guard (`_guard`) asks `dashboards.guard.needed()` what the request needs
and answers 401 (nobody; pages redirect to /login), 403 (not permitted: an `authz.denied` audit entry)
or lets it through. A change (POST, PUT, PATCH, DELETE) made with a cookie must be a same-origin JSON
request carrying the session's CSRF token in `X-CSRFToken` (Dash's renderer sends the `_csrf_token`
cookie there); bearer-token requests carry no ambient credential and are exempt. Every answer gets
the security headers, including a Content-Security-Policy Dash works under.

Logins (ok and failed), logouts, kiosk logins, password changes, refusals and the pages people open
(device, link, alerts, availability, ...) go to the audit log with the source address and the
session's key (a hash, never the id).
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import dash
import flask
import flask_login
import werkzeug

from dashboards.authz import ACCESS_KEY
from dashboards.guard import CALLBACK_ROUTE, CHANGING_METHODS, content_security_policy, needed, same_origin_json
from model import Clock
from security.access import Principal
from security.audit import AUDIT_FILE, AuditLog
from security.sessions import SESSIONS_FILE, Session, SessionDB
from security.users import USERS_FILE, Role, UserDB

__all__ = [
    "CSRF_COOKIE",
    "LOGIN_CSRF",
    "SECRET_KEY_FILE",
    "Access",
    "AccessPolicy",
    "WebUser",
    "access_of",
    "current_user",
    "error_answer",
    "install_access",
    "set_csrf_cookie",
]

log = logging.getLogger(__name__)

CSRF_COOKIE = "_csrf_token"
"""The cookie Dash's renderer copies into the `X-CSRFToken` header of its requests."""
CSRF_HEADER = "X-CSRFToken"
SECRET_KEY_FILE = "web-secret.key"
"""In DATA_DIR: the key that signs the session cookie (which holds only the server-side session id)."""
LOGIN_CSRF = "login_csrf"
_CHECKED_WITHOUT_PRINCIPAL = frozenset({"auth.login", "auth.logout"})


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """The `security:` config section as the web side uses it. Times in seconds."""

    session_idle: float = 900.0
    session_max: float = 12 * 3600.0
    lockout_attempts: int = 10
    lockout_for: float = 900.0
    totp_roles: frozenset[Role] = frozenset({Role.ADMIN})
    secure_cookies: bool = False
    """Cookies `Secure` and the session cookie named `__Host-...` (served over TLS)."""


@dataclass
class Access:
    """The console's users, sessions and audit log, with the policy and the clock."""

    users: UserDB
    sessions: SessionDB
    audit: AuditLog
    policy: AccessPolicy
    clock: Clock
    secret_key: bytes
    _csp: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, data_dir: Path, policy: AccessPolicy, clock: Clock) -> Access:
        """The access control over `data_dir`'s users, sessions and audit log, with the key that signs
        the session cookie (`SECRET_KEY_FILE`, made on first use, readable by its owner only)."""
        audit = AuditLog(data_dir / AUDIT_FILE)
        return cls(
            UserDB(data_dir / USERS_FILE, audit),
            SessionDB(data_dir / SESSIONS_FILE),
            audit,
            policy,
            clock,
            _secret_key(data_dir / SECRET_KEY_FILE),
        )

    def close(self) -> None:
        self.users.close()
        self.sessions.close()
        self.audit.close()

    def record(
        self, action: str, subject: str, detail: Mapping[str, object] | None = None, *, actor: str | None = None
    ) -> None:
        """An audit entry for the running request: its principal (or `actor`), source address and
        session key with `detail` ("outcome" "ok" unless `detail` says otherwise)."""
        principal = _principal()
        who = actor if actor is not None else (principal.actor if principal is not None else "anonymous")
        full: dict[str, object] = {"outcome": "ok"}
        full.update(detail or {})
        if flask.has_request_context():
            full["ip"] = flask.request.remote_addr or ""
        if principal is not None and principal.session:
            full["session"] = principal.session
        self.audit.record(self.clock.now(), who, action, subject, full)


def _secret_key(path: Path) -> bytes:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


class WebUser(flask_login.UserMixin):  # type: ignore[misc]  # flask_login ships no types
    """What Flask-Login holds: the principal and the server-side session id (its `get_id`)."""

    def __init__(self, principal: Principal, session_id: str, session: Session | None) -> None:
        self.principal = principal
        self.session_id = session_id
        self.session = session

    def get_id(self) -> str:
        return self.session_id


def access_of() -> Access:
    found: Access = flask.current_app.extensions[ACCESS_KEY]
    return found


def _principal() -> Principal | None:
    if not flask.has_request_context():
        return None
    found: Principal | None = flask.g.get("principal")
    return found


def install_access(server: flask.Flask, app: dash.Dash, access: Access) -> None:
    """Put access control on the console's `server` (with its Dash `app` already mounted)."""
    server.extensions[ACCESS_KEY] = access
    server.secret_key = access.secret_key
    secure = access.policy.secure_cookies
    server.debug = False
    server.config.update(
        SESSION_COOKIE_NAME="__Host-ops_console" if secure else "ops_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_PATH="/",
        PROPAGATE_EXCEPTIONS=False,
        TRAP_HTTP_EXCEPTIONS=False,
    )
    manager = flask_login.LoginManager()
    manager.session_protection = None  # the server-side session is the binding; see the module docstring
    manager.user_loader(_load_session)
    manager.request_loader(_load_token)
    manager.init_app(server)
    from dashboards.login import blueprint  # login.py builds on this module

    server.register_blueprint(blueprint())

    def guard() -> flask.Response | werkzeug.Response | None:
        return _guard(app)

    def headers(response: flask.Response) -> flask.Response:
        return _headers(app, response)

    server.before_request_funcs.setdefault(None, []).append(guard)  # after Dash has set up its callbacks
    server.after_request(headers)


# -- who is asking ---------------------------------------------------------------------------------
def _load_session(session_id: str) -> WebUser | None:
    access = access_of()
    session = access.sessions.get(session_id, access.clock.now())
    if session is None:
        return None
    if session.kind == "kiosk":
        if not any(k.name == session.name and k.revoked_at is None for k in access.users.kiosks()):
            access.sessions.end(session_id, access.clock.now())  # revoked while this session was open
            return None
        return WebUser(Principal(session.name, None, "kiosk", session.key), session_id, session)
    user = access.users.get(session.name)
    if user is None or user.disabled:
        access.sessions.end(session_id, access.clock.now())
        return None
    return WebUser(Principal(user.name, user.role, "session", session.key), session_id, session)


def _load_token(request: flask.Request) -> WebUser | None:
    scheme, _, token = (request.headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    user = access_of().users.user_for_token(token.strip())
    if user is None:
        return None
    return WebUser(Principal(user.name, user.role, "token"), "", None)


def current_user() -> WebUser | None:
    user = flask_login.current_user
    return user if isinstance(user, WebUser) else None


# -- the guard -------------------------------------------------------------------------------------
def _guard(app: dash.Dash) -> flask.Response | werkzeug.Response | None:
    request = flask.request
    need = needed(app, request)
    endpoint = request.url_rule.endpoint if request.url_rule is not None else ""
    if need.public and endpoint not in _CHECKED_WITHOUT_PRINCIPAL:
        return None
    user = current_user()
    principal = user.principal if user is not None else None
    flask.g.principal = principal
    cookie_made = principal is not None and principal.kind != "token"
    if request.method in CHANGING_METHODS and (cookie_made or endpoint in _CHECKED_WITHOUT_PRINCIPAL):
        refused = _check_change(request, user, endpoint)
        if refused is not None:
            return refused
    if need.public:
        return None
    if principal is None:
        return _unauthenticated(request, endpoint)
    if need.permission is None or not principal.may(need.permission):
        wanted = need.permission.value if need.permission is not None else "nobody"
        access_of().record("authz.denied", request.path, {"outcome": "denied", "needs": wanted})
        return error_answer(403, "forbidden", f"{principal.actor} may not do this (it needs the {wanted} permission)")
    if need.page is not None and endpoint == CALLBACK_ROUTE:
        template, variables = need.page
        page = template.strip("/").split("/")[0] or "wall"
        access_of().record(f"view.{page}", next(iter(variables.values()), template), {})
    return None


def _check_change(request: flask.Request, user: WebUser | None, endpoint: str) -> flask.Response | None:
    """A cookie-borne change must be same-origin JSON with the right CSRF token."""
    problem = same_origin_json(request)
    if problem is not None:
        status, why = problem
        return error_answer(status, "forbidden" if status == 403 else "unsupported_media_type", why)
    if endpoint == "auth.login" or (endpoint == "auth.logout" and user is None):
        expected = flask.session.get(LOGIN_CSRF, "")
    else:
        expected = user.session.csrf if user is not None and user.session is not None else ""
    given = request.headers.get(CSRF_HEADER, "")
    if not expected or not hmac.compare_digest(given.encode(), str(expected).encode()):
        return error_answer(403, "forbidden", f"missing or wrong CSRF token ({CSRF_HEADER})")
    return None


def _unauthenticated(request: flask.Request, endpoint: str) -> flask.Response | werkzeug.Response:
    if request.method == "GET" and endpoint in ("/", "/<path:path>", "auth.account_page"):
        target = request.full_path.rstrip("?")
        return flask.redirect("/login?next=" + quote(target, safe="/"))
    log.warning("refused %s %s from %s: no session or token", request.method, request.path, request.remote_addr)
    response = error_answer(
        401, "unauthorized", f"{request.path} needs a login session or 'Authorization: Bearer <token>'"
    )
    response.headers["WWW-Authenticate"] = "Bearer"
    return response


def error_answer(status: int, kind: str, message: str) -> flask.Response:
    body = flask.json.dumps({"status": "error", "errorType": kind, "error": message})
    return flask.Response(body, status=status, content_type="application/json")


def _headers(app: dash.Dash, response: flask.Response) -> flask.Response:
    access = access_of()
    if not access._csp:
        access._csp.append(content_security_policy(list(app.csp_hashes())))
    h = response.headers
    h["Content-Security-Policy"] = access._csp[0]
    h["X-Content-Type-Options"] = "nosniff"
    h["X-Frame-Options"] = "DENY"
    h["Referrer-Policy"] = "same-origin"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if access.policy.secure_cookies:
        h["Strict-Transport-Security"] = "max-age=31536000"
    if not flask.request.path.startswith(("/_dash-component-suites/", "/assets/", "/static/")):
        h.setdefault("Cache-Control", "no-store")
    user = current_user() if flask.g.get("principal") is not None else None
    if user is not None and user.session is not None and flask.request.cookies.get(CSRF_COOKIE) != user.session.csrf:
        set_csrf_cookie(response, user.session.csrf, access.policy.secure_cookies)
    return response


def set_csrf_cookie(response: werkzeug.Response, token: str, secure: bool) -> None:
    response.set_cookie(CSRF_COOKIE, token, path="/", samesite="Strict", secure=secure, httponly=False)
